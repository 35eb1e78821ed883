#pragma once
/// The actor types every node hosts by name: "echo", "counter", "kv", "observer", "printer" and
/// "thread_printer".
///
///   echo     answers every message with a copy of it
///   counter  counter_incr{by} -> counter_value{value}; counter_get -> counter_value
///            config: {"start": int}. Its output (actor/observe.hpp): counter_value, notified at
///            every change, so `actorctl observe NAME` follows a counter.
///   observer observes the actor named in its config and keeps what it received:
///            config {"observe": "name", "types": ["type", ...], "queue": int} ("observe" is
///            required; the name is followed across restarts); observer_report_request ->
///            observer_report{notes, lost, restarts, last} (the last 100 notifications, bodies
///            as MessagePack).
///   kv       kv_put{key, value} -> kv_ok; kv_get{key} -> kv_value{found, value};
///            kv_delete{key} -> kv_ok{existed}; kv_keys -> kv_key_list{keys} (sorted)
///   printer  the Concurrence seed's printer, a receive-style actor (coroutine; "thread_printer":
///            the same on a thread of its own; docs/receivers.md). Its messages are dynamic,
///            matched by name, with positional arguments as scripts send them:
///            printer.greeting ["name"] prints "Hello name", printer.farewell ["name"] prints
///            "Goodbye name" (a call of either is answered printer.printed {"line": ...});
///            printer.lines -> printer.line_list {"lines": [the last 1,000 lines]}.
///            {"who": "name"} is taken for ["name"].

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/message.hpp"

namespace actor {

class actor_system;

struct counter_incr {
  std::int64_t by = 1;
  ACTOR_FIELDS(by)
};
struct counter_get {
  ACTOR_NO_FIELDS
};
struct counter_value {
  std::int64_t value = 0;
  ACTOR_FIELDS(value)
};

struct kv_put {
  std::string key;
  std::string value;
  ACTOR_FIELDS(key, value)
};
struct kv_get {
  std::string key;
  ACTOR_FIELDS(key)
};
struct kv_delete {
  std::string key;
  ACTOR_FIELDS(key)
};
struct kv_keys {
  ACTOR_NO_FIELDS
};
struct kv_ok {
  bool existed = false;  ///< put: the key had a value; delete: the key existed
  ACTOR_FIELDS(existed)
};
struct kv_value {
  bool found = false;
  std::string value;
  ACTOR_FIELDS(found, value)
};
struct kv_key_list {
  std::vector<std::string> keys;
  ACTOR_FIELDS(keys)
};

/// One notification an observer received.
struct observer_note {
  std::string type;
  actor_ref from;
  std::vector<char> body;  ///< the message, MessagePack (a map of its fields)
  ACTOR_FIELDS(type, from, body)
};
struct observer_report_request {
  ACTOR_NO_FIELDS
};
struct observer_report {
  std::uint64_t notes = 0;     ///< notifications received
  std::uint64_t lost = 0;      ///< notifications lost (notifications_lost), in all
  std::uint64_t restarts = 0;  ///< times the observed name moved to another actor
  std::vector<observer_note> last;  ///< the last observer_notes_kept, oldest first
  ACTOR_FIELDS(notes, lost, restarts, last)
};
/// How many notifications an observer keeps for its report.
inline constexpr std::size_t observer_notes_kept = 100;

/// pulse: a task (actor/task.hpp) that notifies a beat every interval while in state "beating"
/// (its output), and none in state "paused". Config: interval_ms (integer, default 100), start
/// ("beating" or "paused", default "beating").
struct pulse_beat {
  std::uint64_t n = 0;  ///< beats so far, 1, 2, ...
  ACTOR_FIELDS(n)
};
struct pulse_pause {  // -> task_state (now "paused")
  ACTOR_NO_FIELDS
};
struct pulse_resume {  // -> task_state (now "beating")
  ACTOR_NO_FIELDS
};

/// How many printed lines a printer keeps for printer.lines.
inline constexpr std::size_t printer_lines_kept = 1000;

/// Registers "echo", "counter", "kv", "observer", "pulse", "printer" and "thread_printer" with sys.
void register_builtin_types(actor_system& sys);

}  // namespace actor

ACTOR_MESSAGE(actor::counter_incr, "actor.counter.incr");
ACTOR_MESSAGE(actor::counter_get, "actor.counter.get");
ACTOR_MESSAGE(actor::counter_value, "actor.counter.value");
ACTOR_MESSAGE(actor::kv_put, "actor.kv.put");
ACTOR_MESSAGE(actor::kv_get, "actor.kv.get");
ACTOR_MESSAGE(actor::kv_delete, "actor.kv.delete");
ACTOR_MESSAGE(actor::kv_keys, "actor.kv.keys");
ACTOR_MESSAGE(actor::kv_ok, "actor.kv.ok");
ACTOR_MESSAGE(actor::kv_value, "actor.kv.value");
ACTOR_MESSAGE(actor::kv_key_list, "actor.kv.key_list");
ACTOR_MESSAGE(actor::observer_report_request, "actor.observer.report");
ACTOR_MESSAGE(actor::observer_report, "actor.observer.report_reply");
ACTOR_MESSAGE(actor::pulse_beat, "actor.pulse.beat");
ACTOR_MESSAGE(actor::pulse_pause, "actor.pulse.pause");
ACTOR_MESSAGE(actor::pulse_resume, "actor.pulse.resume");
