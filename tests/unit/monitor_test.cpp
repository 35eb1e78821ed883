// Monitors and links inside one system (actor/monitor.hpp): exactly one down per monitor,
// typed reasons, demonitor, no leaked entries, links both ways and trap_exit.

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace monitor_test {

struct watch {
  actor::actor_ref target;
  ACTOR_FIELDS(target)
};
struct watch_many {
  actor::actor_ref target;
  std::uint32_t count = 0;
  ACTOR_FIELDS(target, count)
};
struct unwatch {
  std::uint64_t id = 0;
  ACTOR_FIELDS(id)
};
struct unwatch_after {  // blocks until the test says go, then demonitors
  std::uint64_t id = 0;
  ACTOR_FIELDS(id)
};
struct link_to {
  actor::actor_ref other;
  ACTOR_FIELDS(other)
};
struct unlink_from {
  actor::actor_ref other;
  ACTOR_FIELDS(other)
};
struct boom {
  ACTOR_NO_FIELDS
};
struct leave {
  ACTOR_NO_FIELDS
};
struct ping {
  ACTOR_NO_FIELDS
};
struct pong {
  ACTOR_NO_FIELDS
};
struct watch_ids {
  std::vector<std::uint64_t> ids;
  ACTOR_FIELDS(ids)
};

struct relink {
  ACTOR_NO_FIELDS
};

}  // namespace monitor_test

ACTOR_MESSAGE(monitor_test::relink, "test.monitor.relink");
ACTOR_MESSAGE(monitor_test::watch, "test.monitor.watch");
ACTOR_MESSAGE(monitor_test::watch_many, "test.monitor.watch_many");
ACTOR_MESSAGE(monitor_test::unwatch, "test.monitor.unwatch");
ACTOR_MESSAGE(monitor_test::unwatch_after, "test.monitor.unwatch_after");
ACTOR_MESSAGE(monitor_test::link_to, "test.monitor.link_to");
ACTOR_MESSAGE(monitor_test::unlink_from, "test.monitor.unlink_from");
ACTOR_MESSAGE(monitor_test::boom, "test.monitor.boom");
ACTOR_MESSAGE(monitor_test::leave, "test.monitor.leave");
ACTOR_MESSAGE(monitor_test::ping, "test.monitor.ping");
ACTOR_MESSAGE(monitor_test::pong, "test.monitor.pong");
ACTOR_MESSAGE(monitor_test::watch_ids, "test.monitor.watch_ids");

namespace monitor_test {
namespace {

using namespace std::chrono_literals;
using test::await_value;
using test::far_timeout;
using test::wait_until;

// What watchers saw: downs, exits and stop reasons, shared with the test thread.
class journal {
 public:
  void down(const actor::down_msg& d) {
    std::lock_guard lk(mu_);
    downs_.push_back(d);
  }
  void exit(const actor::exit_msg& x) {
    std::lock_guard lk(mu_);
    exits_.push_back(x);
  }
  void stopped(std::uint64_t id, const actor::stop_reason& why) {
    std::lock_guard lk(mu_);
    stops_.emplace_back(id, why);
  }
  [[nodiscard]] std::vector<actor::down_msg> downs() const {
    std::lock_guard lk(mu_);
    return downs_;
  }
  [[nodiscard]] std::vector<actor::exit_msg> exits() const {
    std::lock_guard lk(mu_);
    return exits_;
  }
  [[nodiscard]] std::size_t down_count() const {
    std::lock_guard lk(mu_);
    return downs_.size();
  }
  [[nodiscard]] std::optional<actor::stop_reason> stop_of(std::uint64_t id) const {
    std::lock_guard lk(mu_);
    for (const auto& [who, why] : stops_) {
      if (who == id) return why;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mu_;
  std::vector<actor::down_msg> downs_;
  std::vector<actor::exit_msg> exits_;
  std::vector<std::pair<std::uint64_t, actor::stop_reason>> stops_;
};

// Monitors, links and crashes on request; records what it hears in a journal.
class watcher final : public actor::actor_base {
 public:
  watcher(std::shared_ptr<journal> j, bool trap, std::shared_ptr<test::event> go = nullptr)
      : journal_(std::move(j)), trap_(trap), go_(std::move(go)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const watch& w) { return watch_ids{{monitor(w.target)}}; },
        [this](const watch_many& w) {
          watch_ids out;
          for (std::uint32_t i = 0; i < w.count; ++i) out.ids.push_back(monitor(w.target));
          return out;
        },
        [this](const unwatch& u) { return demonitor(u.id) ? pong{} : throw std::logic_error("not active"); },
        [this](const unwatch_after& u) {
          go_->wait_for();
          if (!demonitor(u.id)) throw std::logic_error("not active");
          return pong{};
        },
        [this](const link_to& l) {
          link(l.other);
          return pong{};
        },
        [this](const unlink_from& l) {
          unlink(l.other);
          return pong{};
        },
        [this](const actor::down_msg& d) { journal_->down(d); },
        [this](const actor::exit_msg& x) { journal_->exit(x); },
        [](const boom&) -> pong { throw std::runtime_error("kaboom"); },
        [this](const leave&) { quit(); },
        [](const ping&) { return pong{}; },
    };
  }
  void on_start() override { trap_exit(trap_); }
  void on_stop(const actor::stop_reason& why) override {
    journal_->stopped(self().id(), why);
    journal_.reset();  // the journal holds refs to actors (downs' `who`): no cycle through it
  }

 private:
  std::shared_ptr<journal> journal_;
  bool trap_;
  std::shared_ptr<test::event> go_;
};

struct fixture {
  actor::actor_system sys{options()};
  static actor::system_options options() {
    actor::system_options o;
    o.workers = 2;
    return o;
  }
  std::shared_ptr<journal> log = std::make_shared<journal>();

  actor::actor_ref spawn(bool trap = false) { return sys.spawn<watcher>(log, trap); }
  std::uint64_t watch_of(const actor::actor_ref& who, const actor::actor_ref& target) {
    return await_value(sys.request<watch_ids>(who, watch{target}, far_timeout)).ids.at(0);
  }
  template <class M>
  void ask(const actor::actor_ref& who, M msg) {
    await_value(sys.request<pong>(who, std::move(msg), far_timeout));
  }
  void stop(const actor::actor_ref& who) { await_value(sys.stop(who, far_timeout)); }
  bool downs_reach(std::size_t n) {
    return wait_until([&] { return log->down_count() >= n; });
  }
};

TEST_CASE("a monitor hears once why its target stopped: stopped, normal, crashed with text and type", "[monitor]") {
  fixture f;
  auto w = f.spawn();
  auto stopped_one = f.spawn();
  auto quitter = f.spawn();
  auto crasher = f.spawn();
  const auto id_stopped = f.watch_of(w, stopped_one);
  const auto id_quit = f.watch_of(w, quitter);
  const auto id_crash = f.watch_of(w, crasher);
  CHECK(wait_until([&] { return f.sys.stats().monitors == 3; }));

  f.stop(stopped_one);
  f.sys.send(quitter, leave{});
  CHECK(test::await(f.sys.request<pong>(crasher, boom{}, far_timeout)).error().code == actor::errc::remote_error);
  REQUIRE(f.downs_reach(3));
  // a later ping is handled after any second down would have been: there is none
  f.ask(w, ping{});
  const auto downs = f.log->downs();
  REQUIRE(downs.size() == 3);
  for (const auto& d : downs) {
    if (d.monitor == id_stopped) {
      CHECK(d.who == stopped_one);
      CHECK(d.reason.what == actor::down_reason::kind::stopped);
    } else if (d.monitor == id_quit) {
      CHECK(d.who == quitter);
      CHECK(d.reason.what == actor::down_reason::kind::normal);
    } else {
      REQUIRE(d.monitor == id_crash);
      CHECK(d.who == crasher);
      CHECK(d.reason.what == actor::down_reason::kind::crashed);
      CHECK(d.reason.text.find("kaboom") != std::string::npos);
      CHECK(d.reason.error_type == "std::runtime_error");
    }
  }
  CHECK(f.sys.stats().monitors == 0);
}

TEST_CASE("monitoring an actor already gone, or the empty ref, gives noproc", "[monitor]") {
  fixture f;
  auto w = f.spawn();
  auto gone = f.spawn();
  f.stop(gone);
  const auto id_gone = f.watch_of(w, gone);
  const auto id_empty = f.watch_of(w, actor::actor_ref{});
  REQUIRE(f.downs_reach(2));
  for (const auto& d : f.log->downs()) {
    CHECK(d.reason.what == actor::down_reason::kind::noproc);
    CHECK((d.monitor == id_gone || d.monitor == id_empty));
    if (d.monitor == id_gone) CHECK(d.who == gone);
  }
}

TEST_CASE("monitors made while the target stops each get exactly one down", "[monitor]") {
  fixture f;
  for (int round = 0; round < 20; ++round) {
    f.log = std::make_shared<journal>();
    auto w = f.spawn();
    auto target = f.spawn();
    constexpr std::uint32_t n = 200;
    auto ids = f.sys.request<watch_ids>(w, watch_many{target, n}, far_timeout);
    f.sys.send(target, actor::stop_msg{});  // races the monitors in the target's mailbox
    const auto made = await_value(std::move(ids)).ids;
    REQUIRE(made.size() == n);
    REQUIRE(f.downs_reach(n));
    f.ask(w, ping{});
    auto downs = f.log->downs();
    REQUIRE(downs.size() == n);
    std::vector<std::uint64_t> seen;
    for (const auto& d : downs) {
      seen.push_back(d.monitor);
      // stopped when the monitor came before the stop, noproc when after
      CHECK((d.reason.what == actor::down_reason::kind::stopped || d.reason.what == actor::down_reason::kind::noproc));
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == made);
    f.stop(w);
  }
  CHECK(wait_until([&] { return f.sys.stats().monitors == 0; }));
}

TEST_CASE("demonitor ends a monitor, even with its down already queued", "[monitor]") {
  fixture f;
  auto go = std::make_shared<test::event>();
  auto w = f.sys.spawn<watcher>(f.log, false, go);
  auto target = f.spawn();
  const auto id = f.watch_of(w, target);
  // the watcher blocks in a handler; the target stops, so its down waits in the watcher's mailbox
  auto done = f.sys.request<pong>(w, unwatch_after{id}, far_timeout);
  f.stop(target);  // stopped is answered after the downs were sent
  go->set();
  await_value(std::move(done));  // demonitor found the monitor still active
  f.ask(w, ping{});              // handled after the queued down
  CHECK(f.log->down_count() == 0);

  // and a plain demonitor: the target's entry goes, no down comes
  auto other = f.spawn();
  const auto id2 = f.watch_of(w, other);
  f.ask(w, unwatch{id2});
  CHECK(wait_until([&] { return f.sys.stats().monitors == 0; }));
  f.stop(other);
  f.ask(w, ping{});
  CHECK(f.log->down_count() == 0);
  // an id that is not active any more
  CHECK(test::await(f.sys.request<pong>(w, unwatch{id2}, far_timeout)).error().code == actor::errc::remote_error);
}

TEST_CASE("monitor entries do not leak: cycles, and watchers that die", "[monitor]") {
  fixture f;
  auto target = f.spawn();
  auto w = f.spawn();
  for (int i = 0; i < 10000; ++i) f.ask(w, unwatch{f.watch_of(w, target)});
  CHECK(wait_until([&] { return f.sys.stats().monitors == 0; }));

  std::vector<actor::actor_ref> watchers;
  for (int i = 0; i < 1000; ++i) {
    watchers.push_back(f.spawn());
    f.watch_of(watchers.back(), target);
  }
  CHECK(wait_until([&] { return f.sys.stats().monitors == 1000; }));
  for (auto& x : watchers) f.sys.send(x, actor::stop_msg{});
  CHECK(wait_until([&] { return f.sys.stats().monitors == 0; }));
  f.ask(target, ping{});  // still running, and nobody hears of it when it stops
  f.stop(target);
  CHECK(f.log->down_count() == 0);
}

TEST_CASE("a link stops the other side on an abnormal death, both ways, not on a normal one", "[monitor][link]") {
  fixture f;
  SECTION("the linked actor crashes") {
    auto a = f.spawn();
    auto b = f.spawn();
    f.ask(a, link_to{b});
    CHECK(wait_until([&] { return f.sys.stats().links == 2; }));
    auto watch_a = f.spawn();
    f.watch_of(watch_a, a);
    CHECK(test::await(f.sys.request<pong>(b, boom{}, far_timeout)).error().code == actor::errc::remote_error);
    REQUIRE(f.downs_reach(1));
    const auto d = f.log->downs().at(0);
    CHECK(d.who == a);
    CHECK(d.reason.what == actor::down_reason::kind::linked);
    CHECK(d.reason.text.find("crashed") != std::string::npos);
    auto why = f.log->stop_of(a.id());
    REQUIRE(why);
    CHECK(why->what == actor::stop_reason::kind::linked);
    CHECK(wait_until([&] { return f.sys.stats().links == 0; }));
  }
  SECTION("the linker crashes: the link works the other way too") {
    auto a = f.spawn();
    auto b = f.spawn();
    f.ask(a, link_to{b});
    auto watch_b = f.spawn();
    f.watch_of(watch_b, b);
    f.sys.send(a, boom{});
    REQUIRE(f.downs_reach(1));
    CHECK(f.log->downs().at(0).reason.what == actor::down_reason::kind::linked);
  }
  SECTION("a normal quit leaves the other running; so does an unlinked crash") {
    auto a = f.spawn();
    auto b = f.spawn();
    auto c = f.spawn();
    f.ask(a, link_to{b});
    f.ask(a, link_to{c});
    f.ask(a, unlink_from{c});
    CHECK(wait_until([&] { return f.sys.stats().links == 2; }));
    f.sys.send(b, leave{});
    CHECK(wait_until([&] { return f.sys.stats().links == 0; }));
    f.sys.send(c, boom{});
    CHECK(wait_until([&] { return f.log->stop_of(c.id()).has_value(); }));
    f.ask(a, ping{});  // still alive
  }
  SECTION("linking to an actor already gone stops the linker with noproc") {
    auto a = f.spawn();
    auto gone = f.spawn();
    f.stop(gone);
    auto watch_a = f.spawn();
    f.watch_of(watch_a, a);
    f.ask(a, link_to{gone});
    REQUIRE(f.downs_reach(1));
    CHECK(f.log->downs().at(0).reason.what == actor::down_reason::kind::linked);
    CHECK(f.log->downs().at(0).reason.text.find("noproc") != std::string::npos);
  }
}

// Links to `other`; on relink (held until `go`), unlinks and links again at once.
class relinker final : public actor::actor_base {
 public:
  relinker(actor::actor_ref other, std::shared_ptr<test::event> entered, std::shared_ptr<test::event> go)
      : other_(std::move(other)), entered_(std::move(entered)), go_(std::move(go)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const relink&) {
          entered_->set();
          go_->wait_for();
          unlink(other_);
          link(other_);
        },
        [](const monitor_test::boom&) { throw std::runtime_error("kaboom"); },
        [](const monitor_test::ping&) { return monitor_test::pong{}; },
    };
  }
  void on_start() override { link(other_); }

 private:
  actor::actor_ref other_;
  std::shared_ptr<test::event> entered_, go_;
};

// Erlang's unlink ids (OTP 23): an unlink from the other side, still on its way when this side
// unlinked and linked again, must not end the new link (it once did, leaving it one-sided: a
// crash then reached nobody).
TEST_CASE("an unlink crossing an unlink and a new link leaves the new link whole", "[monitor][link]") {
  fixture f;
  auto b = f.spawn();
  auto entered = std::make_shared<test::event>();
  auto go = std::make_shared<test::event>();
  auto a = f.sys.spawn<relinker>(b, entered, go);
  REQUIRE(wait_until([&] { return f.sys.stats().links == 2; }));
  f.sys.send(a, relink{});
  REQUIRE(entered->wait_for());  // a is in its handler: what comes now waits behind it
  f.ask(b, monitor_test::unlink_from{a});  // b forgets the link; its unlink waits in a's mailbox
  go->set();  // a unlinks and links again, then reads b's (older) unlink
  await_value(f.sys.request<monitor_test::pong>(a, monitor_test::ping{}, far_timeout));
  f.ask(b, monitor_test::ping{});
  CHECK(f.sys.stats().links == 2);
  auto watch_b = f.spawn();
  f.watch_of(watch_b, b);
  f.sys.send(a, monitor_test::boom{});  // the new link carries the crash to b
  REQUIRE(f.downs_reach(1));
  CHECK(f.log->downs().at(0).who == b);
  CHECK(f.log->downs().at(0).reason.what == actor::down_reason::kind::linked);
}

TEST_CASE("an actor that traps exits receives the exit instead of stopping", "[monitor][link]") {
  fixture f;
  auto a = f.spawn(true);
  auto b = f.spawn();
  f.ask(a, link_to{b});
  f.sys.send(b, boom{});
  REQUIRE(wait_until([&] { return !f.log->exits().empty(); }));
  const auto x = f.log->exits().at(0);
  CHECK(x.from == b);
  CHECK(x.reason.what == actor::down_reason::kind::crashed);
  CHECK(x.reason.error_type == "std::runtime_error");
  f.ask(a, ping{});  // alive
  CHECK_FALSE(f.log->stop_of(a.id()).has_value());
}

}  // namespace
}  // namespace monitor_test
