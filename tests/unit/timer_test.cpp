// Timers on a stepped manual clock: periodic_send, delayed_send, cancel_timer.
//
// Timer messages are enqueued by advance() on the test thread, so a request sent
// after advance() returns is handled after every message the clock delivered:
// the "round trip" below observes all of them.

#include <atomic>
#include <cstdint>

#include "test_support.hpp"

namespace timer_test {

struct start_ticking {
  std::int64_t interval_ms = 0;
  MSGPACK_DEFINE_MAP(interval_ms)
};
struct start_delay {
  std::int64_t delay_ms = 0;
  MSGPACK_DEFINE_MAP(delay_ms)
};
struct started {
  bool valid_handle = false;
  MSGPACK_DEFINE_MAP(valid_handle)
};
struct cancel_ticking {
  ACTOR_NO_FIELDS
};
struct cancel_delay {
  ACTOR_NO_FIELDS
};
struct cancel_result {
  bool cancelled = false;
  MSGPACK_DEFINE_MAP(cancelled)
};
struct tick {
  ACTOR_NO_FIELDS
};
struct ding {
  ACTOR_NO_FIELDS
};
struct get_counts {
  ACTOR_NO_FIELDS
};
struct counts {
  std::int64_t ticks = 0;
  std::int64_t dings = 0;
  MSGPACK_DEFINE_MAP(ticks, dings)
};

}  // namespace timer_test

ACTOR_MESSAGE(timer_test::start_ticking, "test.timer.start_ticking");
ACTOR_MESSAGE(timer_test::start_delay, "test.timer.start_delay");
ACTOR_MESSAGE(timer_test::started, "test.timer.started");
ACTOR_MESSAGE(timer_test::cancel_ticking, "test.timer.cancel_ticking");
ACTOR_MESSAGE(timer_test::cancel_delay, "test.timer.cancel_delay");
ACTOR_MESSAGE(timer_test::cancel_result, "test.timer.cancel_result");
ACTOR_MESSAGE(timer_test::tick, "test.timer.tick");
ACTOR_MESSAGE(timer_test::ding, "test.timer.ding");
ACTOR_MESSAGE(timer_test::get_counts, "test.timer.get_counts");
ACTOR_MESSAGE(timer_test::counts, "test.timer.counts");

namespace timer_test {
namespace {

using namespace std::chrono_literals;
using test::await_value;
using test::far_timeout;

// Counts in atomics too, so the test can wait for a count without a request.
struct shared_counts {
  std::atomic<std::int64_t> ticks{0};
  std::atomic<std::int64_t> dings{0};
};

class timekeeper final : public actor::actor_base {
 public:
  explicit timekeeper(shared_counts& c) : c_(c) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const start_ticking& s) {
          ticking_ = periodic_send(std::chrono::milliseconds(s.interval_ms), tick{});
          return started{static_cast<bool>(ticking_)};
        },
        [this](const start_delay& s) {
          delay_ = delayed_send(std::chrono::milliseconds(s.delay_ms), ding{});
          return started{static_cast<bool>(delay_)};
        },
        [this](const cancel_ticking&) { return cancel_result{cancel_timer(ticking_)}; },
        [this](const cancel_delay&) { return cancel_result{cancel_timer(delay_)}; },
        [this](const tick&) { c_.ticks.fetch_add(1); },
        [this](const ding&) { c_.dings.fetch_add(1); },
        [this](const get_counts&) { return counts{c_.ticks.load(), c_.dings.load()}; },
    };
  }

 private:
  shared_counts& c_;
  actor::timer_handle ticking_;
  actor::timer_handle delay_;
};

counts round_trip(actor::actor_system& sys, const actor::actor_ref& a) {
  return await_value(sys.request<counts>(a, get_counts{}, far_timeout));
}

constexpr std::int64_t interval_ms = 100;
constexpr actor::duration interval = std::chrono::milliseconds(interval_ms);

TEST_CASE("a periodic timer ticks exactly once per interval the clock passes", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_ticking{interval_ms}, far_timeout)).valid_handle);

  t.clk->advance(5 * interval);  // one step over five intervals
  CHECK(test::wait_until([&] { return c.ticks.load() >= 5; }));
  CHECK(round_trip(t.sys, a).ticks == 5);

  t.clk->advance(interval - 1ns);  // not yet the sixth
  CHECK(round_trip(t.sys, a).ticks == 5);
  t.clk->advance(1ns);
  CHECK(round_trip(t.sys, a).ticks == 6);
}

TEST_CASE("stepping a periodic timer interval by interval gives one tick per step", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_ticking{interval_ms}, far_timeout)).valid_handle);
  CHECK(round_trip(t.sys, a).ticks == 0);
  for (std::int64_t i = 1; i <= 5; ++i) {
    t.clk->advance(interval / 2);
    CHECK(round_trip(t.sys, a).ticks == i - 1);
    t.clk->advance(interval / 2);
    CHECK(round_trip(t.sys, a).ticks == i);
  }
}

TEST_CASE("cancelling a periodic timer stops its ticks", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_ticking{interval_ms}, far_timeout)).valid_handle);
  t.clk->advance(2 * interval);
  CHECK(round_trip(t.sys, a).ticks == 2);

  CHECK(await_value(t.sys.request<cancel_result>(a, cancel_ticking{}, far_timeout)).cancelled);
  t.clk->advance(10 * interval);
  CHECK(round_trip(t.sys, a).ticks == 2);
  // a second cancel finds nothing to cancel
  CHECK_FALSE(await_value(t.sys.request<cancel_result>(a, cancel_ticking{}, far_timeout)).cancelled);
}

TEST_CASE("delayed_send fires once when its delay has passed and not before", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_delay{250}, far_timeout)).valid_handle);

  t.clk->advance(250ms - 1ns);
  CHECK(round_trip(t.sys, a).dings == 0);
  t.clk->advance(1ns);
  CHECK(round_trip(t.sys, a).dings == 1);
  t.clk->advance(1h);
  CHECK(round_trip(t.sys, a).dings == 1);
  // it has finished: nothing left to cancel
  CHECK_FALSE(await_value(t.sys.request<cancel_result>(a, cancel_delay{}, far_timeout)).cancelled);
}

TEST_CASE("a cancelled delayed_send never arrives", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_delay{250}, far_timeout)).valid_handle);
  CHECK(await_value(t.sys.request<cancel_result>(a, cancel_delay{}, far_timeout)).cancelled);
  t.clk->advance(1h);
  CHECK(round_trip(t.sys, a).dings == 0);
}

TEST_CASE("the timers of a stopped actor are cancelled and deliver nothing", "[timer]") {
  shared_counts c;
  test::manual_system t;
  auto a = t.sys.spawn<timekeeper>(c);
  REQUIRE(await_value(t.sys.request<started>(a, start_ticking{interval_ms}, far_timeout)).valid_handle);
  REQUIRE(await_value(t.sys.request<started>(a, start_delay{1000}, far_timeout)).valid_handle);
  t.clk->advance(interval);
  CHECK(round_trip(t.sys, a).ticks == 1);

  REQUIRE(test::await(t.sys.stop(a, far_timeout)).has_value());
  // the stop request's own deadline timer goes away with its reply
  CHECK(test::wait_until([&] { return t.clk->pending() == 0; }));
  const auto dead_before = t.sys.stats().dead_letters;
  t.clk->advance(1h);
  CHECK(c.ticks.load() == 1);
  CHECK(c.dings.load() == 0);
  CHECK(t.sys.stats().dead_letters == dead_before);
}

}  // namespace
}  // namespace timer_test
