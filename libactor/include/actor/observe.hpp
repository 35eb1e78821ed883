#pragma once
/// Observe and notify (seed 000, PyWorks): an actor declares the message types it notifies (its
/// outputs); other actors, local or remote, observe it; notify(msg) reaches every current
/// observer of that type, as an ordinary message from the observed actor (docs/observe.md).
///
///   class sensor final : public actor::actor_base {
///    public:
///     sensor() { declare_outputs<reading>(); }   // in the constructor: before it can be observed
///    protected:
///     actor::behavior make_behavior() override {
///       return {[this](const sample& s) { notify(reading{s.value}); }};
///     }
///   };
///   class display final : public actor::actor_base {
///     actor::behavior make_behavior() override {
///       return {[this](const watch& w) { (void)observe(w.sensor); },
///               [](const reading& r) { ... },                          // sender(): the sensor
///               [](const actor::notifications_lost& l) { ... }};      // optional
///     }
///   };
///
/// Contract (actor_base::declare_outputs, notify, observe, unobserve):
///  - Outputs are declared in the constructor, before the actor is spawned; notify(msg) of a type
///    that is not declared throws std::logic_error (a programming error, like a bad cast).
///  - An observer receives the notifications of one observed actor in notify order, with the
///    observed actor as sender(), through its normal handlers. One observation per pair: observing
///    an actor again replaces the earlier observation (its types and queue).
///  - Observing a local actor by ref checks at once that the observer's current behavior has a
///    handler (or a fallback) for every output it observes: errc::bad_message naming the type
///    otherwise. For a remote actor, or a name, the check cannot be made at once: notifications
///    without a handler are counted (system_stats::notifications_unhandled) and logged once per
///    observation. A become() from on_start takes effect after it: observe from a handler then.
///  - Each observation has its own sequence (1, 2, 3 ...). Bounded memory: at most `queue`
///    notifications per observer are outstanding (sent and not yet handled by the observer, or
///    waiting at the observed actor); past it the oldest waiting one is dropped and counted
///    (system_stats::notifications_dropped at the observed actor's system). The observer learns
///    of every gap before the next notification it handles, as a notifications_lost message
///    (counted in notifications_lost whether or not it has a handler for it).
///  - An observation ends when the observer calls unobserve(id), when either side stops, or when
///    the other side's node is declared down or restarts (the monitors of actor/monitor.hpp), or
///    when the observed actor refuses it (an output it does not have: logged), or when the same
///    observer observes the same actor again (one observation per pair: the later one wins).
///  - Observing a name (actor_base::observe(name)) follows the name: the name is resolved through
///    the node's name service; when the observed actor is gone, the name is resolved again (every
///    10 ms doubling to 1 s, until it is found or unobserve) and the new actor is observed; the
///    observer then receives observed_restarted before the new actor's first notification. A
///    name that is not found at first is looked for the same way. An actor whose node was only
///    declared down (node_down) may be observed again when the name still leads to it. Without a
///    node (a bare actor_system) names resolve nowhere: the observation waits.
///  - Receive-style actors (actor/receiver.hpp) may observe: a notification counts as handled when
///    it reaches the receiver's own queue, not when its code takes it, so a receiver that waits
///    selectively for something else holds what comes meanwhile; they get no notifications_lost.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/fields.hpp"
#include "actor/message.hpp"

namespace actor {

/// How an actor observes another.
struct observe_options {
  /// The outputs to receive, by type name; empty: every output the observed actor declares.
  std::vector<std::string> types;
  /// Notifications outstanding at most (sent and not yet handled, or waiting at the observed
  /// actor); past it the oldest waiting one is dropped. 0: the default, 1024.
  std::size_t queue = 0;
};
inline constexpr std::size_t default_observe_queue = 1024;

/// Delivered to an observer before the next notification it handles when `count` notifications
/// of `from` were lost (dropped at `from` for a full queue). `total`: lost in this observation.
struct notifications_lost {
  actor_ref from;
  std::uint64_t count = 0;
  std::uint64_t total = 0;
  ACTOR_FIELDS(from, count, total)
};

/// Delivered to an observer of a name when the name now names another actor (`ref`), which it
/// observes from now on; `previous` is the actor that was gone.
struct observed_restarted {
  std::string name;
  actor_ref ref;
  actor_ref previous;
  ACTOR_FIELDS(name, ref, previous)
};

namespace detail {
// The messages behind observe (docs/protocol.md "Observe and notify"): kind send, correlation =
// the observation's id, chosen by the observer. Notifications themselves are ordinary sends of
// the output's type whose correlation is the observation's sequence number (1, 2, ...).
/// observer -> observed: start (or replace) an observation.
struct observe_request {
  std::vector<std::string> types;  ///< empty: every output
  std::uint64_t queue = 0;         ///< 0: default_observe_queue
  ACTOR_FIELDS(types, queue)
};
/// observed -> observer: the answer to observe_request; `error` not empty: refused (no observation).
struct observe_reply {
  std::vector<std::string> outputs;  ///< the outputs this observation receives
  std::string error;
  ACTOR_FIELDS(outputs, error)
};
/// observer -> observed: every notification numbered up to `seq` has been handled (or lost on its way).
struct observe_ack {
  std::uint64_t seq = 0;
  ACTOR_FIELDS(seq)
};
/// observer -> observed: end the observation.
struct unobserve_request {
  ACTOR_NO_FIELDS
};
/// internal, an actor to itself: look the name of observation `correlation` up again.
struct observe_retry {
  ACTOR_NO_FIELDS
};
template <>
inline constexpr bool runtime_message<observe_request> = true;
template <>
inline constexpr bool runtime_message<observe_reply> = true;
template <>
inline constexpr bool runtime_message<observe_ack> = true;
template <>
inline constexpr bool runtime_message<unobserve_request> = true;
template <>
inline constexpr bool runtime_message<observe_retry> = true;

/// How many notifications an observer may have on their way (sent, not yet acknowledged) for
/// an observation with queue limit `queue`; the rest wait at the observed actor.
[[nodiscard]] constexpr std::uint64_t observe_window(std::uint64_t queue) noexcept {
  const auto q = queue == 0 ? default_observe_queue : queue;
  return q < 2 ? 1 : q / 2;
}
/// How many notifications an observer handles between two acknowledgements.
[[nodiscard]] constexpr std::uint64_t observe_ack_every(std::uint64_t queue) noexcept {
  const auto w = observe_window(queue);
  return w < 2 ? 1 : w / 2;
}
}  // namespace detail

}  // namespace actor

ACTOR_MESSAGE(actor::notifications_lost, "actor.notifications_lost");
ACTOR_MESSAGE(actor::observed_restarted, "actor.observed_restarted");
ACTOR_MESSAGE(actor::detail::observe_request, "actor.observe");
ACTOR_MESSAGE(actor::detail::observe_reply, "actor.observe.reply");
ACTOR_MESSAGE(actor::detail::observe_ack, "actor.observe.ack");
ACTOR_MESSAGE(actor::detail::unobserve_request, "actor.unobserve");
ACTOR_MESSAGE(actor::detail::observe_retry, "actor.observe.retry");
