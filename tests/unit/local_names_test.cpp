// A node's own names (registry/local_names): who holds a name, and what is
// released when an actor stops.
#include <algorithm>

#include <catch2/catch.hpp>

#include "registry/local_names.hpp"
#include "test_support.hpp"

using actor::detail::local_names;

namespace {

class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const actor::stop_msg&) {}};
  }
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("a local name is held by one actor, which may hold several", "[local_names]") {
  actor::actor_system sys;
  local_names names;
  auto a = sys.spawn<idle>(), b = sys.spawn<idle>();

  REQUIRE(names.add("one", a));
  REQUIRE(names.add("two", a));
  CHECK(names.add("one", a));  // giving a name again to its holder succeeds
  auto taken = names.add("one", b);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == actor::errc::name_taken);
  CHECK(names.find("one") == a);
  CHECK(names.find("nobody") == actor::actor_ref{});
  CHECK(sorted(names.all()) == std::vector<std::string>{"one", "two"});

  CHECK(names.remove("one"));
  CHECK_FALSE(names.remove("one"));
  REQUIRE(names.add("one", b));
  CHECK(names.find("one") == b);
}

TEST_CASE("an actor's names are released when it stops, and only its own", "[local_names]") {
  actor::actor_system sys;
  local_names names;
  auto a = sys.spawn<idle>(), b = sys.spawn<idle>();
  REQUIRE(names.add("a1", a));
  REQUIRE(names.add("a2", a));
  REQUIRE(names.add("b1", b));
  REQUIRE(names.remove("a2"));

  CHECK(names.release(a.id()) == std::vector<std::string>{"a1"});
  CHECK(names.release(a.id()).empty());
  CHECK(names.find("a1") == actor::actor_ref{});
  CHECK(names.find("b1") == b);

  names.clear();
  CHECK(names.all().empty());
  CHECK(names.release(b.id()).empty());
}

TEST_CASE("a node refuses to name nothing, or with an empty name", "[local_names]") {
  actor::actor_system sys;
  local_names names;
  auto a = sys.spawn<idle>();
  auto empty_name = names.add("", a);
  REQUIRE_FALSE(empty_name);
  CHECK(empty_name.error().code == actor::errc::bad_message);
  auto empty_ref = names.add("x", actor::actor_ref{});
  REQUIRE_FALSE(empty_ref);
  CHECK(empty_ref.error().code == actor::errc::bad_message);
  CHECK(names.all().empty());
}
