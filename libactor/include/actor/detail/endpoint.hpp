#pragma once
// endpoint: anything an actor_ref can point at (a local actor, a reply promise,
// later a proxy for an actor on another node). The seam that makes refs
// location transparent: senders only ever call enqueue().

#include <atomic>
#include <cstdint>

namespace actor::detail {

struct envelope;
struct wire_ref;

class endpoint {
 public:
  explicit endpoint(std::uint64_t id = 0) noexcept : id_(id) {}
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;
  virtual ~endpoint() = default;

  /// Delivers e; takes ownership. Thread-safe, never blocks. An endpoint that can
  /// no longer deliver answers requests with an error to their sender and drops the rest.
  virtual void enqueue(envelope* e) noexcept = 0;
  /// Delivers envelopes linked through `next` from the newest to the oldest (whose
  /// `next` is ignored), as if each were enqueued in turn, oldest first. An
  /// endpoint with a mailbox takes them in one step.
  virtual void enqueue_chain(envelope* newest, envelope* oldest) noexcept;

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  /// Where this endpoint lives when it is not local (a proxy); null for local ones.
  [[nodiscard]] virtual const wire_ref* wire_address() const noexcept { return nullptr; }
  /// True once nothing sent here will ever be handled (an actor that stopped).
  /// Any thread.
  [[nodiscard]] virtual bool finished() const noexcept { return false; }
  /// True when envelopes whose body is still encoded (envelope::encoded_body())
  /// may be enqueued here: the endpoint decodes them itself (an actor does,
  /// when it comes to handle them).
  [[nodiscard]] virtual bool decodes_bodies() const noexcept { return false; }
  /// True when messages of a type this process has not registered may be delivered here
  /// as actor::dynamic_message (receive-style actors take them; actor/receiver.hpp).
  [[nodiscard]] virtual bool accepts_dynamic() const noexcept { return false; }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// n references at once (for refs that adopt them: actor_ref::adopt).
  void add_refs(std::uint32_t n) noexcept { refs_.fetch_add(n, std::memory_order_relaxed); }
  /// Adds a reference unless the count already reached zero (the endpoint is being destroyed).
  [[nodiscard]] bool try_add_ref() noexcept {
    auto n = refs_.load(std::memory_order_relaxed);
    while (n != 0) {
      if (refs_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  [[nodiscard]] std::uint32_t use_count() const noexcept { return refs_.load(std::memory_order_acquire); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
  }

 protected:
  void set_id(std::uint64_t id) noexcept { id_ = id; }
  /// Called when the last reference goes: deletes the endpoint (or, for one
  /// held inside another object, that object).
  virtual void destroy() noexcept { delete this; }

 private:
  std::atomic<std::uint32_t> refs_{0};
  std::uint64_t id_;
};

}  // namespace actor::detail
