#pragma once
/// Tasks (seed 000, PyWorks): actors with named states, a validated configuration, and a controlled
/// start (docs/tasks.md).
///
///   class pump final : public actor::task {
///    public:
///     explicit pump(const actor::config& cfg)
///         : task(cfg, actor::config_schema{}.required("rate", actor::config_kind::integer)
///                                          .optional("label", actor::config_kind::string, std::string("pump"))) {
///       add_state("idle", [this] { return actor::behavior{[this](const go&) { transition("pumping"); }}; });
///       add_state("pumping", [this] { return actor::behavior{...}; }, /*on_enter*/ [this] { ... });
///     }
///    protected:
///     void on_configure(const actor::config& settings) override { rate_ = settings.get<std::int64_t>("rate").value(); }
///   };
///
/// Contract:
///  - The configuration is checked against the task's schema when the task is built (its spawn):
///    a required key that is missing, a key of another kind, or a key the schema does not know is
///    errc::bad_message naming the key, and the spawn fails. Defaults fill the keys left out;
///    settings() is the result. The key "groups" (actor/group.hpp) is the node's and always allowed.
///  - Life: created -> configured -> running -> (stopped). Spawned alone, a task is configured and
///    started at once, in its on_start (on_configure, then on_run, then the first state is entered).
///    Spawned as part of a sequence (start_tasks, actor-node --task), it waits: the sequence sends
///    every task task_configure in order, then every task task_start in order, each answered before
///    the next is sent and within the step's deadline. A step that fails (the hook threw, or the
///    deadline passed) stops every task of the sequence, the last spawned first, and the sequence
///    fails with an error naming the task and the step.
///  - Until it runs, a task answers its lifecycle messages and task_state_request only: any other
///    request is answered errc::bad_message ("not running"), a send is dropped.
///  - Behaviors: a task's behavior is its lifecycle handlers, then its current state's (use
///    transition(), not become(), which would replace the lifecycle too). A task that overrides
///    on_stop calls task::on_stop (it runs the current state's exit hook).
///  - States: add_state in the constructor, the first added is the initial one (a task with none
///    has one, "main", whose behavior is make_state_behavior()). transition(name) from a handler
///    runs the current state's on_exit, then the new one's on_enter, at once; the new state's
///    behavior handles the next message. An on_enter may transition on. Stopping runs the current state's on_exit. A transition to an
///    unknown state throws std::logic_error (the handler crashes the task).
///  - task_state_request is answered in every phase: the state's name (empty before running), the
///    phase, the states.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actor/actor_base.hpp"
#include "actor/config.hpp"
#include "actor/fields.hpp"
#include "actor/message.hpp"

namespace actor {

class node;

/// The kinds of value a configuration key may hold.
enum class config_kind : std::uint8_t {
  string,   ///< a MessagePack str
  integer,  ///< a signed or unsigned integer
  number,   ///< an integer or a float
  boolean,
  strings,  ///< an array of str
  map,      ///< a map with str keys
  any,      ///< anything
};
[[nodiscard]] const char* to_string(config_kind k) noexcept;

/// The keys a task's configuration has.
class config_schema {
 public:
  struct key {
    std::string name;
    config_kind kind = config_kind::any;
    bool required = false;
    std::string about;
  };

  /// A key that must be given.
  config_schema& required(std::string name, config_kind kind, std::string about = {});
  /// A key that may be left out; `fallback` is its value then.
  template <class T>
  config_schema& optional(std::string name, config_kind kind, const T& fallback, std::string about = {}) {
    defaults_.set(name, fallback);
    keys_.push_back({std::move(name), kind, false, std::move(about)});
    return *this;
  }
  /// Keys the schema does not list are refused unless this is on.
  config_schema& allow_unknown(bool on = true) {
    allow_unknown_ = on;
    return *this;
  }

  /// cfg checked, with the defaults filled in; errc::bad_message naming the first bad key.
  [[nodiscard]] expected<config> apply(const config& cfg) const;
  [[nodiscard]] const std::vector<key>& keys() const noexcept { return keys_; }

 private:
  std::vector<key> keys_;
  config defaults_;
  bool allow_unknown_ = false;
};

// ---- the lifecycle protocol (sends and requests to a task) -------------------------------

/// Configure the task (a sequence's first step). -> task_configured, or the error.
struct task_configure {
  ACTOR_NO_FIELDS
};
struct task_configured {
  ACTOR_NO_FIELDS
};
/// Start it (the second step, once every task of the sequence is configured). -> task_started.
struct task_start {
  ACTOR_NO_FIELDS
};
struct task_started {
  std::string state;  ///< the state it entered
  ACTOR_FIELDS(state)
};
/// Where it is. -> task_state.
struct task_state_request {
  ACTOR_NO_FIELDS
};
struct task_state {
  std::string state;  ///< the current state ("" until it runs)
  std::string phase;  ///< "created", "configured", "running"
  std::vector<std::string> states;
  ACTOR_FIELDS(state, phase, states)
};

/// The base of a task: see the contract above.
class task : public actor_base {
 public:
  enum class phase : std::uint8_t { created, configured, running };

 protected:
  /// Checks cfg against schema (std::invalid_argument naming the key when it does not fit: the
  /// spawn fails with bad_message and that text).
  task(const config& cfg, config_schema schema);

  /// A state: its behavior (built when it is entered) and its hooks.
  void add_state(std::string name, std::function<behavior()> make, std::function<void()> on_enter = {},
                 std::function<void()> on_exit = {});
  /// Moves to `name`: current on_exit, then name's on_enter, now; name's behavior from the next message.
  void transition(const std::string& name);
  [[nodiscard]] const std::string& state_name() const noexcept { return state_; }
  [[nodiscard]] phase life() const noexcept { return phase_; }
  /// The configuration, checked, with the defaults.
  [[nodiscard]] const config& settings() const noexcept { return settings_; }
  /// What task_state_request answers: the state, the phase, the states in the order added.
  [[nodiscard]] task_state report() const;

  /// The configure step (settings() is set). Throwing fails it.
  virtual void on_configure(const config& /*settings*/) {}
  /// The start step, before the first state is entered. Throwing fails it.
  virtual void on_run() {}
  /// The behavior of the one state of a task that adds none ("main").
  virtual behavior make_state_behavior() { return {}; }

  // actor_base
  behavior make_behavior() final;
  void on_start() final;
  void on_stop(const stop_reason& why) override;

 private:
  struct state_def {
    std::string name;
    std::function<behavior()> make;
    std::function<void()> on_enter;
    std::function<void()> on_exit;
  };
  behavior lifecycle(behavior state_behavior);
  expected<task_configured> configure_step();
  expected<task_started> start_step();
  void enter(std::size_t index);
  [[nodiscard]] const state_def* find(const std::string& name) const;

  config settings_;
  bool in_sequence_ = false;
  phase phase_ = phase::created;
  std::vector<state_def> states_;
  std::string state_;  // "" until running
};

// ---- sequences ------------------------------------------------------------------------------

/// One task of a sequence: spawned by type (registered with the node's system), registered as
/// `name` when not empty, built with `config`.
struct task_spec {
  std::string type;
  std::string name;
  actor::config config;
  ACTOR_FIELDS(type, name, config)
};
/// To a node's manager: spawn the tasks, configure each in order, then start each in order, each
/// step within `step_timeout_ms`; on a failure, stop them all (the last spawned first).
/// -> task_sequence_started {refs} (in the order of `tasks`), or the error naming the task and step.
struct task_sequence_request {
  std::vector<task_spec> tasks;
  std::uint64_t step_timeout_ms = 5000;
  ACTOR_FIELDS(tasks, step_timeout_ms)
};
struct task_sequence_started {
  std::vector<actor_ref> refs;
  ACTOR_FIELDS(refs)
};

/// Runs a sequence on node n (through its manager) and waits for it: the refs, or the error.
/// Blocks the calling thread: not from an actor's handler (send task_sequence_request instead).
/// The key task_sequence_key is the sequence's: true makes a task wait for its steps.
[[nodiscard]] expected<std::vector<actor_ref>> start_tasks(node& n, std::vector<task_spec> tasks,
                                                           std::chrono::milliseconds step_timeout = std::chrono::seconds(5));

/// The config key a sequence sets on the tasks it spawns, so that they wait for its steps.
inline constexpr const char* task_sequence_key = "task.sequence";

}  // namespace actor

ACTOR_MESSAGE(actor::task_configure, "actor.task.configure");
ACTOR_MESSAGE(actor::task_configured, "actor.task.configured");
ACTOR_MESSAGE(actor::task_start, "actor.task.start");
ACTOR_MESSAGE(actor::task_started, "actor.task.started");
ACTOR_MESSAGE(actor::task_state_request, "actor.task.state");
ACTOR_MESSAGE(actor::task_state, "actor.task.state_reply");
ACTOR_MESSAGE(actor::task_sequence_request, "actor.node.start_tasks");
ACTOR_MESSAGE(actor::task_sequence_started, "actor.node.tasks_started");
