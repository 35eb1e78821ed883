#pragma once
// envelope: one message on its way to an actor, allocated together with its
// body (one allocation per send). Mailboxes link envelopes through `next`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "actor/actor_ref.hpp"
#include "actor/detail/pool.hpp"
#include "actor/detail/ref_codec.hpp"
#include "actor/message.hpp"

namespace actor::detail {

enum class envelope_kind : std::uint8_t {
  send,     // plain one-way message
  request,  // expects exactly one reply or error, matched by correlation
  reply,    // answer to a request: body is the reply
  error,    // answer to a request: body is an actor::error
  timeout,  // internal: a request's deadline passed (no body)
  timer,    // internal: a timer fired (correlation = timer id)
};

using time_point = std::chrono::steady_clock::time_point;

/// What a node keeps of the envelopes it took from the network: how many are
/// not handled yet, and how many bodies turned out not to fit their type when
/// an actor decoded them. Held by the node and by each such envelope until it is
/// handled; the last holder frees it, so envelopes may outlive their node.
struct inbound_account {
  std::atomic<std::int64_t> holders{1};  // the node, and each envelope not yet handled
  std::atomic<std::uint64_t> decode_errors{0};
  std::weak_ptr<ref_codec> codec;  // the node's, for refs in bodies decoded later; set before any envelope

  [[nodiscard]] std::int64_t pending() const noexcept { return holders.load(std::memory_order_relaxed) - 1; }
  /// n envelopes more hold it (before any of them can be handled).
  void hold(std::int64_t n) noexcept { holders.fetch_add(n, std::memory_order_relaxed); }
  static void release(inbound_account* a) noexcept {
    if (a->holders.fetch_sub(1, std::memory_order_acq_rel) == 1) delete a;
  }
};

struct envelope {
  envelope(const message_type* t, void* d) noexcept : type(t), data(d) {}
  envelope(const envelope&) = delete;
  envelope& operator=(const envelope&) = delete;
  virtual ~envelope() {
    if (inbound != nullptr) inbound_account::release(inbound);
  }

  // envelopes come from the small-object pool; the virtual destructor makes
  // `delete e` pass the dynamic type's size
  static void* operator new(std::size_t n) { return pool::allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { pool::deallocate(p, n); }

  envelope* next = nullptr;
  const message_type* type;  // null for bodiless kinds
  void* data;                // the body, of `type`
  actor_ref sender;          // empty: anonymous
  std::uint64_t correlation = 0;
  time_point deadline{};     // requests only
  // set on envelopes that arrived from the network: the account of the node they came through
  inbound_account* inbound = nullptr;
  envelope_kind kind = envelope_kind::send;

  [[nodiscard]] message view() const noexcept { return {type, data}; }
  /// A body still in MessagePack, as it came from the network (data is null
  /// then): only endpoints that decodes_bodies() get such envelopes, and they
  /// decode it (decode_body) before anything reads the body. Empty: decoded.
  [[nodiscard]] virtual std::string_view encoded_body() const noexcept { return {}; }
  /// The number of messages in a run of encoded sends (one envelope holding
  /// several: libactor/src/encoded_envelope.hpp); 0 for any other envelope.
  [[nodiscard]] virtual std::uint32_t run_length() const noexcept { return 0; }
};

template <class T>
struct typed_envelope final : envelope {
  template <class... Args>
  explicit typed_envelope(Args&&... args)
      : envelope(&type_of<T>(), nullptr), value(std::forward<Args>(args)...) {
    data = &value;
  }
  T value;
};

struct bodiless_envelope final : envelope {
  bodiless_envelope() noexcept : envelope(nullptr, nullptr) {}
};

template <class T>
envelope* make_envelope(T&& value, envelope_kind kind, actor_ref sender, std::uint64_t correlation = 0) {
  auto* e = new typed_envelope<std::remove_cvref_t<T>>(std::forward<T>(value));
  e->kind = kind;
  e->sender = std::move(sender);
  e->correlation = correlation;
  return e;
}

inline envelope* make_error(error err, actor_ref sender, std::uint64_t correlation) {
  return make_envelope(std::move(err), envelope_kind::error, std::move(sender), correlation);
}

/// Delivers e to `to`, or deletes it when `to` is empty.
inline void deliver(const actor_ref& to, envelope* e) noexcept {
  if (auto* ep = to.endpoint()) {
    ep->enqueue(e);
  } else {
    delete e;
  }
}

/// Answers a request envelope with an error to its sender (if it has one).
inline void reject(const envelope& req, errc code, std::string text = {}) noexcept {
  if (req.kind != envelope_kind::request || !req.sender) return;
  try {
    deliver(req.sender, make_error(error{code, std::move(text)}, actor_ref{}, req.correlation));
  } catch (...) {  // allocation failure: nothing better to do than drop
  }
}

template <class T>
const message_type& type_info_for() noexcept {
  static const message_type t{
      message_traits<T>::name,
      [](const void* v, msgpack::packer<byte_sink>& out) { out.pack(*static_cast<const T*>(v)); },
      [](const msgpack::object& o) -> envelope* {
        auto e = std::make_unique<typed_envelope<T>>();
        o.convert(e->value);
        return e.release();
      },
      [](const void* v) -> envelope* { return new typed_envelope<T>(*static_cast<const T*>(v)); },
      runtime_message<T>,
  };
  return t;
}

}  // namespace actor::detail

template <actor::registered_message T>
const actor::message_type& actor::type_of() noexcept {
  return detail::type_info_for<std::remove_cvref_t<T>>();
}
