// ACTOR_FIELDS: the same bytes as MSGPACK_DEFINE_MAP, read by the same rules.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actor/message.hpp"

namespace {

struct fast {
  std::int64_t n = -1;
  std::string s = "default";
  std::vector<int> v;
  std::optional<double> d;
  ACTOR_FIELDS(n, s, v, d)
};
struct classic {
  std::int64_t n = -1;
  std::string s = "default";
  std::vector<int> v;
  std::optional<double> d;
  MSGPACK_DEFINE_MAP(n, s, v, d)
};
struct nested {
  fast inner;
  std::string tag;
  ACTOR_FIELDS(inner, tag)
};

template <class T>
std::string pack(const T& value) {
  msgpack::sbuffer out;
  msgpack::pack(out, value);
  return {out.data(), out.size()};
}

// A map of these keys and packed values, in this order (what another encoder may write).
std::string pack_map(const std::vector<std::pair<std::string, std::string>>& kv_packed) {
  msgpack::sbuffer out;
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_map(static_cast<std::uint32_t>(kv_packed.size()));
  for (const auto& [key, value] : kv_packed) {
    pk.pack(key);
    out.write(value.data(), value.size());
  }
  return {out.data(), out.size()};
}

template <class T>
T read(const std::string& bytes) {
  auto handle = msgpack::unpack(bytes.data(), bytes.size());
  T out;
  handle.get().convert(out);
  return out;
}

// What both read, from the same bytes: equal, field by field (or both refuse).
void same_reading(const std::string& bytes) {
  std::optional<fast> a;
  std::optional<classic> b;
  try {
    a = read<fast>(bytes);
  } catch (const msgpack::type_error&) {
  }
  try {
    b = read<classic>(bytes);
  } catch (const msgpack::type_error&) {
  }
  REQUIRE(a.has_value() == b.has_value());
  if (!a) return;
  CHECK(a->n == b->n);
  CHECK(a->s == b->s);
  CHECK(a->v == b->v);
  CHECK(a->d == b->d);
}

}  // namespace

TEST_CASE("ACTOR_FIELDS writes the bytes MSGPACK_DEFINE_MAP writes", "[fields]") {
  fast f{7, "seven", {1, 2, 3}, 2.5};
  classic c{7, "seven", {1, 2, 3}, 2.5};
  CHECK(pack(f) == pack(c));
  fast empty_opt{0, "", {}, std::nullopt};
  classic empty_opt_c{0, "", {}, std::nullopt};
  CHECK(pack(empty_opt) == pack(empty_opt_c));
}

TEST_CASE("ACTOR_FIELDS reads its own bytes and MSGPACK_DEFINE_MAP's", "[fields]") {
  auto f = read<fast>(pack(classic{42, "x", {9}, std::nullopt}));
  CHECK(f.n == 42);
  CHECK(f.s == "x");
  CHECK(f.v == std::vector<int>{9});
  CHECK_FALSE(f.d.has_value());
  auto n = read<nested>(pack(nested{fast{1, "in", {}, 0.5}, "out"}));
  CHECK(n.inner.n == 1);
  CHECK(n.inner.s == "in");
  CHECK(n.inner.d == 0.5);
  CHECK(n.tag == "out");
  auto c = read<classic>(pack(fast{-3, "y", {4, 5}, 1.0}));
  CHECK(c.n == -3);
  CHECK(c.v == std::vector<int>{4, 5});
}

TEST_CASE("ACTOR_FIELDS reads maps as MSGPACK_DEFINE_MAP does", "[fields]") {
  const std::string n5 = pack(5), n6 = pack(6), str = pack(std::string("s")), arr = pack(std::vector<int>{1});
  // keys in another order
  same_reading(pack_map({{"v", arr}, {"s", str}, {"n", n5}}));
  // missing keys keep their defaults; unknown keys are ignored
  same_reading(pack_map({{"zz", n5}, {"s", str}}));
  same_reading(pack_map({}));
  // a key twice: the first counts
  same_reading(pack_map({{"n", n5}, {"n", n6}}));
  auto twice = read<fast>(pack_map({{"n", n5}, {"n", n6}}));
  CHECK(twice.n == 5);
  // a prefix of a field's name is another key
  same_reading(pack_map({{"nn", n5}, {"", n6}}));
  // a value of the wrong type: both refuse
  same_reading(pack_map({{"n", str}}));
  CHECK_THROWS_AS(read<fast>(pack_map({{"n", str}})), msgpack::type_error);
}

TEST_CASE("ACTOR_FIELDS refuses what is not a map of string keys", "[fields]") {
  CHECK_THROWS_AS(read<fast>(pack(std::vector<int>{1, 2})), msgpack::type_error);
  CHECK_THROWS_AS(read<fast>(pack(7)), msgpack::type_error);
  same_reading(pack(std::vector<int>{1, 2}));
  std::map<int, int> int_keys{{1, 2}};
  CHECK_THROWS_AS(read<fast>(pack(int_keys)), msgpack::type_error);
  same_reading(pack(int_keys));
  // a non-string key after good ones is refused too, before any field is read
  msgpack::sbuffer out;
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_map(2);
  pk.pack(std::string("n"));
  pk.pack(1);
  pk.pack(3);
  pk.pack(4);
  const std::string mixed(out.data(), out.size());
  CHECK_THROWS_AS(read<fast>(mixed), msgpack::type_error);
  same_reading(mixed);
}

TEST_CASE("ACTOR_FIELDS builds msgpack objects as MSGPACK_DEFINE_MAP does", "[fields]") {
  msgpack::zone z;
  msgpack::object a(fast{3, "o", {}, std::nullopt}, z);
  msgpack::object b(classic{3, "o", {}, std::nullopt}, z);
  CHECK(a == b);
}
