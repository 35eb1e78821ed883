// router: the node as a client gateway (docs/protocol.md "Gateways"). A client that said
// HELLO with role "gateway-client" sends everything to this node; what is for another node
// is forwarded there, its sender rewritten to a ref of this node whose id names the client
// (gateway_id_bit | slot << 32 | the client's id), and what comes back for such an id goes to
// the client on the listening socket, its receiver rewritten to the client's own ref.
// Stateless per message: the only state is the slot of each client known now.
#include "actor/log.hpp"
#include "net/router.hpp"

namespace actor::detail {

namespace {
constexpr std::uint64_t client_id_mask = 0xffffffffULL;
constexpr std::uint32_t slot_mask = 0x7fffffffU;

bool request_with_sender(const wire::envelope_view& v) { return v.k == wire::kind::request && v.has_sender; }

// v again, with this sender (when it has one) and receiver: its kind, correlation, ttl_ms,
// type and body as they came.
std::string readdressed(const wire::envelope_view& v, const wire_ref& sender, const wire_ref& receiver) {
  std::string body;
  if (v.body_bytes.empty()) {  // a body the decoder built: packed again
    msgpack::sbuffer b;
    msgpack::pack(b, *v.body);
    body.assign(b.data(), b.size());
  }
  return wire::encode_envelope(v.k, v.has_sender ? &sender : nullptr, receiver, v.correlation, v.ttl_ms, v.type,
                               v.body_bytes.empty() ? std::string_view(body) : v.body_bytes);
}
}  // namespace

bool router::gateway_route(const wire::envelope_view& v, const origin& from) {
  if (from.via_gateway) {
    // for this node: its own address, the one the client dialed, or none (a service, as on a direct connection)
    const auto& to = v.receiver.address;
    if (to.empty() || to == address() || to == from.alias) return false;
    forward_from_client(v, from);
    return true;
  }
  if ((v.receiver.id & gateway_id_bit) != 0 && v.receiver.incarnation == opts_.incarnation) {
    to_gateway_client(v);
    return true;
  }
  return false;
}

void router::forward_from_client(const wire::envelope_view& v, const origin& from) {
  const std::string& client = from.client_id;
  auto answer = [&](errc code, const std::string& text) {
    if (request_with_sender(v)) deliver(client_proxy(client, v.sender.id, v.sender.id), make_error(error{code, text}, {}, v.correlation));
  };
  if (v.has_sender && v.sender.id > client_id_mask) {
    undeliverable_.fetch_add(1, std::memory_order_relaxed);
    return answer(errc::bad_message, "a client sending through a gateway names itself with an id below 2^32, not " +
                                         std::to_string(v.sender.id));
  }
  if (v.body == nullptr && v.body_bytes.empty()) {  // the transport's decoder always says where a body is
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    return answer(errc::bad_message, "the gateway cannot forward an envelope whose body it cannot find");
  }
  const std::uint64_t tagged =
      gateway_id_bit | (static_cast<std::uint64_t>(gateway_slot(client)) << 32) | (v.sender.id & client_id_mask);
  const wire_ref sender{opts_.node_name, address(), opts_.incarnation, tagged};
  const wire_ref receiver = v.receiver.to_ref();
  const auto bytes = readdressed(v, sender, receiver);
  posted_envelope o;
  o.to = transport_->peer_for(receiver.address);
  o.k = v.k;
  posted_extra x;
  const bool request = request_with_sender(v);
  if (request) {  // the gateway's own errors (node_down, overloaded) go back to the client
    x.requester = client_proxy(client, v.sender.id, tagged);
    x.requester_id = tagged;  // the sender id on the wire, which the answer names
    x.correlation = v.correlation;
    if (v.ttl_ms > 0) x.deadline = sys_.clock().now() + std::chrono::milliseconds(v.ttl_ms);
  }
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  transport_->post(o, bytes, request ? &x : nullptr);
}

void router::to_gateway_client(const wire::envelope_view& v) {
  const auto slot = static_cast<std::uint32_t>((v.receiver.id >> 32) & slot_mask);
  auto it = gateway_clients_.find(slot);
  if (it == gateway_clients_.end() || (v.body == nullptr && v.body_bytes.empty())) {
    // the client is gone (or never was): as for a reply to a client that disconnected
    undeliverable_.fetch_add(1, std::memory_order_relaxed);
    ACTOR_LOG(debug, "router", "gateway_client_gone", {"slot", slot}, {"type", std::string(v.type)});
    return;
  }
  const wire_ref receiver{it->second, "", 0, v.receiver.id & client_id_mask};
  const wire_ref sender = v.sender.to_ref();
  const auto bytes = readdressed(v, sender, receiver);
  posted_envelope o;  // to: null, a client named in the extra
  o.k = v.k;
  posted_extra x;
  x.client_id = it->second;
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  transport_->post(o, bytes, &x);
}

std::uint32_t router::gateway_slot(const std::string& client_id) {
  if (auto it = gateway_slots_.find(client_id); it != gateway_slots_.end()) return it->second;
  // never reused while its client may still be owed replies: slots count up (2^31 clients)
  std::uint32_t slot = next_gateway_slot_;
  while (gateway_clients_.count(slot) != 0) slot = (slot + 1) & slot_mask;
  next_gateway_slot_ = (slot + 1) & slot_mask;
  gateway_clients_.emplace(slot, client_id);
  gateway_slots_.emplace(client_id, slot);
  return slot;
}

void router::sweep_gateway_slots() {
  if (!transport_) return;
  for (auto it = gateway_slots_.begin(); it != gateway_slots_.end();) {
    if (transport_->client_known(it->first)) {
      ++it;
      continue;
    }
    gateway_clients_.erase(it->second);
    it = gateway_slots_.erase(it);
  }
}

}  // namespace actor::detail
