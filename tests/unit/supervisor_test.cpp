// Supervisors (actor/supervisor.hpp) on a manual clock: which children each strategy
// restarts, restart kinds, intensity, backoff and its jitter, ordered shutdown, names.

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "actor/node.hpp"
#include "actor/supervisor.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using test::await_value;
using test::far_timeout;
using test::wait_until;

struct sup_boom {
  ACTOR_NO_FIELDS
};
struct sup_finish {  // the child quits, reason normal
  ACTOR_NO_FIELDS
};
struct sup_hold {  // the child's handler waits for the test's event
  ACTOR_NO_FIELDS
};

}  // namespace

ACTOR_MESSAGE(sup_boom, "test.sup.boom");
ACTOR_MESSAGE(sup_finish, "test.sup.finish");
ACTOR_MESSAGE(sup_hold, "test.sup.hold");

namespace {

// What the children did, in order: "start:a", "stop:a".
class journal {
 public:
  void add(std::string s) {
    std::lock_guard lk(mu_);
    lines_.push_back(std::move(s));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lk(mu_);
    return lines_;
  }
  std::size_t size() const {
    std::lock_guard lk(mu_);
    return lines_.size();
  }
  // The lines from `from` on.
  std::vector<std::string> since(std::size_t from) const {
    auto all = lines();
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(from, all.size())), all.end()};
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

journal* current_journal = nullptr;  // set by the fixture; the children write to it
test::event* current_hold = nullptr;

class test_child final : public actor::actor_base {
 public:
  explicit test_child(const actor::config& cfg) : id_(cfg.get_or<std::string>("id", "?")) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [](const sup_boom&) { throw std::runtime_error("boom"); },
        [this](const sup_finish&) { quit(); },
        [](const sup_hold&) { current_hold->wait_for(); },
    };
  }
  void on_start() override { current_journal->add("start:" + id_); }
  void on_stop(const actor::stop_reason&) override { current_journal->add("stop:" + id_); }

 private:
  std::string id_;
};

// Monitors one actor and keeps the reason it heard.
class watcher final : public actor::actor_base {
 public:
  watcher(actor::actor_ref target, std::shared_ptr<std::promise<actor::down_reason>> out)
      : target_(std::move(target)), out_(std::move(out)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const actor::down_msg& d) {
      out_->set_value(d.reason);
      quit();
    }};
  }
  void on_start() override { monitor(target_); }

 private:
  actor::actor_ref target_;
  std::shared_ptr<std::promise<actor::down_reason>> out_;
};

actor::child_spec child(const std::string& id, actor::restart_kind k = actor::restart_kind::permanent) {
  actor::child_spec c;
  c.type = "test_child";
  c.config.set("id", id);
  c.restart = k;
  return c;
}

struct fixture {
  fixture() {
    current_journal = &log;
    current_hold = &hold;
    ms.sys.register_actor_type<test_child>("test_child");
  }
  ~fixture() {
    hold.set();
    ms.sys.shutdown();
    current_journal = nullptr;
    current_hold = nullptr;
  }

  actor::actor_ref start(const actor::supervisor_spec& spec) {
    auto ref = ms.sys.spawn("supervisor", spec.to_config());
    REQUIRE(ref.has_value());
    return *ref;
  }
  actor::supervisor_stats stats(const actor::actor_ref& sup) {
    return await_value(ms.sys.request<actor::supervisor_stats>(sup, actor::supervisor_stats_request{}, far_timeout));
  }
  const actor::supervisor_child_stats& kid(const actor::supervisor_stats& s, const std::string& name) {
    auto it = std::find_if(s.children.begin(), s.children.end(), [&](const auto& c) { return c.name == name; });
    REQUIRE(it != s.children.end());
    return *it;
  }
  // Waits until every child of sup runs (a restart done).
  actor::supervisor_stats all_running(const actor::actor_ref& sup) {
    actor::supervisor_stats s;
    REQUIRE(wait_until([&] {
      s = stats(sup);
      return std::all_of(s.children.begin(), s.children.end(),
                         [](const auto& c) { return c.state == "running" || c.state == "stopped"; });
    }));
    return s;
  }
  // Waits until the journal has n lines (children's on_start runs on their own, after their spawn).
  void lines(std::size_t count) { REQUIRE(wait_until([&] { return log.size() >= count; })); }
  actor::actor_ref ref_of(const actor::actor_ref& sup, const std::string& name) { return kid(stats(sup), name).ref; }

  journal log;
  test::event hold;
  test::manual_system ms;
  actor::node n{ms.sys, [] {
                  actor::node_options o;
                  o.listen = "tcp://127.0.0.1:0";
                  return o;
                }()};
};

actor::supervisor_spec quick_spec(actor::supervisor_strategy s) {
  actor::supervisor_spec spec;
  spec.strategy = s;
  spec.backoff_min = 0ms;
  spec.backoff_max = 0ms;
  spec.intensity = 100;
  return spec;
}

}  // namespace

TEST_CASE("one_for_one restarts only the child that crashed", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_one);
  spec.children = {child("a"), child("b"), child("c")};
  auto sup = f.start(spec);
  auto before = f.all_running(sup);
  f.lines(3);
  const auto mark = f.log.size();
  f.ms.sys.send(f.kid(before, "#1").ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#1").restarts == 1; }));
  f.lines(mark + 2);
  auto after = f.all_running(sup);
  CHECK(f.kid(after, "#0").ref == f.kid(before, "#0").ref);
  CHECK_FALSE(f.kid(after, "#1").ref == f.kid(before, "#1").ref);
  CHECK(f.kid(after, "#2").ref == f.kid(before, "#2").ref);
  CHECK(f.log.since(mark) == std::vector<std::string>{"stop:b", "start:b"});
  CHECK(f.kid(after, "#1").last_reason.find("boom") != std::string::npos);
  CHECK(after.restarts == 1);
}

TEST_CASE("one_for_all stops the others in reverse start order and restarts all in start order", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_all);
  spec.children = {child("a"), child("b"), child("c")};
  auto sup = f.start(spec);
  auto before = f.all_running(sup);
  f.lines(3);
  const auto mark = f.log.size();
  f.ms.sys.send(f.kid(before, "#1").ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.log.size() >= mark + 6; }));
  auto after = f.all_running(sup);
  // the stops one after the other; then the spawns in start order (each child's on_start runs
  // on its own, so the journal may show those in any order)
  auto seen = f.log.since(mark);
  CHECK(std::vector<std::string>(seen.begin(), seen.begin() + 3) == std::vector<std::string>{"stop:b", "stop:c", "stop:a"});
  std::sort(seen.begin() + 3, seen.end());
  CHECK(std::vector<std::string>(seen.begin() + 3, seen.end()) == std::vector<std::string>{"start:a", "start:b", "start:c"});
  for (const auto* name : {"#0", "#1", "#2"}) {
    CHECK_FALSE(f.kid(after, name).ref == f.kid(before, name).ref);
    CHECK(f.kid(after, name).restarts == 1);
  }
}

TEST_CASE("rest_for_one restarts the crashed child and those started after it", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::rest_for_one);
  spec.children = {child("a"), child("b"), child("c"), child("d")};
  auto sup = f.start(spec);
  auto before = f.all_running(sup);
  f.lines(4);
  const auto mark = f.log.size();
  f.ms.sys.send(f.kid(before, "#1").ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.log.size() >= mark + 6; }));
  auto after = f.all_running(sup);
  auto seen = f.log.since(mark);
  CHECK(std::vector<std::string>(seen.begin(), seen.begin() + 3) == std::vector<std::string>{"stop:b", "stop:d", "stop:c"});
  std::sort(seen.begin() + 3, seen.end());
  CHECK(std::vector<std::string>(seen.begin() + 3, seen.end()) == std::vector<std::string>{"start:b", "start:c", "start:d"});
  CHECK(f.kid(after, "#0").ref == f.kid(before, "#0").ref);
  CHECK(f.kid(after, "#0").restarts == 0);
  CHECK_FALSE(f.kid(after, "#3").ref == f.kid(before, "#3").ref);
}

TEST_CASE("restart kinds: permanent always, transient on abnormal reasons, temporary never", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_one);
  spec.children = {child("perm"), child("trans", actor::restart_kind::transient),
                   child("trans2", actor::restart_kind::transient), child("temp", actor::restart_kind::temporary)};
  auto sup = f.start(spec);
  auto s = f.all_running(sup);
  f.ms.sys.send(f.kid(s, "#0").ref, sup_finish{});  // permanent, normal: restarted
  f.ms.sys.send(f.kid(s, "#1").ref, sup_finish{});  // transient, normal: not restarted
  f.ms.sys.send(f.kid(s, "#2").ref, sup_boom{});    // transient, crashed: restarted
  f.ms.sys.send(f.kid(s, "#3").ref, sup_boom{});    // temporary: never
  REQUIRE(wait_until([&] {
    auto t = f.stats(sup);
    return f.kid(t, "#0").restarts == 1 && f.kid(t, "#2").restarts == 1 && f.kid(t, "#1").state == "stopped" &&
           f.kid(t, "#3").state == "stopped";
  }));
  auto t = f.all_running(sup);
  CHECK(f.kid(t, "#0").state == "running");
  CHECK(f.kid(t, "#1").restarts == 0);
  CHECK_FALSE(f.kid(t, "#1").ref);
  CHECK(f.kid(t, "#2").state == "running");
  CHECK(f.kid(t, "#3").restarts == 0);
  CHECK(f.kid(t, "#3").last_reason.find("crashed") == 0);
  // a stop request is not abnormal either: a transient child stopped from outside stays down
  f.ms.sys.send(f.kid(t, "#2").ref, actor::stop_msg{});
  REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#2").state == "stopped"; }));
  CHECK(f.kid(f.stats(sup), "#2").restarts == 1);
}

TEST_CASE("past its intensity a supervisor stops its children and itself with reason shutdown", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_one);
  spec.intensity = 2;
  spec.period = 5000ms;
  spec.children = {child("a"), child("b")};
  auto sup = f.start(spec);
  auto parent_saw = std::make_shared<std::promise<actor::down_reason>>();
  auto parent_future = parent_saw->get_future();
  f.ms.sys.spawn<watcher>(sup, parent_saw);
  f.all_running(sup);
  // watched before anything happens: the supervisor's monitors on its 2 children, and this one
  REQUIRE(wait_until([&] { return f.ms.sys.stats().monitors == 3; }));
  for (int i = 0; i < 2; ++i) {
    f.ms.sys.send(f.all_running(sup).children[1].ref, sup_boom{});
    REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#1").restarts == static_cast<std::uint64_t>(i + 1); }));
  }
  // two restarts in the period are allowed; once the period has passed, the count starts over
  f.ms.clk->advance(5001ms);
  CHECK(f.stats(sup).restarts_in_period == 0);
  f.ms.sys.send(f.all_running(sup).children[1].ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#1").restarts == 3; }));
  f.ms.sys.send(f.all_running(sup).children[1].ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#1").restarts == 4; }));
  f.lines(2 + 4 * 2);  // a and b started, b crashed and started again four times
  const auto mark = f.log.size();
  f.ms.sys.send(f.all_running(sup).children[1].ref, sup_boom{});  // the third in the period
  auto why = test::await(parent_future);
  CHECK(why.what == actor::down_reason::kind::shutdown);
  CHECK(why.text.find("restart intensity exceeded") != std::string::npos);
  CHECK(f.log.since(mark) == std::vector<std::string>{"stop:b", "stop:a"});
}

TEST_CASE("restarts back off exponentially with jitter on the system's clock", "[supervisor]") {
  fixture f;
  actor::supervisor_spec spec;
  spec.intensity = 100;
  spec.backoff_min = 100ms;
  spec.backoff_max = 10s;
  spec.backoff_jitter = 0.2;
  spec.children = {child("a")};
  auto sup = f.start(spec);
  double base = 100;
  for (int round = 0; round < 7; ++round) {
    auto s = f.all_running(sup);
    f.ms.sys.send(s.children[0].ref, sup_boom{});
    REQUIRE(wait_until([&] { return f.stats(sup).children[0].state == "restarting"; }));
    const auto next = f.stats(sup).children[0].next_restart_in_ms;
    INFO("round " << round << ": next restart in " << next << " ms, base " << base);
    CHECK(next >= static_cast<std::int64_t>(base * 0.8) - 1);
    CHECK(next <= static_cast<std::int64_t>(base * 1.2));
    // not before its time
    if (next > 1) {
      f.ms.clk->advance(std::chrono::milliseconds(next - 1));
      CHECK(f.stats(sup).children[0].state == "restarting");
      CHECK(f.stats(sup).children[0].next_restart_in_ms <= 1);
    }
    f.ms.clk->advance(2ms);
    REQUIRE(wait_until([&] { return f.stats(sup).children[0].state == "running"; }));
    base = std::min(base * 2, 10000.0);
  }
  // a child that stayed up for backoff_max starts over at the minimum
  f.ms.clk->advance(10s);
  f.ms.sys.send(f.stats(sup).children[0].ref, sup_boom{});
  REQUIRE(wait_until([&] { return f.stats(sup).children[0].state == "restarting"; }));
  CHECK(f.stats(sup).children[0].next_restart_in_ms <= 120);
}

// A child waiting for its own backoff when a sibling's crash takes it into a group restart
// restarts with the group, in start order: its old timer must not start it early.
TEST_CASE("a child waiting for its backoff restarts with its group, not on its own old timer", "[supervisor]") {
  fixture f;
  actor::supervisor_spec spec;
  spec.strategy = actor::supervisor_strategy::rest_for_one;
  spec.intensity = 100;
  spec.backoff_min = 100ms;
  spec.backoff_max = 10s;
  spec.backoff_jitter = 0;
  spec.children = {child("a"), child("b"), child("c")};
  auto sup = f.start(spec);
  const auto state_of = [&](const char* name) { return f.kid(f.stats(sup), name).state; };
  // a crashes twice: its backoff grows to 200 ms, then 400 ms for the next
  for (auto wait : {100ms, 200ms}) {
    f.ms.sys.send(f.kid(f.all_running(sup), "#0").ref, sup_boom{});
    REQUIRE(wait_until([&] { return state_of("#0") == "restarting"; }));
    f.ms.clk->advance(wait);
  }
  f.all_running(sup);
  // c crashes: its own restart is due in 100 ms; then a crashes: the group (a, b, c) in 400 ms
  f.ms.sys.send(f.kid(f.stats(sup), "#2").ref, sup_boom{});
  REQUIRE(wait_until([&] { return state_of("#2") == "restarting"; }));
  f.ms.sys.send(f.kid(f.stats(sup), "#0").ref, sup_boom{});
  REQUIRE(wait_until([&] { return state_of("#0") == "restarting" && state_of("#1") == "restarting"; }));
  const auto mark = f.log.size();
  f.ms.clk->advance(150ms);  // c's old timer fires (the stats request is queued behind it)
  auto s = f.stats(sup);
  CHECK(f.kid(s, "#2").state == "restarting");
  CHECK(f.kid(s, "#2").next_restart_in_ms > 200);
  f.ms.clk->advance(300ms);
  s = f.all_running(sup);
  f.lines(mark + 3);
  auto seen = f.log.since(mark);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"start:a", "start:b", "start:c"});
  // c's restart is counted once: the two group restarts and its own (taken into the group)
  CHECK(f.kid(s, "#2").restarts == 3);
}

TEST_CASE("the backoff's jitter spreads the restarts of identical supervisors", "[supervisor]") {
  fixture f;
  actor::supervisor_spec spec;
  spec.backoff_min = 1000ms;
  spec.backoff_max = 10s;
  spec.backoff_jitter = 0.2;
  spec.children = {child("a")};
  std::set<std::int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    auto sup = f.start(spec);
    f.ms.sys.send(f.all_running(sup).children[0].ref, sup_boom{});
    REQUIRE(wait_until([&] { return f.stats(sup).children[0].state == "restarting"; }));
    const auto next = f.stats(sup).children[0].next_restart_in_ms;
    CHECK(next >= 799);
    CHECK(next <= 1200);
    delays.insert(next);
  }
  CHECK(delays.size() >= 2);  // all 8 alike: about (1/400)^7
}

TEST_CASE("a stop request shuts children down in reverse start order, killing one that does not stop in time",
          "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_one);
  auto sticky = child("b");
  sticky.shutdown = 1000ms;
  spec.children = {child("a"), sticky, child("c")};
  auto sup = f.start(spec);
  auto s = f.all_running(sup);
  f.lines(3);
  f.ms.sys.send(f.kid(s, "#1").ref, sup_hold{});  // b's handler now waits for f.hold
  const auto mark = f.log.size();
  auto stopped = f.ms.sys.stop(sup, far_timeout);
  REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "#1").state == "stopping"; }));
  CHECK(f.log.since(mark) == std::vector<std::string>{"stop:c"});
  CHECK_FALSE(test::is_ready(stopped));
  f.ms.clk->advance(1000ms);  // b's shutdown timeout: killed, and the supervisor goes on
  REQUIRE(test::await(stopped).has_value());
  CHECK(f.log.since(mark) == std::vector<std::string>{"stop:c", "stop:a"});
  f.hold.set();  // b's handler returns and its queued stop request stops it
  REQUIRE(wait_until([&] { return f.log.size() == mark + 3; }));
  CHECK(f.log.since(mark).back() == "stop:b");
}

TEST_CASE("a restarted named child holds its name again", "[supervisor]") {
  fixture f;
  auto spec = quick_spec(actor::supervisor_strategy::one_for_one);
  auto named = child("w");
  named.name = "worker";
  spec.children = {named};
  auto sup = f.start(spec);
  auto s = f.all_running(sup);
  const auto first = f.n.whereis("worker");
  REQUIRE(first);
  CHECK(first == f.kid(s, "worker").ref);
  for (int i = 1; i <= 3; ++i) {
    f.ms.sys.send(f.n.whereis("worker"), sup_boom{});
    REQUIRE(wait_until([&] { return f.kid(f.stats(sup), "worker").restarts == static_cast<std::uint64_t>(i); }));
    auto t = f.all_running(sup);
    CHECK(f.kid(t, "worker").state == "running");
    CHECK(f.n.whereis("worker") == f.kid(t, "worker").ref);
  }
  CHECK_FALSE(f.n.whereis("worker") == first);
}

TEST_CASE("supervisor specs read from config maps and refuse bad ones", "[supervisor]") {
  actor::supervisor_spec spec;
  spec.strategy = actor::supervisor_strategy::rest_for_one;
  spec.intensity = 7;
  spec.backoff_min = 0ms;
  auto c = child("x", actor::restart_kind::transient);
  c.name = "x";
  c.node = "tcp://127.0.0.1:1";
  c.fallback_nodes = {"tcp://127.0.0.1:2"};
  c.shutdown = 250ms;
  spec.children = {c};
  auto back = actor::supervisor_spec::from_config(spec.to_config());
  REQUIRE(back.has_value());
  CHECK(back->strategy == actor::supervisor_strategy::rest_for_one);
  CHECK(back->intensity == 7);
  CHECK(back->backoff_min == 0ms);
  REQUIRE(back->children.size() == 1);
  CHECK(back->children[0].restart == actor::restart_kind::transient);
  CHECK(back->children[0].fallback_nodes == std::vector<std::string>{"tcp://127.0.0.1:2"});
  CHECK(back->children[0].shutdown == 250ms);
  CHECK(back->children[0].config.get<std::string>("id").value() == "x");

  auto refused = [](actor::config cfg) {
    auto r = actor::supervisor_spec::from_config(cfg);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == actor::errc::bad_message);
    return r.error().text;
  };
  CHECK(refused(actor::config{}.set("strategy", std::string("one_for_some"))).find("strategy") != std::string::npos);
  CHECK(refused(actor::config{}.set("intensty", 3)).find("unknown key 'intensty'") != std::string::npos);
  CHECK(refused(actor::config{}.set("backoff_jitter", 1.5)).find("backoff_jitter") != std::string::npos);
  CHECK(refused(actor::config{}.set("period_ms", std::string("5s"))).find("period_ms") != std::string::npos);
  auto no_type = spec;
  no_type.children[0].type.clear();
  CHECK(refused(no_type.to_config()).find("children[0]") != std::string::npos);

  fixture f;
  auto bad = f.ms.sys.spawn("supervisor", actor::config{}.set("strategy", std::string("x")));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == actor::errc::bad_message);
}

namespace {

// quit(reason) on sup_finish; with trap_stop, a stop request is held until sup_boom.
class quitter final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const sup_finish&) { quit(actor::stop_reason::kind::shutdown, "giving up"); },
        [this](const actor::stop_msg&) { held_ = make_response_promise(); },
        [this](const sup_boom&) { quit(actor::stop_reason::kind::requested); },
    };
  }
  void on_start() override { trap_stop(true); }
  void on_stop(const actor::stop_reason&) override {
    if (held_.pending()) held_.deliver(actor::stopped{});
  }

 private:
  actor::response_promise held_;
};

}  // namespace

TEST_CASE("quit with a reason is what monitors hear; trap_stop holds a stop request until the actor quits",
          "[supervisor][core]") {
  test::manual_system ms;
  {
    auto a = ms.sys.spawn<quitter>();
    auto seen = std::make_shared<std::promise<actor::down_reason>>();
    auto f = seen->get_future();
    ms.sys.spawn<watcher>(a, seen);
    REQUIRE(wait_until([&] { return ms.sys.stats().monitors == 1; }));  // watched before it quits
    ms.sys.send(a, sup_finish{});
    auto why = test::await(f);
    CHECK(why.what == actor::down_reason::kind::shutdown);
    CHECK(why.text == "giving up");
  }
  {
    auto a = ms.sys.spawn<quitter>();
    auto seen = std::make_shared<std::promise<actor::down_reason>>();
    auto f = seen->get_future();
    ms.sys.spawn<watcher>(a, seen);
    REQUIRE(wait_until([&] { return ms.sys.stats().monitors == 1; }));
    auto stopped = ms.sys.stop(a, far_timeout);
    // the stop request is held: the actor still answers (a request it has no handler for is refused)
    auto probe = test::await(ms.sys.request<actor::supervisor_stats>(a, sup_hold{}, far_timeout));
    CHECK_FALSE(probe.has_value());
    CHECK_FALSE(test::is_ready(stopped));
    ms.sys.send(a, sup_boom{});
    REQUIRE(test::await(stopped).has_value());
    CHECK(test::await(f).what == actor::down_reason::kind::stopped);
  }
  {
    // the system's shutdown is not held
    auto a = ms.sys.spawn<quitter>();
    CHECK(ms.sys.shutdown(std::chrono::seconds(5)));
  }
}
