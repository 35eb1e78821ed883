// The protocol vectors (tests/vectors/protocol_vectors.json) against libactor's codec: each
// one decodes to the value the file states and re-encodes to exactly its bytes. The Python
// client checks the same file with its own codec (clients/python/tests/test_vectors.py).
#include <fstream>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "actor/actor.hpp"
#include "actor/bridge.hpp"
#include "actor/group.hpp"
#include "actor/builtins.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "bridge/refs.hpp"
#include "vectors.hpp"

namespace {

namespace wire = actor::detail::wire;
using vectors::json;

json load_vectors(const char* path = ACTOR_VECTORS_PATH) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  json all = vectors::parse(text.str());
  REQUIRE(all.k == json::kind::array);
  return all;
}

// A body through its registered C++ type (decoded into the struct, packed again), or, for a
// type this binary does not know, as a plain MessagePack value.
void pack_body(std::string_view type, const msgpack::object& body, msgpack::packer<actor::byte_sink>& pk) {
  actor::detail::ref_codec_scope scope(&actor::detail::bridge_codec());  // refs in bodies (actor.down's who)
  if (const auto* t = actor::find_message_type(type)) {
    std::unique_ptr<actor::detail::envelope> e(t->unpack(body));
    t->pack(e->data, pk);
  } else {
    pk.pack(body);
  }
}

void pack_ref(const wire::ref_view& r, msgpack::packer<actor::byte_sink>& pk) { pk.pack(r.to_ref()); }

// Encodes a decoded frame again, with the encoder functions of wire.hpp and, for envelopes,
// the layout router.cpp writes.
std::string reencode(const wire::frame& f) {
  switch (f.tag) {
    case wire::frame_tag::hello: return wire::encode(*wire::read_hello(f));
    case wire::frame_tag::welcome: return wire::encode(*wire::read_welcome(f));
    case wire::frame_tag::refuse: return wire::encode(*wire::read_refuse(f));
    case wire::frame_tag::ping:
    case wire::frame_tag::pong: return wire::encode_probe(f.tag, *wire::read_probe(f));
    case wire::frame_tag::hello_again: return wire::encode(*wire::read_hello_again(f));
    case wire::frame_tag::batch: break;
  }
  actor::byte_sink out;
  wire::begin_batch(out.bytes, f.size - 1);
  msgpack::packer<actor::byte_sink> pk(out);
  for (std::uint32_t i = 1; i < f.size; ++i) {
    auto v = wire::read_envelope(f.items[i]);
    REQUIRE(v.has_value());
    pk.pack_array(7);
    pk.pack(static_cast<std::uint8_t>(v->k));
    if (v->has_sender) {
      pack_ref(v->sender, pk);
    } else {
      pk.pack_nil();
    }
    pack_ref(v->receiver, pk);
    pk.pack(v->correlation);
    pk.pack(v->ttl_ms);
    pk.pack(v->type);
    pack_body(v->type, *v->body, pk);
  }
  return std::move(out.bytes);
}

}  // namespace

TEST_CASE("every protocol vector decodes to its stated value and re-encodes to the same bytes", "[wire][vectors]") {
  const json all = load_vectors();
  for (const auto& entry : all.items) {
    const auto& name = entry.at("name").s;
    INFO("vector " << name);
    const std::string bytes = vectors::from_hex(entry.at("hex").s);
    const json& value = entry.at("value");
    if (value.has("frame")) {
      auto f = wire::decode_frame(bytes.data(), bytes.size(), wire::limits(1 << 20));
      REQUIRE(f.has_value());
      CHECK(vectors::to_text(vectors::describe(*f)) == vectors::to_text(value));
      CHECK(vectors::to_hex(reencode(*f)) == vectors::to_hex(bytes));
    } else if (value.has("ref")) {
      auto h = msgpack::unpack(bytes.data(), bytes.size());
      wire::ref_view r;
      REQUIRE(wire::read_ref(h.get(), r));
      CHECK(vectors::to_text(vectors::describe(r)) == vectors::to_text(value.at("ref")));
      actor::byte_sink out;
      msgpack::packer<actor::byte_sink> pk(out);
      pack_ref(r, pk);
      CHECK(vectors::to_hex(out.bytes) == vectors::to_hex(bytes));
    } else {
      const auto& type = value.at("body_of").s;
      REQUIRE(actor::find_message_type(type) != nullptr);
      auto h = msgpack::unpack(bytes.data(), bytes.size());
      CHECK(vectors::to_text(vectors::from_msgpack(h.get())) == vectors::to_text(value.at("body")));
      actor::byte_sink out;
      msgpack::packer<actor::byte_sink> pk(out);
      pack_body(type, h.get(), pk);
      CHECK(vectors::to_hex(out.bytes) == vectors::to_hex(bytes));
    }
  }
}

TEST_CASE("the protocol vectors cover every frame and every envelope kind", "[wire][vectors]") {
  std::set<std::string> seen;
  for (const auto& entry : load_vectors().items) {
    const json& value = entry.at("value");
    if (value.has("ref")) seen.insert("ref");
    if (value.has("body_of")) seen.insert("body");
    if (!value.has("frame")) continue;
    seen.insert(value.at("frame").s);
    if (value.has("role")) seen.insert("hello " + value.at("role").s);
    if (value.has("envelopes")) {
      for (const auto& e : value.at("envelopes").items) {
        seen.insert(e.at("kind").s);
        if (e.at("sender").k == json::kind::null) seen.insert("nil sender");
        if (e.at("ttl_ms").magnitude > 0) seen.insert("ttl");
        if (e.at("receiver").items.at(3).magnitude == 1) seen.insert("registry");
      }
    }
  }
  for (const char* want : {"hello node", "hello client", "welcome", "refuse", "ping", "pong", "batch", "send",
                           "request", "reply", "error", "nil sender", "ttl", "registry", "ref", "body"}) {
    INFO(want);
    CHECK(seen.count(want) == 1);
  }
}

namespace {

// Whether a reader of the frame at `bytes` gets nothing from it: the frame is rejected as a
// whole, or a BATCH yields no envelope (its element is dropped), or a frame's fields are wrong.
bool rejected_by_frame_reader(const std::string& bytes) {
  auto f = wire::decode_frame(bytes.data(), bytes.size(), wire::limits(1 << 20));
  if (!f) return true;
  switch (f->tag) {
    case wire::frame_tag::hello: return !wire::read_hello(*f).has_value();
    case wire::frame_tag::welcome: return !wire::read_welcome(*f).has_value();
    case wire::frame_tag::refuse: return !wire::read_refuse(*f).has_value();
    case wire::frame_tag::ping:
    case wire::frame_tag::pong: return !wire::read_probe(*f).has_value();
    case wire::frame_tag::hello_again: return !wire::read_hello_again(*f).has_value();
    case wire::frame_tag::batch: {
      for (std::uint32_t i = 1; i < f->size; ++i) {
        if (wire::read_envelope(f->items[i]).has_value()) return false;
      }
      return true;
    }
  }
  return false;
}

bool rejected_by_batch_decoder(const std::string& bytes, wire::batch_decoder::bodies b) {
  wire::batch_decoder d(wire::limits(1 << 20), b);
  auto ok = d.decode(bytes.data(), bytes.size());
  return !ok || d.envelopes().empty();
}

}  // namespace

TEST_CASE("every malformed vector is rejected, by the general reader and by the batch decoder", "[wire][vectors][hostile]") {
  const json all = load_vectors(ACTOR_MALFORMED_VECTORS_PATH);
  REQUIRE(all.items.size() >= 10);
  for (const auto& entry : all.items) {
    const auto& name = entry.at("name").s;
    INFO("vector " << name << ": " << entry.at("meaning").s);
    const std::string bytes = vectors::from_hex(entry.at("hex").s);
    CHECK(rejected_by_frame_reader(bytes));
    if (wire::batch_decoder::is_batch(bytes.data(), bytes.size())) {
      CHECK(rejected_by_batch_decoder(bytes, wire::batch_decoder::bodies::built));
      CHECK(rejected_by_batch_decoder(bytes, wire::batch_decoder::bodies::checked));
    }
  }
}

namespace {

// Calls check(view, message) with the one envelope (of kind `kind`) of the BATCH vector `name`, its
// body as a Bridge decodes it (actor::bridge::unpack).
template <class Check>
void with_only_envelope(const std::string& name, Check&& check, wire::kind kind = wire::kind::send) {
  static const auto frames = [] {
    std::map<std::string, std::string> out;
    for (const auto& entry : load_vectors().items) out[entry.at("name").s] = vectors::from_hex(entry.at("hex").s);
    return out;
  }();
  INFO("vector " << name);
  REQUIRE(frames.count(name) == 1);
  const auto& bytes = frames.at(name);
  auto f = wire::decode_frame(bytes.data(), bytes.size(), wire::limits(1 << 20));
  REQUIRE(f.has_value());
  REQUIRE(f->size == 2);
  auto v = wire::read_envelope(f->items[1]);
  REQUIRE(v.has_value());
  CHECK(v->k == kind);
  msgpack::sbuffer body;
  msgpack::pack(body, *v->body);
  check(*v, actor::raw_message{std::string(v->type), std::string(body.data(), body.size())});
}

}  // namespace

TEST_CASE("the monitor vectors decode into the watch messages, as the Bridge reads them", "[wire][vectors][monitor]") {
  const auto only_envelope = [](const std::string& name, auto&& check) { with_only_envelope(name, check); };
  only_envelope("batch_monitor", [](const wire::envelope_view& v, const actor::raw_message& m) {
    CHECK(m.type == "actor.monitor");
    CHECK(v.correlation == 11);
    CHECK(v.sender.id == 2);
    CHECK(m.body == std::string("\x80", 1));
  });
  only_envelope("batch_down", [](const wire::envelope_view& v, const actor::raw_message& m) {
    CHECK(v.correlation == 11);
    std::optional<actor::down_msg> d;
    REQUIRE(actor::bridge::unpack(m, "actor.down", [&](const msgpack::object& o) { d.emplace(o.as<actor::down_msg>()); }));
    CHECK(d->monitor == 11);
    CHECK(actor::format_ref(d->who) == "n1@tcp://127.0.0.1:7100#1234605616436508552/16");
    CHECK(d->reason == actor::down_reason{actor::down_reason::kind::crashed, "boom", "std::runtime_error"});
  });
  only_envelope("batch_down_noproc", [](const wire::envelope_view& v, const actor::raw_message& m) {
    CHECK(v.correlation == 12);
    std::optional<actor::down_msg> d;
    REQUIRE(actor::bridge::unpack(m, "actor.down", [&](const msgpack::object& o) { d.emplace(o.as<actor::down_msg>()); }));
    CHECK_FALSE(d->who);
    CHECK(d->reason.what == actor::down_reason::kind::noproc);
  });
  only_envelope("batch_exit", [](const wire::envelope_view& v, const actor::raw_message& m) {
    CHECK(v.correlation == 5);
    std::optional<actor::exit_msg> x;
    REQUIRE(actor::bridge::unpack(m, "actor.exit", [&](const msgpack::object& o) { x.emplace(o.as<actor::exit_msg>()); }));
    CHECK(x->reason.what == actor::down_reason::kind::crashed);
    CHECK(x->reason.error_type == "std::runtime_error");
  });
  // a reason whose what is not one of the names is refused, not guessed
  msgpack::sbuffer bad;
  msgpack::packer<msgpack::sbuffer> pk(bad);
  pk.pack_map(3);
  pk.pack("monitor"), pk.pack(1), pk.pack("who"), pk.pack_nil(), pk.pack("reason");
  pk.pack_map(1), pk.pack("what"), pk.pack("exploded");
  auto r = actor::bridge::unpack(actor::raw_message{"actor.down", std::string(bad.data(), bad.size())}, "actor.down",
                                 [&](const msgpack::object& o) { (void)o.as<actor::down_msg>(); });
  CHECK_FALSE(r);
}

TEST_CASE("the group vectors decode into a members request and its reply, a list of refs", "[wire][vectors][group]") {
  using view = wire::envelope_view;
  using raw = actor::raw_message;
  with_only_envelope("batch_group_members", [](const view& v, const raw& m) {
    CHECK(m.type == "actor.group.members");
    CHECK(v.receiver.id == 0);  // the node's manager
    std::optional<actor::group_members_request> r;
    REQUIRE(actor::bridge::unpack(m, m.type, [&](const msgpack::object& o) { r.emplace(o.as<actor::group_members_request>()); }));
    CHECK(r->group == "tally");
  }, wire::kind::request);
  with_only_envelope("batch_group_member_list", [](const view& v, const raw& m) {
    CHECK(m.type == "actor.group.member_list");
    CHECK(v.correlation == 10);
    std::string group;
    std::size_t members = 0, ref_fields = 0;
    REQUIRE(actor::bridge::unpack(m, m.type, [&](const msgpack::object& o) {
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.as<std::string>() == "group") group = kv.val.as<std::string>();
        if (kv.key.as<std::string>() == "members") {
          members = kv.val.via.array.size;
          ref_fields = members > 0 ? kv.val.via.array.ptr[0].via.array.size : 0;
        }
      }
    }));
    CHECK(group == "tally");
    CHECK(members == 1);
    CHECK(ref_fields == 4);  // [node, address, incarnation, id]
  }, wire::kind::reply);
}

TEST_CASE("the observe vectors decode into the observe messages and a numbered notification",
          "[wire][vectors][observe]") {
  using view = wire::envelope_view;
  using raw = actor::raw_message;
  with_only_envelope("batch_observe", [](const view& v, const raw& m) {
    CHECK(m.type == "actor.observe");
    CHECK(v.correlation == 21);
    CHECK(v.sender.id == 3000);
    std::optional<actor::detail::observe_request> r;
    REQUIRE(actor::bridge::unpack(m, m.type, [&](const msgpack::object& o) { r.emplace(o.as<actor::detail::observe_request>()); }));
    CHECK(r->types.empty());
    CHECK(r->queue == 0);
  });
  with_only_envelope("batch_observe_reply", [](const view& v, const raw& m) {
    CHECK(v.correlation == 21);
    std::optional<actor::detail::observe_reply> r;
    REQUIRE(actor::bridge::unpack(m, m.type, [&](const msgpack::object& o) { r.emplace(o.as<actor::detail::observe_reply>()); }));
    CHECK(r->outputs == std::vector<std::string>{"actor.counter.value"});
    CHECK(r->error.empty());
  });
  with_only_envelope("batch_notification", [](const view& v, const raw& m) {
    CHECK(m.type == "actor.counter.value");
    CHECK(v.correlation == 3);  // the sequence number
    CHECK(v.receiver.id == 3000);
  });
  with_only_envelope("batch_observe_ack", [](const view& v, const raw& m) {
    CHECK(v.correlation == 21);
    std::optional<actor::detail::observe_ack> r;
    REQUIRE(actor::bridge::unpack(m, m.type, [&](const msgpack::object& o) { r.emplace(o.as<actor::detail::observe_ack>()); }));
    CHECK(r->seq == 256);
  });
}
