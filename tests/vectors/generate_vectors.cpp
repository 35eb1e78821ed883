// Writes tests/vectors/protocol_vectors.json to stdout: frames, refs and bodies encoded by
// libactor's own encoder (wire.hpp for frames; envelopes packed the way router.cpp packs them,
// with the real message structs as bodies), each with its meaning and its decoded value.
//
//   build/tests/actor_generate_vectors > tests/vectors/protocol_vectors.json
//
// The file is generated once and committed; tests/unit/vectors_test.cpp (C++) and
// clients/python/tests/test_vectors.py (Python) check that both codecs read and rewrite it.
#include <cstdio>
#include <string>
#include <vector>

#include "actor/builtins.hpp"
#include "actor/dynamic_message.hpp"
#include "actor/monitor.hpp"
#include "actor/group.hpp"
#include "actor/observe.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "bridge/refs.hpp"  // the Bridge's ref codec: refs in bodies (actor.down's who) as wire refs
#include "vectors.hpp"

namespace {

namespace wire = actor::detail::wire;
using actor::detail::wire_ref;

constexpr std::uint64_t inc_n1 = 0x1122334455667788ULL;
constexpr std::uint64_t inc_n2 = 0x0badc0ffee15900dULL;
constexpr std::uint64_t inc_client = 0x00000000deadbeefULL;
const std::string addr_n1 = "tcp://127.0.0.1:7100";
const std::string addr_n2 = "tcp://127.0.0.1:7200";
const wire_ref counter_ref{"n1", addr_n1, inc_n1, 16};
const wire_ref forwarder_ref{"n2", addr_n2, inc_n2, 17};
const wire_ref client_ref{"script", "", 0, 1};
const wire_ref client_monitor_ref{"script", "", 0, 2};  // the id a Bridge monitors from
const wire_ref client_observe_ref{"script", "", 0, 3000};  // the id of one Bridge observation
const wire_ref manager_n1{"n1", addr_n1, inc_n1, 0};  // n1's manager, as it signs its replies
const wire_ref missing_ref{"n1", addr_n1, inc_n1, 99};    // no such actor on n1

struct envelope_spec {
  wire::kind k;
  const wire_ref* sender;  // null: anonymous
  wire_ref receiver;
  std::uint64_t correlation;
  std::uint64_t ttl_ms;
  std::string type;
  std::string body;  // packed
};

template <class T>
std::string pack(const T& v) {
  actor::detail::ref_codec_scope scope(&actor::detail::bridge_codec());
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return {b.data(), b.size()};
}

template <class T>
envelope_spec env(wire::kind k, const wire_ref* sender, wire_ref receiver, std::uint64_t correlation,
                  std::uint64_t ttl_ms, std::string type, const T& body) {
  return {k, sender, std::move(receiver), correlation, ttl_ms, std::move(type), pack(body)};
}

// as router::send_remote writes an envelope
std::string batch(const std::vector<envelope_spec>& envelopes) {
  std::string out;
  wire::begin_batch(out, envelopes.size());
  for (const auto& e : envelopes) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(7);
    pk.pack(static_cast<std::uint8_t>(e.k));
    if (e.sender == nullptr) {
      pk.pack_nil();
    } else {
      pk.pack(*e.sender);
    }
    pk.pack(e.receiver);
    pk.pack(e.correlation);
    pk.pack(e.ttl_ms);
    pk.pack(e.type);
    out.append(b.data(), b.size());
    out += e.body;
  }
  return out;
}

struct vector {
  std::string name;
  std::string meaning;
  std::string bytes;
  vectors::json value;
};

vectors::json frame_value(const std::string& bytes) {
  auto f = wire::decode_frame(bytes.data(), bytes.size(), wire::limits(1 << 20));
  if (!f) throw std::runtime_error(f.error().text);
  return vectors::describe(*f);
}

vectors::json ref_value(const std::string& bytes) {
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  wire::ref_view r;
  if (!wire::read_ref(h.get(), r)) throw std::runtime_error("not a ref");
  return vectors::json::object({{"ref", vectors::describe(r)}});
}

vectors::json body_value(const std::string& type, const std::string& bytes) {
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  return vectors::json::object({{"body_of", vectors::json::string(type)}, {"body", vectors::from_msgpack(h.get())}});
}

}  // namespace

int main() {
  using wire::kind;
  std::vector<vector> v;
  auto frame = [&](std::string name, std::string meaning, std::string bytes) {
    auto value = frame_value(bytes);
    v.push_back({std::move(name), std::move(meaning), std::move(bytes), std::move(value)});
  };

  frame("hello_node",
        "HELLO from a node named n1 that listens at tcp://127.0.0.1:7100, protocol version 1, incarnation "
        "0x1122334455667788: the first frame a node sends on its DEALER to a peer.",
        wire::encode(wire::hello{1, "node", "n1", addr_n1, inc_n1}));
  frame("hello_client",
        "HELLO from a Bridge client (role client, no address) calling itself script; its incarnation is a random "
        "number of its run.",
        wire::encode(wire::hello{1, "client", "script", "", inc_client}));
  frame("welcome",
        "WELCOME from node n1 accepting a HELLO: its name, address, incarnation and the largest frame it "
        "accepts (16 MiB).",
        wire::encode(wire::welcome{1, "n1", addr_n1, inc_n1, 16u << 20}));
  frame("refuse", "REFUSE of a HELLO that asked for protocol version 2.",
        wire::encode(wire::refuse{1, "protocol version 2 is not supported (this node speaks 1)"}));
  frame("ping", "PING number 7 from node n1 (its incarnation rides along).",
        wire::encode_probe(wire::frame_tag::ping, {7, inc_n1}));
  frame("pong", "PONG answering PING 7, from node n2: a different incarnation than before means n2 restarted.",
        wire::encode_probe(wire::frame_tag::pong, {7, inc_n2}));

  frame("batch_send",
        "BATCH of one send (kind 0): actor 17 on n2 tells the counter, actor 16 on n1, to add 5. No "
        "correlation, no ttl. The batch header is always a 5-byte array32.",
        batch({env(kind::send, &forwarder_ref, counter_ref, 0, 0, "actor.counter.incr", actor::counter_incr{5})}));
  frame("batch_send_anonymous",
        "BATCH of one anonymous send: the sender is nil, so nobody can answer it (kv put of key a).",
        batch({env(kind::send, nullptr, counter_ref, 0, 0, "actor.kv.put", actor::kv_put{"a", "apple"})}));
  frame("batch_request_with_ttl",
        "BATCH of one request (kind 1) from a Bridge client (sender [script, \"\", 0, 1]) to the counter: "
        "correlation 3, 1500 ms left until its deadline, asking for the counter's value.",
        batch({env(kind::request, &client_ref, counter_ref, 3, 1500, "actor.counter.get", actor::counter_get{})}));
  frame("batch_reply",
        "BATCH of one reply (kind 2) from the counter to the client's request 3: the value is 7.",
        batch({env(kind::reply, &counter_ref, client_ref, 3, 0, "actor.counter.value", actor::counter_value{7})}));
  frame("batch_error",
        "BATCH of one error (kind 3) answering the client's request 4: type actor.error, body {code, text}, code "
        "2 = no_such_actor.",
        batch({env(kind::error, nullptr, client_ref, 4, 0, "actor.error",
                   actor::error{actor::errc::no_such_actor, "no actor 99 on node n1"})}));
  frame("batch_two_envelopes",
        "BATCH of two envelopes for the same node, in the order sent: an increment by -3, then a request "
        "(correlation 9, ttl 250 ms) for the value.",
        batch({env(kind::send, &forwarder_ref, counter_ref, 0, 0, "actor.counter.incr", actor::counter_incr{-3}),
               env(kind::request, &forwarder_ref, counter_ref, 9, 250, "actor.counter.get", actor::counter_get{})}));
  frame("batch_spawn_request",
        "BATCH of one request to node n1's manager (id 0, incarnation 0: whatever runs at that address): spawn a "
        "counter named c1 starting at 1000.",
        batch({env(kind::request, &client_ref, wire_ref{"n1", addr_n1, 0, 0}, 5, 5000, "actor.node.spawn",
                   actor::spawn_request{"counter", "c1", actor::config().set("start", 1000)})}));
  frame("batch_stop_request", "BATCH of one request asking the counter to stop (actor.stop, empty body).",
        batch({env(kind::request, &client_ref, counter_ref, 6, 5000, "actor.stop", actor::stop_msg{})}));
  frame("batch_registry_lookup",
        "BATCH of one request to the registry's service actor, well-known id 1 with incarnation 0, at "
        "tcp://127.0.0.1:7000: look up the name c1 (reply actor.registry.found {name, ref}).",
        batch({env(kind::request, &client_ref, wire_ref{"registry", "tcp://127.0.0.1:7000", 0, 1}, 7, 2000,
                   "actor.registry.lookup", actor::registry_lookup{"c1"})}));

  // a dynamic message (docs/receivers.md): a type the receiving node has not registered, for a receiver
  frame("batch_dynamic_request",
        "BATCH of one request to a receive-style actor (actor-node's printer, id 16): type printer.greeting, "
        "which no C++ struct describes, with positional arguments: the body is the array [\"World\"].",
        batch({env(kind::request, &client_ref, counter_ref, 8, 5000, "printer.greeting",
                   actor::dynamic_message::of("printer.greeting", std::vector<std::string>{"World"}))}));

  // monitors and links (docs/protocol.md "Monitors and links"): kind send, the watch id in correlation
  using actor::down_reason;
  const down_reason crashed{down_reason::kind::crashed, "boom", "std::runtime_error"};
  frame("batch_monitor",
        "BATCH of one actor.monitor (kind 0): a Bridge client, from its id 2, monitors the counter; correlation 11 "
        "is the monitor id it chose; the body is empty.",
        batch({env(kind::send, &client_monitor_ref, counter_ref, 11, 0, "actor.monitor",
                   actor::detail::monitor_request{})}));
  frame("batch_demonitor", "BATCH of one actor.demonitor: the client ends monitor 11 (correlation 11, body {}).",
        batch({env(kind::send, &client_monitor_ref, counter_ref, 11, 0, "actor.demonitor",
                   actor::detail::demonitor_request{})}));
  frame("batch_down",
        "BATCH of one actor.down (kind 0) from the counter, which crashed, to the client's monitor 11: correlation "
        "11, body {monitor, who, reason {what, text, error_type}}; what is a string.",
        batch({env(kind::send, &counter_ref, client_monitor_ref, 11, 0, "actor.down",
                   actor::down_msg{11, actor::detail::make_bridge_ref(counter_ref), crashed})}));
  frame("batch_down_noproc",
        "BATCH of one actor.down with reason noproc: actor 99 of n1 did not exist when monitor 12 arrived, and n1 "
        "answers for it (sender: the ref the monitor named; who nil: the watcher knows whom it monitored).",
        batch({env(kind::send, &missing_ref, client_monitor_ref, 12, 0, "actor.down",
                   actor::down_msg{12, {}, {down_reason::kind::noproc, "no actor 99 on node n1", {}}})}));
  frame("batch_link",
        "BATCH of one actor.link: actor 17 on n2 links itself to the counter; correlation 5 is its link id.",
        batch({env(kind::send, &forwarder_ref, counter_ref, 5, 0, "actor.link", actor::detail::link_request{})}));
  frame("batch_exit",
        "BATCH of one actor.exit: the counter crashed and tells its linked actor 17 on n2 (correlation: the link "
        "id 5; body {from, reason}).",
        batch({env(kind::send, &counter_ref, forwarder_ref, 5, 0, "actor.exit",
                   actor::exit_msg{actor::detail::make_bridge_ref(counter_ref), crashed})}));

  // observe and notify (docs/protocol.md "Observe and notify"): sends, the observation id (or a
  // notification's sequence number) in correlation
  frame("batch_observe",
        "BATCH of one actor.observe (kind 0): a Bridge client, from its id 3000, observes the counter's outputs "
        "(types [] : all of them) with the default queue (0: 1,024); correlation 21 is the observation id.",
        batch({env(kind::send, &client_observe_ref, counter_ref, 21, 0, "actor.observe",
                   actor::detail::observe_request{{}, 0})}));
  frame("batch_observe_reply",
        "BATCH of one actor.observe.reply from the counter to observation 21: the outputs it will receive; error "
        "empty (an observation was made).",
        batch({env(kind::send, &counter_ref, client_observe_ref, 21, 0, "actor.observe.reply",
                   actor::detail::observe_reply{{"actor.counter.value"}, {}})}));
  frame("batch_notification",
        "BATCH of one notification: an ordinary send of the counter's output actor.counter.value {value: 7} from "
        "the counter to the observer; correlation 3 is its sequence number in the observation (a plain send has 0).",
        batch({env(kind::send, &counter_ref, client_observe_ref, 3, 0, "actor.counter.value",
                   actor::counter_value{7})}));
  frame("batch_observe_ack",
        "BATCH of one actor.observe.ack: the observer has handled 256 notifications of observation 21 in all.",
        batch({env(kind::send, &client_observe_ref, counter_ref, 21, 0, "actor.observe.ack",
                   actor::detail::observe_ack{256})}));

  // groups (docs/groups.md): what a client asks a node about a group; publishes are plain sends
  frame("batch_group_members",
        "BATCH of one request to node n1's manager: the members of group \"tally\" as n1 knows them.",
        batch({env(kind::request, &client_ref, wire_ref{"n1", addr_n1, 0, 0}, 10, 5000, "actor.group.members",
                   actor::group_members_request{"tally"})}));
  frame("batch_group_member_list",
        "BATCH of one reply from n1's manager to request 10: group \"tally\" has one member, actor 16 of n1 (members sorted by their "
        "membership names, pg/tally/<address>/<id>).",
        batch({env(kind::reply, &manager_n1, client_ref, 10, 0, "actor.group.member_list",
                   actor::group_members{"tally", {actor::detail::make_bridge_ref(counter_ref)}})}));

  const auto ref_bytes = pack(counter_ref);
  v.push_back({"ref", "A ref on its own: actor 16 of node n1 at tcp://127.0.0.1:7100, incarnation 0x1122334455667788.",
               ref_bytes, ref_value(ref_bytes)});
  const auto incr = pack(actor::counter_incr{5});
  v.push_back({"body_counter_incr", "The body of actor.counter.incr: a map of its fields, {by: 5}.", incr,
               body_value("actor.counter.incr", incr)});
  const auto error = pack(actor::error{actor::errc::timeout, "no reply within 250 ms"});
  v.push_back({"body_error", "The body of actor.error: {code: 1 (timeout), text}.", error,
               body_value("actor.error", error)});

  const auto down = pack(actor::down_msg{11, actor::detail::make_bridge_ref(counter_ref), crashed});
  v.push_back({"body_down", "The body of actor.down: {monitor: 11, who: the counter's ref, reason: {what: "
               "\"crashed\", text: \"boom\", error_type: \"std::runtime_error\"}}.",
               down, body_value("actor.down", down)});

  std::string out = "[\n";
  for (std::size_t i = 0; i < v.size(); ++i) {
    out += "  {\n    \"name\": " + vectors::to_text(vectors::json::string(v[i].name)) + ",\n";
    out += "    \"meaning\": " + vectors::to_text(vectors::json::string(v[i].meaning)) + ",\n";
    out += "    \"hex\": \"" + vectors::to_hex(v[i].bytes) + "\",\n";
    out += "    \"value\": " + vectors::to_text(v[i].value) + "\n  }";
    out += i + 1 < v.size() ? ",\n" : "\n";
  }
  out += "]\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}
