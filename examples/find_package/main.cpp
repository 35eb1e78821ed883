// Ping-pong between two actors: the player asks the table `rounds` times, each time
// with a request whose reply continues the rally, then answers the caller.
// Exits 0 when the rally ends with the expected count.

#include <chrono>
#include <cstdint>
#include <cstdio>

#include <actor/actor.hpp>

using namespace std::chrono_literals;

struct ping {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct pong {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct play {
  std::int64_t rounds = 0;
  ACTOR_FIELDS(rounds)
};
ACTOR_MESSAGE(ping, "ping_pong.ping");
ACTOR_MESSAGE(pong, "ping_pong.pong");
ACTOR_MESSAGE(play, "ping_pong.play");

/// Answers every ping with a pong one higher.
class table final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const ping& p) { return pong{p.n + 1}; }};
  }
};

/// On play, rallies with the table and answers pong{final count} (or the error).
class player final : public actor::actor_base {
 public:
  explicit player(actor::actor_ref table) : table_(std::move(table)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const play& p) {
      left_ = p.rounds;
      done_ = make_response_promise();  // answer later, when the rally ends
      hit(0);
    }};
  }

 private:
  void hit(std::int64_t n) {
    if (left_-- == 0) {
      done_.deliver(pong{n});
      return;
    }
    request(table_, ping{n}, 1s).then([this](const pong& p) { hit(p.n); },
                                      [this](const actor::error& e) { done_.deliver(e); });
  }

  actor::actor_ref table_;
  actor::response_promise done_;
  std::int64_t left_ = 0;
};

int main() {
  actor::actor_system system;
  auto t = system.spawn<table>();
  auto p = system.spawn<player>(t);
  auto result = system.request<pong>(p, play{1000}, 5s).get();
  if (!result) {
    std::printf("ping_pong: FAILED: %s\n", result.error().describe().c_str());
    return 1;
  }
  std::printf("ping_pong: %lld hits\n", static_cast<long long>(result->n));
  return result->n == 1000 ? 0 : 1;
}
