#include <chrono>

#include <catch2/catch.hpp>

#include "core/poll_window.hpp"

using actor::detail::poll_window;
using namespace std::chrono_literals;

TEST_CASE("a poll window starts at its widest and keeps its width while it covers the gaps", "[poll_window]") {
  poll_window w(200us);
  CHECK(w.width() == 200us);
  w.observe(1us);
  w.observe(200us);
  CHECK(w.width() == 200us);
}

TEST_CASE("gaps longer than the widest window shrink it to zero, so sparse traffic costs no polling",
          "[poll_window]") {
  poll_window w(200us);
  w.observe(1ms);
  CHECK(w.width() == 100us);
  w.observe(1ms);
  w.observe(1ms);
  w.observe(1ms);
  CHECK(w.width() == poll_window::duration(12500ns));
  w.observe(1ms);  // 6.25 us is below grow_start
  CHECK(w.width() == 0us);
  w.observe(1s);
  CHECK(w.width() == 0us);
}

TEST_CASE("gaps a wider window would have covered grow it again, up to its maximum", "[poll_window]") {
  poll_window w(200us);
  for (int i = 0; i < 10; ++i) w.observe(1ms);
  REQUIRE(w.width() == 0us);
  w.observe(150us);
  CHECK(w.width() == poll_window::grow_start);
  w.observe(150us);
  CHECK(w.width() == 20us);
  w.observe(150us);
  w.observe(150us);
  w.observe(150us);
  CHECK(w.width() == 160us);
  w.observe(150us);  // covered now: kept
  CHECK(w.width() == 160us);
  w.observe(190us);
  CHECK(w.width() == 200us);  // capped at the maximum
}

TEST_CASE("a poll window with no maximum never polls", "[poll_window]") {
  poll_window none(0us);
  CHECK(none.width() == 0us);
  none.observe(5us);
  CHECK(none.width() == 0us);
  poll_window negative(-5us);
  CHECK(negative.width() == 0us);
}
