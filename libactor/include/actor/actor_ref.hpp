#pragma once
/// actor_ref: the handle through which every message reaches an actor.

#include <cstdint>
#include <functional>

#include <stdexcept>

#include <msgpack.hpp>

#include "actor/detail/endpoint.hpp"
#include "actor/detail/intrusive_ptr.hpp"
#include "actor/detail/ref_codec.hpp"

namespace actor {

/// Well-known actor ids: a node answers at these ids with its services, and a ref
/// to a service may carry incarnation 0 ("whatever runs at that address now").
/// Ordinary actors get ids from service_ids up, so they never collide.
inline constexpr std::uint64_t manager_id = 0;   ///< every node's manager (spawn, lookup, stats, ping)
inline constexpr std::uint64_t registry_id = 1;  ///< the name service of an actor-registry
inline constexpr std::uint64_t service_ids = 16;

/// A reference to an actor (or to a reply promise). Cheap to copy, safe to copy
/// and use from any thread; keeps the target's memory alive, not the actor
/// running. An empty ref means "anonymous": sends to it are dropped.
class actor_ref {
 public:
  actor_ref() noexcept = default;
  explicit actor_ref(detail::endpoint* ep) noexcept : ep_(ep) {}

  /// True unless this is the empty (anonymous) ref.
  explicit operator bool() const noexcept { return static_cast<bool>(ep_); }
  /// The actor's id within its system; 0 for the empty ref.
  [[nodiscard]] std::uint64_t id() const noexcept { return ep_ ? ep_->id() : 0; }

  friend bool operator==(const actor_ref& a, const actor_ref& b) noexcept { return a.ep_ == b.ep_; }

  /// Internal: the endpoint behind the ref (null when empty).
  [[nodiscard]] detail::endpoint* endpoint() const noexcept { return ep_.get(); }
  /// Internal: a ref to ep that takes over a reference already counted for it
  /// (endpoint::add_refs), instead of adding one.
  [[nodiscard]] static actor_ref adopt(detail::endpoint* ep) noexcept {
    actor_ref r;
    r.ep_ = detail::intrusive_ptr<detail::endpoint>(ep, false);
    return r;
  }

 private:
  detail::intrusive_ptr<detail::endpoint> ep_;
};

}  // namespace actor

// An actor_ref inside a message: nil for the empty ref, else [node, address,
// incarnation, id]. Needs a node on the encoding/decoding thread.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<actor::actor_ref> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const actor::actor_ref& r) const {
      if (!r) return o.pack_nil();
      auto* codec = actor::detail::ref_codec::current();
      if (codec == nullptr) throw std::runtime_error("an actor_ref can only be serialized by a node");
      return o.pack(codec->to_wire(r));
    }
  };
  template <>
  struct convert<actor::actor_ref> {
    const msgpack::object& operator()(const msgpack::object& o, actor::actor_ref& r) const {
      if (o.is_nil()) {
        r = actor::actor_ref{};
        return o;
      }
      auto* codec = actor::detail::ref_codec::current();
      if (codec == nullptr) throw std::runtime_error("an actor_ref can only be deserialized by a node");
      r = codec->from_wire(o.as<actor::detail::wire_ref>());
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack

template <>
struct std::hash<actor::actor_ref> {
  std::size_t operator()(const actor::actor_ref& r) const noexcept {
    return std::hash<const void*>{}(r.endpoint());
  }
};
