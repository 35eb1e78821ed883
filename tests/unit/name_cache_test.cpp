// The node-side name cache: bounded in size (oldest first) and in age (a TTL on the
// system's clock), so a lost change notice cannot keep a stale ref forever.
#include <catch2/catch.hpp>

#include "registry/agent.hpp"
#include "test_support.hpp"

using actor::detail::name_cache;
using namespace std::chrono_literals;

namespace {

class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const actor::stop_msg&) {}};
  }
};

}  // namespace

TEST_CASE("a cached name is trusted for its TTL, then looked up again", "[name_cache]") {
  actor::manual_clock clock;
  actor::actor_system sys;
  auto a = sys.spawn<idle>(), b = sys.spawn<idle>();
  name_cache cache(clock, 5000ms, 10);
  CHECK(cache.put("svc", a).empty());
  CHECK(cache.find("svc") == a);
  clock.advance(5000ms);
  CHECK(cache.find("svc") == a);
  clock.advance(1ms);
  CHECK_FALSE(cache.find("svc"));  // expired: the caller asks a registry
  CHECK(cache.contains("svc"));    // still held (and watched) until replaced or evicted
  CHECK(cache.put("svc", b).empty());
  CHECK(cache.find("svc") == b);
  // erase with a ref removes only that ref
  CHECK_FALSE(cache.erase("svc", a));
  CHECK(cache.erase("svc", b));
  CHECK_FALSE(cache.contains("svc"));
}

TEST_CASE("the name cache evicts its oldest entries beyond its capacity, and says which", "[name_cache]") {
  actor::manual_clock clock;
  actor::actor_system sys;
  auto a = sys.spawn<idle>();
  name_cache cache(clock, 5000ms, 3);
  for (auto n : {"a", "b", "c"}) CHECK(cache.put(n, a).empty());
  CHECK(cache.put("a", a).empty());  // refreshed: now the newest
  CHECK(cache.put("d", a) == std::vector<std::string>{"b"});
  CHECK(cache.size() == 3);
  auto all = cache.clear();
  CHECK(all == std::vector<std::string>{"c", "a", "d"});
  CHECK(cache.size() == 0);
}
