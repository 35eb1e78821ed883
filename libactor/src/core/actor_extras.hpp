#pragma once
// actor_extras: what only some actors need (requests, timers, a next behavior, monitors and
// links), allocated on first use so an idle actor stays small. Touched only on the actor's
// own thread (its handlers, start and terminate).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "actor/actor_base.hpp"
#include "actor/actor_ref.hpp"
#include "actor/behavior.hpp"
#include "actor/clock.hpp"

namespace actor::detail {

struct envelope;
struct timer_state;
struct observe_state;

struct pending_request {
  std::function<void(envelope&)> then;
  clock::timer_id deadline_timer = 0;
};

/// A watch held on this actor by another: the watcher's endpoint and its watch id.
struct watch_key {
  const endpoint* who = nullptr;
  std::uint64_t id = 0;
  friend bool operator==(const watch_key&, const watch_key&) = default;
};
struct watch_key_hash {
  std::size_t operator()(const watch_key& k) const noexcept {
    return std::hash<const void*>{}(k.who) ^ (std::hash<std::uint64_t>{}(k.id) * 0x9e3779b97f4a7c15ULL);
  }
};

/// A link of this actor: the partner and the link's id (the linker chose it).
struct link_entry {
  actor_ref peer;
  std::uint64_t id = 0;        // the link id (the linker's)
  std::uint64_t other_id = 0;  // the other side's, when both linked at once (two ids for one link)
  // Whether an unlink carrying `link` ends this link (not an older one, unlinked and made again).
  [[nodiscard]] bool named_by(std::uint64_t link) const noexcept { return link == id || (other_id != 0 && link == other_id); }
};

struct actor_extras {
  std::uint64_t last_request_id = 0;
  std::uint64_t last_timer_id = 0;
  std::unordered_map<std::uint64_t, pending_request> pending;
  std::unordered_map<std::uint64_t, std::shared_ptr<timer_state>> timers;
  std::optional<behavior> next_behavior;

  // monitors and links (core/monitors.cpp)
  std::uint64_t last_watch_id = 0;                                  // ids of monitors and links made here
  std::unordered_map<std::uint64_t, actor_ref> monitors;            // held by this actor: id -> target
  std::unordered_map<watch_key, actor_ref, watch_key_hash> watchers;  // on this actor -> the watcher
  std::unordered_map<const endpoint*, link_entry> links;            // by partner endpoint
  bool trap_exit = false;
  bool trap_stop = false;  // stop_msg goes to the behavior (actor_base::trap_stop)
  std::string stop_text;  // why the actor is stopping, when a watch message stopped it (linked)
  std::optional<response_promise> stop_answer;  // a stop met in pump(): answered once the actor stopped
  std::unique_ptr<observe_state> observe;  // observers and observations (core/observe.cpp)

  actor_extras();
  ~actor_extras();
  actor_extras(const actor_extras&) = delete;
  actor_extras& operator=(const actor_extras&) = delete;
};

}  // namespace actor::detail
