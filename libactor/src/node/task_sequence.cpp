// A sequence of tasks (actor/task.hpp): spawned in order through the node's manager (names and
// groups as for any spawn), then configured in order, then started in order, each step answered
// within its deadline before the next; the first failure stops every task spawned, the last
// first, and fails the sequence naming the task and the step. One task_sequencer per sequence,
// on the pool; it answers the requester and quits.

#include "node/task_sequence.hpp"

#include <algorithm>
#include <utility>

#include "actor/log.hpp"
#include "actor/monitor.hpp"
#include "actor/node.hpp"

namespace actor::detail {

struct stop_wait {
  std::uint64_t monitor = 0;
  ACTOR_FIELDS(monitor)
};

}  // namespace actor::detail
ACTOR_MESSAGE(actor::detail::stop_wait, "actor.node.internal.task_stop_wait");
namespace actor::detail {

namespace {

constexpr std::uint64_t max_step_ms = 24ull * 3600 * 1000;  // a day: longer is a mistake
constexpr auto spawn_backstop = std::chrono::seconds(30);

class task_sequencer final : public actor_base {
 public:
  task_sequencer(actor_ref manager, task_sequence_request r, response_promise answer)
      : manager_(std::move(manager)),
        tasks_(std::move(r.tasks)),
        step_(std::chrono::milliseconds(std::clamp<std::uint64_t>(r.step_timeout_ms == 0 ? 5000 : r.step_timeout_ms, 1,
                                                                  max_step_ms))),
        answer_(std::move(answer)) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](const down_msg& d) {  // a task it stopped is gone
          if (d.monitor == stopping_) stop_last();
        },
        [this](const stop_wait& w) {  // it did not stop within a step: its stop stays queued for it
          if (w.monitor == stopping_) {
            demonitor(stopping_);
            stop_last();
          }
        },
    };
  }
  void on_start() override { spawn_next(); }
  // Stopped before it was done (shutdown, a stop by id): the tasks it spawned go too, and the
  // requester hears why.
  void on_stop(const stop_reason&) override {
    if (!answer_.pending()) return;  // done: answered
    for (const auto& ref : refs_) send(ref, stop_msg{});
    answer_.deliver(error{errc::shutting_down, "the task sequence was stopped"});
  }

 private:
  // "task 2 of 3 (pump 'p1')"
  std::string which(std::size_t i) const {
    const auto& t = tasks_[i];
    return "task " + std::to_string(i + 1) + " of " + std::to_string(tasks_.size()) + " (" + t.type +
           (t.name.empty() ? std::string() : " '" + t.name + "'") + ")";
  }

  void spawn_next() {
    const auto i = refs_.size();
    if (i == tasks_.size()) return configure(0);
    auto cfg = tasks_[i].config;
    cfg.set(task_sequence_key, true);  // it waits for the steps
    // the manager answers a spawn once its name is claimed and its groups joined (bounded by the
    // registries' timeout), so this deadline is only a backstop: a spawn it gave up on would run on
    request(manager_, spawn_request{tasks_[i].type, tasks_[i].name, cfg}, step_ + spawn_backstop)
        .then(
            [this](const spawn_reply& r) {
              refs_.push_back(r.ref);
              spawn_next();
            },
            [this, i](const error& e) { fail(i, "spawn", e); });
  }

  void configure(std::size_t i) {
    if (i == refs_.size()) return start(0);
    request(refs_[i], task_configure{}, step_)
        .then([this, i](const task_configured&) { configure(i + 1); },
              [this, i](const error& e) { fail(i, "configure", e); });
  }

  void start(std::size_t i) {
    if (i == refs_.size()) {
      ACTOR_LOG(info, "tasks", "started", {"tasks", refs_.size()});
      answer_.deliver(task_sequence_started{refs_});
      return quit();
    }
    request(refs_[i], task_start{}, step_)
        .then([this, i](const task_started&) { start(i + 1); },
              [this, i](const error& e) { fail(i, "start", e); });
  }

  // Stops every task spawned, the last first (each stop awaited, within a step), then answers.
  void fail(std::size_t i, const char* step, const error& e) {
    failure_ = error{e.code, which(i) + ": " + step + ": " + e.text};
    ACTOR_LOG(warn, "tasks", "sequence_failed", {"error", failure_.describe()}, {"stopping", refs_.size()});
    stop_last();
  }
  // A stop is a send (a request would be dropped unhandled once its deadline passed, and a task
  // busy in a hook past it would stay): the next task is stopped when this one is gone, or after a
  // step, its stop still queued for it.
  void stop_last() {
    stopping_ = 0;
    if (refs_.empty()) {
      answer_.deliver(failure_);
      return quit();
    }
    auto ref = refs_.back();
    refs_.pop_back();
    stopping_ = monitor(ref);
    send(ref, stop_msg{});
    delayed_send(step_, stop_wait{stopping_});
  }

  actor_ref manager_;
  std::vector<task_spec> tasks_;
  duration step_;
  response_promise answer_;
  std::vector<actor_ref> refs_;  // spawned so far, in order
  error failure_;
  std::uint64_t stopping_ = 0;  // the monitor of the task being stopped
};

}  // namespace

void start_task_sequence(actor_system& sys, const actor_ref& manager, const task_sequence_request& r,
                         response_promise answer) {
  if (r.tasks.empty()) return answer.deliver(task_sequence_started{});
  sys.spawn<task_sequencer>(manager, r, std::move(answer));
}

}  // namespace actor::detail

namespace actor {

expected<std::vector<actor_ref>> start_tasks(node& n, std::vector<task_spec> tasks, std::chrono::milliseconds step_timeout) {
  const auto steps = static_cast<int>(tasks.size() * 4 + 1);  // spawn, configure, start, and a stop each at worst
  auto r = n.system()
               .request<task_sequence_started>(n.manager(), task_sequence_request{std::move(tasks),
                                                                                   static_cast<std::uint64_t>(step_timeout.count())},
                                               step_timeout * steps)
               .get();
  if (!r) return r.error();
  return std::move(r->refs);
}

}  // namespace actor
