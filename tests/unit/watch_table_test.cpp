// The node's watch table (net/watch_table.hpp) and the router's noproc answers, driven in
// process: entries fire into local actors' mailboxes as the remote side would have sent them.
#include <mutex>
#include <vector>

#include "actor/monitor.hpp"
#include "net/router.hpp"
#include "net/watch_table.hpp"
#include "test_support.hpp"

namespace {

using kind = actor::down_reason::kind;
using actor::detail::watch_kind;
using actor::detail::watch_table;

struct wt_watch {
  actor::actor_ref target;
  ACTOR_FIELDS(target)
};
struct wt_link {
  actor::actor_ref target;
  ACTOR_FIELDS(target)
};
struct wt_id {
  std::uint64_t id = 0;
  ACTOR_FIELDS(id)
};
struct wt_sync {
  ACTOR_NO_FIELDS
};

}  // namespace

ACTOR_MESSAGE(wt_watch, "test.wt.watch");
ACTOR_MESSAGE(wt_link, "test.wt.link");
ACTOR_MESSAGE(wt_id, "test.wt.id");
ACTOR_MESSAGE(wt_sync, "test.wt.sync");

namespace {

// What a recorder heard (written by its actor, read by the test under the lock).
struct heard {
  std::mutex mu;
  std::vector<actor::down_msg> downs;
  std::vector<actor::exit_msg> exits;
  std::size_t downs_now() {
    std::lock_guard lk(mu);
    return downs.size();
  }
  std::size_t exits_now() {
    std::lock_guard lk(mu);
    return exits.size();
  }
};

class recorder final : public actor::actor_base {
 public:
  recorder(std::shared_ptr<heard> h, bool trap) : h_(std::move(h)), trap_(trap) {}

 protected:
  void on_start() override { trap_exit(trap_); }
  actor::behavior make_behavior() override {
    return {
        [this](const wt_watch& w) { return wt_id{monitor(w.target)}; },
        [this](const wt_link& l) {
          link(l.target);
          return wt_sync{};
        },
        [](const wt_sync&) { return wt_sync{}; },
        [this](const actor::down_msg& d) {
          std::lock_guard lk(h_->mu);
          h_->downs.push_back(d);
        },
        [this](const actor::exit_msg& e) {
          std::lock_guard lk(h_->mu);
          h_->exits.push_back(e);
        },
    };
  }

 private:
  std::shared_ptr<heard> h_;
  bool trap_;
};

class idle final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const wt_sync&) { return wt_sync{}; }};
  }
};

}  // namespace

TEST_CASE("a fired monitoring entry delivers one down to the watcher, and none after", "[watch]") {
  actor::actor_system sys;
  auto h = std::make_shared<heard>();
  auto t = sys.spawn<idle>();
  auto w = sys.spawn<recorder>(h, false);
  const auto id = test::await_value(sys.request<wt_id>(w, wt_watch{t}, test::wait_limit)).id;
  REQUIRE(test::wait_until([&] { return sys.stats().monitors == 1; }));

  watch_table table;
  table.add("tcp://peer:1", {watch_kind::monitoring, w.id(), t.id(), id}, {w, t, 7, id});
  table.add("tcp://other:1", {watch_kind::monitoring, w.id(), t.id(), id + 1}, {w, t, 7, id + 1});
  CHECK(table.size(watch_kind::monitoring) == 2);
  table.fire_peer("tcp://peer:1", actor::down_reason{kind::node_down, "peer is down", {}});
  CHECK(table.size(watch_kind::monitoring) == 1);  // the other peer's entry stays
  CHECK(table.fired() == 1);
  REQUIRE(test::wait_until([&] { return h->downs_now() == 1; }));
  {
    std::lock_guard lk(h->mu);
    CHECK(h->downs[0].monitor == id);
    CHECK(h->downs[0].who == t);
    CHECK(h->downs[0].reason.what == kind::node_down);
    CHECK(h->downs[0].reason.text == "peer is down");
  }
  // the target's own down for the same monitor, later, is not handled: exactly once
  test::await_value(sys.request<actor::stopped>(t, actor::stop_msg{}, test::wait_limit));
  test::await_value(sys.request<wt_sync>(w, wt_sync{}, test::wait_limit));
  CHECK(h->downs_now() == 1);
  CHECK(table.remove("tcp://other:1", {watch_kind::monitoring, w.id(), t.id(), id + 1}));
  CHECK_FALSE(table.remove("tcp://other:1", {watch_kind::monitoring, w.id(), t.id(), id + 1}));
  CHECK(table.size(watch_kind::monitoring) == 0);
}

TEST_CASE("a restarted peer fires only the entries of its other incarnations, node_restarted", "[watch]") {
  actor::actor_system sys;
  auto h = std::make_shared<heard>();
  auto t = sys.spawn<idle>();
  auto w = sys.spawn<recorder>(h, false);
  const auto old_id = test::await_value(sys.request<wt_id>(w, wt_watch{t}, test::wait_limit)).id;
  const auto new_id = test::await_value(sys.request<wt_id>(w, wt_watch{t}, test::wait_limit)).id;
  watch_table table;
  table.add("p", {watch_kind::monitoring, w.id(), t.id(), old_id}, {w, t, 1, old_id});
  table.add("p", {watch_kind::monitoring, w.id(), t.id(), new_id}, {w, t, 2, new_id});
  table.fire_restarted("p", 2, "node at p restarted");
  CHECK(table.size(watch_kind::monitoring) == 1);
  REQUIRE(test::wait_until([&] { return h->downs_now() == 1; }));
  std::lock_guard lk(h->mu);
  CHECK(h->downs[0].monitor == old_id);
  CHECK(h->downs[0].reason.what == kind::node_restarted);
}

TEST_CASE("a fired watched_by entry makes the local target forget the watcher", "[watch]") {
  actor::actor_system sys;
  auto h = std::make_shared<heard>();
  auto t = sys.spawn<idle>();
  auto w = sys.spawn<recorder>(h, false);  // stands for the remote watcher (its proxy)
  const auto id = test::await_value(sys.request<wt_id>(w, wt_watch{t}, test::wait_limit)).id;
  REQUIRE(test::wait_until([&] { return sys.stats().monitors == 1; }));
  watch_table table;
  table.add("p", {watch_kind::watched_by, t.id(), w.id(), id}, {t, w, 3, id});
  CHECK(table.size(watch_kind::watched_by) == 1);
  table.fire_peer("p", actor::down_reason{kind::node_down, "gone", {}});
  CHECK(table.size(watch_kind::watched_by) == 0);
  REQUIRE(test::wait_until([&] { return sys.stats().monitors == 0; }));
}

TEST_CASE("a fired link entry stops a linked actor that does not trap exits, and reaches one that does",
          "[watch]") {
  actor::actor_system sys;
  auto h = std::make_shared<heard>();
  auto trapper_heard = std::make_shared<heard>();
  auto partner = sys.spawn<idle>();  // stands for the remote partner
  auto plain = sys.spawn<recorder>(std::make_shared<heard>(), false);
  auto trapper = sys.spawn<recorder>(trapper_heard, true);
  auto w = sys.spawn<recorder>(h, false);
  test::await_value(sys.request<wt_sync>(plain, wt_link{partner}, test::wait_limit));
  test::await_value(sys.request<wt_sync>(trapper, wt_link{partner}, test::wait_limit));
  test::await_value(sys.request<wt_id>(w, wt_watch{plain}, test::wait_limit));
  watch_table table;
  table.add("p", {watch_kind::linked, plain.id(), partner.id(), 0}, {plain, partner, 3, 1});
  table.add("p", {watch_kind::linked, trapper.id(), partner.id(), 0}, {trapper, partner, 3, 1});
  CHECK(table.size(watch_kind::linked) == 2);
  table.fire_peer("p", actor::down_reason{kind::node_down, "peer p is down", {}});
  REQUIRE(test::wait_until([&] { return h->downs_now() == 1; }));
  {
    std::lock_guard lk(h->mu);
    CHECK(h->downs[0].reason.what == kind::linked);
    CHECK_THAT(h->downs[0].reason.text, Catch::Matchers::Contains("node_down: peer p is down"));
  }
  REQUIRE(test::wait_until([&] { return trapper_heard->exits_now() == 1; }));
  std::lock_guard lk(trapper_heard->mu);
  CHECK(trapper_heard->exits[0].from == partner);
  CHECK(trapper_heard->exits[0].reason.what == kind::node_down);
}

TEST_CASE("a monitor or link of a stale ref to this node is answered noproc by the router", "[watch]") {
  actor::actor_system sys;
  actor::detail::transport_options o;
  o.node_name = "self";
  o.incarnation = 4242;
  o.listen = "tcp://127.0.0.1:0";
  auto r = std::make_shared<actor::detail::router>(sys, o);
  r->start();
  auto stale = r->from_wire(actor::detail::wire_ref{"self", r->address(), 17, 99});
  REQUIRE(stale);
  auto h = std::make_shared<heard>();
  auto w = sys.spawn<recorder>(h, true);
  const auto id = test::await_value(sys.request<wt_id>(w, wt_watch{stale}, test::wait_limit)).id;
  REQUIRE(test::wait_until([&] { return h->downs_now() == 1; }));
  test::await_value(sys.request<wt_sync>(w, wt_link{stale}, test::wait_limit));
  REQUIRE(test::wait_until([&] { return h->exits_now() == 1; }));
  {
    std::lock_guard lk(h->mu);
    CHECK(h->downs[0].monitor == id);
    CHECK(h->downs[0].reason.what == kind::noproc);
    CHECK_THAT(h->downs[0].reason.text, Catch::Matchers::Contains("earlier incarnation"));
    CHECK(h->exits[0].from == stale);
    CHECK(h->exits[0].reason.what == kind::noproc);
  }
  CHECK(sys.stats().links == 0);  // the exit ended the link
  sys.send(w, actor::stop_msg{});
  r->stop();
}
