#pragma once
// Helpers shared by the unit tests: waiting on conditions with a real deadline
// (never sleeping), a one-shot event for handlers that must block, and a
// system running on a manual clock.
//
// Catch2's assertions are not thread-safe: actors record what they see (atomics,
// promises, replies) and the test thread asserts.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

#include "actor/actor.hpp"

namespace test {

using namespace std::chrono_literals;

/// How long a test waits for something that should happen at once.
inline constexpr auto wait_limit = std::chrono::seconds(5);
/// A request timeout that never passes unless a test advances its manual clock that far.
inline constexpr actor::duration far_timeout = std::chrono::hours(24);

/// Waits (real time, bounded) for a future and returns its value; fails the test if it is late.
template <class T>
T await(std::future<T>& f) {
  REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  return f.get();
}
template <class T>
T await(std::future<T>&& f) {
  return await(f);
}

/// Waits for a future expected to hold a value, and returns the value.
template <class T>
T await_value(std::future<actor::expected<T>>&& f) {
  auto r = await(f);
  INFO("the request failed: " << (r ? std::string("-") : r.error().describe()));
  REQUIRE(r.has_value());
  return std::move(r).value();
}

/// Waits for a future expected to hold an error, and returns the error.
template <class T>
actor::error await_error(std::future<actor::expected<T>>&& f) {
  auto r = await(f);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

/// True when the future already has its outcome (does not wait).
template <class T>
bool is_ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

/// Polls pred until it holds or `limit` of real time has passed; the result of the last poll.
template <class Pred>
bool wait_until(Pred pred, std::chrono::steady_clock::duration limit = wait_limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

/// A one-shot, thread-safe event: set() once, wait from anywhere.
class event {
 public:
  void set() {
    {
      std::lock_guard lk(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  [[nodiscard]] bool is_set() const {
    std::lock_guard lk(mu_);
    return set_;
  }
  /// Waits until set, or `limit` passed; true when set.
  bool wait_for(std::chrono::steady_clock::duration limit = wait_limit) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, limit, [this] { return set_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool set_ = false;
};

/// Sets an event when leaving scope: declared after a system, it releases a
/// blocked handler even when an assertion fails, so the system's destructor can finish.
class release_on_exit {
 public:
  explicit release_on_exit(event& e) : e_(e) {}
  release_on_exit(const release_on_exit&) = delete;
  release_on_exit& operator=(const release_on_exit&) = delete;
  ~release_on_exit() { e_.set(); }

 private:
  event& e_;
};

/// A system on a manual clock: timeouts and timers happen only when the test advances it.
struct manual_system {
  explicit manual_system(std::size_t workers = 2)
      : clk(std::make_shared<actor::manual_clock>()),
        sys(actor::system_options{.workers = workers, .clock = clk}) {}
  std::shared_ptr<actor::manual_clock> clk;
  actor::actor_system sys;
};

}  // namespace test
