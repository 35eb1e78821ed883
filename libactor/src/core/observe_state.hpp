#pragma once
// observe_state: what an actor keeps of observe/notify (actor/observe.hpp), both as the
// observed actor (its subscribers) and as an observer (its observations). Allocated on first
// use (actor_extras::observe); touched only on the actor's own thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actor/actor_ref.hpp"
#include "actor/detail/envelope.hpp"

namespace actor::detail {

/// An observer of this actor.
struct subscriber {
  subscriber() = default;
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;
  ~subscriber() {
    for (auto* e : waiting) delete e;
  }

  actor_ref who;
  std::uint64_t id = 0;     // the observation's id, the observer's (correlation of its messages)
  std::uint64_t watch = 0;  // this actor's monitor of the observer
  std::vector<const message_type*> types;  // the outputs it receives
  std::uint64_t window = 1;        // notifications on their way at most
  std::uint64_t waiting_limit = 0;  // notifications waiting here at most
  std::uint64_t seq = 0;           // the last sequence number given
  std::deque<std::uint64_t> on_their_way;  // the numbers sent and not acknowledged (oldest first)
  std::deque<envelope*> waiting;  // numbered, not yet sent (the window is full); owned

  [[nodiscard]] bool wants(const message_type* t) const noexcept {
    for (const auto* x : types) {
      if (x == t) return true;
    }
    return false;
  }
};

/// An observation this actor holds.
struct observation {
  actor_ref target;   // empty while its name is being resolved
  actor_ref previous;  // by name: the actor that was gone, for observed_restarted
  std::string name;   // observing a name: followed when the actor is gone
  std::vector<std::string> types;
  std::uint64_t queue = 0;
  std::uint64_t next_seq = 1;  // the sequence number expected next
  std::uint64_t unacked = 0;   // notifications handled since the last acknowledgement
  std::uint64_t lost = 0;      // lost in this observation (gaps)
  std::chrono::milliseconds retry{0};  // the delay before resolving the name again (0: at once)
  bool confirmed = false;      // the target's observe_reply came: what comes before it is stale
  bool same_again = false;     // by name: the target may be observed again (it was only cut off)
  bool warned_unhandled = false;
};

struct observe_state {
  std::vector<std::unique_ptr<subscriber>> subscribers;
  std::unordered_map<std::uint64_t, observation> observations;   // by id
  std::unordered_map<const endpoint*, std::uint64_t> observed;   // target -> observation id

  [[nodiscard]] subscriber* find_subscriber(const endpoint* who, std::uint64_t id) const noexcept {
    for (const auto& s : subscribers) {
      if (s->who.endpoint() == who && s->id == id) return s.get();
    }
    return nullptr;
  }
};

}  // namespace actor::detail
