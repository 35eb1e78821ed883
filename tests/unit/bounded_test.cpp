// The bounded reader: bytes from the network or a file cannot reserve more
// memory than they are long. A short run of nested array32/map32 headers, each
// claiming as many elements as the limits allow, made msgpack::unpack reserve
// every level before finding the bytes missing (161 bytes: ~1 GB of VmPeak).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/config.hpp"
#include "actor/unpack.hpp"
#include "json.hpp"
#include "wire/wire.hpp"

namespace wire = actor::detail::wire;
using Catch::Matchers::Contains;

namespace {

// The process's peak virtual memory, in KiB (VmPeak in /proc/self/status).
long vm_peak_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmPeak:", 0) == 0) return std::stol(line.substr(7));
  }
  return -1;
}

// `depth` container headers of width 32 (0xdd array32, 0xdf map32), each claiming `n` elements.
std::string nested_headers(unsigned char marker, std::size_t depth, std::uint32_t n = 1u << 20) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) {
    out += static_cast<char>(marker);
    out += static_cast<char>(n >> 24);
    out += static_cast<char>(n >> 16);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
  }
  return out;
}

// A BATCH frame whose one element is `element`.
std::string batch_of(const std::string& element) {
  std::string b;
  wire::begin_batch(b, 1);
  return b + element;
}

const actor::detail::wire_ref receiver{"n", "tcp://127.0.0.1:1", 1, 2};

// The default limits of a node and a Bridge (16 MiB frames, depth 32).
const auto node_limits = wire::limits(16u << 20);

// Checks that decoding every input `decode` is given leaves the process's VmPeak
// within a few MB of where it was: the reader allocates by the bytes at hand.
template <class Decode>
void check_bounded(Decode&& decode) {
  const long before = vm_peak_kib();
  REQUIRE(before > 0);
  for (unsigned char marker : {static_cast<unsigned char>(0xdd), static_cast<unsigned char>(0xdf)}) {
    for (std::size_t depth = 1; depth <= 32; ++depth) {
      CAPTURE(static_cast<int>(marker), depth);
      decode(nested_headers(marker, depth));
    }
  }
  const long grown = vm_peak_kib() - before;
  INFO("VmPeak grew by " << grown << " KiB");
  CHECK(grown < 8 * 1024);
}

}  // namespace

TEST_CASE("nested array32 and map32 headers as a frame before the handshake are refused without reserving memory",
          "[bounded][wire][hostile]") {
  check_bounded([](const std::string& bytes) {
    auto f = wire::decode_frame(bytes.data(), bytes.size(), node_limits);
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().code == actor::errc::bad_message);
  });
}

TEST_CASE("nested array32 and map32 headers as a frame's element are refused without reserving memory",
          "[bounded][wire][hostile]") {
  check_bounded([](const std::string& bytes) {
    // a HELLO whose name is the nested headers: the frame is a fixarray, its element is not
    const std::string frame = std::string("\x96\x01\x01\xa4" "node", 8) + bytes;
    auto f = wire::decode_frame(frame.data(), frame.size(), node_limits);
    REQUIRE_FALSE(f.has_value());
  });
}

TEST_CASE("nested array32 and map32 headers in a BATCH after the handshake are refused without reserving memory",
          "[bounded][wire][batch][hostile]") {
  wire::batch_decoder checked(node_limits, wire::batch_decoder::bodies::checked);
  wire::batch_decoder built(node_limits);
  check_bounded([&](const std::string& bytes) {
    // as a BATCH element (the general path), and as an envelope's body (the fast path)
    const auto as_element = batch_of(bytes);
    const auto as_body = batch_of(wire::encode_envelope(wire::kind::send, nullptr, receiver, 0, 0, "t", bytes));
    for (auto* d : {&checked, &built}) {
      CHECK_FALSE(d->decode(as_element.data(), as_element.size()).has_value());
      CHECK_FALSE(d->decode(as_body.data(), as_body.size()).has_value());
    }
  });
}

TEST_CASE("an envelope written as array32 with a body of nested headers is refused without reserving memory",
          "[bounded][wire][batch][hostile]") {
  wire::batch_decoder d(node_limits);
  check_bounded([&](const std::string& bytes) {
    // [kind, sender, receiver, correlation, ttl_ms, type, body] under an array32 header: not the encoder's shape
    const auto fix = wire::encode_envelope(wire::kind::send, nullptr, receiver, 0, 0, "t", bytes);
    const std::string as_array32 = std::string("\xdd\x00\x00\x00\x07", 5) + fix.substr(1);
    const auto frame = batch_of(as_array32);
    CHECK_FALSE(d.decode(frame.data(), frame.size()).has_value());
  });
}

TEST_CASE("an envelope written as array32 in a well-formed BATCH is still read", "[bounded][wire][batch]") {
  const auto fix = wire::encode_envelope(wire::kind::send, nullptr, receiver, 5, 0, "t", std::string("\x91\x01", 2));
  const std::string as_array32 = std::string("\xdd\x00\x00\x00\x07", 5) + fix.substr(1);
  const auto frame = batch_of(as_array32);
  wire::batch_decoder d(node_limits);
  REQUIRE(d.decode(frame.data(), frame.size()).has_value());
  REQUIRE(d.envelopes().size() == 1);
  CHECK(d.envelopes()[0].correlation == 5);
  CHECK(d.bad_elements() == 0);
}

TEST_CASE("unpack_bounded refuses headers claiming more elements than the bytes left, at every depth",
          "[bounded][hostile]") {
  check_bounded([](const std::string& bytes) {
    msgpack::zone z;
    auto o = actor::unpack_bounded(bytes, z);
    REQUIRE_FALSE(o.has_value());
    CHECK(o.error().code == actor::errc::bad_message);
    // limits cap a container at the input's length: a claim above it is refused as an overflow
    CHECK_THAT(o.error().text, Contains("insufficient bytes") || Contains("size overflow"));
  });
}

TEST_CASE("unpack_bounded reads a value, and says why it refuses one", "[bounded]") {
  msgpack::zone z;
  msgpack::sbuffer b;
  msgpack::pack(b, std::map<std::string, std::vector<int>>{{"a", {1, 2, 3}}});
  auto o = actor::unpack_bounded(std::string_view(b.data(), b.size()), z);
  REQUIRE(o.has_value());
  CHECK((o->as<std::map<std::string, std::vector<int>>>().at("a") == std::vector<int>{1, 2, 3}));

  std::string deep(33, '\x91');
  deep += '\x01';
  auto too_deep = actor::unpack_bounded(deep, z);
  REQUIRE_FALSE(too_deep.has_value());
  CHECK_THAT(too_deep.error().text, Contains("nested deeper than 32 levels"));
  CHECK(actor::unpack_bounded(deep.substr(1), z).has_value());  // 32 levels: the limit
  CHECK(actor::unpack_bounded(deep, z, 40).has_value());

  auto trailing = actor::unpack_bounded(std::string("\x01\x02", 2), z);
  REQUIRE_FALSE(trailing.has_value());
  CHECK_THAT(trailing.error().text, Contains("trailing bytes"));
  CHECK_FALSE(actor::unpack_bounded(std::string("\xc1", 1), z).has_value());
  CHECK_FALSE(actor::unpack_bounded("", z).has_value());
  // a header claiming 3 elements with 2 bytes left
  CHECK_THAT(actor::unpack_bounded(std::string("\x93\x01\x02", 3), z).error().text, Contains("insufficient bytes"));
  CHECK_THAT(actor::unpack_bounded(std::string("\x83\x01\x02\x03\x04", 5), z).error().text,
             Contains("insufficient bytes"));
}

TEST_CASE("a configuration, a Bridge reply body and actorctl's reply JSON are read by the bounded reader",
          "[bounded][hostile]") {
  check_bounded([](const std::string& bytes) {
    CHECK(actor::config::from_msgpack(bytes).error().code == actor::errc::bad_message);
    const actor::raw_message m{"t", bytes};
    auto r = actor::bridge::unpack(m, "t", [](const msgpack::object&) { FAIL("no value to convert"); });
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == actor::errc::bad_message);
    CHECK_FALSE(actorctl::msgpack_to_json(bytes).has_value());
  });
}
