// Receive-style actors across processes (docs/receivers.md): receivers and behaviors in this
// process talk to the printers of a real actor-node in dynamic messages (types this process never
// registered), hear of its death through a monitor, and ride out a frozen node.
#include <future>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actor/receiver.hpp"
#include "harness.hpp"

using namespace itest;
using actor::dynamic_message;

namespace {

dynamic_message greeting(const std::string& who) {
  return dynamic_message::of("printer.greeting", std::vector<std::string>{who});
}

// The "line" of a printer.printed reply, or what went wrong.
std::string line_of(const actor::expected<actor::received>& r) {
  if (!r) return r.error().describe();
  if (!r->match("printer.printed")) return "a reply of type " + std::string(r->type_name());
  auto body = r->as<dynamic_message>().args_as<std::map<std::string, std::string>>();
  return body ? body->at("line") : body.error().describe();
}

// The value of f, waiting at most `limit` (a failed check, not a hang, when it does not come).
template <class T>
T get_within(std::future<T>&& f, ms limit = 10s) {
  REQUIRE(f.wait_for(limit) == std::future_status::ready);
  return f.get();
}

// Asks with a request from a behavior actor: the reply (of a type this process does not know)
// arrives as a dynamic_message.
class asker final : public actor::actor_base {
 public:
  asker(actor::actor_ref to, std::promise<std::string>& out) : to_(std::move(to)), out_(out) {}

 protected:
  actor::behavior make_behavior() override { return {[](const actor::stopped&) {}}; }
  void on_start() override {
    request(to_, greeting("behavior"), std::chrono::seconds(5))
        .then(
            [this](const dynamic_message& m) {
              auto body = m.args_as<std::map<std::string, std::string>>();
              out_.set_value(m.type + " " + (body ? body->at("line") : body.error().describe()));
            },
              [this](const actor::error& e) { out_.set_value(e.describe()); });
  }

 private:
  actor::actor_ref to_;
  std::promise<std::string>& out_;
};

}  // namespace

TEST_CASE("receivers and behaviors call a remote receiver in dynamic messages", "[integration][receiver]") {
  for (const std::string kind : {"printer", "thread_printer"}) {
    INFO(kind);
    node_process proc(fast_node_argv(actor_node_path(), "printers", {"--spawn", kind + ":p1"}));
    local_node here;
    auto p1 = here.lookup_at(proc.address(), "p1");
    REQUIRE(p1);
    std::promise<std::string> from_coroutine;
    std::promise<std::string> from_thread;
    actor::spawn_receiver(here.sys, [&, p = *p1](actor::co_receiver& self) -> actor::receiver_task {
      from_coroutine.set_value(line_of(co_await self.call(p, greeting("coroutine"), 5s)));
    });
    actor::spawn_receiver(here.sys, [&, p = *p1](actor::receiver& self) {
      from_thread.set_value(line_of(self.call(p, greeting("thread"), 5s)));
    });
    CHECK(get_within(from_coroutine.get_future()) == "Hello coroutine");
    CHECK(get_within(from_thread.get_future()) == "Hello thread");
    std::promise<std::string> from_behavior;
    here.sys.spawn<asker>(*p1, from_behavior);
    CHECK(get_within(from_behavior.get_future()) == "printer.printed Hello behavior");
    // a dynamic message may not pose as the runtime's own (here actor.stop): refused before it leaves
    std::promise<std::string> disguised;
    actor::spawn_receiver(here.sys, [&, p = *p1](actor::co_receiver& self) -> actor::receiver_task {
      auto r = co_await self.call(p, dynamic_message::of("actor.stop", std::map<std::string, int>{}), 5s);
      auto after = co_await self.call(p, greeting("still here"), 5s);
      disguised.set_value((r ? std::string("a reply") : std::string(actor::to_string(r.error().code))) + ", " + line_of(after));
    });
    CHECK(get_within(disguised.get_future()) == "bad_message, Hello still here");
  }
}

TEST_CASE("a receiver hears that a remote actor's node was killed, and its call fails then", "[integration][receiver]") {
  node_process proc(fast_node_argv(actor_node_path(), "doomed", {"--spawn", "printer:p1"}));
  local_node here;
  auto p1 = here.lookup_at(proc.address(), "p1");
  REQUIRE(p1);
  std::promise<actor::down_reason> down;
  std::promise<std::string> after;
  std::promise<void> watching;
  actor::spawn_receiver(here.sys, [&, p = *p1](actor::co_receiver& self) -> actor::receiver_task {
    self.monitor(p);
    watching.set_value();
    auto d = co_await self.receive(actor::forever, actor::of<actor::down_msg>);
    down.set_value(d->as<actor::down_msg>().reason);
    auto r = co_await self.call(p, greeting("nobody"), 5s);
    after.set_value(r ? "a reply" : std::string(actor::to_string(r.error().code)));
  });
  get_within(watching.get_future());
  REQUIRE(poll_until([&] { return here.node.stats().watches_monitoring == 1; }, 5s));
  proc.kill_and_reap();
  auto d = down.get_future();
  REQUIRE(d.wait_for(fast_down_after * 5) == std::future_status::ready);
  CHECK(d.get().what == actor::down_reason::kind::node_down);
  CHECK(get_within(after.get_future()) == "node_down");
}

TEST_CASE("a receiver's call to a frozen node times out, and the next call after it thaws succeeds",
          "[integration][receiver]") {
  node_process proc(fast_node_argv(actor_node_path(), "frozen", {"--spawn", "thread_printer:p1"}));
  local_node here;
  auto p1 = here.lookup_at(proc.address(), "p1");
  REQUIRE(p1);
  std::promise<std::string> first;
  std::promise<std::string> second;
  std::promise<void> frozen;
  std::promise<void> thawed;
  auto frozen_f = frozen.get_future().share();
  auto thawed_f = thawed.get_future().share();
  actor::spawn_receiver(here.sys, [&, p = *p1](actor::receiver& self) {
    if (frozen_f.wait_for(10s) != std::future_status::ready) return;
    first.set_value(line_of(self.call(p, greeting("ice"), 300ms)));  // shorter than the down bound
    if (thawed_f.wait_for(10s) != std::future_status::ready) return;
    second.set_value(line_of(self.call(p, greeting("water"), 5s)));
  });
  REQUIRE(proc.stop());
  frozen.set_value();
  CHECK(get_within(first.get_future()).rfind("timeout", 0) == 0);
  REQUIRE(proc.resume());
  thawed.set_value();
  CHECK(get_within(second.get_future()) == "Hello water");
}
