#pragma once
// strangers: what a node owes the connections it does not know. A BATCH (or PING) on
// the ROUTER from a routing id that never said HELLO, or that the node forgot (a client
// silent past its down bound), or that spoke to a previous run of this node, is answered
// with HELLO_AGAIN (docs/protocol.md): say HELLO again; the requests listed were not
// delivered. Never silence, but at most one answer per routing id per `interval`, so a
// flood of BATCHes costs the node no more than it reads: what is dropped in between is
// gathered (up to max_listed requests) and goes in the next answer, when due().
// Pure logic (no socket, no clock: every call takes the time); one owner thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actor/clock.hpp"

namespace actor::detail {

class strangers {
 public:
  using request_id = std::pair<std::uint64_t, std::uint64_t>;  // sender id, correlation
  static constexpr std::size_t max_listed = 4096;      // requests listed in one answer
  static constexpr std::size_t max_strangers = 1024;   // routing ids tracked at once

  explicit strangers(std::chrono::milliseconds interval) : interval_(interval) {}

  /// A frame came from `id`, which the node does not know, with these requests dropped.
  /// True: answer now, with the requests taken(); false: later (due()), or never when
  /// max_strangers ids are owed already.
  bool dropped(const std::string& id, const std::vector<request_id>& requests, time_point now);
  /// The requests to list in the answer to `id` being sent now (emptied).
  std::vector<request_id> taken(const std::string& id, time_point now);
  /// Routing ids whose answer was held back and may go now; take() each.
  [[nodiscard]] std::vector<std::string> due(time_point now);
  /// Whether requests dropped from `id` are still to be listed (then answer before its
  /// WELCOME, whatever the rate limit: a HELLO is answered one for one anyway).
  [[nodiscard]] bool owes_requests(const std::string& id) const;
  /// `id` said HELLO (and was told what it is owed): nothing more is owed to it.
  void known(const std::string& id) { owed_.erase(id); }
  /// Forgets ids that were owed nothing for a while.
  void sweep(time_point now);
  [[nodiscard]] std::size_t size() const noexcept { return owed_.size(); }

 private:
  struct stranger {
    time_point last_answer{};
    bool answer_owed = false;
    std::vector<request_id> requests;
  };
  std::chrono::milliseconds interval_;
  std::unordered_map<std::string, stranger> owed_;
};

}  // namespace actor::detail
