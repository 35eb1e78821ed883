// The wire decoder under hostile input: whatever arrives, it answers with a
// value or bad_message, never crashes and never allocates beyond the limits.
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "wire/wire.hpp"

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

TEST_CASE("a WELCOME carries its features, and without any is written as version 1 first had it", "[wire]") {
  for (std::uint64_t features : {std::uint64_t{0}, wire::feature_repeat}) {
    const auto bytes = wire::encode(wire::welcome{1, "n", "tcp://127.0.0.1:1", 7, 4096, features});
    auto f = decode(bytes);
    REQUIRE(f.has_value());
    CHECK(f->size == (features == 0 ? 6u : 7u));
    auto w = wire::read_welcome(*f);
    REQUIRE(w.has_value());
    CHECK(w->features == features);
    CHECK(w->max_message_size == 4096);
  }
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
  CHECK_FALSE(decode(pack_array({8, 1})).has_value());
  auto f = decode(pack_array({7, 1}));  // HELLO_AGAIN, but without its reason and list
  REQUIRE(f.has_value());
  CHECK_FALSE(wire::read_hello_again(*f).has_value());
  CHECK_FALSE(decode(std::string("\xa3" "abc", 4)).has_value());  // a string
}

TEST_CASE("a HELLO with fields of the wrong type is bad_message", "[wire][hostile]") {
  auto f = decode(pack_array({1, 1, 2, 3, 4, 5}));  // role, name, address must be strings
  REQUIRE(f.has_value());
  auto h = wire::read_hello(*f);
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error().code == actor::errc::bad_message);
}

TEST_CASE("a HELLO whose text fields are bin, not str, is bad_message", "[wire][hostile]") {
  // the protocol says str; msgpack-cxx alone would convert a bin to std::string
  for (int binary_field = 2; binary_field <= 4; ++binary_field) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(6);
    pk.pack(1);
    pk.pack(1);
    for (int i = 2; i <= 4; ++i) {
      const std::string text = i == 2 ? "client" : "x";
      if (i == binary_field) {
        pk.pack_bin(static_cast<std::uint32_t>(text.size()));
        pk.pack_bin_body(text.data(), static_cast<std::uint32_t>(text.size()));
      } else {
        pk.pack(text);
      }
    }
    pk.pack(7);
    const std::string bytes(b.data(), b.size());  // the frame's strings point into it
    auto f = decode(bytes);
    REQUIRE(f.has_value());
    INFO("bin at " << binary_field);
    auto h = wire::read_hello(*f);
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().code == actor::errc::bad_message);
  }
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

// ---- batch_decoder: the fast path for BATCH frames must accept exactly what ----
// ---- decode_frame + read_envelope accept, and read the same fields         ----

namespace {

struct general_result {
  bool frame_ok = false;
  std::size_t bad = 0;
  std::vector<std::string> envelopes;  // each described field by field, body as MessagePack
};

std::string describe(const wire::envelope_view& v) {
  msgpack::sbuffer body;
  msgpack::zone zone;
  if (v.body != nullptr) {
    msgpack::pack(body, *v.body);
  } else {  // a decoder that only checks bodies: built from its bytes, as the node does later
    REQUIRE_FALSE(v.body_bytes.empty());
    msgpack::pack(body, wire::unpack_body(v.body_bytes, zone));
  }
  return std::to_string(static_cast<int>(v.k)) + "|" + (v.has_sender ? std::string(v.sender.node) + "@" +
                                                                             std::string(v.sender.address) + "#" +
                                                                             std::to_string(v.sender.incarnation) +
                                                                             "/" + std::to_string(v.sender.id)
                                                                       : "anon") +
         "|" + std::string(v.receiver.node) + "@" + std::string(v.receiver.address) + "#" +
         std::to_string(v.receiver.incarnation) + "/" + std::to_string(v.receiver.id) + "|" +
         std::to_string(v.correlation) + "|" + std::to_string(v.ttl_ms) + "|" + std::string(v.type) + "|" +
         std::string(body.data(), body.size());
}

general_result general(const std::string& bytes) {
  general_result r;
  auto f = decode(bytes);
  if (!f || f->tag != wire::frame_tag::batch) return r;
  r.frame_ok = true;
  for (std::uint32_t i = 1; i < f->size; ++i) {
    auto v = wire::read_envelope(f->items[i]);
    if (v) {
      r.envelopes.push_back(describe(*v));
    } else {
      ++r.bad;
    }
  }
  return r;
}

general_result fast(wire::batch_decoder& d, const std::string& bytes) {
  general_result r;
  if (!wire::batch_decoder::is_batch(bytes.data(), bytes.size())) return r;
  if (!d.decode(bytes.data(), bytes.size())) return r;
  r.frame_ok = true;
  r.bad = d.bad_elements();
  for (const auto& v : d.envelopes()) r.envelopes.push_back(describe(v));
  return r;
}

void require_same(wire::batch_decoder& d, const std::string& bytes) {
  auto want = general(bytes);
  auto got = fast(d, bytes);
  CAPTURE(bytes.size());
  REQUIRE(got.frame_ok == want.frame_ok);
  REQUIRE(got.bad == want.bad);
  REQUIRE(got.envelopes == want.envelopes);
  // a decoder that only checks bodies accepts and rejects the same
  wire::batch_decoder checks(limits, wire::batch_decoder::bodies::checked);
  auto checked = fast(checks, bytes);
  REQUIRE(checked.frame_ok == want.frame_ok);
  REQUIRE(checked.bad == want.bad);
  REQUIRE(checked.envelopes == want.envelopes);
}

std::string sample_batch() {
  const actor::detail::wire_ref a{"node-a", "tcp://127.0.0.1:4000", 0x1234567890abcdefULL, 7};
  const actor::detail::wire_ref b{"node-b", "tcp://127.0.0.1:4001", 3, 70000};
  msgpack::sbuffer body;
  msgpack::packer<msgpack::sbuffer> pk(body);
  pk.pack_map(2);
  pk.pack(std::string("data"));
  pk.pack(std::string(64, 'x'));
  pk.pack(std::string("n"));
  pk.pack_array(3);
  pk.pack(-1);
  pk.pack(1.5);
  pk.pack_nil();
  const std::string_view b1(body.data(), body.size());
  std::string batch;
  wire::begin_batch(batch, 4);
  batch += wire::encode_envelope(wire::kind::send, &a, b, 0, 0, "t.one", b1);
  batch += wire::encode_envelope(wire::kind::request, nullptr, a, 1ULL << 40, 250, std::string(40, 't'), "\x80");
  batch += wire::encode_envelope(wire::kind::reply, &b, a, 255, 65536, "t.reply", "\xc0");
  batch += wire::encode_envelope(wire::kind::error, &a, b, 65535, 1, "actor.error", b1);
  return batch;
}

}  // namespace

TEST_CASE("the batch decoder reads what the encoder writes, as the general decoder does", "[wire][batch]") {
  wire::batch_decoder d(limits);
  const auto batch = sample_batch();
  REQUIRE(wire::batch_decoder::is_batch(batch.data(), batch.size()));
  require_same(d, batch);
  REQUIRE(d.decode(batch.data(), batch.size()));
  REQUIRE(d.envelopes().size() == 4);
  const auto& v = d.envelopes()[1];
  CHECK(v.k == wire::kind::request);
  CHECK_FALSE(v.has_sender);
  CHECK(v.receiver.node == "node-a");
  CHECK(v.receiver.incarnation == 0x1234567890abcdefULL);
  CHECK(v.correlation == 1ULL << 40);
  CHECK(v.ttl_ms == 250);
  CHECK(v.type == std::string(40, 't'));
  CHECK(d.envelopes()[0].sender.id == 7);
  CHECK(d.envelopes()[0].receiver.id == 70000);
}

TEST_CASE("repeat elements carry the envelopes that share the previous one's sender, receiver and type",
          "[wire][batch]") {
  const actor::detail::wire_ref a{"node-a", "tcp://127.0.0.1:4000", 0x1234567890abcdefULL, 7};
  const actor::detail::wire_ref b{"node-b", "tcp://127.0.0.1:4001", 3, 70000};
  const std::vector<std::string> envelopes{
      wire::encode_envelope(wire::kind::send, &a, b, 0, 0, "t.one", "\x81\xa1n\x01"),
      wire::encode_envelope(wire::kind::request, &a, b, 1ULL << 40, 250, "t.one", "\x81\xa1n\x02"),
      wire::encode_envelope(wire::kind::send, &a, b, 0, 0, "t.two", "\x80"),          // another type
      wire::encode_envelope(wire::kind::send, &a, b, 0, 0, "t.two", "\xc0"),
      wire::encode_envelope(wire::kind::send, nullptr, b, 0, 0, "t.two", "\xc0"),     // anonymous
      wire::encode_envelope(wire::kind::reply, nullptr, b, 9, 0, "t.two", "\x93\x01\x02\x03"),
      wire::encode_envelope(wire::kind::send, &b, a, 0, 0, "t.two", "\xc0"),          // the other way
  };
  auto build = [&](bool repeats) {
    std::string batch;
    wire::begin_batch(batch, envelopes.size());
    wire::written_envelope last;
    for (const auto& e : envelopes) {
      const auto layout = wire::layout_of(e);
      REQUIRE(layout.known());
      last = wire::append_envelope(batch, e, layout, last, repeats);
    }
    return batch;
  };
  const auto whole = build(false);
  const auto compact = build(true);
  std::string plain;  // what the encoder alone writes
  wire::begin_batch(plain, envelopes.size());
  for (const auto& e : envelopes) plain += e;
  CHECK(whole == plain);
  // three repeats: envelopes 2, 4 and 6 (counting from 1)
  CHECK(compact.size() < whole.size());
  wire::batch_decoder d(limits);
  const auto want = fast(d, whole);
  REQUIRE(want.envelopes.size() == envelopes.size());
  const auto got = fast(d, compact);
  CHECK(got.bad == 0);
  CHECK(got.envelopes == want.envelopes);
  REQUIRE(d.decode(compact.data(), compact.size()));
  std::vector<bool> repeats;
  for (const auto& v : d.envelopes()) repeats.push_back(v.repeat);
  CHECK(repeats == std::vector<bool>{false, true, false, true, false, true, false});

  SECTION("a repeat must follow a well-formed envelope") {
    const std::string repeat("\x94\x00\x00\x00\xc0", 5);
    std::string batch;
    wire::begin_batch(batch, 4);
    batch += repeat;                  // first: nothing to repeat
    batch += envelopes[0];
    batch += pack_array({1, 2, 3});  // no envelope
    batch += repeat;                  // after it: nothing to repeat either
    const auto r = fast(d, batch);
    REQUIRE(r.frame_ok);
    CHECK(r.bad == 3);
    CHECK(r.envelopes == std::vector<std::string>{want.envelopes[0]});
  }
  SECTION("a repeat in other valid encodings is read the general way") {
    std::string batch;
    wire::begin_batch(batch, 2);
    batch += envelopes[0];
    batch += std::string("\xdc\x00\x04\xd0\x01\xcd\x01\x00\xcc\x05\xc0", 11);  // array16, int8, uint16, uint8
    REQUIRE(d.decode(batch.data(), batch.size()));
    REQUIRE(d.envelopes().size() == 2);
    CHECK(d.bad_elements() == 0);
    const auto& v = d.envelopes()[1];
    CHECK_FALSE(d.envelopes()[0].repeat);
    CHECK(v.repeat);
    CHECK(v.k == wire::kind::request);
    CHECK(v.correlation == 256);
    CHECK(v.ttl_ms == 5);
    CHECK(v.type == "t.one");
    CHECK(v.sender.id == 7);
    CHECK(v.receiver.id == 70000);
    CHECK(v.body->is_nil());
  }
}

TEST_CASE("the batch decoder takes other valid encodings and skips elements that are no envelope",
          "[wire][batch]") {
  wire::batch_decoder d(limits);
  std::string batch;
  wire::begin_batch(batch, 3);
  // an envelope written with wider headers than needed: array16, int8 for non-negative ints, str8
  batch += std::string("\xdc\x00\x07" "\xd0\x01" "\xc0" "\x94\xd9\x01n\xa1" "a" "\xd1\x00\x05\xd2\x00\x00\x00\x09"
                       "\xcc\x03" "\xd3\x00\x00\x00\x00\x00\x00\x00\x64" "\xa1t" "\x80",
                       34);
  batch += pack_array({1, 2, 3});      // well-formed, but no envelope
  batch += pack_array({9, 0, 0, 0, 0, 0, 0});  // an unknown kind
  require_same(d, batch);
  REQUIRE(d.decode(batch.data(), batch.size()));
  REQUIRE(d.envelopes().size() == 1);
  CHECK(d.bad_elements() == 2);
  CHECK_FALSE(d.first_bad().empty());
  CHECK(d.envelopes()[0].receiver.id == 9);
  CHECK(d.envelopes()[0].ttl_ms == 100);
}

TEST_CASE("the batch decoder rejects hostile frames as the general decoder does", "[wire][batch][hostile]") {
  wire::batch_decoder d(limits);
  const auto batch = sample_batch();
  SECTION("every truncation") {
    for (std::size_t n = 0; n < batch.size(); ++n) require_same(d, batch.substr(0, n));
  }
  SECTION("trailing bytes") { require_same(d, batch + "x"); }
  SECTION("a header claiming 4 billion elements") {
    const std::string huge("\xdd\xff\xff\xff\xff\x06", 6);
    CHECK(wire::batch_decoder::is_batch(huge.data(), huge.size()));
    CHECK_FALSE(d.decode(huge.data(), huge.size()).has_value());
    require_same(d, huge);
  }
  SECTION("a body nested one level deeper than a frame allows") {
    for (std::size_t depth : {29u, 30u, 31u, 40u}) {
      std::string body(depth, '\x91');
      body += '\x01';
      const actor::detail::wire_ref r{"n", "a", 1, 2};
      std::string b;
      wire::begin_batch(b, 1);
      b += wire::encode_envelope(wire::kind::send, nullptr, r, 0, 0, "t", body);
      CAPTURE(depth);
      require_same(d, b);
      CHECK(fast(d, b).frame_ok == (depth <= 30));
    }
  }
  SECTION("random single-byte changes") {
    std::mt19937 rng(777);
    for (int round = 0; round < 3000; ++round) {
      auto bytes = batch;
      const int changes = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < changes; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      require_same(d, bytes);
    }
  }
  SECTION("it is ready for the next frame after a bad one") {
    const std::string garbage("\x92\x06\xdb\xff\xff\xff\xff", 7);
    CHECK_FALSE(d.decode(garbage.data(), garbage.size()).has_value());
    require_same(d, batch);
  }
}

namespace {

// A random MessagePack value of every kind the format has, nested up to `depth`.
void random_value(std::mt19937& rng, msgpack::packer<msgpack::sbuffer>& pk, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 0 ? 14 : 11));
  const auto n = [&](std::uint32_t most) { return static_cast<std::uint32_t>(rng() % (most + 1)); };
  switch (kind) {
    case 0: pk.pack_nil(); break;
    case 1: pk.pack(rng() % 2 == 0); break;
    case 2: pk.pack(static_cast<std::uint64_t>(rng()) << (rng() % 40)); break;
    case 3: pk.pack(-static_cast<std::int64_t>(rng() % 100000) - 1); break;
    case 4: pk.pack_float(static_cast<float>(rng()) / 7.0f); break;
    case 5: pk.pack_double(static_cast<double>(rng()) / 3.0); break;
    case 6: {
      std::string s(n(40), 'a');
      pk.pack(s);
      break;
    }
    case 7: {
      const auto len = n(300);
      pk.pack_str(len);
      pk.pack_str_body(std::string(len, 's').data(), len);
      break;
    }
    case 8: {
      const auto len = n(20);
      pk.pack_bin(len);
      pk.pack_bin_body(std::string(len, '\x01').data(), len);
      break;
    }
    case 9: {
      static const std::uint32_t sizes[] = {0, 1, 2, 3, 4, 8, 16, 17, 300};
      const auto len = sizes[rng() % 9];
      pk.pack_ext(len, static_cast<std::int8_t>(rng() % 100));
      pk.pack_ext_body(std::string(len, '\x02').data(), len);
      break;
    }
    case 10: pk.pack(static_cast<std::int8_t>(rng() % 64)); break;  // may be written as a fixint
    case 11: case 12: {
      const auto len = n(kind == 11 ? 5 : 20);
      pk.pack_array(len);
      for (std::uint32_t i = 0; i < len; ++i) random_value(rng, pk, depth - 1);
      break;
    }
    default: {
      const auto len = n(5);
      pk.pack_map(len);
      for (std::uint32_t i = 0; i < len; ++i) {
        random_value(rng, pk, depth - 1);
        random_value(rng, pk, depth - 1);
      }
    }
  }
}

}  // namespace

TEST_CASE("the batch decoder builds every kind of body as msgpack-cxx does, also when mangled",
          "[wire][batch][hostile]") {
  wire::batch_decoder d(limits);
  std::mt19937 rng(4242);
  const actor::detail::wire_ref r{"n", "tcp://127.0.0.1:1", 1, 2};
  std::size_t accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string batch;
    const int count = 1 + static_cast<int>(rng() % 4);
    wire::begin_batch(batch, static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      msgpack::sbuffer body;
      msgpack::packer<msgpack::sbuffer> pk(body);
      random_value(rng, pk, 1 + static_cast<int>(rng() % 4));
      batch += wire::encode_envelope(wire::kind::send, nullptr, r, 0, 0, "t", {body.data(), body.size()});
    }
    CAPTURE(round);
    if (round % 2 == 1) {
      for (int i = 0; i < 2; ++i) batch[5 + rng() % (batch.size() - 5)] = static_cast<char>(rng());
    } else {
      REQUIRE(fast(d, batch).frame_ok);  // unmangled: always well-formed
    }
    require_same(d, batch);
    accepted += fast(d, batch).frame_ok ? 1 : 0;
  }
  CHECK(accepted > 1500);  // the mangled half is not all rejected either
}
