// Observe and notify across nodes (docs/observe.md): real actor-node and actor-registry
// processes on 127.0.0.1, the built-in counter (its output: counter_value) and observer.
#include <catch2/catch.hpp>

#include "actor/builtins.hpp"
#include "harness.hpp"

using namespace itest;

namespace {

actor::node_options with_registries(const std::string& name, std::vector<std::string> registries) {
  auto o = fast_node_options(name);
  o.registries = std::move(registries);
  return o;
}

actor::node_stats stats_of(local_node& me, const std::string& address) {
  auto s = me.stats_at(address);
  REQUIRE(s);
  return *s;
}

bool observers_at(local_node& me, const std::string& address, std::uint64_t n, ms limit = 10s) {
  return poll_until(
      [&] {
        auto s = me.stats_at(address);
        return s && s->observers == n;
      },
      limit);
}

// The value in an observer_note of a counter.
std::int64_t value_of(const actor::observer_note& n) {
  auto h = msgpack::unpack(n.body.data(), n.body.size());
  return h.get().as<actor::counter_value>().value;
}

// The observer's report once it has received `notes` notifications.
actor::observer_report report_when(local_node& me, const actor::actor_ref& obs, std::uint64_t notes) {
  actor::observer_report r;
  REQUIRE(poll_until(
      [&] {
        auto got = me.ask<actor::observer_report>(obs, actor::observer_report_request{});
        if (got) r = *got;
        return got && r.notes + r.lost >= notes;
      },
      10s));
  return r;
}

}  // namespace

TEST_CASE("an observer on another node receives a counter's changes in order; SIGKILL of its node ends the "
          "observation",
          "[integration][observe][liveness]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));
  node_process b(registered_node_argv("b", {reg.address()}, {"--spawn", R"(observer:obs={"observe": "hits"})"}));
  local_node me(with_registries("me", {reg.address()}));
  auto hits = me.node.lookup("hits");
  auto obs = me.node.lookup("obs");
  REQUIRE(hits);
  REQUIRE(obs);
  REQUIRE(observers_at(me, a.address(), 1));

  for (int i = 0; i < 300; ++i) me.sys.send(*hits, actor::counter_incr{1});
  const auto r = report_when(me, *obs, 300);
  CHECK(r.notes == 300);
  CHECK(r.lost == 0);
  REQUIRE(r.last.size() == actor::observer_notes_kept);
  for (std::size_t i = 0; i < r.last.size(); ++i) {
    CHECK(r.last[i].type == "actor.counter.value");
    CHECK(r.last[i].from == *hits);
    CHECK(value_of(r.last[i]) == static_cast<std::int64_t>(201 + i));  // in notify order
  }
  CHECK(stats_of(me, a.address()).notifications_sent == 300);

  b.kill_and_reap();
  CHECK(observers_at(me, a.address(), 0, 3 * fast_down_after + 5s));
  // the counter goes on without its observer
  auto v = me.ask<actor::counter_value>(*hits, actor::counter_get{});
  REQUIRE(v);
  CHECK(v->value == 300);
}

TEST_CASE("an observer of a name follows it when the actor is restarted", "[integration][observe][restart]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));
  node_process b(registered_node_argv("b", {reg.address()}, {"--spawn", R"(observer:obs={"observe": "hits"})"}));
  local_node me(with_registries("me", {reg.address()}));
  auto first = me.node.lookup("hits");
  auto obs = me.node.lookup("obs");
  REQUIRE(first);
  REQUIRE(obs);
  REQUIRE(observers_at(me, a.address(), 1));
  me.sys.send(*first, actor::counter_incr{1});
  report_when(me, *obs, 1);

  REQUIRE(me.ask<actor::stopped>(*first, actor::stop_msg{}));
  auto second = me.spawn_at(a.address(), "counter", "hits", actor::config{}.set("start", 100));
  REQUIRE(second);
  REQUIRE(observers_at(me, a.address(), 1));
  for (int i = 0; i < 3; ++i) me.sys.send(*second, actor::counter_incr{1});
  const auto r = report_when(me, *obs, 4);
  CHECK(r.restarts == 1);
  CHECK(r.lost == 0);
  REQUIRE(r.last.size() == 4);
  CHECK(r.last[0].from == *first);
  CHECK(r.last[3].from == *second);
  CHECK(value_of(r.last[1]) == 101);
  CHECK(value_of(r.last[3]) == 103);
}

TEST_CASE("a frozen observer's queue keeps the newest; it learns how many it lost", "[integration][observe]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));
  node_process b(registered_node_argv("b", {reg.address()},
                                      {"--spawn", R"(observer:obs={"observe": "hits", "queue": 8})"}));
  local_node me(with_registries("me", {reg.address()}));
  auto hits = me.node.lookup("hits");
  auto obs = me.node.lookup("obs");
  REQUIRE(hits);
  REQUIRE(obs);
  REQUIRE(observers_at(me, a.address(), 1));

  // frozen for as long as the counter takes to handle 100 increments: far less than the down bound
  REQUIRE(b.stop());
  for (int i = 0; i < 100; ++i) me.sys.send(*hits, actor::counter_incr{1});
  const bool dropped = poll_until([&] { return stats_of(me, a.address()).notifications_dropped == 92; }, 5s);
  REQUIRE(b.resume());
  REQUIRE(dropped);  // 4 on their way, 4 waiting (97..100), 5..96 dropped
  const auto r = report_when(me, *obs, 100);
  CHECK(r.notes == 8);
  CHECK(r.lost == 92);
  REQUIRE(r.last.size() == 8);
  CHECK(value_of(r.last[3]) == 4);
  CHECK(value_of(r.last[4]) == 97);
  CHECK(value_of(r.last[7]) == 100);
}

TEST_CASE("an observer without the name to observe is refused with the key named", "[integration][observe]") {
  node_process a(fast_node_argv(actor_node_path(), "a"));
  local_node me;
  auto r = me.spawn_at(a.address(), "observer", "", actor::config{}.set("queue", 3));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == actor::errc::bad_message);
  CHECK_THAT(r.error().text, Catch::Matchers::Contains("observe"));
}

// ---- from outside: the C++ Bridge ----------------------------------------------------------

#include "actor/bridge.hpp"

namespace {
actor::bridge_options observing_bridge(std::vector<std::string> registries = {}) {
  actor::bridge_options o;
  o.name = "observe-bridge";
  o.heartbeat = fast_heartbeat;
  o.down_after = fast_down_after;
  o.registries = std::move(registries);
  return o;
}
std::int64_t value_in(const actor::raw_message& m) {
  auto h = msgpack::unpack(m.body.data(), m.body.size());
  return h.get().as<actor::counter_value>().value;
}
}  // namespace

TEST_CASE("a bridge observes a remote counter: notifications in order, unknown outputs refused, the end said",
          "[integration][observe][bridge]") {
  node_process a(fast_node_argv(actor_node_path(), "a"));
  actor::bridge b(observing_bridge());
  auto hits = b.spawn(a.address(), "counter", "hits", {}, 5s);
  REQUIRE(hits);

  auto refused = b.observe(*hits, {{"actor.counter.nothing"}, 0}, 5s);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == actor::errc::bad_message);
  CHECK_THAT(refused.error().text, Catch::Matchers::Contains("no output 'actor.counter.nothing'"));

  auto obs = b.observe(*hits, {}, 5s);
  REQUIRE(obs);
  CHECK(obs->outputs() == std::vector<std::string>{"actor.counter.value"});
  for (int i = 0; i < 50; ++i) REQUIRE(b.send(*hits, actor::counter_incr{1}));
  for (std::uint64_t i = 1; i <= 50; ++i) {
    auto e = obs->next(5s);
    REQUIRE(e);
    REQUIRE(e->what == actor::observed::kind::notification);
    CHECK(e->seq == i);
    CHECK(e->msg.type == "actor.counter.value");
    CHECK(value_in(e->msg) == static_cast<std::int64_t>(i));
  }
  CHECK(obs->next(50ms).error().code == actor::errc::timeout);

  REQUIRE(b.stop({*hits}, 5s).at(0));
  auto end = obs->next(5s);
  REQUIRE_FALSE(end);
  CHECK(end.error().code == actor::errc::actor_stopped);
  CHECK_THAT(end.error().text, Catch::Matchers::Contains("stopped"));
  CHECK(obs->next(0ms).error().code == actor::errc::actor_stopped);  // and it stays over
}

TEST_CASE("a bridge that stops reading holds the counter to its queue bound, and learns what it lost",
          "[integration][observe][bridge]") {
  node_process a(fast_node_argv(actor_node_path(), "a"));
  actor::bridge b(observing_bridge());
  auto hits = b.spawn(a.address(), "counter", "hits", {}, 5s);
  REQUIRE(hits);
  auto obs = b.observe(*hits, {{}, 4}, 5s);  // 2 on their way, 2 waiting
  REQUIRE(obs);
  for (int i = 0; i < 100; ++i) REQUIRE(b.send(*hits, actor::counter_incr{1}));
  // nothing taken: the counter keeps the newest two and drops the rest
  REQUIRE(poll_until([&] { return b.stats(a.address(), 1s).value().notifications_dropped == 96; }, 10s));
  std::vector<std::int64_t> values;
  std::uint64_t lost = 0;
  while (values.size() < 4) {
    auto e = obs->next(5s);
    REQUIRE(e);
    if (e->what == actor::observed::kind::lost) lost += e->count;
    if (e->what == actor::observed::kind::notification) values.push_back(value_in(e->msg));
  }
  CHECK(values == std::vector<std::int64_t>{1, 2, 99, 100});
  CHECK(lost == 96);
  CHECK(obs->lost() == 96);
}

TEST_CASE("a bridge observing a name follows it to the restarted actor; a callback gets the same events",
          "[integration][observe][bridge][restart]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()}, {"--spawn", "counter:hits"}));
  actor::bridge b(observing_bridge({reg.address()}));
  REQUIRE(poll_until([&] { return static_cast<bool>(b.lookup("hits", 1s)); }, 10s));
  auto obs = b.observe("hits", {}, 5s);
  REQUIRE(obs);
  const auto first = obs->target();

  struct seen {
    std::mutex mu;
    std::vector<std::int64_t> values;
    std::optional<actor::error> end;
  };
  auto cb = std::make_shared<seen>();
  auto by_callback = b.observe(first, {}, 5s, [cb](const actor::observed& e) {
    std::lock_guard lk(cb->mu);
    if (e.what == actor::observed::kind::notification) cb->values.push_back(value_in(e.msg));
  }, [cb](const actor::error& e) {
    std::lock_guard lk(cb->mu);
    cb->end = e;
  });
  REQUIRE(by_callback);

  REQUIRE(b.send("hits", actor::counter_incr{1}));
  auto e = obs->next(5s);
  REQUIRE(e);
  CHECK(value_in(e->msg) == 1);

  REQUIRE(b.stop({first}, 5s).at(0));
  auto second = b.spawn(a.address(), "counter", "hits", actor::config{}.set("start", 10), 5s);
  REQUIRE(second);
  e = obs->next(10s);
  REQUIRE(e);
  CHECK(e->what == actor::observed::kind::restarted);
  CHECK(actor::format_ref(e->from) == actor::format_ref(*second));  // bridge refs: compared by address
  CHECK(actor::format_ref(obs->target()) == actor::format_ref(*second));
  REQUIRE(poll_until([&] { return b.stats(a.address(), 1s).value().observers == 1; }, 10s));
  REQUIRE(b.send(*second, actor::counter_incr{1}));
  e = obs->next(5s);
  REQUIRE(e);
  CHECK(e->seq == 1);
  CHECK(value_in(e->msg) == 11);

  // the callback's observation named a ref: it ended with the first counter
  REQUIRE(poll_until([&] {
    std::lock_guard lk(cb->mu);
    return cb->end.has_value();
  }, 5s));
  std::lock_guard lk(cb->mu);
  CHECK(cb->values == std::vector<std::int64_t>{1});
  CHECK(cb->end->code == actor::errc::actor_stopped);
}
