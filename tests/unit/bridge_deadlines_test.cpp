// The Bridge's deadline heap keeps no entries for calls that completed: its size
// follows the calls pending, not the calls ever made.
#include <atomic>
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "actor/actor.hpp"
#include "actor/node.hpp"
#include "bridge/io.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using actor::detail::bridge_io;
using actor::detail::bridge_io_options;

namespace {

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("the Bridge's deadline heap forgets calls answered long before their deadline", "[bridge_io][deadlines]") {
  actor::actor_system sys;
  actor::node_options no;
  no.listen = "tcp://127.0.0.1:0";
  actor::node n(sys, no);
  bridge_io io(bridge_io_options{});
  const actor::detail::wire_ref manager{n.name(), n.address(), 0, 0};
  const std::string empty_map("\x80", 1);

  // 20,000 pings with 60 s deadlines, 500 in flight at a time, every one answered at once
  constexpr int calls = 20000;
  constexpr int window = 500;
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::size_t most_entries = 0;
  for (int sent = 0; sent < calls; ++sent) {
    REQUIRE(wait_until([&] { return sent - answered.load() < window; }));
    io.request(manager, 1, "actor.node.ping", empty_map, std::chrono::steady_clock::now() + 60s,
               [&](actor::expected<actor::raw_message> r) {
                 if (!r) failed.fetch_add(1);
                 answered.fetch_add(1);
               });
    most_entries = std::max(most_entries, io.deadline_entries());
  }
  REQUIRE(wait_until([&] { return answered.load() == calls; }));
  CHECK(failed.load() == 0);
  CHECK(io.pending() == 0);
  // bounded by the calls in flight (compacted when done ones outnumber them), not by the calls made
  CHECK(most_entries <= 2 * window + 1024);
  CHECK(io.deadline_entries() <= 2 * window + 1024);
}

TEST_CASE("the Bridge's deadline heap forgets calls that failed or were cancelled", "[bridge_io][deadlines]") {
  bridge_io_options o;
  o.queue_limit = 64;  // calls beyond it fail at once with overloaded
  bridge_io io(o);
  // nothing listens there: calls wait for a handshake, or fail overloaded, or are cancelled
  const actor::detail::wire_ref nobody{"nobody", "tcp://127.0.0.1:1", 0, 16};
  std::atomic<int> done{0};
  constexpr int calls = 100000;
  for (int i = 0; i < calls; ++i) {
    const auto corr = io.request(nobody, 1, "actor.node.ping", std::string("\x80", 1),
                                 std::chrono::steady_clock::now() + 60s,
                                 [&](actor::expected<actor::raw_message>) { done.fetch_add(1); });
    if (i % 2 == 0) io.cancel(corr);
  }
  CHECK(io.pending() <= 2 * o.queue_limit);
  CHECK(io.deadline_entries() <= 2 * io.pending() + 1024 + 2 * o.queue_limit);
}
