#include "encoded_envelope.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>

#include "actor/log.hpp"
#include "wire.hpp"

namespace actor::detail {

namespace {

// An envelope with its encoded body inline, sized to one of the pool's block
// sizes (Total bytes in all), so it is one pooled allocation.
template <std::size_t Total>
struct encoded_envelope final : envelope {
  static constexpr std::size_t capacity = Total - sizeof(envelope) - sizeof(std::uint32_t);

  encoded_envelope(const message_type* t, std::string_view body) noexcept
      : envelope(t, nullptr), size(static_cast<std::uint32_t>(body.size())) {
    std::memcpy(bytes, body.data(), body.size());
  }
  [[nodiscard]] std::string_view encoded_body() const noexcept override { return {bytes, size}; }

  std::uint32_t size;
  char bytes[capacity];
};
static_assert(sizeof(encoded_envelope<128>) <= 128);
static_assert(sizeof(encoded_envelope<192>) <= 192);
static_assert(sizeof(encoded_envelope<256>) <= 256);

// The node's codec for the refs in a body, taken only when the body has one:
// most have none, and taking it is an atomic operation on a shared count.
class deferred_codec final : public ref_codec {
 public:
  explicit deferred_codec(const inbound_account* account) noexcept : account_(account) {}
  wire_ref to_wire(const actor_ref& r) override { return node().to_wire(r); }
  actor_ref from_wire(const wire_ref& w) override { return node().from_wire(w); }

 private:
  ref_codec& node() {
    if (!node_ && account_ != nullptr) node_ = account_->codec.lock();
    if (!node_) throw std::runtime_error("the node the message came through has stopped");
    return *node_;
  }
  const inbound_account* account_;
  std::shared_ptr<ref_codec> node_;
};

}  // namespace

std::size_t max_encoded_body() noexcept { return encoded_envelope<256>::capacity; }

envelope* make_encoded_envelope(const message_type* type, std::string_view body) {
  if (body.empty()) return nullptr;
  if (body.size() <= encoded_envelope<128>::capacity) return new encoded_envelope<128>(type, body);
  if (body.size() <= encoded_envelope<192>::capacity) return new encoded_envelope<192>(type, body);
  if (body.size() <= encoded_envelope<256>::capacity) return new encoded_envelope<256>(type, body);
  return nullptr;
}

envelope* decode_body(envelope* raw) noexcept {
  std::unique_ptr<envelope> owned(raw);
  // the zone the body's MessagePack objects are built in, kept by the thread (its first chunk)
  thread_local msgpack::zone zone;
  envelope* e = nullptr;
  try {
    deferred_codec codec(raw->inbound);
    ref_codec_scope scope(&codec);
    e = raw->type->unpack(wire::unpack_body(raw->encoded_body(), zone));
    zone.clear();
  } catch (const std::exception& ex) {
    zone.clear();
    if (raw->inbound != nullptr) raw->inbound->decode_errors.fetch_add(1, std::memory_order_relaxed);
    const std::string type(raw->type->name);
    ACTOR_LOG(debug, "router", "bad_body", {"type", type}, {"error", ex.what()});
    reject(*raw, errc::bad_message, "the body does not fit type '" + type + "': " + ex.what());
    return nullptr;
  }
  e->kind = raw->kind;
  e->sender = std::move(raw->sender);
  e->correlation = raw->correlation;
  e->deadline = raw->deadline;
  e->inbound = std::exchange(raw->inbound, nullptr);
  return e;
}

}  // namespace actor::detail
