#pragma once
// executor: what runs an actor when it has messages. The worker pool is one;
// a dedicated thread per actor is another.

namespace actor::detail {

class actor_cell;

class executor {
 public:
  virtual ~executor() = default;
  /// Runs a soon. The caller has added a reference to a for the executor, which
  /// releases it when a goes idle or stops. Thread-safe, never blocks for long.
  virtual void schedule(actor_cell* a) noexcept = 0;
  /// Only on a thread of a's own, from a's code (actor_cell::pump): blocks until a is
  /// scheduled (a message came after a blocked), and drops the reference schedule() got.
  virtual void wait_scheduled(actor_cell* a) noexcept = 0;
};

}  // namespace actor::detail
