// A sequence of tasks (actor/task.hpp): spawned in order through the node's manager (names and
// groups as for any spawn), then configured in order, then started in order, each step answered
// within its deadline before the next; the first failure stops every task spawned, the last
// first, and fails the sequence naming the task and the step. One task_sequencer per sequence,
// on the pool; it answers the requester and quits.

#include "node/task_sequence.hpp"

#include <utility>

#include "actor/log.hpp"
#include "actor/node.hpp"

namespace actor::detail {

namespace {

class task_sequencer final : public actor_base {
 public:
  task_sequencer(actor_ref manager, task_sequence_request r, response_promise answer)
      : manager_(std::move(manager)),
        tasks_(std::move(r.tasks)),
        step_(std::chrono::milliseconds(r.step_timeout_ms == 0 ? 5000 : r.step_timeout_ms)),
        answer_(std::move(answer)) {}

 protected:
  behavior make_behavior() override { return {[](const task_state_request&) {}}; }  // nothing comes: it asks
  void on_start() override { spawn_next(); }

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
    request(manager_, spawn_request{tasks_[i].type, tasks_[i].name, cfg}, step_)
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
  void stop_last() {
    if (refs_.empty()) {
      answer_.deliver(failure_);
      return quit();
    }
    auto ref = refs_.back();
    refs_.pop_back();
    request(ref, stop_msg{}, step_).then([this](const stopped&) { stop_last(); }, [this](const error&) { stop_last(); });
  }

  actor_ref manager_;
  std::vector<task_spec> tasks_;
  duration step_;
  response_promise answer_;
  std::vector<actor_ref> refs_;  // spawned so far, in order
  error failure_;
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
