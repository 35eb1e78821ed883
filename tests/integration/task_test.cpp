// Tasks across processes (actor/task.hpp, docs/tasks.md): actor-node starts a --task sequence of
// the built-in pulse task; their states are asked and changed from outside, and observed from
// another node; a sequence with a refused task makes the node exit 1 naming the task and the key.
#include <catch2/catch.hpp>

#include "actor/builtins.hpp"
#include "actor/task.hpp"
#include "harness.hpp"

using namespace itest;
using Catch::Matchers::Contains;

namespace {

actor::task_state state_of(local_node& me, const actor::actor_ref& t) {
  auto s = me.ask<actor::task_state>(t, actor::task_state_request{});
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("actor-node --task starts a sequence; the tasks' states are asked, changed and observed",
          "[integration][task]") {
  node_process reg(registry_argv("reg"));
  node_process a(registered_node_argv("a", {reg.address()},
                                      {"--task", R"(pulse:p1={"interval_ms": 20})", "--task", R"(pulse:p2={"start": "paused"})"}));
  CHECK(a.wait_for_line("event=tasks_started tasks=2", 1s));
  local_node me;
  auto p1 = me.lookup_at(a.address(), "p1");
  auto p2 = me.lookup_at(a.address(), "p2");
  REQUIRE(p1);
  REQUIRE(p2);
  auto s1 = state_of(me, *p1);
  CHECK(s1.phase == "running");
  CHECK(s1.state == "beating");
  CHECK(s1.states == std::vector<std::string>{"beating", "paused"});
  CHECK(state_of(me, *p2).state == "paused");

  // an observer on another node hears p1's beats; pausing p1 stops them
  node_process b(registered_node_argv("b", {reg.address()}, {"--spawn", R"(observer:obs={"observe": "p1"})"}));
  auto obs = me.lookup_at(b.address(), "obs");
  REQUIRE(obs);
  REQUIRE(poll_until(
      [&] {
        auto r = me.ask<actor::observer_report>(*obs, actor::observer_report_request{});
        return r && r->notes >= 3;
      },
      10s));
  auto paused = me.ask<actor::task_state>(*p1, actor::pulse_pause{});
  REQUIRE(paused);
  CHECK(paused->state == "paused");
  CHECK(state_of(me, *p1).state == "paused");
  auto resumed = me.ask<actor::task_state>(*p1, actor::pulse_resume{});
  REQUIRE(resumed);
  CHECK(resumed->state == "beating");
}

TEST_CASE("actor-node with a refused --task stops the ones before it and exits 1 naming the task and the key",
          "[integration][task]") {
  child_process bad({actor_node_path(), "--name", "bad", "--listen", "tcp://127.0.0.1:0", "--task", "pulse:ok",
                     "--task", R"(pulse:broken={"interval_ms": "soon"})"});
  auto st = bad.wait_exit(20s);
  REQUIRE(st);
  CHECK(st->code == 1);
  CHECK_THAT(bad.log(), Contains("task 2 of 2 (pulse 'broken'): spawn") && Contains("config key 'interval_ms' must be an integer"));

  // a malformed --task is a usage error: exit 2 before anything starts
  child_process usage({actor_node_path(), "--task", "pulse:"});
  auto us = usage.wait_exit(10s);
  REQUIRE(us);
  CHECK(us->code == 2);
  CHECK_THAT(usage.log(), Contains("--task takes TYPE"));
}

TEST_CASE("actor-node --config FILE declares its tasks in order, with their configs", "[integration][task]") {
  temp_file cfg("name = filed\n"
                "listen = tcp://127.0.0.1:0\n"
                "task = pulse:first={\"interval_ms\": 1000}\n"
                "task = pulse:second={\"start\": \"paused\"}\n");
  node_process a({actor_node_path(), "--config", cfg.path()});
  CHECK(a.wait_for_line("event=tasks_started tasks=2", 1s));
  local_node me;
  auto first = me.lookup_at(a.address(), "first");
  auto second = me.lookup_at(a.address(), "second");
  REQUIRE(first);
  REQUIRE(second);
  CHECK(state_of(me, *first).state == "beating");
  CHECK(state_of(me, *second).state == "paused");
}
