#pragma once
// The wire format (docs/protocol.md): every ZeroMQ message is one frame, a
// MessagePack array whose first element is the frame's tag.
//
//   HELLO   [1, version, role, node, address, incarnation]   a peer introduces itself
//   WELCOME [2, version, node, address, incarnation, max_message_size, features?]  ...and is accepted
//   REFUSE  [3, version, reason]                             ...or refused
//   PING    [4, seq, incarnation]                            liveness probe
//   PONG    [5, seq, incarnation]                            its answer
//   BATCH   [6, envelope...]                                 one or more envelopes
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
#include <vector>

#include <msgpack.hpp>

#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"

namespace actor::detail::wire {

inline constexpr std::uint32_t protocol_version = 1;

/// WELCOME's feature bits: what the welcoming node accepts beyond version 1.
inline constexpr std::uint64_t feature_repeat = 1;  // repeat envelopes in BATCH frames

enum class frame_tag : std::uint8_t { hello = 1, welcome = 2, refuse = 3, ping = 4, pong = 5, batch = 6 };
enum class kind : std::uint8_t { send = 0, request = 1, reply = 2, error = 3 };

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
struct probe {  // PING and PONG
  std::uint64_t seq = 0;
  std::uint64_t incarnation = 0;
};

[[nodiscard]] std::string encode(const hello& h);
[[nodiscard]] std::string encode(const welcome& w);
[[nodiscard]] std::string encode(const refuse& r);
[[nodiscard]] std::string encode_probe(frame_tag tag, const probe& p);

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

/// A ref as it sits in a decoded frame: strings point into the frame.
struct ref_view {
  std::string_view node;
  std::string_view address;
  std::uint64_t incarnation = 0;
  std::uint64_t id = 0;
  [[nodiscard]] wire_ref to_ref() const { return {std::string(node), std::string(address), incarnation, id}; }
};
/// Reads [node, address, incarnation, id] without copying; false when o is not such a ref.
[[nodiscard]] bool read_ref(const msgpack::object& o, ref_view& out) noexcept;

/// An envelope's fields as decoded from a BATCH element; the body stays a
/// MessagePack object, decoded by the router.
struct envelope_view {
  kind k{};
  bool repeat = false;  // a repeat element: sender, receiver and type are the previous envelope's
  bool has_sender = false;
  ref_view sender;
  ref_view receiver;
  std::uint64_t correlation = 0;
  std::uint64_t ttl_ms = 0;
  std::string_view type;
  const msgpack::object* body = nullptr;  // null when the decoder only checked it (body_bytes then holds it)
  std::string_view body_bytes;  // the body's MessagePack, when the decoder knows where it is
};
[[nodiscard]] expected<envelope_view> read_envelope(const msgpack::object& o);

/// Builds the MessagePack value `bytes` holds (one value, nothing after it)
/// in `z`, as batch_decoder builds a body; throws msgpack::unpack_error.
[[nodiscard]] msgpack::object unpack_body(std::string_view bytes, msgpack::zone& z);

/// Decodes BATCH frames straight from their bytes, the hot path of every node:
/// an envelope's fields are read in place (no MessagePack object tree for the
/// frame), and only each body is unpacked, into a zone that is reused from one
/// frame to the next. It accepts exactly what decode_frame + read_envelope
/// accept, under the same limits (a body nests at most limits.depth() - 2 deep,
/// as it sits two levels into a frame). Not thread-safe; one per I/O thread.
class batch_decoder {
 public:
  /// built: every envelope's body is built as a MessagePack object. checked:
  /// bodies in the encoders' shape are only checked (as building them would
  /// check them), and left as bytes (body null, body_bytes set), for whoever
  /// decodes them later (unpack_body); others are built as with `built`.
  enum class bodies : std::uint8_t { built, checked };
  explicit batch_decoder(const msgpack::unpack_limit& frame_limits, bodies b = bodies::built);


  /// True when `data` starts as a BATCH frame ([6, ...]); such frames go to decode().
  [[nodiscard]] static bool is_batch(const void* data, std::size_t size) noexcept;
  /// Decodes the BATCH frame at data, which must outlive what envelopes() points
  /// to, as must this decoder until its next decode(). bad_message, and no
  /// envelopes, when the frame as a whole is not well-formed MessagePack within
  /// the limits. Elements that are well-formed but no envelope are skipped and
  /// counted in bad_elements(), the first one's reason in first_bad().
  /// A repeat element takes the sender, receiver and type of the element before
  /// it, which must be a well-formed envelope.
  [[nodiscard]] expected<void> decode(const void* data, std::size_t size);
  /// The envelopes of the last frame decoded, in order.
  [[nodiscard]] const std::vector<envelope_view>& envelopes() const noexcept { return envelopes_; }
  [[nodiscard]] std::size_t bad_elements() const noexcept { return bad_elements_; }
  [[nodiscard]] const std::string& first_bad() const noexcept { return first_bad_; }

 private:
  // Reads one element at data[off, size): appends it to envelopes_/bodies_ or counts it as bad.
  void element(const char* data, std::size_t size, std::size_t& off);
  void bad_element(std::string why);

  bodies bodies_wanted_;
  msgpack::unpack_limit element_limits_;  // an element: one level below the frame
  msgpack::unpack_limit body_limits_;     // a body: two levels below
  std::uint32_t max_elements_;
  msgpack::zone zone_;
  std::vector<envelope_view> envelopes_;
  std::vector<msgpack::object> bodies_;  // envelopes_[i].body points to bodies_[i] once decoded
  std::size_t bad_elements_ = 0;
  std::string first_bad_;
  bool previous_good_ = false;  // the element before the current one was an envelope
};

/// Where the parts of an envelope encoded as [kind, sender, receiver,
/// correlation, ttl_ms, type, body] are, as offsets into its bytes: kind is the
/// byte at 1 (a positive fixint), sender and receiver are [2, refs_end),
/// correlation and ttl_ms [refs_end, type_begin), the type [type_begin,
/// type_end) and the body the rest. All 0: not known.
struct envelope_layout {
  std::uint32_t refs_end = 0;
  std::uint32_t type_begin = 0;
  std::uint32_t type_end = 0;
  [[nodiscard]] bool known() const noexcept { return type_end != 0; }
};

/// Appends to `batch` the envelope `bytes`, laid out as `layout` says, as a
/// repeat element when its sender, receiver and type are those of the full
/// envelope at `previous` in `batch` (previous.known(): one was written there),
/// else whole. Returns where the last full envelope in `batch` now is (known()
/// false: none, when `layout` is not known).
struct written_envelope {
  std::size_t offset = 0;  // of the full envelope in the batch
  envelope_layout layout;
  [[nodiscard]] bool known() const noexcept { return layout.known(); }
};
/// The layout of an envelope in the shape the encoders write (a fixarray of 7,
/// kind a positive fixint); not known() for any other shape.
[[nodiscard]] envelope_layout layout_of(std::string_view envelope) noexcept;
written_envelope append_envelope(std::string& batch, std::string_view bytes, const envelope_layout& layout,
                                 const written_envelope& previous, bool repeats_allowed);

/// A repeat element as a sender may hand it to its transport: the bytes of
/// [kind, correlation, ttl_ms, body] (a fixarray of 4, kind a positive fixint)
/// with `body_at` where its body starts, and the full envelope `head` (laid out
/// as head_layout) whose sender, receiver and type it shares.
struct repeat_view {
  std::string_view bytes;
  std::uint32_t body_at = 0;
  std::string_view head;
  envelope_layout head_layout;
  /// Its size written in full.
  [[nodiscard]] std::size_t full_size() const noexcept;
};
/// Appends r to `batch`: as the repeat itself when repeats are allowed and the
/// last full envelope in the batch (`previous`) has head's sender, receiver and
/// type (`previous_is_head`: it is head itself, so need not be compared); else
/// in full. Returns where the last full envelope in `batch` now is.
written_envelope append_repeat(std::string& batch, const repeat_view& r, const written_envelope& previous,
                               bool previous_is_head, bool repeats_allowed);
/// r in full, and its layout.
[[nodiscard]] std::string expand_repeat(const repeat_view& r, envelope_layout& layout);

/// Encodes one envelope (a BATCH element); `body` is already MessagePack and is
/// copied as is. A null sender is written as nil (anonymous).
[[nodiscard]] std::string encode_envelope(kind k, const wire_ref* sender, const wire_ref& receiver,
                                          std::uint64_t correlation, std::uint64_t ttl_ms, std::string_view type,
                                          std::string_view body);

}  // namespace actor::detail::wire
