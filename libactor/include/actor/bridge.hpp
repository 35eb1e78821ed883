#pragma once
/// bridge: talks to actors from code that is not an actor (a service, a tool, a
/// test) over the public wire protocol (docs/protocol.md), as a *client*: it
/// listens nowhere and runs no actors.
///
///   actor::bridge b({.registries = {"tcp://10.0.0.5:7000"}, .name = "billing"});
///   auto v = b.call<actor::counter_value>("counters/main", actor::counter_incr{2}, 1s);
///   if (!v) std::cerr << v.error().describe() << "\n";   // timeout, node_down, ...
///
/// One background I/O thread owns every socket: one DEALER per node address the
/// bridge talks to (routing id `<name>/<16 hex digits>`, unique per bridge),
/// opened on first use. Requests leave in BATCH frames with the sender
/// `[name, "", 0, id]`; replies come back on the same connection. The bridge pings
/// every node it is connected to each heartbeat, and a node silent for longer than
/// down_after fails the calls pending on it with errc::node_down at that moment
/// (and new calls to it at once, until it answers again).
///
/// Thread-safety: every member function may be called from any number of threads
/// at once; a call blocks only its own thread, at most until its timeout (+ a few ms).
/// Errors are values (expected<T>), never exceptions; only the constructor throws.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/config.hpp"
#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"
#include "actor/message.hpp"
#include "actor/monitor.hpp"
#include "actor/node.hpp"
#include "actor/observe.hpp"
#include "actor/registry.hpp"

namespace actor {

struct bridge_options {
  /// actor-registry addresses used to resolve names; asked in this order, the next
  /// one when a registry is down or does not answer in its share of the timeout.
  std::vector<std::string> registries;
  /// The start of the routing id (`<name>/<random hex>`); nodes see it in their logs.
  std::string name = "bridge";
  /// How often connected nodes are pinged.
  std::chrono::milliseconds heartbeat{500};
  /// Silence after which a node is down: calls pending on it fail with node_down.
  std::chrono::milliseconds down_after{2000};
  /// The largest frame accepted from a node (ZMQ_MAXMSGSIZE).
  std::size_t max_message_size = 16u << 20;
  /// How long destruction may wait for messages not sent yet.
  std::chrono::milliseconds linger{200};
  /// After traffic, how long the I/O thread keeps polling before it blocks, so a
  /// reply that comes within it is read without a wake-up (node_options::busy_poll
  /// says more). 0: block at once.
  std::chrono::microseconds busy_poll{default_busy_poll};
  /// Nodes started as gateways (`--gateway-forwarding`, node_options::gateway) that this
  /// client can reach, e.g. the published port of a cluster in containers. When not empty,
  /// every envelope goes to the first of them that is not down, which forwards it inside
  /// the cluster by the receiver's address (docs/protocol.md "Gateways"); refs and registry
  /// addresses stay the cluster's (a registry may also be named by a gateway's address).
  /// Empty: each envelope goes straight to its receiver's node.
  std::vector<std::string> gateways;
};

/// A message as its registered type name and MessagePack body, for code that does
/// not know the type at compile time. Types defined with ACTOR_FIELDS (or MSGPACK_DEFINE_MAP) travel
/// as maps of their fields, so a map with the right keys is such a message.
struct raw_message {
  std::string type;  ///< e.g. "actor.counter.incr"
  std::string body;  ///< MessagePack bytes
};

/// What bridge::publish did.
struct publish_outcome {
  std::size_t members = 0;  ///< members listed
  std::size_t sent = 0;     ///< of them, sent to
  std::vector<std::pair<actor_ref, error>> failed;  ///< the others, and why
};

namespace detail {
class bridge_core;
struct watch_state;
struct monitor_state;
struct observation_state;
}  // namespace detail

/// Where a bridge call goes: an actor ref that came from the network (a reply, a
/// bridge, a node), a name resolved through the registries, a name registered on
/// one node, or a node's manager. A value type.
class target {
 public:
  /// A ref received from the network (a reply decoded by a bridge or a node);
  /// refs of local actors cannot be targets (calls fail with no_such_actor).
  target(actor_ref ref);  // NOLINT: implicit by design
  /// Text in the target grammar, read by parse_target: `NAME` (resolved through the
  /// bridge's registries at each call), `NAME@ADDRESS` or a printed ref. Malformed
  /// text makes every call to this target fail with bad_message, saying why.
  target(std::string text);  // NOLINT
  target(const char* text);  // NOLINT
  /// The name `name`, resolved through the bridge's registries at each call, taken as it
  /// is (not read as the target grammar: for names with '@' in them).
  [[nodiscard]] static target named(std::string name);
  /// The actor registered as `name` on the node at `address` (asked of that node's manager).
  [[nodiscard]] static target named_at(std::string address, std::string name);
  /// The manager (id 0) of the node at `address`, whatever incarnation runs there.
  [[nodiscard]] static target manager_at(std::string address);
  /// Actor `id` of incarnation `incarnation` of the node at `address`.
  [[nodiscard]] static target ref(std::string node, std::string address, std::uint64_t incarnation, std::uint64_t id);

  /// A short readable form, for error texts.
  [[nodiscard]] std::string describe() const;

 private:
  friend class detail::bridge_core;
  enum class kind : std::uint8_t { ref, name, named_at };
  target() = default;
  kind kind_ = kind::ref;
  detail::wire_ref ref_;  // kind::ref
  std::string name_;      // kind::name, kind::named_at
  std::string address_;   // kind::named_at
  bool valid_ = true;     // false: an actor_ref that cannot be a target, or malformed text
  std::string malformed_;  // why the text it was made from is not a target
};

/// The text form of a ref, `NODE@ADDRESS#INCARNATION/ID`, e.g.
/// `n1@tcp://127.0.0.1:7100#81985529216486895/16`; what parse_target reads back.
/// An empty string for the empty ref or a ref of a local actor.
[[nodiscard]] std::string format_ref(const actor_ref& ref);

/// Reads a target from text:
///   `NODE@ADDRESS#INCARNATION/ID`  a ref (NODE may be empty), as format_ref writes it
///   `NAME@ADDRESS`                 the actor registered as NAME on the node at ADDRESS
///   `NAME`                         a name resolved through the registries
/// errc::bad_message (with the reason) for malformed text.
[[nodiscard]] expected<target> parse_target(std::string_view text);

/// The changes of the names under a prefix, from bridge::watch. Move-only;
/// destroying it unsubscribes. next() may be called from one thread at a time.
class name_watch {
 public:
  name_watch(name_watch&&) noexcept;
  name_watch& operator=(name_watch&&) noexcept;
  ~name_watch();

  /// The names under the prefix when the watch started, sorted.
  [[nodiscard]] const std::vector<registry_entry>& snapshot() const noexcept;
  /// The next change (`event` "appeared", "changed" or "disappeared", when the
  /// ref is empty), waiting up to `timeout`: errc::timeout when none came,
  /// errc::node_down when the registry went down (the watch is over then),
  /// errc::shutting_down when the bridge was destroyed.
  expected<registry_changed> next(std::chrono::milliseconds timeout);

 private:
  friend class detail::bridge_core;
  name_watch(std::shared_ptr<detail::watch_state> s, std::weak_ptr<detail::bridge_core> core);
  void release() noexcept;  // unsubscribes
  std::shared_ptr<detail::watch_state> state_;
  std::weak_ptr<detail::bridge_core> core_;
};

/// A monitor on one actor, from bridge::monitor: completes exactly once with the reason the
/// actor is gone (down_reason: stopped, crashed with text and error_type, noproc, node_down
/// when the Bridge declares its node down, node_restarted when the node comes back as another
/// incarnation). Move-only; destroying it (or cancel()) ends the monitor and sends
/// `actor.demonitor`. wait() may be called from one thread at a time.
class monitor_handle {
 public:
  monitor_handle(monitor_handle&&) noexcept;
  monitor_handle& operator=(monitor_handle&&) noexcept;
  ~monitor_handle();  // cancel()

  /// The monitor's id: the correlation of its actor.monitor and actor.down envelopes.
  [[nodiscard]] std::uint64_t id() const noexcept;
  /// The monitored actor (a name target resolved).
  [[nodiscard]] const actor_ref& target() const noexcept;
  /// The reason, waiting up to `timeout` for it: errc::timeout when none came yet (the monitor
  /// stays: wait again), errc::shutting_down when it was cancelled or the bridge was destroyed
  /// before a down came. Once the reason came, every call returns it at once.
  expected<down_reason> wait(std::chrono::milliseconds timeout);
  /// Waits until the monitor is in place: a ping of the target's node, sent after the
  /// actor.monitor on the same connection, is answered, so the actor.monitor is queued at the
  /// target. A stop caused afterwards from anywhere then gives its real reason (not noproc).
  /// Errors: those of bridge::ping (timeout, node_down, ...).
  expected<void> sync(std::chrono::milliseconds timeout);
  /// Whether the reason came.
  [[nodiscard]] bool done() const;
  /// Calls fn once with the reason: on the Bridge's I/O thread when it comes (fn must not
  /// block, nor destroy the bridge), or at once on this thread when it came already. Replaces
  /// an earlier fn; never called after cancel() returns (cancel waits for a call under way on
  /// the I/O thread, so what fn captures may be freed right after cancel()).
  void on_down(std::function<void(const down_reason&)> fn);
  /// Ends the monitor: no down afterwards; `actor.demonitor` goes to the target's node. True
  /// when it was still waiting for its down (false: done, or cancelled already).
  bool cancel();

 private:
  friend class detail::bridge_core;
  monitor_handle(std::shared_ptr<detail::monitor_state> s, std::weak_ptr<detail::bridge_core> core);
  std::shared_ptr<detail::monitor_state> state_;
  std::weak_ptr<detail::bridge_core> core_;
};

/// One event of a Bridge observation (bridge::observe; docs/observe.md).
struct observed {
  enum class kind : std::uint8_t {
    notification,  ///< `msg` from `from`, number `seq` in this observation
    lost,          ///< `count` notifications were lost just before the next one (dropped at `from`)
    restarted,     ///< the observed name now names `from`, which is observed from now on
  };
  kind what = kind::notification;
  raw_message msg;
  actor_ref from;
  std::uint64_t seq = 0;
  std::uint64_t count = 0;
};

/// An observation of one actor, from bridge::observe. Move-only; destroying it (or cancel())
/// ends it: `actor.unobserve` goes to the observed actor. next() may be called from one thread
/// at a time.
class observation_handle {
 public:
  observation_handle(observation_handle&&) noexcept;
  observation_handle& operator=(observation_handle&&) noexcept;
  ~observation_handle();  // cancel()
  /// The observation's id: the Bridge's sender id for it, and the correlation of its messages.
  [[nodiscard]] std::uint64_t id() const noexcept;
  /// The outputs it receives (the observed actor's answer).
  [[nodiscard]] std::vector<std::string> outputs() const;
  /// The actor observed now.
  [[nodiscard]] actor_ref target() const;
  /// The next event, waiting up to `timeout`: errc::timeout when none came (wait again). When
  /// the observed actor is gone: an observation of a name looks the name up again (every 10 ms
  /// doubling to 1 s, within the timeout) and observes the actor that holds it now (an event
  /// `restarted`); any other ends, with actor_stopped (its down reason in the text) or node_down,
  /// and so does every later call. errc::shutting_down after cancel() or the bridge's end.
  /// Taking a notification acknowledges it: a caller that stops calling next() stops the stream
  /// at the observed actor's queue bound, where the oldest are dropped (an event `lost` then).
  expected<observed> next(std::chrono::milliseconds timeout);
  /// Notifications lost in all.
  [[nodiscard]] std::uint64_t lost() const;
  /// Ends the observation; true when it was still running.
  bool cancel();

 private:
  friend class detail::bridge_core;
  observation_handle(std::shared_ptr<detail::observation_state> s, std::weak_ptr<detail::bridge_core> core);
  std::shared_ptr<detail::observation_state> state_;
  std::weak_ptr<detail::bridge_core> core_;
};

/// One call of a multi_call.
struct bridge_call {
  target to;
  raw_message msg;
};

class bridge {
 public:
  /// Starts the I/O thread; connects lazily, on a node's first call. Throws
  /// std::runtime_error when a resource (context, thread) cannot be had.
  explicit bridge(bridge_options opts = {});
  /// Fails the calls still pending (in other threads) with errc::shutting_down,
  /// sends what is queued for up to `linger`, closes every socket and joins the
  /// I/O thread. Calls must not *start* while the bridge is being destroyed.
  ~bridge();
  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// The routing id this bridge uses on every connection.
  [[nodiscard]] const std::string& id() const noexcept;

  /// Requests `msg` of `to` and waits for the reply of type R, at most `timeout`
  /// (name resolution included). Errors: timeout, no_such_actor (also: a name
  /// nobody holds), actor_stopped, node_down (the node went silent, refused us, or
  /// restarted), remote_error (the handler threw), bad_message (the reply is not
  /// an R, or the request did not fit), overloaded, shutting_down.
  template <registered_message R, registered_message T>
  expected<R> call(const target& to, const T& msg, std::chrono::milliseconds timeout);
  /// The same for a message given as type name + MessagePack body; the reply comes
  /// back the same way, whatever its type.
  expected<raw_message> call(const target& to, const raw_message& msg, std::chrono::milliseconds timeout);

  /// Sends `msg` one way (anonymous: replies are not expected). Returns once it is
  /// queued; errors only for local problems: a name that cannot be resolved
  /// (within `resolve_timeout`), a message that cannot be encoded, overloaded,
  /// shutting_down, and node_down when the node is already known to be down.
  template <registered_message T>
  expected<void> send(const target& to, const T& msg,
                      std::chrono::milliseconds resolve_timeout = std::chrono::seconds(5));
  expected<void> send(const target& to, const raw_message& msg,
                      std::chrono::milliseconds resolve_timeout = std::chrono::seconds(5));

  /// Every call in flight at once; the outcomes in the order of `calls`, all
  /// within `timeout`.
  std::vector<expected<raw_message>> multi_call(const std::vector<bridge_call>& calls,
                                                std::chrono::milliseconds timeout);
  /// The same message to every target, replies of type R.
  template <registered_message R, registered_message T>
  std::vector<expected<R>> multi_call(const std::vector<target>& to, const T& msg, std::chrono::milliseconds timeout);

  /// Asks each actor to stop (`actor.stop`) at once: per actor, in order, `stopped`
  /// after its on_stop ran, or the error (actor_stopped when it was already gone, ...).
  std::vector<expected<stopped>> stop(const std::vector<target>& actors, std::chrono::milliseconds timeout);

  /// Spawns an actor of a registered type on the node at `node_address` (its
  /// manager does it); `name`, when not empty, is registered on that node. The
  /// ref is usable as a target. Errors: unknown_type, name_taken, bad_message
  /// (the configuration was rejected), and those of call.
  expected<actor_ref> spawn(const std::string& node_address, const std::string& type, const std::string& name = {},
                            const config& cfg = {}, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Resolves a name through the registries, asked in order (the next one when a
  /// registry is down, slow or does not know the name): no_such_actor when none
  /// that answered knows it or no registry is configured; node_down when none answered.
  expected<actor_ref> lookup(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The names starting with `prefix` ("" for all), sorted, from the first registry that answers.
  expected<std::vector<registry_entry>> list(const std::string& prefix = {},
                                           std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The members of `group` (actor/group.hpp): as the registries list them (bridge::list of
  /// "pg/GROUP/"), or, with `node_address`, as that node knows them (without registries, a
  /// node's groups are its own). Errors: bad_message (the group's name), those of list / call.
  expected<std::vector<actor_ref>> members(const std::string& group,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                           const std::string& node_address = {});
  /// Sends `msg` one way to every member of `group` (members(): the ones listed now), once each,
  /// from this client. Errors: those of members(); a member it could not send to is in `failed`.
  expected<publish_outcome> publish(const std::string& group, const raw_message& msg,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                    const std::string& node_address = {});
  template <registered_message T>
  expected<publish_outcome> publish(const std::string& group, const T& msg,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                    const std::string& node_address = {}) {
    auto raw = pack(type_of<T>(), &msg);
    if (!raw) return raw.error();
    return publish(group, *raw, timeout, node_address);
  }

  /// Subscribes to the names under `prefix` at the first registry that answers.
  /// The bridge renews the subscription every heartbeat while the watch lives.
  expected<name_watch> watch(const std::string& prefix, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Monitors the actor `target` names (a name is resolved first, within `resolve_timeout`:
  /// no_such_actor at once when nobody holds it): sends it `actor.monitor` and returns the
  /// handle its down completes (docs/protocol.md "Monitors and links"). An actor that is gone
  /// already completes it with noproc (answered by its node). Errors: those of resolving,
  /// bad_message (malformed text), overloaded, shutting_down.
  expected<monitor_handle> monitor(const target& target,
                                   std::chrono::milliseconds resolve_timeout = std::chrono::seconds(5));
  /// Observes the actor `target` names (docs/observe.md): its notifications of the outputs in
  /// opts.types (all when empty) reach next() of the handle, or `on_event` when given (on the
  /// Bridge's I/O thread, in order; it must not block: it runs before anything else the bridge
  /// reads; `on_end` then gets the error that ends the observation, and names are not followed).
  /// A name target is resolved first and, with next(), followed across restarts. Waits for the
  /// observed actor's answer within `timeout`. Errors: those of resolving, bad_message (an
  /// output it does not have: the text names it), actor_stopped / node_down (gone before it
  /// answered), timeout, overloaded, shutting_down.
  expected<observation_handle> observe(const target& target, observe_options opts = {},
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                       std::function<void(const observed&)> on_event = {},
                                       std::function<void(const error&)> on_end = {});
  /// Observations running; for tests.
  [[nodiscard]] std::size_t observations() const;
  /// Monitors waiting for their down; for tests.
  [[nodiscard]] std::size_t monitors() const;

  /// The manager of the node at `address`: its name, address and incarnation.
  expected<ping_reply> ping(const std::string& address, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The counters of the node at `address`.
  expected<node_stats> stats(const std::string& address, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Internal: encoding and decoding of typed messages (refs travel as wire refs).
  static expected<raw_message> pack(const message_type& type, const void* value);
  static expected<void> unpack(const raw_message& m, std::string_view type_name,
                               const std::function<void(const msgpack::object&)>& convert);

 private:
  template <class R>
  static expected<R> decode(expected<raw_message>&& reply);

  std::shared_ptr<detail::bridge_core> core_;
};

// ---- templates ----------------------------------------------------------------------

template <class R>
expected<R> bridge::decode(expected<raw_message>&& reply) {
  if (!reply) return reply.error();
  std::optional<R> out;
  auto ok = unpack(*reply, message_traits<R>::name, [&](const msgpack::object& o) { out.emplace(o.as<R>()); });
  if (!ok) return ok.error();
  return std::move(*out);
}

template <registered_message R, registered_message T>
expected<R> bridge::call(const target& to, const T& msg, std::chrono::milliseconds timeout) {
  auto raw = pack(type_of<T>(), &msg);
  if (!raw) return raw.error();
  return decode<R>(call(to, *raw, timeout));
}

template <registered_message T>
expected<void> bridge::send(const target& to, const T& msg, std::chrono::milliseconds resolve_timeout) {
  auto raw = pack(type_of<T>(), &msg);
  if (!raw) return raw.error();
  return send(to, *raw, resolve_timeout);
}

template <registered_message R, registered_message T>
std::vector<expected<R>> bridge::multi_call(const std::vector<target>& to, const T& msg,
                                            std::chrono::milliseconds timeout) {
  std::vector<expected<R>> out;
  auto raw = pack(type_of<T>(), &msg);
  if (!raw) {
    for (std::size_t i = 0; i < to.size(); ++i) out.emplace_back(raw.error());
    return out;
  }
  std::vector<bridge_call> calls;
  calls.reserve(to.size());
  for (const auto& t : to) calls.push_back({t, *raw});
  for (auto& r : multi_call(calls, timeout)) out.push_back(decode<R>(std::move(r)));
  return out;
}

}  // namespace actor
