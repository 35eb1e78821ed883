#include <chrono>

#include <catch2/catch.hpp>

#include "net/connection.hpp"

using actor::detail::connection;
using actor::detail::connection_options;
using actor::detail::down_reason;
using actor::detail::peer_state;
using actor::detail::probe;
using actor::time_point;
using namespace std::chrono_literals;

namespace {

// the transport's rules: heartbeat 500 ms, suspect after 1 s, down after 2 s
connection_options node_rules() { return connection_options{}; }

// the Bridge's rules: no suspect state; down and refusal forget the WELCOME
connection_options client_rules() {
  connection_options o;
  o.suspect = false;
  o.down_forgets_welcome = true;
  o.refusal_is_final = true;
  return o;
}

const time_point t0 = time_point{} + 1h;

}  // namespace

TEST_CASE("a new connection says HELLO at once and is connecting, not welcomed", "[connection]") {
  connection c(node_rules());
  const auto ev = c.opened(t0);
  CHECK(ev.send == probe::hello);
  CHECK(c.state() == peer_state::connecting);
  CHECK_FALSE(c.welcomed());
  CHECK(c.opened_at() == t0);
}

TEST_CASE("while not welcomed, HELLO is repeated every heartbeat, and nothing sooner", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  CHECK(c.tick(t0 + 499ms).send == probe::none);
  CHECK(c.tick(t0 + 500ms).send == probe::hello);
  CHECK(c.tick(t0 + 700ms).send == probe::none);
  CHECK(c.tick(t0 + 1000ms).send == probe::hello);
  CHECK(c.state() == peer_state::connecting);
}

TEST_CASE("a WELCOME makes the connection alive and records the node's incarnation", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  const auto ev = c.welcome(42, t0 + 10ms);
  CHECK(ev.became_alive);
  CHECK(ev.was == peer_state::connecting);
  CHECK_FALSE(ev.was_welcomed);
  CHECK(ev.old_incarnation == 0);
  CHECK(ev.new_incarnation == 42);
  CHECK(c.state() == peer_state::alive);
  CHECK(c.welcomed());
  CHECK(c.incarnation() == 42);
  CHECK(c.last_heard() == t0 + 10ms);
}

TEST_CASE("once welcomed, a PING goes every heartbeat with a sequence number one higher each time",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  auto ev = c.tick(t0 + 500ms);
  CHECK(ev.send == probe::ping);
  CHECK(c.seq() == 1);
  c.heard(t0 + 600ms);
  CHECK(c.tick(t0 + 900ms).send == probe::none);
  ev = c.tick(t0 + 1000ms);
  CHECK(ev.send == probe::ping);
  CHECK(c.seq() == 2);
}

TEST_CASE("silence makes an alive connection suspect after suspect_after, and down after down_after",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  CHECK_FALSE(c.tick(t0 + 1000ms).became_suspect);  // not longer than the bound yet
  CHECK(c.state() == peer_state::alive);
  const auto suspect = c.tick(t0 + 1001ms);
  CHECK(suspect.became_suspect);
  CHECK(c.state() == peer_state::suspect);
  CHECK(c.tick(t0 + 2000ms).went_down == down_reason::none);
  const auto down = c.tick(t0 + 2001ms);
  CHECK(down.went_down == down_reason::silent);
  CHECK(c.state() == peer_state::down);
  CHECK(c.down_since() == t0 + 2001ms);
  CHECK(c.tick(t0 + 5000ms).went_down == down_reason::none);  // down once
}

TEST_CASE("a connection never welcomed goes down for want of a handshake", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  CHECK(c.tick(t0 + 2001ms).went_down == down_reason::no_handshake);
  CHECK(c.state() == peer_state::down);
}

TEST_CASE("anything heard resets the silence", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  c.heard(t0 + 900ms);
  CHECK_FALSE(c.tick(t0 + 1800ms).became_suspect);
  c.heard(t0 + 1800ms);
  CHECK(c.tick(t0 + 2700ms).went_down == down_reason::none);
  CHECK(c.state() == peer_state::alive);
}

TEST_CASE("a suspect connection heard from again is alive again", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  c.tick(t0 + 1500ms);
  REQUIRE(c.state() == peer_state::suspect);
  const auto ev = c.heard(t0 + 1600ms);
  CHECK(ev.became_alive);
  CHECK(ev.was == peer_state::suspect);
  CHECK(c.state() == peer_state::alive);
}

TEST_CASE("a node's connection that went down keeps PINGing, and comes back alive when heard from",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  c.tick(t0 + 2500ms);
  REQUIRE(c.state() == peer_state::down);
  CHECK(c.tick(t0 + 3000ms).send == probe::ping);
  const auto ev = c.pong(42, t0 + 3100ms);
  CHECK_FALSE(ev.restarted);
  CHECK(ev.became_alive);
  CHECK(ev.was == peer_state::down);
  CHECK(c.state() == peer_state::alive);
}

TEST_CASE("a Bridge connection that went down says HELLO again, and only a WELCOME brings it back",
          "[connection]") {
  connection c(client_rules());
  c.opened(t0);
  c.welcome(42, t0);
  CHECK_FALSE(c.check_silence(t0 + 1500ms).became_suspect);  // no suspect state for the Bridge
  CHECK(c.state() == peer_state::alive);
  CHECK(c.check_silence(t0 + 2001ms).went_down == down_reason::silent);
  CHECK_FALSE(c.welcomed());
  CHECK(c.heartbeat().send == probe::hello);
  CHECK_FALSE(c.heard(t0 + 2100ms).became_alive);
  CHECK(c.state() == peer_state::down);
  const auto ev = c.welcome(42, t0 + 2200ms);
  CHECK(ev.became_alive);
  CHECK(ev.was == peer_state::down);
  CHECK(c.state() == peer_state::alive);
}

TEST_CASE("a PONG with a new incarnation means the node restarted: HELLO again, welcomed no more",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  const auto ev = c.pong(43, t0 + 100ms);
  CHECK(ev.restarted);
  CHECK(ev.old_incarnation == 42);
  CHECK(ev.new_incarnation == 43);
  CHECK(ev.send == probe::hello);
  CHECK_FALSE(c.welcomed());
  CHECK(c.state() == peer_state::alive);  // the transport keeps its state until the handshake's outcome
  CHECK(c.tick(t0 + 599ms).send == probe::none);  // the HELLO just sent counts as this heartbeat's
  CHECK(c.incarnation() == 43);  // recorded now, so the WELCOME that follows is not a second restart
  const auto again = c.welcome(43, t0 + 200ms);
  CHECK_FALSE(again.was_welcomed);
  CHECK(again.old_incarnation == 43);
  CHECK(again.new_incarnation == 43);
  CHECK(c.incarnation() == 43);
  CHECK(c.welcomed());
}

TEST_CASE("a PONG with the same incarnation, or before any WELCOME, is no restart", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  CHECK_FALSE(c.pong(7, t0 + 10ms).restarted);  // not welcomed yet
  c.welcome(42, t0 + 20ms);
  CHECK_FALSE(c.pong(42, t0 + 30ms).restarted);
}

TEST_CASE("for the Bridge, a restart goes back to connecting", "[connection]") {
  connection c(client_rules());
  c.opened(t0);
  c.welcome(42, t0);
  CHECK(c.pong(43, t0 + 100ms).restarted);
  CHECK(c.state() == peer_state::connecting);
}

TEST_CASE("a refused connection is not probed and never goes down by silence, and the Bridge's never asks again",
          "[connection]") {
  connection c(client_rules());
  c.opened(t0);
  c.refused(t0 + 10ms);
  CHECK(c.state() == peer_state::refused);
  const auto ev = c.tick(t0 + 10min);
  CHECK(ev.send == probe::none);
  CHECK(ev.went_down == down_reason::none);
  CHECK(c.heartbeat().send == probe::none);
  CHECK(c.state() == peer_state::refused);
  CHECK(c.retry_at() == time_point::max());
}

TEST_CASE("a node's refused connection says HELLO again after a heartbeat, then twice as long each time, up to 30 s",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  auto t = t0 + 10ms;
  c.refused(t);
  CHECK(c.heartbeat().send == probe::none);  // no PINGs while refused
  std::chrono::milliseconds wait = 500ms;
  for (int i = 0; i < 12; ++i) {
    CHECK(c.tick(t + wait - 1ms).send == probe::none);
    CHECK(c.tick(t + wait).send == probe::hello);
    CHECK(c.state() == peer_state::refused);        // messages still fail at once
    CHECK(c.tick(t + wait).went_down == down_reason::none);
    t += wait + 5ms;  // refused again, 5 ms after the HELLO
    c.refused(t);
    wait = std::min<std::chrono::milliseconds>(wait * 2, 30s);
  }
  CHECK(wait == 30s);
  CHECK(c.retry_at() == t + 30s);
}

TEST_CASE("a refused node connection that is welcomed at a retry is alive, and a later refusal starts from a heartbeat",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.refused(t0);
  CHECK(c.tick(t0 + 500ms).send == probe::hello);
  c.refused(t0 + 510ms);
  CHECK(c.tick(t0 + 1510ms).send == probe::hello);
  const auto ev = c.welcome(9, t0 + 1520ms);
  CHECK(ev.became_alive);
  CHECK(c.state() == peer_state::alive);
  CHECK(c.retry_at() == time_point::max());
  c.refused(t0 + 2s);
  CHECK(c.retry_at() == t0 + 2s + 500ms);
}

TEST_CASE("a connection that cannot connect retries like a refused one, the wait growing across attempts",
          "[connection]") {
  connection c(node_rules());
  c.connect_failed(t0);
  CHECK(c.retry_at() == t0 + 500ms);
  CHECK(c.tick(t0 + 500ms).send == probe::hello);  // the owner opens a socket again
  c.opened(t0 + 500ms);
  c.connect_failed(t0 + 500ms);
  CHECK(c.retry_at() == t0 + 1500ms);
}

TEST_CASE("HELLO_AGAIN: not welcomed any more, HELLO now, and the next WELCOME makes it alive", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  const auto ev = c.forgotten(42, t0 + 100ms);
  CHECK(ev.send == probe::hello);
  CHECK_FALSE(ev.restarted);
  CHECK_FALSE(c.welcomed());
  CHECK(c.last_heard() == t0 + 100ms);
  CHECK(c.tick(t0 + 599ms).send == probe::none);  // the HELLO just sent counts as this heartbeat's
  CHECK(c.tick(t0 + 600ms).send == probe::hello);  // repeated while not welcomed
  const auto back = c.welcome(42, t0 + 650ms);
  CHECK_FALSE(back.was_welcomed);
  CHECK(back.old_incarnation == back.new_incarnation);
  CHECK(c.welcomed());
}

TEST_CASE("HELLO_AGAIN naming another incarnation is a restart, and for the Bridge it goes back to connecting",
          "[connection]") {
  connection node(node_rules());
  node.opened(t0);
  node.welcome(42, t0);
  auto ev = node.forgotten(43, t0 + 10ms);
  CHECK(ev.restarted);
  CHECK(ev.old_incarnation == 42);
  CHECK(ev.new_incarnation == 43);
  CHECK(node.incarnation() == 43);

  connection client(client_rules());
  client.opened(t0);
  client.welcome(42, t0);
  ev = client.forgotten(43, t0 + 10ms);
  CHECK(ev.restarted);
  CHECK(client.state() == peer_state::connecting);
  // refused: HELLO_AGAIN changes nothing (the retry, if any, says HELLO)
  client.refused(t0 + 20ms);
  CHECK(client.forgotten(44, t0 + 30ms).send == probe::none);
}

TEST_CASE("a WELCOME after REFUSE is taken by a node's connection, ignored by the Bridge's", "[connection]") {
  connection node(node_rules());
  node.opened(t0);
  node.refused(t0);
  CHECK(node.welcome(42, t0 + 10ms).became_alive);
  CHECK(node.state() == peer_state::alive);

  connection client(client_rules());
  client.opened(t0);
  client.refused(t0);
  CHECK(client.welcome(42, t0 + 10ms).ignored);
  CHECK(client.state() == peer_state::refused);
  CHECK(client.incarnation() == 0);
}

TEST_CASE("a connection that cannot connect is refused from then", "[connection]") {
  connection c(client_rules());
  c.connect_failed(t0);
  CHECK(c.state() == peer_state::refused);
  CHECK(c.down_since() == t0);
}

TEST_CASE("down, then opened afresh, then welcomed: alive again, and no restart for the same incarnation",
          "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  c.down(t0 + 100ms);
  CHECK(c.state() == peer_state::down);
  CHECK(c.down_since() == t0 + 100ms);
  c.socket_closed();
  CHECK(c.opened(t0 + 1s).send == probe::hello);
  CHECK(c.state() == peer_state::connecting);
  const auto ev = c.welcome(42, t0 + 1100ms);
  CHECK(ev.became_alive);
  CHECK(ev.old_incarnation == ev.new_incarnation);
  CHECK(c.state() == peer_state::alive);
}

TEST_CASE("without a socket, the connection counts from the first attempt, or afresh after being down",
          "[connection]") {
  connection c(node_rules());
  c.no_socket(t0);
  CHECK(c.opened_at() == t0);
  c.no_socket(t0 + 1s);
  CHECK(c.opened_at() == t0);  // still the first attempt
  c.down(t0 + 3s);
  c.no_socket(t0 + 4s);
  CHECK(c.state() == peer_state::connecting);
  CHECK(c.opened_at() == t0 + 4s);
}

TEST_CASE("when the owner itself stalled, silence counts from when it runs again", "[connection]") {
  connection c(node_rules());
  c.opened(t0);
  c.welcome(42, t0);
  c.grace(t0 + 5s);
  CHECK(c.tick(t0 + 5s).went_down == down_reason::none);
  CHECK(c.state() == peer_state::alive);
  c.grace(t0 + 1s);  // never moves back
  CHECK(c.last_heard() == t0 + 5s);
}
