#pragma once
// The router's endpoints (net/router.cpp, net/router_watch.cpp): proxies for actors on other
// nodes and for Bridge clients (remote_endpoint), and refs that can never be delivered to
// (dead_endpoint). Private to net/.

#include <memory>
#include <string>

#include "actor/monitor.hpp"
#include "net/router.hpp"

namespace actor::detail {

/// Answers a watch request (actor.monitor, actor.link; kind send) made of `gone`, which names no
/// actor: actor.down / actor.exit with `why` to its sender, from `gone`, correlation kept.
/// Anything else: nothing.
void answer_watch_of_missing(const actor_ref& gone, const actor_ref& watcher, const message_type* type,
                             std::uint64_t correlation, const actor::down_reason& why) noexcept;

// A ref that can never be delivered to (a stale incarnation, an unknown id):
// requests get no_such_actor with the reason.
class dead_endpoint final : public endpoint {
 public:
  dead_endpoint(wire_ref w, errc code, std::string why)
      : endpoint(w.id), wire_(std::move(w)), code_(code), why_(std::move(why)) {}
  void enqueue(envelope* e) noexcept override {
    if (e->type != nullptr && e->type->runtime && e->kind == envelope_kind::send) {  // a monitor or link: noproc
      answer_watch_of_missing(actor_ref{this}, e->sender, e->type, e->correlation,
                              actor::down_reason{actor::down_reason::kind::noproc, why_, {}});
    }
    reject(*e, code_, why_);
    delete e;
  }
  [[nodiscard]] const wire_ref* wire_address() const noexcept override { return &wire_; }

 private:
  wire_ref wire_;
  errc code_;
  std::string why_;
};

inline std::string encode_ref(const wire_ref& w) {
  byte_sink out;
  msgpack::packer<byte_sink> pk(out);
  pk.pack(w);
  return std::move(out.bytes);
}

// A local stand-in for an actor on another node (or for a Bridge client).
class remote_endpoint final : public endpoint {
 public:
  remote_endpoint(std::shared_ptr<router> r, wire_ref w, peer_slot* slot, std::string key)
      : remote_endpoint(std::move(r), std::move(w), slot, std::move(key), 0, false) {}
  // A proxy whose endpoint id is not its ref's (a gateway client's, net/router_gateway.cpp).
  remote_endpoint(std::shared_ptr<router> r, wire_ref w, peer_slot* slot, std::string key, std::uint64_t endpoint_id,
                  bool own_id)
      : endpoint(own_id ? endpoint_id : w.id),
        router_(std::move(r)),
        wire_(std::move(w)),
        encoded_(encode_ref(wire_)),
        slot_(slot),
        key_(std::move(key)) {}
  ~remote_endpoint() override { router_->forget_proxy(key_, this); }
  void enqueue(envelope* e) noexcept override { router_->send_remote(*this, e); }
  [[nodiscard]] const wire_ref* wire_address() const noexcept override { return &wire_; }
  /// The ref as MessagePack, encoded once.
  [[nodiscard]] const std::string& encoded() const noexcept { return encoded_; }
  [[nodiscard]] peer_slot* slot() const noexcept { return slot_; }
  /// A Bridge client's routing id (when slot() is null).
  [[nodiscard]] const std::string& client_id() const noexcept { return wire_.node; }

 private:
  std::shared_ptr<router> router_;
  wire_ref wire_;
  std::string encoded_;
  peer_slot* slot_;  // null for a Bridge client
  std::string key_;
};

}  // namespace actor::detail
