#pragma once
// Envelopes on the wire (see frames.hpp for the format): reading one in place,
// writing one, and appending them to a BATCH as full envelopes or repeats.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"

namespace actor::detail::wire {

enum class kind : std::uint8_t { send = 0, request = 1, reply = 2, error = 3 };

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
