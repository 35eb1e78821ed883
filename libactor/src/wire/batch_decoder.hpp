#pragma once
// Decoding BATCH frames from their bytes, and bodies with the bounded reader.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "actor/detail/ref_codec.hpp"
#include "actor/expected.hpp"

#include "wire/envelopes.hpp"

namespace actor::detail::wire {

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

}  // namespace actor::detail::wire
