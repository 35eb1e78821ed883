// Tasks (actor/task.hpp): the configuration schema names the bad key; states with enter and exit
// hooks; a task spawned alone runs at once; a sequence configures all, then starts all, in order,
// and on a failing step stops the ones it spawned in reverse order; the state is asked from outside.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actor/node.hpp"
#include "actor/task.hpp"
#include "test_support.hpp"

namespace task_test {

struct flip {
  ACTOR_NO_FIELDS
};
struct flipped {
  std::string state;
  ACTOR_FIELDS(state)
};

}  // namespace task_test

ACTOR_MESSAGE(task_test::flip, "test.task.flip");
ACTOR_MESSAGE(task_test::flipped, "test.task.flipped");

namespace task_test {

using namespace test;

// What the tasks of a test did, in order: "label:event".
struct journal {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard lk(mu);
    events.push_back(std::move(e));
  }
  std::vector<std::string> read() {
    std::lock_guard lk(mu);
    return events;
  }
};
std::shared_ptr<journal> the_journal = std::make_shared<journal>();
// What a lamp with config {"block": true} waits for in on_configure.
std::shared_ptr<event> the_gate = std::make_shared<event>();

// A task with two states; config: label (string, required), fail ("configure", "run" or ""),
// rate (integer, default 10).
class lamp final : public actor::task {
 public:
  explicit lamp(const actor::config& cfg)
      : task(cfg, actor::config_schema{}
                      .required("label", actor::config_kind::string, "what the journal calls it")
                      .optional("fail", actor::config_kind::string, std::string())
                      .optional("rate", actor::config_kind::integer, std::int64_t{10})
                      .optional("block", actor::config_kind::boolean, false)) {
    label_ = settings().get<std::string>("label").value();
    add_state(
        "off", [this] { return actor::behavior{[this](const flip&) { transition("on"); return flipped{"on"}; }}; },
        [this] { note("enter off"); }, [this] { note("exit off"); });
    add_state(
        "on", [this] { return actor::behavior{[this](const flip&) { transition("off"); return flipped{"off"}; }}; },
        [this] { note("enter on"); }, [this] { note("exit on"); });
  }

 protected:
  void on_configure(const actor::config& s) override {
    note("configure rate=" + std::to_string(s.get<std::int64_t>("rate").value()));
    if (s.get<bool>("block").value()) (void)the_gate->wait_for();  // a slow hook (bounded by the test's limit)
    if (s.get<std::string>("fail").value() == "configure") throw std::runtime_error("no bulb");
  }
  void on_run() override {
    note("run");
    if (settings().get<std::string>("fail").value() == "run") throw std::runtime_error("fuse blown");
  }
  void on_stop(const actor::stop_reason& why) override {
    task::on_stop(why);
    note("stop");
  }

 private:
  void note(const std::string& what) { the_journal->add(label_ + ":" + what); }
  std::string label_;
};

// Starts in "boot", whose enter hook moves straight on to "ready".
class bootstrap final : public actor::task {
 public:
  explicit bootstrap(const actor::config& cfg) : task(cfg, actor::config_schema{}) {
    add_state("boot", [] { return actor::behavior{[](const flip&) { return flipped{"boot"}; }}; },
              [this] { transition("ready"); });
    add_state("ready", [] { return actor::behavior{[](const flip&) { return flipped{"ready"}; }}; });
  }
};

struct fixture {
  fixture() : n(sys, options()) {
    the_journal = std::make_shared<journal>();
    the_gate = std::make_shared<event>();
    sys.register_actor_type<bootstrap>("test.bootstrap");
    sys.register_actor_type<lamp>("test.lamp");
  }
  static actor::node_options options() {
    actor::node_options o;
    o.name = "tasks";
    return o;
  }
  static actor::config lamp_config(const std::string& label, const std::string& fail = {}) {
    auto c = actor::config{}.set("label", label);
    if (!fail.empty()) c.set("fail", fail);
    return c;
  }
  actor::task_state state_of(const actor::actor_ref& t) {
    return await_value(sys.request<actor::task_state>(t, actor::task_state_request{}, far_timeout));
  }
  actor::actor_system sys;
  actor::node n;
};

TEST_CASE("a config that does not fit the schema is refused at spawn, naming the key", "[task]") {
  fixture f;
  auto missing = f.n.spawn("test.lamp");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == actor::errc::bad_message);
  CHECK(missing.error().text.find("missing config key 'label' (a string: what the journal calls it)") != std::string::npos);

  auto wrong = f.n.spawn("test.lamp", {}, actor::config{}.set("label", std::string("x")).set("rate", std::string("fast")));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().text.find("config key 'rate' must be an integer") != std::string::npos);

  auto unknown = f.n.spawn("test.lamp", {}, actor::config{}.set("label", std::string("x")).set("colour", 3));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().text.find("unknown config key 'colour' (known: label, fail, rate, block)") != std::string::npos);

  // the node's own key is always allowed
  auto grouped = f.n.spawn("test.lamp", {}, fixture::lamp_config("g").set("groups", std::vector<std::string>{"lamps"}));
  CHECK(grouped);
}

TEST_CASE("a task spawned alone is configured and started at once; transitions run exit, then enter",
          "[task]") {
  fixture f;
  auto t = f.n.spawn("test.lamp", {}, fixture::lamp_config("a"));
  REQUIRE(t);
  auto s = f.state_of(*t);
  CHECK(s.phase == "running");
  CHECK(s.state == "off");
  CHECK(s.states == std::vector<std::string>{"off", "on"});
  CHECK(await_value(f.sys.request<flipped>(*t, flip{}, far_timeout)).state == "on");
  CHECK(f.state_of(*t).state == "on");
  CHECK(await_value(f.sys.request<flipped>(*t, flip{}, far_timeout)).state == "off");
  await_value(f.sys.stop(*t, far_timeout));
  CHECK(the_journal->read() == std::vector<std::string>{"a:configure rate=10", "a:run", "a:enter off", "a:exit off",
                                                        "a:enter on", "a:exit on", "a:enter off", "a:exit off", "a:stop"});
}

TEST_CASE("a sequence configures every task, then starts every task, in order", "[task]") {
  fixture f;
  std::vector<actor::task_spec> specs{{"test.lamp", "first", fixture::lamp_config("1")},
                                      {"test.lamp", "", fixture::lamp_config("2")},
                                      {"test.lamp", "third", fixture::lamp_config("3")}};
  auto refs = actor::start_tasks(f.n, specs, std::chrono::seconds(5));
  REQUIRE(refs);
  REQUIRE(refs->size() == 3);
  CHECK(the_journal->read() == std::vector<std::string>{"1:configure rate=10", "2:configure rate=10",
                                                        "3:configure rate=10", "1:run", "1:enter off", "2:run",
                                                        "2:enter off", "3:run", "3:enter off"});
  CHECK(f.n.whereis("first") == (*refs)[0]);
  CHECK(f.n.whereis("third") == (*refs)[2]);
  for (const auto& r : *refs) CHECK(f.state_of(r).phase == "running");
}

TEST_CASE("a failing step stops the tasks of the sequence, the last first, and names the task and the step",
          "[task]") {
  fixture f;
  const auto alive = f.sys.stats().actors_alive;
  SECTION("configure") {
    auto refs = actor::start_tasks(f.n, {{"test.lamp", "", fixture::lamp_config("1")},
                                         {"test.lamp", "", fixture::lamp_config("2", "configure")},
                                         {"test.lamp", "", fixture::lamp_config("3")}});
    REQUIRE_FALSE(refs);
    CHECK(refs.error().text.find("task 2 of 3 (test.lamp): configure: configure failed: no bulb") != std::string::npos);
    // nobody ran; they stopped in reverse order (never started: no exit hook)
    CHECK(the_journal->read() == std::vector<std::string>{"1:configure rate=10", "2:configure rate=10", "3:stop",
                                                          "2:stop", "1:stop"});
  }
  SECTION("start") {
    auto refs = actor::start_tasks(f.n, {{"test.lamp", "", fixture::lamp_config("1")},
                                         {"test.lamp", "", fixture::lamp_config("2", "run")}});
    REQUIRE_FALSE(refs);
    CHECK(refs.error().text.find("task 2 of 2 (test.lamp): start: start failed: fuse blown") != std::string::npos);
    CHECK(the_journal->read() == std::vector<std::string>{"1:configure rate=10", "2:configure rate=10", "1:run",
                                                          "1:enter off", "2:run", "2:stop", "1:exit off", "1:stop"});
  }
  SECTION("spawn") {
    auto refs = actor::start_tasks(f.n, {{"test.lamp", "", fixture::lamp_config("1")}, {"no.such.type", "", {}}});
    REQUIRE_FALSE(refs);
    CHECK(refs.error().code == actor::errc::unknown_type);
    CHECK(refs.error().text.find("task 2 of 2 (no.such.type): spawn:") != std::string::npos);
    CHECK(the_journal->read() == std::vector<std::string>{"1:stop"});
  }
  CHECK(wait_until([&] { return f.sys.stats().actors_alive == alive; }));
}

TEST_CASE("until a task of a sequence runs, it answers only its lifecycle and its state", "[task]") {
  fixture f;
  auto t = f.n.spawn("test.lamp", {}, fixture::lamp_config("w").set(actor::task_sequence_key, true));
  REQUIRE(t);
  CHECK(f.state_of(*t).phase == "created");
  CHECK(f.state_of(*t).state.empty());
  auto early = await_error(f.sys.request<flipped>(*t, flip{}, far_timeout));
  CHECK(early.text.find("is not running (created)") != std::string::npos);
  auto not_configured = await_error(f.sys.request<actor::task_started>(*t, actor::task_start{}, far_timeout));
  CHECK(not_configured.text.find("not configured") != std::string::npos);
  await_value(f.sys.request<actor::task_configured>(*t, actor::task_configure{}, far_timeout));
  CHECK(f.state_of(*t).phase == "configured");
  CHECK(await_value(f.sys.request<actor::task_started>(*t, actor::task_start{}, far_timeout)).state == "off");
  CHECK(await_value(f.sys.request<flipped>(*t, flip{}, far_timeout)).state == "on");
}

TEST_CASE("an enter hook that transitions on leaves the task in the later state, with its behavior", "[task]") {
  fixture f;
  auto t = f.n.spawn("test.bootstrap");
  REQUIRE(t);
  CHECK(f.state_of(*t).state == "ready");
  CHECK(await_value(f.sys.request<flipped>(*t, flip{}, far_timeout)).state == "ready");
}

TEST_CASE("a task's settings hold its own keys and defaults, not the sequence's", "[task]") {
  fixture f;
  auto refs = actor::start_tasks(f.n, {{"test.lamp", "", fixture::lamp_config("s")}});
  REQUIRE(refs);
  // the settings went into the journal through on_configure: the default rate was there
  CHECK(the_journal->read().front() == "s:configure rate=10");
  actor::config_schema schema;
  schema.optional("rate", actor::config_kind::integer, std::int64_t{10});
  const auto given = actor::config{}.set(actor::task_sequence_key, true);
  auto applied = schema.apply(given);
  REQUIRE(applied);
  CHECK(applied->get<std::int64_t>("rate").value() == 10);
  CHECK_FALSE(given.contains("rate"));  // the caller's config is left alone
}

TEST_CASE("a task still busy in a hook when its step's deadline passed is stopped once the hook returns",
          "[task]") {
  fixture f;
  const auto alive = f.sys.stats().actors_alive;
  auto refs = actor::start_tasks(f.n, {{"test.lamp", "", fixture::lamp_config("quick")},
                                       {"test.lamp", "", fixture::lamp_config("slow").set("block", true)}},
                                 std::chrono::milliseconds(200));
  REQUIRE_FALSE(refs);
  CHECK(refs.error().code == actor::errc::timeout);
  CHECK(refs.error().text.find("task 2 of 2 (test.lamp): configure:") != std::string::npos);
  the_gate->set();  // the slow hook returns: the stop queued for it stops it
  CHECK(wait_until([&] { return f.sys.stats().actors_alive == alive; }));
  auto events = the_journal->read();
  CHECK(std::count(events.begin(), events.end(), "slow:stop") == 1);
  CHECK(std::count(events.begin(), events.end(), "quick:stop") == 1);
}

}  // namespace task_test
