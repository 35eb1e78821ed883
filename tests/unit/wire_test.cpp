// The wire decoder under hostile input: whatever arrives, it answers with a
// value or bad_message, never crashes and never allocates beyond the limits.
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "wire.hpp"

namespace wire = actor::detail::wire;

namespace {

const auto limits = wire::limits(64 * 1024);

actor::expected<wire::frame> decode(const std::string& bytes) { return wire::decode_frame(bytes.data(), bytes.size(), limits); }

std::string pack_array(std::initializer_list<int> items) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(static_cast<std::uint32_t>(items.size()));
  for (int i : items) pk.pack(i);
  return {b.data(), b.size()};
}

}  // namespace

TEST_CASE("a HELLO survives encoding and decoding", "[wire]") {
  wire::hello h{wire::protocol_version, "node", "a", "tcp://127.0.0.1:1", 42};
  const auto bytes = wire::encode(h);  // decoded strings point into it: it must outlive the frame
  auto f = decode(bytes);
  REQUIRE(f.has_value());
  REQUIRE(f->tag == wire::frame_tag::hello);
  auto back = wire::read_hello(*f);
  REQUIRE(back.has_value());
  CHECK(back->node == "a");
  CHECK(back->address == "tcp://127.0.0.1:1");
  CHECK(back->incarnation == 42);
  CHECK(back->role == "node");
}

TEST_CASE("PING and PONG carry their sequence number and incarnation", "[wire]") {
  const auto bytes = wire::encode_probe(wire::frame_tag::pong, {7, 99});
  auto f = decode(bytes);
  REQUIRE(f.has_value());
  CHECK(f->tag == wire::frame_tag::pong);
  auto p = wire::read_probe(*f);
  REQUIRE(p.has_value());
  CHECK(p->seq == 7);
  CHECK(p->incarnation == 99);
}

TEST_CASE("a batch header counts the envelopes that follow it", "[wire]") {
  std::string batch;
  wire::begin_batch(batch, 2);
  batch += pack_array({1, 2});
  batch += pack_array({3});
  auto f = decode(batch);
  REQUIRE(f.has_value());
  CHECK(f->tag == wire::frame_tag::batch);
  CHECK(f->size == 3);  // the tag and two envelopes
}

TEST_CASE("random bytes are rejected as bad_message", "[wire][hostile]") {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(static_cast<std::size_t>(rng() % 64), '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    auto f = decode(bytes);
    if (!f) CHECK(f.error().code == actor::errc::bad_message);
  }
}

TEST_CASE("a 5-byte array32 header claiming 4 billion elements is rejected without allocating", "[wire][hostile]") {
  const std::string bytes = "\xdd\xff\xff\xff\xff";
  auto f = decode(bytes);
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().code == actor::errc::bad_message);
}

TEST_CASE("a map32 header claiming 4 billion pairs is rejected", "[wire][hostile]") {
  auto f = decode(std::string("\x91\xdf\xff\xff\xff\xff", 6));
  REQUIRE_FALSE(f.has_value());
}

TEST_CASE("deep nesting is rejected", "[wire][hostile]") {
  std::string bytes(200, '\x91');  // 200 nested one-element arrays
  bytes += '\x01';
  auto f = decode(bytes);
  REQUIRE_FALSE(f.has_value());
  CHECK(f.error().code == actor::errc::bad_message);
}

TEST_CASE("a truncated frame is rejected", "[wire][hostile]") {
  auto whole = wire::encode(wire::hello{wire::protocol_version, "node", "name", "tcp://127.0.0.1:9", 1});
  for (std::size_t n = 1; n < whole.size(); ++n) {
    auto f = decode(whole.substr(0, n));
    REQUIRE_FALSE(f.has_value());
  }
}

TEST_CASE("trailing bytes after a frame are rejected", "[wire][hostile]") {
  auto bytes = wire::encode_probe(wire::frame_tag::ping, {1, 1}) + "x";
  CHECK_FALSE(decode(bytes).has_value());
}

TEST_CASE("frames that are not arrays or have unknown tags are rejected", "[wire][hostile]") {
  CHECK_FALSE(decode(pack_array({})).has_value());
  CHECK_FALSE(decode(pack_array({0})).has_value());
  CHECK_FALSE(decode(pack_array({7, 1})).has_value());
  CHECK_FALSE(decode(std::string("\xa3" "abc", 4)).has_value());  // a string
}

TEST_CASE("a HELLO with fields of the wrong type is bad_message", "[wire][hostile]") {
  auto f = decode(pack_array({1, 1, 2, 3, 4, 5}));  // role, name, address must be strings
  REQUIRE(f.has_value());
  auto h = wire::read_hello(*f);
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error().code == actor::errc::bad_message);
}

TEST_CASE("an envelope must be an array of seven with typed fields", "[wire][hostile]") {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(7);
  pk.pack(1);                                   // request
  pk.pack_nil();                                // anonymous
  pk.pack(actor::detail::wire_ref{"n", "tcp://127.0.0.1:1", 5, 9});
  pk.pack(3);                                   // correlation
  pk.pack(100);                                 // ttl_ms
  pk.pack(std::string("actor.counter.get"));
  pk.pack_map(0);
  msgpack::object_handle good = msgpack::unpack(b.data(), b.size());
  auto v = wire::read_envelope(good.get());
  REQUIRE(v.has_value());
  CHECK(v->k == wire::kind::request);
  CHECK(v->receiver.id == 9);
  CHECK(v->receiver.incarnation == 5);
  CHECK(v->correlation == 3);
  CHECK(v->ttl_ms == 100);
  CHECK(v->type == "actor.counter.get");

  auto short_one = msgpack::unpack(pack_array({1, 2, 3}).data(), 4);
  CHECK_FALSE(wire::read_envelope(short_one.get()).has_value());
  auto bad_kind = pack_array({9, 0, 0, 0, 0, 0, 0});
  CHECK_FALSE(wire::read_envelope(msgpack::unpack(bad_kind.data(), bad_kind.size()).get()).has_value());
}
