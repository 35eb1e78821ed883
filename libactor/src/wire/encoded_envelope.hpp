#pragma once
// Envelopes from the network that an actor decodes itself.
//
// The node's I/O thread checks an inbound envelope (its receiver, its type, that
// its body is well-formed MessagePack within the limits) but leaves the body
// encoded, copied into the envelope. The actor's worker thread decodes it when
// it comes to handle the message, so the memory the body's value takes (its
// strings, its containers) is allocated and freed by one thread, not allocated
// by the I/O thread and freed by a worker, which glibc's malloc makes slow for
// both, and the decoding runs on the workers, in parallel, not on the one I/O
// thread. Only small bodies travel this way; others are decoded on arrival.

#include <cstdint>
#include <functional>
#include <string_view>

#include "actor/detail/envelope.hpp"

namespace actor::detail {

/// The largest body make_encoded_envelope takes.
[[nodiscard]] std::size_t max_encoded_body() noexcept;

/// An envelope of `type` (kind send, no sender yet) whose body is the
/// MessagePack `body`, copied; null when body is empty or larger than
/// max_encoded_body().
[[nodiscard]] envelope* make_encoded_envelope(const message_type* type, std::string_view body);

/// Decodes the body of e (e->encoded_body() not empty, not a run; e is consumed)
/// into an envelope of its type with e's kind, sender, correlation, deadline and
/// inbound account. When the body does not fit the type: counts a decode error
/// in e's inbound account, answers a request with bad_message, and returns null.
[[nodiscard]] envelope* decode_body(envelope* e) noexcept;

// Runs: consecutive sends of one type, from one sender to one actor, in one
// envelope, their bodies encoded one after another. The I/O thread writes a
// frame's run of such messages into one buffer instead of one envelope each,
// and the actor's worker reads them in order: one allocation, and memory read
// in sequence by the other core, instead of one pooled block per message.

/// The most messages one run holds.
inline constexpr std::uint32_t max_run_length = 256;

/// Whether a send of e's type from e's sender, with correlation 0 and this body,
/// can join the envelope e: e is an encoded send with correlation 0 (one made by
/// make_encoded_envelope or join), and a run, if it is one, has room.
/// (e->run_length(): the messages in e when it is a run.)
[[nodiscard]] bool can_join(const envelope* e, std::string_view body) noexcept;

/// Adds the message with this body to e (can_join(e, body) was true) and returns
/// the envelope that holds both: e itself when it is a run, else a new run that
/// took e's body, sender and inbound account over (e is deleted). The run holds
/// its inbound account once for each message.
[[nodiscard]] envelope* join(envelope* e, std::string_view body);

/// Decodes the messages of the run e in order, each into an envelope of its own
/// (kind send, e's sender), and hands each to `handle`, while handle returns
/// true; e is consumed. A body that does not fit is counted (e's inbound
/// account) and skipped.
void for_each_in_run(envelope* e, const std::function<bool(envelope*)>& handle) noexcept;

}  // namespace actor::detail
