#pragma once
// The node's side of task sequences (actor/task.hpp): its manager hands each
// task_sequence_request to a sequencer actor of its own, which answers `answer`.

#include "actor/actor_base.hpp"
#include "actor/task.hpp"

namespace actor::detail {

/// Runs r (spawning its tasks through `manager`) and delivers task_sequence_started or the
/// error naming the task and the step to `answer`.
void start_task_sequence(actor_system& sys, const actor_ref& manager, const task_sequence_request& r,
                         response_promise answer);

}  // namespace actor::detail
