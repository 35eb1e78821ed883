// The supervisor actor (actor/supervisor.hpp): children started, watched, restarted and
// stopped by one sequential list of tasks, so starts keep start order and stops keep
// reverse start order even when each waits for a reply.

#include "node/supervisor.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <stdexcept>

#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/supervisor.hpp"
#include "actor/system.hpp"
#include "net/router.hpp"

namespace actor::detail {

/// Internal: a batch of restarts whose backoff has passed.
struct supervisor_restart_due {
  std::uint64_t batch = 0;
  ACTOR_FIELDS(batch)
};

/// Internal: time to ask the orphans to stop again.
struct supervisor_orphans_due {
  ACTOR_NO_FIELDS
};

}  // namespace actor::detail

ACTOR_MESSAGE(actor::detail::supervisor_restart_due, "actor.supervisor.internal.restart");
ACTOR_MESSAGE(actor::detail::supervisor_orphans_due, "actor.supervisor.internal.orphans");

namespace actor::detail {

namespace {

enum class child_state : std::uint8_t {
  waiting,     // not running; a start is queued or due
  starting,    // a spawn is under way
  running,
  stopping,    // a stop request is under way (demonitored)
  restarting,  // waiting for its backoff
  stopped,     // not running and not to be restarted
};

std::string_view to_string(child_state s) {
  switch (s) {
    case child_state::waiting: return "waiting";
    case child_state::starting: return "starting";
    case child_state::running: return "running";
    case child_state::stopping: return "stopping";
    case child_state::restarting: return "restarting";
    case child_state::stopped: return "stopped";
  }
  return "unknown";
}

struct child {
  child_spec spec;
  std::size_t index = 0;
  child_state state = child_state::waiting;
  actor_ref ref;
  std::uint64_t monitor = 0;
  std::size_t node_choice = 0;  // 0: spec.node, i: spec.fallback_nodes[i - 1]
  std::size_t node_tries = 0;   // nodes tried since the last success
  std::uint64_t restarts = 0;
  unsigned backoff_n = 0;       // restarts since it last stayed up for backoff_max
  time_point started_at{};
  time_point restart_at{};
  std::uint64_t timer_batch = 0;  // the restart timer it waits for (when restarting)
  bool restart_counted = false;   // this restart is in restarts already (a group may schedule it again)
  std::string last_reason;

  [[nodiscard]] std::string id() const { return spec.name.empty() ? "#" + std::to_string(index) : spec.name; }
  [[nodiscard]] std::size_t node_count() const { return 1 + spec.fallback_nodes.size(); }
  [[nodiscard]] const std::string& node() const {
    return node_choice == 0 ? spec.node : spec.fallback_nodes[node_choice - 1];
  }
};

struct task {
  enum class kind : std::uint8_t { start, stop, schedule, finish } what;
  std::size_t child = 0;    // start, stop
  std::uint64_t batch = 0;  // schedule: pending_batches_
};

bool restartable(const child& c, const actor::down_reason& why) {
  switch (c.spec.restart) {
    case restart_kind::permanent: return true;
    case restart_kind::transient: return why.abnormal();
    case restart_kind::temporary: return false;
  }
  return false;
}

/// The least wait after every node of a child's list refused its start (a backoff of 0 must
/// not turn a cluster with no node to start on into a busy loop).
constexpr duration min_round_wait = std::chrono::milliseconds(10);

/// Orphans (children lost with their node that may still run) are asked to stop this often, for
/// at most this long, at most this many at once.
constexpr duration orphan_retry = std::chrono::seconds(1);
constexpr duration orphan_patience = std::chrono::minutes(10);
constexpr std::size_t max_orphans = 1000;

bool node_lost(const actor::down_reason& why) {
  return why.what == actor::down_reason::kind::node_down || why.what == actor::down_reason::kind::node_restarted;
}

class supervisor_actor final : public actor_base {
 public:
  supervisor_actor(std::weak_ptr<router> net, supervisor_spec spec) : net_(std::move(net)), spec_(std::move(spec)) {
    for (std::size_t i = 0; i < spec_.children.size(); ++i) {
      child c;
      c.spec = spec_.children[i];
      c.index = i;
      children_.push_back(std::move(c));
    }
  }

 protected:
  behavior make_behavior() override {
    return {
        [this](const down_msg& d) { on_down(d); },
        [this](const supervisor_restart_due& r) { on_restart_due(r.batch); },
        [this](const supervisor_orphans_due&) { stop_orphans(); },
        [this](const supervisor_stats_request&) { return stats(); },
        [this](const stop_msg&) {
          stop_promises_.push_back(make_response_promise());
          begin_shutdown(stop_reason::kind::requested, {});
        },
    };
  }

  void on_start() override {
    trap_stop(true);
    for (auto& c : children_) tasks_.push_back({task::kind::start, c.index});
    pump();
  }

  void on_stop(const stop_reason& why) override {
    // stopped without an ordered shutdown (the system's shutdown, or a crash here): the
    // children still running are asked to stop, in reverse start order, without waiting
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
      if (it->ref && (it->state == child_state::running || it->state == child_state::stopping)) {
        send(it->ref, stop_msg{});
      }
      it->ref = {};
    }
    for (auto& o : orphans_) send(o.ref, stop_msg{});
    orphans_.clear();
    for (auto& p : stop_promises_) p.deliver(stopped{});
    stop_promises_.clear();
    ACTOR_LOG(info, "supervisor", "stopped", {"id", self().id()}, {"reason", std::string(actor::to_string(why.what))},
              {"text", why.text});
  }

 private:
  // ---- the task list: one start or stop at a time -------------------------------------

  void start_child(child& c) {
    if (c.state != child_state::waiting && c.state != child_state::restarting) return;
    if (shutting_down_) return;
    c.state = child_state::starting;
    if (c.spec.node.empty() && c.spec.name.empty()) {  // here, unnamed: at once
      auto ref = system().spawn(c.spec.type, c.spec.config);
      if (ref) return started(c, *ref);
      return start_failed(c, ref.error());
    }
    auto net = net_.lock();
    if (!net || net->stopped()) {
      // this supervisor's own node has stopped: nothing can be started from here any more
      c.state = child_state::waiting;
      c.last_reason = "start failed: this supervisor's node has stopped";
      ACTOR_LOG(warn, "supervisor", "node_stopped", {"supervisor", self().id()}, {"child", c.id()});
      return begin_shutdown(stop_reason::kind::shutdown, "the supervisor's node has stopped");
    }
    const auto manager = c.spec.node.empty() ? net->manager() : net->remote(c.node(), 0, manager_id);
    busy_ = true;
    request(manager, spawn_request{c.spec.type, c.spec.name, c.spec.config}, spec_.spawn_timeout)
        .then(
            [this, i = c.index](const spawn_reply& r) {
              busy_ = false;
              started(children_[i], r.ref);
              pump();
            },
            [this, i = c.index](const error& e) {
              busy_ = false;
              start_failed(children_[i], e);
              pump();
            });
  }

  void started(child& c, const actor_ref& ref) {
    c.ref = ref;
    c.state = child_state::running;
    c.restart_counted = false;
    c.started_at = now();
    c.node_tries = 0;
    c.monitor = monitor(ref);
    ACTOR_LOG(debug, "supervisor", "child_started", {"supervisor", self().id()}, {"child", c.id()},
              {"type", c.spec.type}, {"node", c.node()}, {"id", ref.id()});
    if (shutting_down_) {  // it was under way when the shutdown began: stopped with the rest
      tasks_.push_front({task::kind::stop, c.index});
    }
  }

  void start_failed(child& c, const error& e) {
    c.state = child_state::waiting;
    c.last_reason = "start failed: " + e.describe();
    const bool node_trouble =
        !c.spec.node.empty() && (e.code == errc::node_down || e.code == errc::timeout || e.code == errc::shutting_down);
    ACTOR_LOG(warn, "supervisor", "start_failed", {"supervisor", self().id()}, {"child", c.id()},
              {"type", c.spec.type}, {"node", c.node()}, {"error", e.describe()});
    if (shutting_down_) {
      c.state = child_state::stopped;
      return;
    }
    if (own_node_stopped()) {
      ACTOR_LOG(warn, "supervisor", "node_stopped", {"supervisor", self().id()}, {"child", c.id()});
      return begin_shutdown(stop_reason::kind::shutdown, "the supervisor's node has stopped");
    }
    if (node_trouble) {
      // the next node in turn; after a whole round, the backoff and the home node again
      c.node_choice = (c.node_choice + 1) % c.node_count();
      if (++c.node_tries < c.node_count()) {
        tasks_.push_front({task::kind::start, c.index});
        return;
      }
      c.node_tries = 0;
      c.node_choice = 0;
      // a whole round of nodes refused: never a busy loop, whatever the configured backoff
      return schedule({c.index}, std::max(next_backoff(c), min_round_wait));
    }
    if (!count_restart()) return;
    schedule({c.index}, next_backoff(c));
  }

  // This supervisor's own node has stopped (or is stopping): no child can be started from here.
  [[nodiscard]] bool own_node_stopped() const {
    auto net = net_.lock();
    return !net || net->stopped();
  }

  void stop_child(child& c) {
    if (c.state != child_state::running) return;
    demonitor(c.monitor);
    c.state = child_state::stopping;
    busy_ = true;
    const auto deadline = c.spec.shutdown;
    request(c.ref, stop_msg{}, deadline)
        .then(
            [this, i = c.index](const stopped&) { child_stopped(children_[i], false); },
            [this, i = c.index](const error& e) {
              // gone already (actor_stopped, no_such_actor, node_down) is stopped too
              child_stopped(children_[i], e.code == errc::timeout);
            });
  }

  void child_stopped(child& c, bool killed) {
    busy_ = false;
    if (killed) {
      ACTOR_LOG(warn, "supervisor", "child_killed", {"supervisor", self().id()}, {"child", c.id()},
                {"id", c.ref.id()}, {"shutdown_ms", c.spec.shutdown.count()});
    }
    c.ref = {};
    c.state = shutting_down_ || c.spec.restart == restart_kind::temporary ? child_state::stopped : child_state::waiting;
    pump();
  }

  // ---- deaths and restarts -------------------------------------------------------------

  void on_down(const down_msg& d) {
    auto it = std::find_if(children_.begin(), children_.end(),
                           [&](const child& c) { return c.monitor == d.monitor && c.state == child_state::running; });
    if (it == children_.end()) return;
    auto& c = *it;
    c.ref = {};
    c.last_reason = d.reason.describe();
    if (d.reason.what == actor::down_reason::kind::node_down) remember_orphan(c, d.who);
    const bool restart = !shutting_down_ && restartable(c, d.reason);
    ACTOR_LOG(warn, "supervisor", "child_down", {"supervisor", self().id()}, {"child", c.id()}, {"type", c.spec.type},
              {"node", c.node()}, {"id", d.who.id()}, {"what", std::string(actor::to_string(d.reason.what))},
              {"text", d.reason.text}, {"error_type", d.reason.error_type},
              {"action", restart ? std::string("restart") : std::string("none")});
    if (!restart) {
      c.state = child_state::stopped;
      return;
    }
    c.state = child_state::waiting;
    if (node_lost(d.reason)) {
      c.node_tries = 0;
      // node_down: the node it ran on does not answer; the next node of its list is tried first
      // (then the others in turn, its own last). node_restarted: its node is up again, so there.
      if (d.reason.what == actor::down_reason::kind::node_down && c.node_count() > 1) {
        c.node_choice = (c.node_choice + 1) % c.node_count();
      }
    } else if (!count_restart()) {
      return;
    }
    if (c.started_at + std::chrono::duration_cast<duration>(spec_.backoff_max) <= now()) c.backoff_n = 0;
    const auto delay = next_backoff(c);
    // the siblings the strategy restarts with it are stopped first, in reverse start order
    std::vector<std::size_t> group{c.index};
    if (spec_.strategy != supervisor_strategy::one_for_one) {
      const std::size_t first = spec_.strategy == supervisor_strategy::one_for_all ? 0 : c.index;
      for (std::size_t i = children_.size(); i-- > first;) {
        if (i == c.index) continue;
        auto& s = children_[i];
        if (s.state == child_state::stopped) continue;
        // waiting for its own backoff: it restarts with the group instead (its old timer, when it
        // fires, finds another timer_batch and leaves it alone)
        if (s.state == child_state::restarting) s.state = child_state::waiting;
        tasks_.push_back({task::kind::stop, i});
        group.push_back(i);
      }
    }
    std::sort(group.begin(), group.end());
    stop_then_schedule(std::move(group), delay);
  }

  // ---- orphans: children given up for lost with their node, which may still run ------------
  //
  // node_down means "not heard from", not "dead": a child on a node that was cut off or paused
  // may still run (holding its name) after its replacement started elsewhere. It is asked to
  // stop every orphan_retry until its node answers (stopped, or gone: actor_stopped,
  // no_such_actor), for at most orphan_patience.

  void remember_orphan(const child& c, const actor_ref& who) {
    if (!who || orphans_.size() >= max_orphans) return;
    orphans_.push_back({who, c.id(), now()});
    if (!orphan_timer_armed_) {
      orphan_timer_armed_ = true;
      delayed_send(orphan_retry, supervisor_orphans_due{});
    }
  }

  void stop_orphans() {
    orphan_timer_armed_ = false;
    const auto t = now();
    for (auto it = orphans_.begin(); it != orphans_.end();) {
      if (it->since + orphan_patience <= t) {
        ACTOR_LOG(warn, "supervisor", "orphan_given_up", {"supervisor", self().id()}, {"child", it->child},
                  {"id", it->ref.id()});
        it = orphans_.erase(it);
        continue;
      }
      if (!it->asking) {
        it->asking = true;
        request(it->ref, stop_msg{}, spec_.spawn_timeout)
            .then([this, ref = it->ref](const stopped&) { orphan_answered(ref, true); },
                  [this, ref = it->ref](const error& e) {
                    // its node still does not answer: asked again later
                    orphan_answered(ref, e.code != errc::node_down && e.code != errc::timeout);
                  });
      }
      ++it;
    }
    if (!orphans_.empty() && !orphan_timer_armed_) {
      orphan_timer_armed_ = true;
      delayed_send(orphan_retry, supervisor_orphans_due{});
    }
  }

  void orphan_answered(const actor_ref& ref, bool done) {
    auto it = std::find_if(orphans_.begin(), orphans_.end(), [&](const orphan& o) { return o.ref == ref; });
    if (it == orphans_.end()) return;
    if (!done) {
      it->asking = false;
      return;
    }
    ACTOR_LOG(info, "supervisor", "orphan_stopped", {"supervisor", self().id()}, {"child", it->child},
              {"id", ref.id()});
    orphans_.erase(it);
  }

  // After the stops queued so far: the group waits `delay`, then starts in start order.
  void stop_then_schedule(std::vector<std::size_t> group, duration delay) {
    const auto batch = ++last_batch_;
    pending_batches_[batch] = {std::move(group), delay};
    tasks_.push_back({task::kind::schedule, 0, batch});
    pump();
  }

  void pump() {
    while (!busy_ && !tasks_.empty()) {
      const auto t = tasks_.front();
      tasks_.pop_front();
      switch (t.what) {
        case task::kind::start: start_child(children_[t.child]); break;
        case task::kind::stop: stop_child(children_[t.child]); break;
        case task::kind::schedule: {
          auto it = pending_batches_.find(t.batch);
          if (it == pending_batches_.end()) break;
          auto b = std::move(it->second);
          pending_batches_.erase(it);
          schedule(std::move(b.children), b.delay);
          break;
        }
        case task::kind::finish: quit(final_reason_, final_text_); return;
      }
    }
  }

  // The children of `group` that are to run again start after `delay`, in start order.
  void schedule(std::vector<std::size_t> group, duration delay) {
    if (shutting_down_) return;
    std::vector<std::size_t> due;
    for (auto i : group) {
      auto& c = children_[i];
      if (c.state != child_state::waiting) continue;  // running again, or stopped for good
      if (c.spec.restart == restart_kind::temporary) {
        c.state = child_state::stopped;
        continue;
      }
      if (!c.restart_counted) {
        ++c.restarts;
        ++restarts_;
        c.restart_counted = true;
      }
      due.push_back(i);
    }
    if (due.empty()) return;
    if (delay <= duration::zero()) {
      for (auto i : due) tasks_.push_back({task::kind::start, i});
      return;
    }
    const auto at = now() + delay;
    const auto batch = ++last_batch_;
    for (auto i : due) {
      children_[i].state = child_state::restarting;
      children_[i].restart_at = at;
      children_[i].timer_batch = batch;
    }
    timers_[batch] = {delayed_send(delay, supervisor_restart_due{batch}), std::move(due)};
  }

  void on_restart_due(std::uint64_t batch) {
    auto it = timers_.find(batch);
    if (it == timers_.end()) return;
    for (auto i : it->second.children) {
      if (children_[i].state == child_state::restarting && children_[i].timer_batch == batch) {
        children_[i].state = child_state::waiting;
        tasks_.push_back({task::kind::start, i});
      }
    }
    timers_.erase(it);
    pump();
  }

  duration next_backoff(child& c) {
    if (spec_.backoff_max.count() == 0) return duration::zero();
    ++c.backoff_n;
    const double min_ms = static_cast<double>(spec_.backoff_min.count());
    const double max_ms = static_cast<double>(spec_.backoff_max.count());
    const double base = std::min(max_ms, min_ms * std::ldexp(1.0, static_cast<int>(std::min(c.backoff_n, 60u)) - 1));
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const double ms = std::clamp(base * (1.0 + spec_.backoff_jitter * u(rng_)), 0.0, max_ms);
    return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(ms));
  }

  // One more restart; false (and the shutdown begun) when it is one too many for the period.
  bool count_restart() {
    const auto t = now();
    recent_.push_back(t);
    while (!recent_.empty() && recent_.front() + std::chrono::duration_cast<duration>(spec_.period) <= t) {
      recent_.pop_front();
    }
    if (static_cast<std::int64_t>(recent_.size()) <= spec_.intensity) return true;
    const auto text = "restart intensity exceeded: " + std::to_string(recent_.size()) + " restarts in " +
                      std::to_string(spec_.period.count()) + " ms (intensity " + std::to_string(spec_.intensity) + ")";
    ACTOR_LOG(error, "supervisor", "gave_up", {"supervisor", self().id()}, {"text", text});
    begin_shutdown(stop_reason::kind::shutdown, text);
    return false;
  }

  // Ordered shutdown: every child still up is stopped in reverse start order, then this
  // supervisor stops with `why`.
  void begin_shutdown(stop_reason::kind why, std::string text) {
    if (shutting_down_) return;
    shutting_down_ = true;
    final_reason_ = why;
    final_text_ = std::move(text);
    for (auto& [id, t] : timers_) cancel_timer(t.timer);
    timers_.clear();
    tasks_.clear();
    pending_batches_.clear();
    for (std::size_t i = children_.size(); i-- > 0;) {
      auto& c = children_[i];
      if (c.state == child_state::running) {
        tasks_.push_back({task::kind::stop, i});
      } else if (c.state != child_state::starting && c.state != child_state::stopping) {
        c.state = child_state::stopped;
      }
    }
    tasks_.push_back({task::kind::finish, 0});
    pump();
  }

  [[nodiscard]] supervisor_stats stats() {
    supervisor_stats s;
    s.strategy = std::string(actor::to_string(spec_.strategy));
    s.restarts = restarts_;
    s.orphans = orphans_.size();
    const auto t = now();
    for (auto r : recent_) {
      if (r + std::chrono::duration_cast<duration>(spec_.period) > t) ++s.restarts_in_period;
    }
    for (const auto& c : children_) {
      supervisor_child_stats cs;
      cs.name = c.id();
      cs.type = c.spec.type;
      cs.node = c.node();
      cs.ref = c.ref;
      cs.state = std::string(to_string(c.state));
      cs.restarts = c.restarts;
      if (c.state == child_state::restarting) {
        cs.next_restart_in_ms =
            std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(c.restart_at - t).count());
      }
      cs.last_reason = c.last_reason;
      s.children.push_back(std::move(cs));
    }
    return s;
  }

  struct armed {
    timer_handle timer;
    std::vector<std::size_t> children;
  };

  std::weak_ptr<router> net_;
  supervisor_spec spec_;
  std::vector<child> children_;
  std::deque<task> tasks_;
  bool busy_ = false;  // a start or stop waits for its reply
  bool shutting_down_ = false;
  stop_reason::kind final_reason_ = stop_reason::kind::normal;
  std::string final_text_;
  std::vector<response_promise> stop_promises_;
  std::deque<time_point> recent_;  // restarts within the period
  std::uint64_t restarts_ = 0;
  std::uint64_t last_batch_ = 0;
  struct restart_batch {
    std::vector<std::size_t> children;
    duration delay{};
  };
  std::map<std::uint64_t, restart_batch> pending_batches_;
  std::map<std::uint64_t, armed> timers_;
  struct orphan {
    actor_ref ref;
    std::string child;  // its id, for the log
    time_point since;
    bool asking = false;  // a stop request is under way
  };
  std::vector<orphan> orphans_;
  bool orphan_timer_armed_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

actor_base* make_supervisor(std::weak_ptr<router> net, const config& cfg) {
  auto spec = supervisor_spec::from_config(cfg);
  if (!spec) throw std::invalid_argument(spec.error().text);
  return new supervisor_actor(std::move(net), std::move(*spec));
}

}  // namespace actor::detail
