#pragma once
// The outbox: an actor's remote sends leave together. While a handler runs (the
// core sets this_thread_actor around it, core/network_hooks.hpp), the envelopes
// its actor sends to actors on other nodes (sends, requests, replies) gather in
// this thread's outbox and go to the transports when the handler returns
// (hand_over_outbox, the network_hooks' handler_done), or whenever 64 KB have
// gathered: one lock and one wake-up of the I/O thread for all of them instead
// of one each, and frames as large as what the handler sent. Order per receiver
// is kept. Envelopes from anyone else (code outside actors, the system's own
// requests, other threads) go at once.

namespace actor::detail {

/// Hands over what gathered in this thread's outbox.
void hand_over_outbox() noexcept;

}  // namespace actor::detail
