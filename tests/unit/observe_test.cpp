// Observe and notify inside one process (actor/observe.hpp): order per observer, chosen outputs,
// the subscribe-time check, the bounded queue that drops the oldest and says how many, removal
// when either side stops, unobserve, and a name followed across a restart (with a node).

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "actor/node.hpp"
#include "actor/receiver.hpp"
#include "test_support.hpp"

namespace observe_test {

struct tick {
  std::uint64_t n = 0;
  ACTOR_FIELDS(n)
};
struct tock {
  std::uint64_t n = 0;
  ACTOR_FIELDS(n)
};
struct unlisted {
  ACTOR_NO_FIELDS
};
/// to a publisher: notify ticks first..last (and tocks too when `tocks`), then reply done
struct emit {
  std::uint64_t first = 1;
  std::uint64_t last = 0;
  bool tocks = false;
  ACTOR_FIELDS(first, last, tocks)
};
struct emit_unlisted {
  ACTOR_NO_FIELDS
};
struct done {
  std::string error;
  ACTOR_FIELDS(error)
};
/// to an observer: observe `target` (or `name` when not empty)
struct watch {
  actor::actor_ref target;
  std::string name;
  std::vector<std::string> types;
  std::uint64_t queue = 0;
  ACTOR_FIELDS(target, name, types, queue)
};
struct unwatch {
  ACTOR_NO_FIELDS
};

}  // namespace observe_test

ACTOR_MESSAGE(observe_test::tick, "test.observe.tick");
ACTOR_MESSAGE(observe_test::tock, "test.observe.tock");
ACTOR_MESSAGE(observe_test::unlisted, "test.observe.unlisted");
ACTOR_MESSAGE(observe_test::emit, "test.observe.emit");
ACTOR_MESSAGE(observe_test::emit_unlisted, "test.observe.emit_unlisted");
ACTOR_MESSAGE(observe_test::done, "test.observe.done");
ACTOR_MESSAGE(observe_test::watch, "test.observe.watch");
ACTOR_MESSAGE(observe_test::unwatch, "test.observe.unwatch");

namespace observe_test {
namespace {

using namespace std::chrono_literals;
using test::await_value;
using test::far_timeout;
using test::wait_until;

class publisher final : public actor::actor_base {
 public:
  publisher() { declare_outputs<tick, tock>(); }

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const emit& e) {
          for (auto n = e.first; n <= e.last; ++n) {
            notify(tick{n});
            if (e.tocks) notify(tock{n});
          }
          return done{};
        },
        [this](const emit_unlisted&) {
          try {
            notify(unlisted{});
          } catch (const std::logic_error& ex) {
            return done{ex.what()};
          }
          return done{};
        },
    };
  }
};

// What an observer saw, shared with the test thread.
struct journal {
  mutable std::mutex mu;
  std::vector<std::pair<std::string, std::uint64_t>> seen;  // ("tick"/"tock", n)
  std::vector<std::uint64_t> senders;
  std::vector<actor::notifications_lost> lost;
  std::vector<actor::observed_restarted> restarted;

  template <class F>
  auto read(F f) const {
    std::lock_guard lk(mu);
    return f(*this);
  }
  std::size_t count() const {
    return read([](const journal& j) { return j.seen.size(); });
  }
};

class observer final : public actor::actor_base {
 public:
  observer(std::shared_ptr<journal> j, bool handles_tock = true, std::shared_ptr<test::event> gate = nullptr)
      : j_(std::move(j)), handles_tock_(handles_tock), gate_(std::move(gate)) {}

 protected:
  actor::behavior make_behavior() override {
    actor::behavior common{
        [this](const tick& t) {
          if (gate_ && t.n == 1) gate_->wait_for();  // blocks on the first tick until the test opens
          record("tick", t.n);
        },
        [this](const watch& w) {
          actor::observe_options o;
          o.types = w.types;
          o.queue = w.queue;
          if (!w.name.empty()) {
            id_ = observe(w.name, o);
            return done{};
          }
          auto r = observe(w.target, o);
          if (!r) return done{r.error().describe()};
          id_ = *r;
          return done{};
        },
        [this](const unwatch&) { return unobserve(id_) ? done{} : done{"not observing"}; },
        [this](const actor::notifications_lost& l) {
          std::lock_guard lk(j_->mu);
          j_->lost.push_back(l);
        },
        [this](const actor::observed_restarted& r) {
          std::lock_guard lk(j_->mu);
          j_->restarted.push_back(r);
        },
        [this](const tock& t) { record("tock", t.n); },
    };
    if (handles_tock_) return common;
    return {[this](const tick& t) { record("tick", t.n); },
            [this](const watch& w) {
              auto r = observe(w.target, {w.types, w.queue});
              return r ? done{} : done{r.error().describe()};
            }};
  }
  void on_stop(const actor::stop_reason&) override { j_.reset(); }

 private:
  void record(const char* what, std::uint64_t n) {
    std::lock_guard lk(j_->mu);
    j_->seen.emplace_back(what, n);
    j_->senders.push_back(sender().id());
  }
  std::shared_ptr<journal> j_;
  bool handles_tock_;
  std::shared_ptr<test::event> gate_;
  std::uint64_t id_ = 0;
};

struct fixture {
  actor::actor_system sys{options()};
  static actor::system_options options() {
    actor::system_options o;
    o.workers = 2;
    return o;
  }
  done ask(const actor::actor_ref& who, auto msg) { return await_value(sys.request<done>(who, std::move(msg), far_timeout)); }
  void watch_ok(const actor::actor_ref& obs, const actor::actor_ref& pub, std::vector<std::string> types = {},
                std::uint64_t queue = 0) {
    const auto r = ask(obs, watch{pub, {}, std::move(types), queue});
    INFO(r.error);
    REQUIRE(r.error.empty());
  }
  bool observers_are(std::size_t n) {
    return wait_until([&] { return sys.stats().observers == n; });
  }
};

std::vector<std::pair<std::string, std::uint64_t>> ticks(std::uint64_t first, std::uint64_t last) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (auto n = first; n <= last; ++n) out.emplace_back("tick", n);
  return out;
}

TEST_CASE("every observer receives the notifications in notify order, from the observed actor", "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  std::vector<std::shared_ptr<journal>> journals;
  std::vector<actor::actor_ref> observers;
  for (int i = 0; i < 3; ++i) {
    journals.push_back(std::make_shared<journal>());
    observers.push_back(f.sys.spawn<observer>(journals.back()));
    f.watch_ok(observers.back(), pub, {}, 10000);  // room for the whole burst: notify runs in one handler
  }
  REQUIRE(f.observers_are(3));  // the observations reached the publisher
  f.ask(pub, emit{1, 5000});
  for (const auto& j : journals) {
    REQUIRE(wait_until([&] { return j->count() == 5000; }));
    j->read([&](const journal& x) {
      CHECK(x.seen == ticks(1, 5000));  // in order, none lost
      CHECK(std::all_of(x.senders.begin(), x.senders.end(), [&](auto id) { return id == pub.id(); }));
      CHECK(x.lost.empty());
      return 0;
    });
  }
  const auto st = f.sys.stats();
  CHECK(st.notifications_sent == 3 * 5000);
  CHECK(st.notifications_lost == 0);
}

TEST_CASE("an observer of chosen outputs receives only those", "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto obs = f.sys.spawn<observer>(j);
  f.watch_ok(obs, pub, {"test.observe.tock"});
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 3, true});
  REQUIRE(wait_until([&] { return j->count() == 3; }));
  CHECK(j->read([](const journal& x) { return x.seen; }) ==
        std::vector<std::pair<std::string, std::uint64_t>>{{"tock", 1}, {"tock", 2}, {"tock", 3}});
}

TEST_CASE("observing is checked at once: a missing handler or an unknown output is an error naming the type",
          "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto partial = f.sys.spawn<observer>(j, false);  // handles tick, not tock

  auto r = f.ask(partial, watch{pub, {}, {}, 0});
  CHECK_THAT(r.error, Catch::Contains("no handler for test.observe.tock"));
  r = f.ask(partial, watch{pub, {}, {"test.observe.nothing"}, 0});
  CHECK_THAT(r.error, Catch::Contains("no output 'test.observe.nothing'"));
  CHECK_THAT(r.error, Catch::Contains("test.observe.tick, test.observe.tock"));
  // the outputs it does handle are fine
  f.watch_ok(partial, pub, {"test.observe.tick"});
  REQUIRE(f.observers_are(1));

  // notifying a type that is not an output is a programming error
  CHECK_THAT(f.ask(pub, emit_unlisted{}).error, Catch::Contains("not an output"));
}

TEST_CASE("a slow observer: its queue keeps the newest, drops the oldest, and the observer learns how many",
          "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto gate = std::make_shared<test::event>();
  test::release_on_exit release(*gate);
  auto obs = f.sys.spawn<observer>(j, true, gate);
  // queue 8: 4 on their way (the window), 4 waiting at the publisher
  f.watch_ok(obs, pub, {}, 8);
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 20});  // the observer blocks in tick 1 meanwhile
  const auto st = f.sys.stats();
  CHECK(st.notifications_dropped == 12);  // 5..16: the oldest of those waiting
  gate->set();
  REQUIRE(wait_until([&] { return j->count() == 8; }));
  j->read([&](const journal& x) {
    auto want = ticks(1, 4);
    for (const auto& t : ticks(17, 20)) want.push_back(t);
    CHECK(x.seen == want);
    REQUIRE(x.lost.size() == 1);
    CHECK(x.lost[0].count == 12);
    CHECK(x.lost[0].total == 12);
    CHECK(x.lost[0].from == pub);
    return 0;
  });
  CHECK(f.sys.stats().notifications_lost == 12);
}

TEST_CASE("notifications still waiting when the observed actor stops are counted as dropped", "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto gate = std::make_shared<test::event>();
  test::release_on_exit release(*gate);
  auto obs = f.sys.spawn<observer>(j, true, gate);
  f.watch_ok(obs, pub, {}, 8);
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 20});  // 1..4 on their way, 17..20 waiting, 12 dropped
  CHECK(f.sys.stats().notifications_dropped == 12);
  await_value(f.sys.stop(pub, far_timeout));
  CHECK(f.sys.stats().notifications_dropped == 16);
  gate->set();
  REQUIRE(wait_until([&] { return j->count() == 4; }));  // what was on its way still arrives
  CHECK(j->read([](const journal& x) { return x.seen; }) == ticks(1, 4));
}

TEST_CASE("an observation ends with unobserve, and when either side stops", "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto obs = f.sys.spawn<observer>(j);
  f.watch_ok(obs, pub);
  REQUIRE(f.observers_are(1));

  SECTION("unobserve") {
    CHECK(f.ask(obs, unwatch{}).error.empty());
    REQUIRE(f.observers_are(0));
    f.ask(pub, emit{1, 10});
    f.ask(obs, watch{pub, {}, {"test.observe.nothing"}, 0});  // a round trip through the observer
    CHECK(j->count() == 0);
    CHECK(f.ask(obs, unwatch{}).error == "not observing");
  }
  SECTION("the observer stops") {
    await_value(f.sys.stop(obs, far_timeout));
    REQUIRE(f.observers_are(0));
    f.ask(pub, emit{1, 10});  // nothing to send to
    CHECK(f.sys.stats().notifications_sent == 0);
    CHECK(f.sys.stats().monitors == 0);  // neither side's monitor is left behind
  }
  SECTION("the observed actor stops") {
    await_value(f.sys.stop(pub, far_timeout));
    REQUIRE(wait_until([&] { return f.sys.stats().monitors == 0; }));
    CHECK(f.ask(obs, unwatch{}).error == "not observing");  // the observation ended
  }
}

TEST_CASE("observing again replaces the observation: one per observer and observed actor", "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto obs = f.sys.spawn<observer>(j);
  f.watch_ok(obs, pub, {"test.observe.tick"});
  f.watch_ok(obs, pub, {"test.observe.tock"});
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 2, true});
  REQUIRE(wait_until([&] { return j->count() == 2; }));
  CHECK(j->read([](const journal& x) { return x.seen; }) ==
        std::vector<std::pair<std::string, std::uint64_t>>{{"tock", 1}, {"tock", 2}});
}

TEST_CASE("observing again while the earlier observation's notifications are on their way: they are stale, "
          "the new stream is whole",
          "[observe]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  auto j = std::make_shared<journal>();
  auto gate = std::make_shared<test::event>();
  test::release_on_exit release(*gate);
  auto obs = f.sys.spawn<observer>(j, true, gate);
  f.watch_ok(obs, pub, {}, 8);  // 4 on their way at most
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 6});  // 1..4 sent (the observer blocks in 1), 5 and 6 wait
  // observe again: queued behind 2..4; 5 and 6 go out when 2 and 4 are acknowledged, after it
  auto again = f.sys.request<done>(obs, watch{pub, {}, {}, 8}, far_timeout);
  gate->set();
  REQUIRE(test::await_value(std::move(again)).error.empty());
  REQUIRE(wait_until([&] { return f.sys.stats().notifications_stale == 2; }));
  f.ask(pub, emit{100, 102});
  REQUIRE(wait_until([&] { return j->count() == 7; }));
  j->read([&](const journal& x) {
    auto want = ticks(1, 4);
    for (const auto& t : ticks(100, 102)) want.push_back(t);
    CHECK(x.seen == want);
    CHECK(x.lost.empty());  // no gap is made up from the earlier numbers
    return 0;
  });
}

TEST_CASE("observing a name follows it to the actor that takes it after a restart", "[observe][node]") {
  fixture f;
  actor::node_options o;
  o.name = "observe-test";
  actor::node n(f.sys, o);
  f.sys.register_actor_type<publisher>("test.publisher");
  auto first = n.spawn("test.publisher", "ticker");
  REQUIRE(first);
  auto j = std::make_shared<journal>();
  auto obs = f.sys.spawn<observer>(j);
  REQUIRE(f.ask(obs, watch{{}, "ticker", {}, 0}).error.empty());
  REQUIRE(f.observers_are(1));
  f.ask(*first, emit{1, 3});
  REQUIRE(wait_until([&] { return j->count() == 3; }));

  await_value(f.sys.stop(*first, far_timeout));
  auto second = n.spawn("test.publisher", "ticker");
  REQUIRE(second);
  REQUIRE(f.observers_are(1));  // found again, and observed
  f.ask(*second, emit{1, 2});
  REQUIRE(wait_until([&] { return j->count() == 5; }));
  j->read([&](const journal& x) {
    REQUIRE(x.restarted.size() == 1);
    CHECK(x.restarted[0].name == "ticker");
    CHECK(x.restarted[0].ref == *second);
    CHECK(x.restarted[0].previous == *first);
    CHECK(x.senders.back() == second->id());
    CHECK(x.lost.empty());  // a new observation counts from 1 again
    return 0;
  });
}

TEST_CASE("observing a name that is not there yet waits for it", "[observe][node]") {
  fixture f;
  actor::node_options o;
  o.name = "observe-test";
  actor::node n(f.sys, o);
  f.sys.register_actor_type<publisher>("test.publisher");
  auto j = std::make_shared<journal>();
  auto obs = f.sys.spawn<observer>(j);
  REQUIRE(f.ask(obs, watch{{}, "later", {}, 0}).error.empty());
  auto pub = n.spawn("test.publisher", "later");
  REQUIRE(pub);
  REQUIRE(f.observers_are(1));
  f.ask(*pub, emit{1, 1});
  REQUIRE(wait_until([&] { return j->count() == 1; }));
  CHECK(j->read([](const journal& x) { return x.restarted.size(); }) == 0);
}

TEST_CASE("a receiver observes like any actor: notifications are received in order, from the observed actor",
          "[observe][receiver]") {
  fixture f;
  auto pub = f.sys.spawn<publisher>();
  std::promise<std::vector<std::uint64_t>> got;
  actor::spawn_receiver(f.sys, [&got, pub](actor::receiver& self) {
    std::vector<std::uint64_t> ns;
    if (!self.observe(pub, {{"test.observe.tick"}, 0})) {
      got.set_value(ns);
      return;
    }
    while (ns.size() < 10) {
      auto m = self.receive();
      if (m.match<tick>() && m.sender() == pub) ns.push_back(m.as<tick>().n);
    }
    got.set_value(ns);
  });
  REQUIRE(f.observers_are(1));
  f.ask(pub, emit{1, 10, true});  // tocks are not observed
  auto fut = got.get_future();
  REQUIRE(fut.wait_for(test::wait_limit) == std::future_status::ready);
  std::vector<std::uint64_t> want;
  for (std::uint64_t n = 1; n <= 10; ++n) want.push_back(n);
  CHECK(fut.get() == want);
  REQUIRE(f.observers_are(0));  // the receiver returned: it stopped, and the publisher forgot it
}

}  // namespace
}  // namespace observe_test
