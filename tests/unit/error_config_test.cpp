// Values that cross the wire: error codes, actor::error, expected, config, and
// the message type registry.

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace error_config_test {

struct sample {
  std::string name;
  std::int64_t n = 0;
  std::vector<std::int64_t> list;
  MSGPACK_DEFINE_MAP(name, n, list)
};

}  // namespace error_config_test

ACTOR_MESSAGE(error_config_test::sample, "test.error_config.sample");

namespace error_config_test {
namespace {

// Every code the header declares, with the wire number it promises never to change.
const std::vector<std::pair<actor::errc, int>> all_codes{
    {actor::errc::timeout, 1},        {actor::errc::no_such_actor, 2}, {actor::errc::actor_stopped, 3},
    {actor::errc::node_down, 4},      {actor::errc::remote_error, 5},  {actor::errc::overloaded, 6},
    {actor::errc::shutting_down, 7},  {actor::errc::bad_message, 8},   {actor::errc::unauthorized, 9},
    {actor::errc::name_taken, 10},    {actor::errc::unknown_type, 11},
};

template <class T>
std::string pack(const T& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return {buf.data(), buf.size()};
}

template <class T>
T unpack(const std::string& bytes) {
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  return h.get().as<T>();
}

// ---- error codes -----------------------------------------------------------------------

TEST_CASE("every error code round-trips through to_string and errc_from_string", "[error]") {
  std::set<std::string> names;
  for (const auto& [code, number] : all_codes) {
    const std::string name(actor::to_string(code));
    INFO("code " << number << " is named '" << name << "'");
    CHECK_FALSE(name.empty());
    CHECK(name != actor::to_string(static_cast<actor::errc>(0)));  // not the unknown-code name
    names.insert(name);
    const auto back = actor::errc_from_string(name);
    REQUIRE(back.has_value());
    CHECK(*back == code);
  }
  CHECK(names.size() == all_codes.size());  // no two codes share a name
  CHECK(actor::to_string(actor::errc::actor_stopped) == "actor_stopped");
  CHECK_FALSE(actor::errc_from_string("no-such-code").has_value());
  CHECK_FALSE(actor::errc_from_string("").has_value());
  CHECK_FALSE(actor::errc_from_string("Timeout").has_value());
}

TEST_CASE("error codes keep their wire numbers when packed", "[error]") {
  for (const auto& [code, number] : all_codes) {
    INFO(actor::to_string(code));
    CHECK(static_cast<int>(code) == number);
    CHECK(unpack<int>(pack(code)) == number);
  }
}

TEST_CASE("an actor::error survives a MessagePack round trip", "[error]") {
  for (const auto& [code, number] : all_codes) {
    const actor::error original{code, "text for code " + std::to_string(number) + " \xc3\xa9"};
    const auto bytes = pack(original);
    const auto back = unpack<actor::error>(bytes);
    CHECK(back == original);
  }
  // packed as a map with the field names, like every message
  const auto obj = msgpack::unpack(pack(actor::error{actor::errc::timeout, "late"}).data(),
                                   pack(actor::error{actor::errc::timeout, "late"}).size());
  CHECK(obj.get().type == msgpack::type::MAP);
}

TEST_CASE("error::describe gives the code's name and the text", "[error]") {
  CHECK(actor::error{actor::errc::timeout, "too slow"}.describe() == "timeout: too slow");
  CHECK(actor::error{actor::errc::node_down, ""}.describe() == "node_down");
}

TEST_CASE("expected holds a value or an error and value() on an error throws it", "[error]") {
  actor::expected<int> good = 5;
  REQUIRE(good.has_value());
  CHECK(*good == 5);

  actor::expected<int> bad = actor::error{actor::errc::overloaded, "queue full"};
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == actor::errc::overloaded);
  try {
    (void)bad.value();
    FAIL("value() did not throw");
  } catch (const actor::bad_expected_access& ex) {
    CHECK(ex.error() == actor::error{actor::errc::overloaded, "queue full"});
    CHECK_THAT(std::string(ex.what()), Catch::Contains("queue full"));
  }

  actor::expected<void> ok;
  CHECK(ok.has_value());
  actor::expected<void> failed{actor::errc::shutting_down};
  CHECK_FALSE(failed.has_value());
  CHECK_THROWS_AS(failed.value(), actor::bad_expected_access);
}

// ---- config --------------------------------------------------------------------------------

TEST_CASE("config from_msgpack rejects bytes that are not a map with bad_message", "[config]") {
  msgpack::sbuffer array_buf;
  msgpack::pack(array_buf, std::vector<int>{1, 2, 3});
  msgpack::sbuffer int_keys;
  msgpack::packer<msgpack::sbuffer> pk(int_keys);
  pk.pack_map(1);
  pk.pack(1);
  pk.pack(2);
  msgpack::sbuffer trailing;
  msgpack::packer<msgpack::sbuffer> pk2(trailing);
  pk2.pack_map(0);
  pk2.pack(7);

  const std::vector<std::pair<const char*, std::string>> cases{
      {"an integer", pack(42)},
      {"a string", pack(std::string("factor"))},
      {"an array", std::string(array_buf.data(), array_buf.size())},
      {"a map with integer keys", std::string(int_keys.data(), int_keys.size())},
      {"a map followed by more bytes", std::string(trailing.data(), trailing.size())},
      {"a truncated map", pack(std::map<std::string, int>{{"a", 1}}).substr(0, 2)},
      {"a reserved byte", std::string("\xc1", 1)},
  };
  for (const auto& [what, bytes] : cases) {
    INFO(what);
    auto r = actor::config::from_msgpack(bytes);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == actor::errc::bad_message);
  }
}

TEST_CASE("config round-trips through MessagePack and empty bytes are an empty config", "[config]") {
  auto empty = actor::config::from_msgpack("");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());

  actor::config cfg;
  cfg.set("name", std::string("alpha")).set("count", std::int64_t{3}).set("list", std::vector<int>{4, 5});
  auto back = actor::config::from_msgpack(cfg.to_msgpack());
  REQUIRE(back.has_value());
  CHECK(back->keys() == std::vector<std::string>{"count", "list", "name"});
  CHECK(back->get<std::string>("name").value() == "alpha");
  CHECK(back->get<std::int64_t>("count").value() == 3);
  CHECK(back->get<std::vector<int>>("list").value() == std::vector<int>{4, 5});
}

TEST_CASE("config get reports missing keys and wrong types with bad_message", "[config]") {
  actor::config cfg;
  cfg.set("count", std::int64_t{3});
  CHECK(cfg.contains("count"));
  CHECK_FALSE(cfg.contains("other"));
  CHECK(cfg.get<std::string>("other").error().code == actor::errc::bad_message);
  CHECK(cfg.get<std::string>("count").error().code == actor::errc::bad_message);
  CHECK(cfg.get_or<std::int64_t>("other", 9) == 9);
  CHECK(cfg.get_or<std::int64_t>("count", 9) == 3);
  CHECK_THROWS_AS(cfg.get_or<std::string>("count", "x"), actor::bad_expected_access);
}

TEST_CASE("a config decoded from bytes does not depend on the bytes afterwards", "[config]") {
  actor::config decoded;
  {
    actor::config cfg;
    cfg.set("greeting", std::string("hello, world, long enough not to fit any small-string buffer"));
    std::string bytes = cfg.to_msgpack();
    auto r = actor::config::from_msgpack(bytes);
    REQUIRE(r.has_value());
    decoded = *r;
    std::fill(bytes.begin(), bytes.end(), '\0');
  }
  CHECK(decoded.get<std::string>("greeting").value() ==
        "hello, world, long enough not to fit any small-string buffer");
}

// ---- the message registry --------------------------------------------------------------------

TEST_CASE("registered message types are found by their stable name and pack as maps", "[message]") {
  const auto* t = actor::find_message_type("test.error_config.sample");
  REQUIRE(t != nullptr);
  CHECK(t == &actor::type_of<sample>());
  CHECK(t->name == "test.error_config.sample");
  CHECK(actor::find_message_type("test.error_config.no_such_message") == nullptr);
  CHECK(actor::find_message_type("actor.stop") == &actor::type_of<actor::stop_msg>());

  const auto names = actor::registered_message_names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::find(names.begin(), names.end(), "test.error_config.sample") != names.end());
  CHECK(std::find(names.begin(), names.end(), "actor.error") != names.end());

  const sample s{"abc", -4, {1, 2}};
  const actor::message view(t, &s);
  CHECK(view.is<sample>());
  CHECK_FALSE(view.is<actor::error>());
  const auto back = unpack<sample>(view.pack());
  CHECK(back.name == "abc");
  CHECK(back.n == -4);
  CHECK(back.list == std::vector<std::int64_t>{1, 2});
}

}  // namespace
}  // namespace error_config_test
