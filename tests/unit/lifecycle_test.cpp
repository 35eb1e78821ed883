// Lifecycle: stop, quit, crashes, the system's destructor, and the counters in stats().

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace lifecycle_test {

struct hello {
  ACTOR_NO_FIELDS
};
struct hi {
  std::uint64_t id = 0;
  MSGPACK_DEFINE_MAP(id)
};
struct finish {
  ACTOR_NO_FIELDS
};
struct explode {
  std::string what;
  MSGPACK_DEFINE_MAP(what)
};
struct block {
  ACTOR_NO_FIELDS
};
struct tick {
  ACTOR_NO_FIELDS
};

}  // namespace lifecycle_test

ACTOR_MESSAGE(lifecycle_test::hello, "test.lifecycle.hello");
ACTOR_MESSAGE(lifecycle_test::hi, "test.lifecycle.hi");
ACTOR_MESSAGE(lifecycle_test::finish, "test.lifecycle.finish");
ACTOR_MESSAGE(lifecycle_test::explode, "test.lifecycle.explode");
ACTOR_MESSAGE(lifecycle_test::block, "test.lifecycle.block");
ACTOR_MESSAGE(lifecycle_test::tick, "test.lifecycle.tick");

namespace lifecycle_test {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::await_error;
using test::await_value;
using test::far_timeout;

// What on_stop saw, per actor id; shared by the actors and the test.
class stop_log {
 public:
  void record(std::uint64_t id, const actor::stop_reason& why) {
    std::lock_guard lk(mu_);
    entries_.emplace_back(id, why);
  }
  [[nodiscard]] std::size_t size() const {
    std::lock_guard lk(mu_);
    return entries_.size();
  }
  [[nodiscard]] std::size_t times(std::uint64_t id) const {
    std::lock_guard lk(mu_);
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [id](const auto& e) { return e.first == id; }));
  }
  [[nodiscard]] std::vector<std::pair<std::uint64_t, actor::stop_reason>> entries() const {
    std::lock_guard lk(mu_);
    return entries_;
  }
  [[nodiscard]] actor::stop_reason reason(std::uint64_t id) const {
    std::lock_guard lk(mu_);
    for (const auto& [i, why] : entries_) {
      if (i == id) return why;
    }
    FAIL_CHECK("no on_stop recorded for actor " << id);
    return {};
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::uint64_t, actor::stop_reason>> entries_;
};

// Answers hello, quits on finish, throws on explode, blocks on block (until the gate opens).
class recorder : public actor::actor_base {
 public:
  explicit recorder(std::shared_ptr<stop_log> log, test::event* entered = nullptr, test::event* gate = nullptr)
      : log_(std::move(log)), entered_(entered), gate_(gate) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const hello&) { return hi{self().id()}; },
        [this](const finish&) {
          quit();
          return hi{self().id()};  // the request that made it quit still gets its answer
        },
        [](const explode& e) { throw std::runtime_error(e.what); },
        [this](const block&) {
          if (entered_ != nullptr) entered_->set();
          if (gate_ != nullptr) gate_->wait_for(30s);
        },
        [](const tick&) {},
    };
  }
  void on_stop(const actor::stop_reason& why) override { log_->record(self().id(), why); }

  std::shared_ptr<stop_log> log_;
  test::event* entered_;
  test::event* gate_;
};

// Blocks on `block` until the gate opens, then throws.
class blocking_thrower final : public recorder {
 public:
  using recorder::recorder;

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const block&) {
          entered_->set();
          gate_->wait_for(30s);
          throw std::runtime_error("crashed while others waited");
        },
        [this](const hello&) { return hi{self().id()}; },
    };
  }
};

// ---- stop -------------------------------------------------------------------------

TEST_CASE("stopping three actors yields three stopped and requests after that fail with actor_stopped",
          "[lifecycle][stop]") {
  auto log = std::make_shared<stop_log>();
  std::vector<actor::actor_ref> actors;
  {
    test::manual_system t;
    for (int i = 0; i < 3; ++i) actors.push_back(t.sys.spawn<recorder>(log));

    std::vector<std::future<actor::expected<actor::stopped>>> stops;
    for (const auto& a : actors) stops.push_back(t.sys.stop(a, far_timeout));
    for (auto& f : stops) CHECK(await(f).has_value());

    for (const auto& a : actors) {
      CHECK(await_error(t.sys.request<hi>(a, hello{}, far_timeout)).code == actor::errc::actor_stopped);
      CHECK(log->times(a.id()) == 1);
      CHECK(log->reason(a.id()).what == actor::stop_reason::kind::requested);
    }
    // `stopped` is answered just before the actor leaves the count (it must be sent while the
    // actor is still known: a node exports the reply's sender), so the count follows a moment later
    CHECK(test::wait_until([&] { return t.sys.stats().actors_alive == 0; }));
  }
  // the system's destructor does not stop them a second time
  CHECK(log->size() == 3);
  for (const auto& a : actors) CHECK(log->times(a.id()) == 1);
}

TEST_CASE("stopping an actor a second time fails with actor_stopped", "[lifecycle][stop]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto a = t.sys.spawn<recorder>(log);
  CHECK(await(t.sys.stop(a, far_timeout)).has_value());
  CHECK(await_error(t.sys.stop(a, far_timeout)).code == actor::errc::actor_stopped);
  CHECK(log->times(a.id()) == 1);
}

TEST_CASE("quit() stops an actor with reason normal once its handler has answered", "[lifecycle][stop]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto a = t.sys.spawn<recorder>(log);
  CHECK(await_value(t.sys.request<hi>(a, finish{}, far_timeout)).id == a.id());
  CHECK(test::wait_until([&] { return t.sys.stats().actors_alive == 0; }));
  CHECK(log->times(a.id()) == 1);
  CHECK(log->reason(a.id()).what == actor::stop_reason::kind::normal);
  CHECK(await_error(t.sys.request<hi>(a, hello{}, far_timeout)).code == actor::errc::actor_stopped);
}

TEST_CASE("requests queued behind a stop fail with actor_stopped", "[lifecycle][stop]") {
  auto log = std::make_shared<stop_log>();
  test::event entered;
  test::event gate;
  test::manual_system t;
  test::release_on_exit open_gate(gate);
  auto a = t.sys.spawn<recorder>(log, &entered, &gate);
  t.sys.send(a, block{});
  REQUIRE(entered.wait_for());
  auto stop = t.sys.stop(a, far_timeout);
  auto late = t.sys.request<hi>(a, hello{}, far_timeout);
  gate.set();
  CHECK(await(stop).has_value());
  CHECK(await_error(std::move(late)).code == actor::errc::actor_stopped);
}

TEST_CASE("a message sent to a stopped actor is counted as a dead letter", "[lifecycle][stop]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto a = t.sys.spawn<recorder>(log);
  REQUIRE(await(t.sys.stop(a, far_timeout)).has_value());
  const auto before = t.sys.stats().dead_letters;
  t.sys.send(a, hello{});
  CHECK(t.sys.stats().dead_letters == before + 1);
}

// ---- crashes ----------------------------------------------------------------------

TEST_CASE("a handler that throws stops only its actor with reason crashed", "[lifecycle][crash]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto bad = t.sys.spawn<recorder>(log);
  auto good = t.sys.spawn<recorder>(log);
  REQUIRE(t.sys.stats().actors_crashed == 0);

  const auto err = await_error(t.sys.request<hi>(bad, explode{"the flux capacitor melted"}, far_timeout));
  CHECK(err.code == actor::errc::remote_error);
  CHECK_THAT(err.text, Catch::Contains("the flux capacitor melted"));

  // the crash finishes (on_stop, closing the mailbox) right after the error is sent
  REQUIRE(test::wait_until([&] { return t.sys.stats().actors_alive == 1; }));
  CHECK(log->times(bad.id()) == 1);
  const auto why = log->reason(bad.id());
  CHECK(why.what == actor::stop_reason::kind::crashed);
  CHECK_THAT(why.text, Catch::Contains("the flux capacitor melted"));
  CHECK(t.sys.stats().actors_crashed == 1);

  CHECK(await_error(t.sys.request<hi>(bad, hello{}, far_timeout)).code == actor::errc::actor_stopped);
  // other actors and the system keep working
  CHECK(await_value(t.sys.request<hi>(good, hello{}, far_timeout)).id == good.id());
  auto another = t.sys.spawn<recorder>(log);
  CHECK(await_value(t.sys.request<hi>(another, hello{}, far_timeout)).id == another.id());
  CHECK(log->times(good.id()) == 0);
}

TEST_CASE("a handler that throws on a plain message crashes its actor too", "[lifecycle][crash]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto bad = t.sys.spawn<recorder>(log);
  t.sys.send(bad, explode{"no one is waiting"});
  REQUIRE(test::wait_until([&] { return t.sys.stats().actors_alive == 0; }));
  CHECK(t.sys.stats().actors_crashed == 1);
  CHECK(log->reason(bad.id()).what == actor::stop_reason::kind::crashed);
}

TEST_CASE("requests queued behind a crashing message fail with actor_stopped", "[lifecycle][crash]") {
  // errc::actor_stopped: "the target stopped before it handled the message";
  // errc::remote_error: "the target failed while handling the request" -- this one was never handled.
  auto log = std::make_shared<stop_log>();
  test::event entered;
  test::event gate;
  test::manual_system t;
  test::release_on_exit open_gate(gate);

  auto a = t.sys.spawn<blocking_thrower>(log, &entered, &gate);
  t.sys.send(a, block{});
  REQUIRE(entered.wait_for());
  auto queued = t.sys.request<hi>(a, hello{}, far_timeout);
  gate.set();
  const auto err = await_error(std::move(queued));
  INFO(err.describe());
  CHECK(err.code == actor::errc::actor_stopped);
}

class bad_start final : public recorder {
 public:
  using recorder::recorder;

 protected:
  void on_start() override { throw std::runtime_error("cannot start"); }
};

TEST_CASE("an on_start that throws crashes the actor before its first message", "[lifecycle][crash]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  auto a = t.sys.spawn<bad_start>(log);
  REQUIRE(test::wait_until([&] { return t.sys.stats().actors_alive == 0; }));
  const auto why = log->reason(a.id());
  CHECK(why.what == actor::stop_reason::kind::crashed);
  CHECK_THAT(why.text, Catch::Contains("cannot start"));
  CHECK(t.sys.stats().actors_crashed == 1);
  CHECK(await_error(t.sys.request<hi>(a, hello{}, far_timeout)).code == actor::errc::actor_stopped);
}

// ---- the system's destructor ----------------------------------------------------------

// Keeps a periodic timer running, to show the destructor does not wait for timers.
class ticking final : public recorder {
 public:
  using recorder::recorder;

 protected:
  void on_start() override { periodic_send(1s, tick{}); }
};

// Has a request in flight to an actor that never answers.
class waiting final : public recorder {
 public:
  waiting(std::shared_ptr<stop_log> log, actor::actor_ref silent) : recorder(std::move(log)), silent_(std::move(silent)) {}

 protected:
  void on_start() override {
    request(silent_, block{}, far_timeout).then([](const hi&) {}, [](const actor::error&) {});
  }

 private:
  actor::actor_ref silent_;
};

// Spawns a successor while it stops.
class parent final : public recorder {
 public:
  using recorder::recorder;

 protected:
  void on_stop(const actor::stop_reason& why) override {
    recorder::on_stop(why);
    system().spawn<recorder>(log_);
  }
};

// Destroys the system on another thread and waits for it with a deadline.
bool destroy_within_deadline(std::unique_ptr<actor::actor_system> sys) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread th([s = std::move(sys), done]() mutable {
    s.reset();
    done->set_value();
  });
  if (finished.wait_for(test::wait_limit) != std::future_status::ready) {
    th.detach();  // it owns everything it touches; let it hang
    return false;
  }
  th.join();
  return true;
}

struct populated_system {
  std::shared_ptr<stop_log> log = std::make_shared<stop_log>();
  std::vector<actor::actor_ref> actors;
  std::unique_ptr<actor::actor_system> sys;

  populated_system() {
    auto clk = std::make_shared<actor::manual_clock>();
    sys = std::make_unique<actor::actor_system>(actor::system_options{.workers = 2, .clock = clk});
    actors.push_back(sys->spawn<recorder>(log));
    actors.push_back(sys->spawn<recorder>(log));
    actors.push_back(sys->spawn_detached<recorder>(log));
    actors.push_back(sys->spawn<ticking>(log));
    auto silent = sys->spawn<recorder>(log);  // gets block without gate: returns at once, no answer
    actors.push_back(silent);
    actors.push_back(sys->spawn<waiting>(log, silent));
    // every actor has started and handled something
    for (const auto& a : actors) REQUIRE(test::await_value(sys->request<hi>(a, hello{}, far_timeout)).id == a.id());
  }
};

TEST_CASE("the system's destructor stops every actor still running without hanging", "[lifecycle][shutdown]") {
  populated_system p;
  REQUIRE(p.sys->stats().actors_alive == p.actors.size());
  REQUIRE(destroy_within_deadline(std::move(p.sys)));
  CHECK(p.log->size() == p.actors.size());
  for (const auto& a : p.actors) CHECK(p.log->times(a.id()) == 1);
}

TEST_CASE("actors stopped by the system's destructor see stop reason shutdown", "[lifecycle][shutdown]") {
  // stop_reason::kind::shutdown is documented as "its system is shutting down"
  populated_system p;
  REQUIRE(destroy_within_deadline(std::move(p.sys)));
  for (const auto& a : p.actors) {
    INFO("actor " << a.id() << " stopped with reason " << actor::to_string(p.log->reason(a.id()).what));
    CHECK(p.log->reason(a.id()).what == actor::stop_reason::kind::shutdown);
  }
}

TEST_CASE("an actor spawned while the system shuts down is stopped too", "[lifecycle][shutdown]") {
  auto log = std::make_shared<stop_log>();
  auto clk = std::make_shared<actor::manual_clock>();
  auto sys = std::make_unique<actor::actor_system>(actor::system_options{.workers = 2, .clock = clk});
  sys->spawn<parent>(log);
  REQUIRE(destroy_within_deadline(std::move(sys)));
  CHECK(log->size() == 2);  // the parent and the successor it spawned in on_stop
}

TEST_CASE("shutdown() stops every actor with reason shutdown and reports success", "[lifecycle][shutdown]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  std::vector<actor::actor_ref> actors{t.sys.spawn<recorder>(log), t.sys.spawn_detached<recorder>(log),
                                       t.sys.spawn<ticking>(log)};
  CHECK_FALSE(t.sys.shutting_down());
  CHECK(t.sys.shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(test::wait_limit)));
  CHECK(t.sys.shutting_down());
  CHECK(t.sys.stats().actors_alive == 0);
  for (const auto& a : actors) {
    CHECK(log->times(a.id()) == 1);
    CHECK(log->reason(a.id()).what == actor::stop_reason::kind::shutdown);
  }
  CHECK(t.sys.shutdown());  // idempotent
  CHECK(log->size() == actors.size());
}

TEST_CASE("shutdown() gives up at its limit while a handler does not return and queued requests then fail with "
          "shutting_down",
          "[lifecycle][shutdown]") {
  auto log = std::make_shared<stop_log>();
  test::event entered;
  test::event gate;
  test::manual_system t;
  test::release_on_exit open_gate(gate);
  auto a = t.sys.spawn<recorder>(log, &entered, &gate);
  t.sys.send(a, block{});
  REQUIRE(entered.wait_for());

  CHECK_FALSE(t.sys.shutdown(1ms));  // the handler is still blocked on the gate: it cannot have stopped
  auto queued = t.sys.request<hi>(a, hello{}, far_timeout);  // behind the stop shutdown() sent
  gate.set();
  CHECK(await_error(std::move(queued)).code == actor::errc::shutting_down);
  CHECK(t.sys.shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(test::wait_limit)));
  CHECK(log->reason(a.id()).what == actor::stop_reason::kind::shutdown);
}

// ---- stats --------------------------------------------------------------------------

TEST_CASE("stats count spawned and alive actors and await_all_actors_done_for sees them go", "[lifecycle][stats]") {
  auto log = std::make_shared<stop_log>();
  test::manual_system t;
  const auto before = t.sys.stats();
  CHECK(before.actors_alive == 0);
  auto a = t.sys.spawn<recorder>(log);
  auto b = t.sys.spawn_detached<recorder>(log);
  const auto during = t.sys.stats();
  CHECK(during.actors_spawned == before.actors_spawned + 2);
  CHECK(during.actors_alive == 2);
  CHECK_FALSE(t.sys.await_all_actors_done_for(0ms));

  REQUIRE(await(t.sys.stop(a, far_timeout)).has_value());
  CHECK(test::wait_until([&] { return t.sys.stats().actors_alive == 1; }));  // a moment after `stopped`
  REQUIRE(await(t.sys.stop(b, far_timeout)).has_value());
  CHECK(t.sys.await_all_actors_done_for(std::chrono::duration_cast<std::chrono::milliseconds>(test::wait_limit)));
  CHECK(t.sys.stats().actors_alive == 0);
  CHECK(t.sys.stats().actors_spawned == before.actors_spawned + 2);
}

}  // namespace
}  // namespace lifecycle_test
