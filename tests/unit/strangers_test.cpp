#include <chrono>

#include <catch2/catch.hpp>

#include "net/strangers.hpp"

using actor::time_point;
using actor::detail::strangers;
using namespace std::chrono_literals;

namespace {
const time_point t0 = time_point{} + 1h;
}

TEST_CASE("a stranger's first frame is answered at once, listing the requests it dropped", "[strangers]") {
  strangers s(100ms);
  CHECK(s.dropped("client/1", {{1, 7}, {1, 8}}, t0));
  const auto listed = s.taken("client/1", t0);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0] == strangers::request_id{1, 7});
  CHECK(listed[1] == strangers::request_id{1, 8});
}

TEST_CASE("a flood from one stranger gets one answer per interval, listing what was dropped between", "[strangers]") {
  strangers s(100ms);
  REQUIRE(s.dropped("c", {{1, 1}}, t0));
  (void)s.taken("c", t0);
  for (std::uint64_t i = 2; i < 1002; ++i) CHECK_FALSE(s.dropped("c", {{1, i}}, t0 + 1ms));
  CHECK(s.due(t0 + 99ms).empty());
  const auto due = s.due(t0 + 100ms);
  REQUIRE(due.size() == 1);
  const auto listed = s.taken("c", t0 + 100ms);
  CHECK(listed.size() == 1000);
  CHECK(s.due(t0 + 300ms).empty());  // nothing owed any more
}

TEST_CASE("what one answer lists, and how many strangers are tracked, is bounded", "[strangers]") {
  strangers s(100ms);
  std::vector<strangers::request_id> many(strangers::max_listed + 10, {1, 1});
  REQUIRE(s.dropped("c", many, t0));
  CHECK(s.taken("c", t0).size() == strangers::max_listed);
  for (std::size_t i = 0; i < strangers::max_strangers + 5; ++i) (void)s.dropped("id" + std::to_string(i), {}, t0);
  CHECK(s.size() == strangers::max_strangers);
}

TEST_CASE("a stranger that says HELLO is owed nothing; quiet ones are swept", "[strangers]") {
  strangers s(100ms);
  REQUIRE(s.dropped("a", {}, t0));
  (void)s.taken("a", t0);
  CHECK(s.dropped("b", {}, t0 + 1ms));  // b is new: answered at once
  (void)s.taken("b", t0 + 1ms);
  REQUIRE_FALSE(s.dropped("a", {{1, 2}}, t0 + 2ms));
  s.known("a");
  CHECK(s.due(t0 + 1s).empty());
  s.sweep(t0 + 20s);
  CHECK(s.size() == 0);
}

TEST_CASE("requests dropped while the answer was held back are still owed when the stranger says HELLO",
          "[strangers]") {
  strangers s(100ms);
  REQUIRE(s.dropped("c", {}, t0));  // a PING: answered at once, nothing listed
  (void)s.taken("c", t0);
  CHECK_FALSE(s.dropped("c", {{1, 9}}, t0 + 10ms));  // a BATCH right after: held back
  CHECK(s.owes_requests("c"));  // so its HELLO is answered with the list first
  CHECK(s.taken("c", t0 + 20ms) == std::vector<strangers::request_id>{{1, 9}});
  CHECK_FALSE(s.owes_requests("c"));
}
