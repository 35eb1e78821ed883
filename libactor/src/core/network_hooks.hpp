#pragma once
// network_hooks: what the core asks of the network without knowing it.
//
// The core (actors, scheduler) includes nothing from wire/ or net/. Two things an
// actor does on its worker thread belong to the layers above, and reach them
// through this table, which the net layer installs (net/network_hooks.cpp, at the
// library's static initialization):
//
//  - Encoded bodies. An envelope from the network may still carry its body
//    encoded (envelope::encoded_body() not empty; several bodies when
//    run_length() > 0). The actor decodes it itself, on its worker, when it comes
//    to handle it: decode_body / for_each_in_run below.
//  - The outbox. While an actor's handler runs, its sends to other nodes gather
//    in this thread's outbox (a thread_local of net/router.cpp) and go to the
//    transports together when the handler returns. The core says which actor's
//    handler runs on this thread (this_thread_actor, set around every handler)
//    and calls handler_done after each one.
//
// Contract:
//  - install_network_hooks is called once, before any actor can see an encoded
//    envelope or send to another node; the table lives for the rest of the
//    process. A second call with the same table does nothing; a different table
//    is a bug (the first stays).
//  - Without a table (no network in the process) the core handles every envelope
//    as decoded and calls nothing around a handler. An encoded envelope without
//    a table is a bug: it is dropped.
//  - Cost per message: the core reads the table's pointer (an atomic load, a
//    plain load on x86) and, when installed, makes one indirect call to
//    handler_done (always the same target: predicted); this_thread_actor is a
//    thread_local pointer written twice per handler. The decoding hooks run only
//    for encoded envelopes. No allocation, no std::function per message.
//  - Every hook is called on the actor's worker thread, must not throw, and must
//    not call back into the actor (handle another of its messages).

#include <atomic>

namespace actor::detail {

class endpoint;
struct envelope;

struct network_hooks {
  /// After every handler of an actor returns (this_thread_actor still names it):
  /// hands over what its handler sent to other nodes.
  void (*handler_done)() noexcept = nullptr;
  /// Decodes the body of e (e->encoded_body() not empty, not a run; e is consumed)
  /// into an envelope of its type with e's kind, sender, correlation and deadline;
  /// null when it does not fit (counted, a request answered with bad_message).
  envelope* (*decode_body)(envelope* e) noexcept = nullptr;
  /// Decodes the messages of the run e in order and hands each (an envelope of
  /// its own) to handle(ctx, e) while handle returns true; e is consumed.
  void (*for_each_in_run)(envelope* run, bool (*handle)(void* ctx, envelope* e) noexcept, void* ctx) noexcept =
      nullptr;
};

/// The installed table, null until the network installs one.
extern constinit std::atomic<const network_hooks*> installed_network_hooks;

/// Installs the network's table (see the contract above).
void install_network_hooks(const network_hooks* hooks) noexcept;

/// The actor whose handler runs on this thread (the innermost one), null outside
/// handlers. Set by the core around every handler; read by the net layer.
extern constinit thread_local const endpoint* this_thread_actor;

}  // namespace actor::detail
