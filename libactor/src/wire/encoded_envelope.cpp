#include "wire/encoded_envelope.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>

#include "actor/log.hpp"
#include "wire/wire.hpp"

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

// Sends of one type from one sender, their bodies one after another, each
// after its size (4 bytes, host order: it never leaves the process).
struct encoded_run final : envelope {
  explicit encoded_run(const message_type* t) noexcept : envelope(t, nullptr) {}
  ~encoded_run() override {
    // the base releases one hold of the inbound account; each message took one
    if (inbound != nullptr && count > 1) inbound->holders.fetch_sub(count - 1, std::memory_order_relaxed);
  }
  [[nodiscard]] std::string_view encoded_body() const noexcept override { return bodies; }
  [[nodiscard]] std::uint32_t run_length() const noexcept override { return count; }

  void add(std::string_view body) {
    const auto size = static_cast<std::uint32_t>(body.size());
    bodies.append(reinterpret_cast<const char*>(&size), sizeof size);
    bodies.append(body);
    ++count;
  }

  std::string bodies;
  std::uint32_t count = 0;
};

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

namespace {

envelope* decode_one(const message_type* type, std::string_view body, inbound_account* account,
                     std::string& why) noexcept {
  // the zone the body's MessagePack objects are built in, kept by the thread (its first chunk)
  thread_local msgpack::zone zone;
  try {
    deferred_codec codec(account);
    ref_codec_scope scope(&codec);
    envelope* e = type->unpack(wire::unpack_body(body, zone));
    zone.clear();
    return e;
  } catch (const std::exception& ex) {
    zone.clear();
    if (account != nullptr) account->decode_errors.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(debug, "router", "bad_body", {"type", std::string(type->name)}, {"error", ex.what()});
    why = ex.what();
    return nullptr;
  }
}

}  // namespace

bool can_join(const envelope* e, std::string_view body) noexcept {
  return e->kind == envelope_kind::send && e->correlation == 0 && !e->encoded_body().empty() &&
         e->run_length() < max_run_length && body.size() <= max_encoded_body();
}

envelope* join(envelope* e, std::string_view body) {
  if (e->run_length() > 0) {
    static_cast<encoded_run*>(e)->add(body);
    return e;
  }
  auto run = std::make_unique<encoded_run>(e->type);
  run->bodies.reserve(2 * (sizeof(std::uint32_t) + body.size()) + 16);
  run->add(e->encoded_body());
  run->add(body);
  run->sender = std::move(e->sender);
  run->inbound = std::exchange(e->inbound, nullptr);
  run->next = e->next;
  delete e;
  return run.release();
}

void for_each_in_run(envelope* raw, const std::function<bool(envelope*)>& handle) noexcept {
  std::unique_ptr<envelope> owned(raw);
  const auto* run = static_cast<const encoded_run*>(raw);
  std::string_view rest = run->bodies;
  for (std::uint32_t i = 0; i < run->count; ++i) {
    std::uint32_t size = 0;
    std::memcpy(&size, rest.data(), sizeof size);
    const auto body = rest.substr(sizeof size, size);
    rest.remove_prefix(sizeof size + size);
    std::string why;
    envelope* e = decode_one(run->type, body, run->inbound, why);
    if (e == nullptr) continue;  // a send: counted, nobody to answer
    e->sender = run->sender;
    if (!handle(e)) break;
  }
}

envelope* decode_body(envelope* raw) noexcept {
  std::unique_ptr<envelope> owned(raw);
  std::string why;
  envelope* e = decode_one(raw->type, raw->encoded_body(), raw->inbound, why);
  if (e == nullptr) {
    reject(*raw, errc::bad_message, "the body does not fit type '" + std::string(raw->type->name) + "': " + why);
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
