#pragma once
// The wire format (docs/protocol.md), its frames: every ZeroMQ message is one frame, a
// MessagePack array whose first element is the frame's tag.
//
//   HELLO   [1, version, role, node, address, incarnation]   a peer introduces itself
//   WELCOME [2, version, node, address, incarnation, max_message_size, features?]  ...and is accepted
//   REFUSE  [3, version, reason]                             ...or refused
//   PING    [4, seq, incarnation]                            liveness probe
//   PONG    [5, seq, incarnation]                            its answer
//   BATCH   [6, envelope...]                                 one or more envelopes
//   HELLO_AGAIN [7, incarnation, reason, [[sender id, correlation]...]]
//                        a BATCH (or PING) came from a connection the node does not know:
//                        say HELLO again; the requests listed were not delivered
//
//   envelope [kind, sender, receiver, correlation, ttl_ms, type, body]
//     kind: 0 send, 1 request, 2 reply, 3 error; sender: nil or ref; receiver: ref;
//     ttl_ms: a request's remaining time (0: none); type: the registered type name;
//     body: the message (an error's body is {code, text}).
//   repeat   [kind, correlation, ttl_ms, body]
//     an envelope whose sender, receiver and type are those of the envelope
//     before it in the same BATCH; sent only to a node whose WELCOME listed
//     feature_repeat (never to clients)
//   ref [node, address, incarnation, id]

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"

namespace actor::detail::wire {

inline constexpr std::uint32_t protocol_version = 1;

/// WELCOME's feature bits: what the welcoming node accepts beyond version 1.
inline constexpr std::uint64_t feature_repeat = 1;  // repeat envelopes in BATCH frames

enum class frame_tag : std::uint8_t { hello = 1, welcome = 2, refuse = 3, ping = 4, pong = 5, batch = 6, hello_again = 7 };

struct hello {
  std::uint32_t version = protocol_version;
  std::string role;  // "node" or "client"
  std::string node;
  std::string address;
  std::uint64_t incarnation = 0;
};
struct welcome {
  std::uint32_t version = protocol_version;
  std::string node;
  std::string address;
  std::uint64_t incarnation = 0;
  std::uint64_t max_message_size = 0;  // the largest frame the node accepts; 0: not said
  std::uint64_t features = 0;          // feature_* bits; 0: none (and not written)
};
struct refuse {
  std::uint32_t version = protocol_version;
  std::string reason;
};
/// The answer to a BATCH or PING from a connection the node does not know (it forgot
/// the client, or it restarted): the node's incarnation, why, and the requests of the
/// dropped BATCH(es) as (sender id, correlation), which were not delivered.
struct hello_again {
  std::uint64_t incarnation = 0;
  std::string reason;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> dropped;
};
struct probe {  // PING and PONG
  std::uint64_t seq = 0;
  std::uint64_t incarnation = 0;
};

[[nodiscard]] std::string encode(const hello& h);
[[nodiscard]] std::string encode(const welcome& w);
[[nodiscard]] std::string encode(const refuse& r);
[[nodiscard]] std::string encode_probe(frame_tag tag, const probe& p);
[[nodiscard]] std::string encode(const hello_again& h);

/// Starts `out` afresh as a BATCH frame's header for `count` envelopes; their bytes follow.
void begin_batch(std::string& out, std::size_t count);
/// Sets the envelope count in a header written by begin_batch at the start of `batch`.
void set_batch_count(std::string& batch, std::size_t count);

/// Limits applied while decoding, so hostile input cannot allocate without bound.
[[nodiscard]] msgpack::unpack_limit limits(std::size_t max_message_size);

/// A decoded frame: its tag and elements (items[0] is the tag). The handle owns
/// the memory; strings may point into the input buffer, which must outlive it.
struct frame {
  frame_tag tag{};
  msgpack::object_handle handle;
  const msgpack::object* items = nullptr;
  std::uint32_t size = 0;
};
/// errc::bad_message (with the reason) for anything that is not a well-formed frame.
[[nodiscard]] expected<frame> decode_frame(const void* data, std::size_t size, const msgpack::unpack_limit& lim);

[[nodiscard]] expected<hello> read_hello(const frame& f);
[[nodiscard]] expected<welcome> read_welcome(const frame& f);
[[nodiscard]] expected<refuse> read_refuse(const frame& f);
[[nodiscard]] expected<probe> read_probe(const frame& f);
[[nodiscard]] expected<hello_again> read_hello_again(const frame& f);

}  // namespace actor::detail::wire
