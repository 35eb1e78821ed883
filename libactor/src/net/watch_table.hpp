#pragma once
// watch_table: the monitors and links that cross this node's edge, by peer, so the node can
// produce the downs a dead or restarted peer cannot send (docs/monitors.md, "Node side").
//
// An entry is one watch between a local endpoint and a remote one; it is keyed by the peer
// (a node's canonical address, or "client:<routing id>" for a Bridge client) and by
// (kind, local id, remote id, watch id), ids as they are on the wire:
//   monitoring  a local actor monitors a remote one; fired: actor.down{node_down / node_restarted}
//               to the local watcher
//   linked      a local actor is linked with a remote one (watch id 0 in the key: one link per
//               pair, whichever side chose its id); fired: actor.exit{...} to the local actor
//   watched_by  a remote actor monitors a local one; fired: actor.demonitor to the local target,
//               so it forgets a watcher that can no longer hear of it
// Fired deliveries go to local mailboxes (detail::deliver: never blocks), with the remote ref
// as sender and the watch id as correlation, as the remote side would have sent them.
//
// Thread-safe (one mutex): entries are added and removed by actors' threads (outbound watch
// messages) and by the I/O thread (inbound ones, and the transport's peer events). Only watch
// messages come here; ordinary messages never touch it.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/monitor.hpp"

namespace actor::detail {

enum class watch_kind : std::uint8_t { monitoring, linked, watched_by };

class watch_table {
 public:
  struct key {
    watch_kind kind = watch_kind::monitoring;
    std::uint64_t local = 0;   // the local endpoint's id on the wire
    std::uint64_t remote = 0;  // the remote endpoint's id on the wire
    std::uint64_t id = 0;      // the watch id (0 for links)
    friend bool operator==(const key&, const key&) = default;
  };
  struct entry {
    actor_ref local;
    actor_ref remote;
    std::uint64_t remote_incarnation = 0;  // of the remote ref (0: a service, whatever runs there)
    std::uint64_t id = 0;                  // the watch id (for a link: the one it was made with)
  };

  /// Records a watch (an existing one with the same key is kept).
  void add(const std::string& peer, const key& k, entry e);
  /// Forgets a watch; false when there was none.
  bool remove(const std::string& peer, const key& k);
  /// Fires the entry under k (if still there) with `why`: removed, then delivered.
  void fire(const std::string& peer, const key& k, const actor::down_reason& why);
  /// Fires every entry of `peer` (forgotten: down for long, a client gone): reason `why`.
  void fire_peer(const std::string& peer, const actor::down_reason& why);
  /// Fires the entries of `peer` whose watcher is here (monitoring, linked): the peer was
  /// declared down. Its watches of actors here (watched_by) stay: it may only be paused, and
  /// the downs those owe when it comes back are kept for it (transport: peer::owed) until it is
  /// forgotten (fire_peer) or seen restarted (fire_restarted).
  void fire_watching(const std::string& peer, const actor::down_reason& why);
  /// The peer came back as `incarnation`: fires (node_restarted, `text`) the entries whose
  /// remote ref names another incarnation.
  void fire_restarted(const std::string& peer, std::uint64_t incarnation, const std::string& text);
  /// Fires everything (the node stops).
  void fire_all(const actor::down_reason& why);

  /// Entries now, by kind (monitoring, linked, watched_by).
  [[nodiscard]] std::uint64_t size(watch_kind k) const noexcept {
    return counts_[static_cast<std::size_t>(k)].load(std::memory_order_relaxed);
  }
  /// Entries fired so far (all kinds).
  [[nodiscard]] std::uint64_t fired() const noexcept { return fired_.load(std::memory_order_relaxed); }

 private:
  struct key_hash {
    std::size_t operator()(const key& k) const noexcept {
      std::uint64_t h = k.local * 0x9e3779b97f4a7c15ULL;
      h ^= (k.remote + 0x632be59bd9b4e019ULL) * 0xbf58476d1ce4e5b9ULL;
      h ^= (k.id + static_cast<std::uint64_t>(k.kind)) * 0x94d049bb133111ebULL;
      return static_cast<std::size_t>(h ^ (h >> 31));
    }
  };
  using peer_entries = std::unordered_map<key, entry, key_hash>;
  struct taken {
    key k;
    entry e;
  };
  // Removes and returns the entries of `peer` for which pred(key, entry) holds (under the lock).
  template <class Pred>
  std::vector<taken> take_if(const std::string& peer, Pred pred);
  // Delivers what fired entries owe (outside the lock).
  void deliver_fired(std::vector<taken>& out, const actor::down_reason& why) noexcept;
  void counted(watch_kind k, std::int64_t d) noexcept {
    counts_[static_cast<std::size_t>(k)].fetch_add(static_cast<std::uint64_t>(d), std::memory_order_relaxed);
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, peer_entries> peers_;
  std::array<std::atomic<std::uint64_t>, 3> counts_{};
  std::atomic<std::uint64_t> fired_{0};
};

}  // namespace actor::detail
