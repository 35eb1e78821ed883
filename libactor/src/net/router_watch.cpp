// router: the watch table's side of the paths (net/watch_table.hpp). Watch messages
// (actor/monitor.hpp) are ordinary envelopes; the router recognises them by their type
// (message_type::runtime, then the type's address) and the watch by the envelope's sender,
// receiver and correlation, without decoding bodies.
#include "actor/log.hpp"
#include "net/endpoints.hpp"
#include "net/router.hpp"

namespace actor::detail {

namespace {

// The table's name of the other side: a node's canonical address, or a Bridge client's id.
std::string client_peer(const std::string& client_id) { return "client:" + client_id; }

std::string peer_of(const origin& from) {
  return from.peer_address.empty() ? client_peer(from.client_id) : from.peer_address;
}

}  // namespace

void answer_watch_of_missing(const actor_ref& gone, const actor_ref& watcher, const message_type* type,
                             std::uint64_t correlation, const actor::down_reason& why) noexcept {
  if (!watcher) return;
  try {
    if (type == &type_of<monitor_request>()) {
      deliver(watcher, make_envelope(down_msg{correlation, gone, why}, envelope_kind::send, gone, correlation));
    } else if (type == &type_of<link_request>()) {
      deliver(watcher, make_envelope(exit_msg{gone, why}, envelope_kind::send, gone, correlation));
    }
  } catch (...) {  // allocation failure: nothing better to do than drop
  }
}

bool router::watch_outbound(const remote_endpoint& to, const envelope& e, posted_envelope& o, posted_extra& x) {
  const auto* type = e.type;
  if (e.kind != envelope_kind::send || !e.sender || type == &type_of<stop_msg>()) return false;
  const wire_ref& remote = *to.wire_address();
  const std::string peer = to.slot() != nullptr ? to.slot()->address : client_peer(to.client_id());
  const std::uint64_t local = x.requester_id;  // the sender's id on the wire, as encoded
  actor_ref remote_ref(const_cast<remote_endpoint*>(&to));
  using k = watch_kind;
  if (type == &type_of<monitor_request>() || type == &type_of<link_request>()) {
    // a Bridge client is watched too: its down (node_down) comes when this node forgets it
    const bool link = type == &type_of<link_request>();
    const watch_table::key key{link ? k::linked : k::monitoring, local, remote.id, link ? 0 : e.correlation};
    watches_.add(peer, key, {e.sender, std::move(remote_ref), remote.incarnation, e.correlation});
    // if the transport drops it before writing it, the entry fires (transport_events::watch_dropped)
    o.watch = true;
    x.requester = e.sender;
    x.correlation = e.correlation;
    x.watch_remote = remote.id;
    x.watch_link = link;
    return true;
  }
  if (type == &type_of<demonitor_request>()) {
    watches_.remove(peer, {k::monitoring, local, remote.id, e.correlation});
  } else if (type == &type_of<unlink_request>() || type == &type_of<exit_msg>()) {
    watches_.remove(peer, {k::linked, local, remote.id, 0});
    o.owed = type == &type_of<exit_msg>() && to.slot() != nullptr;
  } else if (type == &type_of<down_msg>()) {
    watches_.remove(peer, {k::watched_by, local, remote.id, e.correlation});
    o.owed = to.slot() != nullptr;
  }
  return false;
}

void router::watch_inbound(const message_type& type, const wire::envelope_view& v, const origin& from,
                           const actor_ref& target, const actor_ref& sender, const target_miss* miss) {
  if (&type == &type_of<stop_msg>()) return;
  const std::string peer = peer_of(from);
  const std::uint64_t local = v.receiver.id;
  const std::uint64_t remote = v.has_sender ? v.sender.id : 0;
  using k = watch_kind;
  if (&type == &type_of<monitor_request>() || &type == &type_of<link_request>()) {
    if (!sender) return;  // nobody to tell: the actor ignores it too
    if (!target) {  // no such actor here: noproc, from the ref it named
      const wire_ref named{opts_.node_name, address(), v.receiver.incarnation, v.receiver.id};
      const actor_ref gone{new dead_endpoint(named, miss->code, miss->why)};
      answer_watch_of_missing(gone, sender, &type, v.correlation, actor::down_reason{actor::down_reason::kind::noproc, miss->why, {}});
      return;
    }
    const bool link = &type == &type_of<link_request>();
    watches_.add(peer, {link ? k::linked : k::watched_by, local, remote, link ? 0 : v.correlation},
                 {target, sender, v.sender.incarnation, v.correlation});
    // a node that sends us nothing would never be heard of again: its death must be seen here
    if (!from.peer_address.empty()) transport_->keep_alive_with(from.peer_address);
    return;
  }
  if (&type == &type_of<demonitor_request>()) {
    watches_.remove(peer, {k::watched_by, local, remote, v.correlation});
  } else if (&type == &type_of<unlink_request>() || &type == &type_of<exit_msg>()) {
    watches_.remove(peer, {k::linked, local, remote, 0});
  } else if (&type == &type_of<down_msg>()) {
    watches_.remove(peer, {k::monitoring, local, remote, v.correlation});
  }
}

transport_events router::watch_events() {
  transport_events ev;
  // (the transport is the router's: these run on its I/O thread while the router lives)
  ev.peer_down = [this](const std::string& address, const std::string& why) {
    // our side's watches of its actors fire; its watches of ours wait (it may be paused only)
    watches_.fire_watching(address, actor::down_reason{actor::down_reason::kind::node_down, why, {}});
  };
  ev.peer_forgotten = [this](const std::string& address) {
    watches_.fire_peer(address, actor::down_reason{actor::down_reason::kind::node_down,
                                                   "peer " + address + " forgotten (down for long)", {}});
  };
  ev.peer_restarted = [this](const std::string& address, std::uint64_t incarnation) {
    watches_.fire_restarted(address, incarnation,
                            "node at " + address + " restarted (incarnation " + std::to_string(incarnation) + ")");
  };
  ev.watch_dropped = [this](const std::string& address, const posted_extra& x, const std::string& why) {
    const watch_table::key key{x.watch_link ? watch_kind::linked : watch_kind::monitoring, x.requester_id,
                               x.watch_remote, x.watch_link ? 0 : x.correlation};
    watches_.fire(address.empty() ? client_peer(x.client_id) : address, key, actor::down_reason{actor::down_reason::kind::node_down, why, {}});
  };
  ev.client_gone = [this](const std::string& client_id) {
    watches_.fire_peer(client_peer(client_id), actor::down_reason{actor::down_reason::kind::node_down, "client gone", {}});
  };
  return ev;
}

}  // namespace actor::detail
