#pragma once
// outbox_scope: an actor's remote sends leave together. While a handler runs
// inside one, the envelopes its actor sends to actors on other nodes (sends,
// requests, replies) gather in this thread's outbox and go to the transports
// when the scope ends, or whenever 64 KB have gathered: one lock and one
// wake-up of the I/O thread for all of them instead of one each, and frames as
// large as what the handler sent. Order per receiver is kept. Envelopes from
// anyone else (code outside actors, the system's own requests, other threads)
// go at once.

namespace actor::detail {

class endpoint;

class outbox_scope {
 public:
  /// Gathers the remote sends of `actor` on this thread until destruction.
  explicit outbox_scope(const endpoint* actor) noexcept;
  ~outbox_scope();  // hands over what gathered
  outbox_scope(const outbox_scope&) = delete;
  outbox_scope& operator=(const outbox_scope&) = delete;

 private:
  const endpoint* outer_;  // the scope this one is nested in, if any
};

}  // namespace actor::detail
