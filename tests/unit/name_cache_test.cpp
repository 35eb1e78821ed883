// The node-side name cache: bounded in size (oldest first) and in age (entries put
// longer than the TTL ago go at expire()), so a lost change notice cannot keep a
// stale ref forever.
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

TEST_CASE("a cached name lives for its TTL from its last put, then expires", "[name_cache]") {
  actor::actor_system sys;
  auto a = sys.spawn<idle>(), b = sys.spawn<idle>();
  const actor::time_point t0{};
  name_cache cache(5000ms, 10);
  CHECK(cache.put("svc", a, t0).empty());
  CHECK(cache.put("other", a, t0 + 3000ms).empty());
  CHECK(cache.find("svc") == a);
  CHECK(cache.expire(t0 + 5000ms).empty());
  CHECK(cache.find("svc") == a);
  CHECK(cache.expire(t0 + 5001ms) == std::vector<std::string>{"svc"});  // the caller unwatches it
  CHECK_FALSE(cache.find("svc"));
  CHECK(cache.find("other") == a);
  // a put renews the entry's time
  CHECK(cache.put("other", b, t0 + 7000ms).empty());
  CHECK(cache.expire(t0 + 9000ms).empty());
  CHECK(cache.find("other") == b);
  // erase with a ref removes only that ref
  CHECK_FALSE(cache.erase("other", a));
  CHECK(cache.erase("other", b));
  CHECK(cache.size() == 0);
}

TEST_CASE("the name cache evicts its oldest entries beyond its capacity, and says which", "[name_cache]") {
  actor::actor_system sys;
  auto a = sys.spawn<idle>();
  const actor::time_point t0{};
  name_cache cache(5000ms, 3);
  for (auto n : {"a", "b", "c"}) CHECK(cache.put(n, a, t0).empty());
  CHECK(cache.put("a", a, t0).empty());  // refreshed: now the newest
  CHECK(cache.put("d", a, t0) == std::vector<std::string>{"b"});
  CHECK(cache.size() == 3);
  auto all = cache.clear();
  CHECK(all == std::vector<std::string>{"c", "a", "d"});
  CHECK(cache.size() == 0);
}
