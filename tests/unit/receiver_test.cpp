// Receive-style actors (actor/receiver.hpp), both kinds: a thread of their own, and coroutines
// on the pool. Selective receive, receive with a timeout on a stepped clock, call among many
// queued messages, late replies, races at the deadline, crashes, stops, dynamic messages.

#include <atomic>
#include <cstdint>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actor/receiver.hpp"
#include "test_support.hpp"

namespace receiver_test {

struct greeting {
  std::string who;
  ACTOR_FIELDS(who)
};
struct farewell {
  std::string who;
  ACTOR_FIELDS(who)
};
struct num {
  std::int32_t v = 0;
  ACTOR_FIELDS(v)
};
struct ask {
  std::int32_t v = 0;
  std::int32_t flood = 0;  // how many num the answerer sends the asker before it replies
  ACTOR_FIELDS(v, flood)
};
struct answer {
  std::int32_t v = 0;
  ACTOR_FIELDS(v)
};
struct hold {  // the answerer keeps the request and answers when the test says
  ACTOR_NO_FIELDS
};

}  // namespace receiver_test

ACTOR_MESSAGE(receiver_test::greeting, "test.receiver.greeting");
ACTOR_MESSAGE(receiver_test::farewell, "test.receiver.farewell");
ACTOR_MESSAGE(receiver_test::num, "test.receiver.num");
ACTOR_MESSAGE(receiver_test::ask, "test.receiver.ask");
ACTOR_MESSAGE(receiver_test::answer, "test.receiver.answer");
ACTOR_MESSAGE(receiver_test::hold, "test.receiver.hold");

namespace receiver_test {

using namespace std::chrono_literals;
using actor::of;
using test::await;
using test::wait_limit;

// A behavior actor that answers ask with answer{v + 1}, first sending `flood` num to the asker;
// hold requests it keeps in `held` for the test to answer.
class answerer final : public actor::actor_base {
 public:
  explicit answerer(std::vector<actor::response_promise>* held = nullptr, std::mutex* mu = nullptr)
      : held_(held), mu_(mu) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const ask& a) {
              for (std::int32_t i = 0; i < a.flood; ++i) send(sender(), num{i});
              return answer{a.v + 1};
            },
            [this](const hold&) {
              std::lock_guard lk(*mu_);
              held_->push_back(make_response_promise());
            }};
  }

 private:
  std::vector<actor::response_promise>* held_;
  std::mutex* mu_;
};

// What a receiver saw, for the test thread to check.
struct log {
  std::mutex mu;
  std::vector<std::string> lines;
  void add(std::string s) {
    std::lock_guard lk(mu);
    lines.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard lk(mu);
    return lines;
  }
  std::size_t size() {
    std::lock_guard lk(mu);
    return lines.size();
  }
};

actor::system_options two_workers() {
  actor::system_options o;
  o.workers = 2;
  return o;
}

std::string describe(const actor::received& m) {
  if (m.match<greeting>()) return "greeting " + m.as<greeting>().who;
  if (m.match<farewell>()) return "farewell " + m.as<farewell>().who;
  if (m.match<num>()) return "num " + std::to_string(m.as<num>().v);
  return std::string(m.type_name());
}

// Monitors `ref` from a thread receiver of the test's own; the future gets the reason it is gone.
// Returns once the monitor is in place.
std::future<actor::down_reason> watch(actor::actor_system& sys, const actor::actor_ref& ref) {
  auto reason = std::make_shared<std::promise<actor::down_reason>>();
  auto got = reason->get_future();
  const auto before = sys.stats().monitors;
  actor::spawn_receiver(sys, [ref, reason](actor::receiver& self) {
    self.monitor(ref);
    auto m = self.receive(actor::forever, of<actor::down_msg>);
    reason->set_value(m->as<actor::down_msg>().reason);
  });
  REQUIRE(test::wait_until([&] { return sys.stats().monitors > before || test::is_ready(got); }));
  return got;
}

// The reason the actor behind `ref` is gone (noproc when it was gone already).
actor::down_reason await_down(actor::actor_system& sys, const actor::actor_ref& ref) { return await(watch(sys, ref)); }

TEST_CASE("a thread receiver reads its mailbox in order and stops normally when its function returns", "[receiver]") {
  actor::actor_system sys;
  log seen;
  auto printer = actor::spawn_receiver(sys, [&seen](actor::receiver& self) {
    for (;;) {
      auto m = self.receive();
      if (m.match<greeting>()) {
        seen.add("Hello " + m.as<greeting>().who);
      } else if (m.match<farewell>()) {
        seen.add("Goodbye " + m.as<farewell>().who);
        return;
      }
    }
  });
  auto down = watch(sys, printer);
  sys.send(printer, greeting{"World"});
  sys.send(printer, num{7});
  sys.send(printer, farewell{"World"});
  auto why = await(down);
  CHECK(why.what == actor::down_reason::kind::normal);
  CHECK(seen.get() == std::vector<std::string>{"Hello World", "Goodbye World"});
}

TEST_CASE("a coroutine receiver reads its mailbox in order and stops normally when it returns", "[receiver]") {
  actor::actor_system sys;
  log seen;
  auto printer = actor::spawn_receiver(sys, [&seen](actor::co_receiver& self) -> actor::receiver_task {
    for (;;) {
      auto m = co_await self.receive();
      if (m.match<greeting>()) {
        seen.add("Hello " + m.as<greeting>().who);
      } else if (m.match<farewell>()) {
        seen.add("Goodbye " + m.as<farewell>().who);
        co_return;
      }
    }
  });
  auto down = watch(sys, printer);
  sys.send(printer, greeting{"World"});
  sys.send(printer, farewell{"World"});
  auto why = await(down);
  CHECK(why.what == actor::down_reason::kind::normal);
  CHECK(seen.get() == std::vector<std::string>{"Hello World", "Goodbye World"});
}

TEST_CASE("selective receive takes the first match and leaves the others in order", "[receiver]") {
  actor::actor_system sys;
  log seen;
  test::event sent;
  SECTION("thread receiver") {
    auto r = actor::spawn_receiver(sys, [&](actor::receiver& self) {
      if (!sent.wait_for()) return;
      // wait for the last one first: the others stay queued
      auto last = self.receive(wait_limit, [](const actor::received& m) { return m.match<num>() && m.as<num>().v == 9; });
      seen.add(last ? describe(*last) : "timeout");
      for (int i = 0; i < 2; ++i) seen.add(describe(*self.receive(wait_limit, of<farewell>)));
      for (int i = 0; i < 4; ++i) seen.add(describe(*self.receive(wait_limit, of<greeting>, "test.receiver.num")));
      seen.add(self.receive(0ms) ? "more" : "empty");
    });
    sys.send(r, greeting{"a"});
    sys.send(r, farewell{"a"});
    sys.send(r, num{1});
    sys.send(r, greeting{"b"});
    sys.send(r, farewell{"b"});
    sys.send(r, num{9});
    sys.send(r, num{2});
    sent.set();
    await_down(sys, r);
  }
  SECTION("coroutine receiver") {
    auto r = actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      auto last = co_await self.receive(wait_limit, [](const actor::received& m) { return m.match<num>() && m.as<num>().v == 9; });
      seen.add(last ? describe(*last) : "timeout");
      for (int i = 0; i < 2; ++i) seen.add(describe(*co_await self.receive(wait_limit, of<farewell>)));
      for (int i = 0; i < 4; ++i) seen.add(describe(*co_await self.receive(wait_limit, of<greeting>, "test.receiver.num")));
      seen.add(co_await self.receive(0ms) ? "more" : "empty");
    });
    sys.send(r, greeting{"a"});
    sys.send(r, farewell{"a"});
    sys.send(r, num{1});
    sys.send(r, greeting{"b"});
    sys.send(r, farewell{"b"});
    sys.send(r, num{9});
    sys.send(r, num{2});
    await_down(sys, r);
  }
  CHECK(seen.get() == std::vector<std::string>{"num 9", "farewell a", "farewell b", "greeting a", "num 1",
                                               "greeting b", "num 2", "empty"});
}

TEST_CASE("receive with a timeout follows the system's clock", "[receiver]") {
  test::manual_system m;
  log seen;
  std::atomic<int> waits{0};
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(m.sys, [&](actor::receiver& self) {
      for (int i = 0; i < 2; ++i) {
        ++waits;
        auto got = self.receive(10s);
        seen.add(got ? describe(*got) : "timeout");
      }
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(m.sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      for (int i = 0; i < 2; ++i) {
        ++waits;
        auto got = co_await self.receive(10s);
        seen.add(got ? describe(*got) : "timeout");
      }
    });
  }
  REQUIRE(test::wait_until([&] { return waits == 1 && m.clk->pending() == 1; }));
  m.clk->advance(9s);
  CHECK(seen.size() == 0);  // not yet
  m.clk->advance(1s);
  REQUIRE(test::wait_until([&] { return seen.size() == 1; }));
  CHECK(seen.get() == std::vector<std::string>{"timeout"});
  // a message before the deadline ends the wait, and the deadline's timer goes
  REQUIRE(test::wait_until([&] { return waits == 2 && m.clk->pending() == 1; }));
  m.clk->advance(5s);
  CHECK(seen.size() == 1);
  m.sys.send(r, num{3});
  REQUIRE(test::wait_until([&] { return seen.size() == 2; }));
  CHECK(seen.get().back() == "num 3");
  REQUIRE(test::wait_until([&] { return m.clk->pending() == 0; }));
}

TEST_CASE("call finds its reply among 10000 queued messages and keeps their order", "[receiver]") {
  actor::actor_system sys;
  constexpr int flood = 10'000;
  auto b = sys.spawn<answerer>();
  std::promise<std::string> result;
  auto check_rest = [&](auto next) {
    for (int i = 0; i < flood; ++i) {
      auto m = next();
      if (!m || !m->template match<num>() || m->template as<num>().v != i) return "message " + std::to_string(i) + " out of order";
    }
    return std::string("ok");
  };
  SECTION("thread receiver") {
    actor::spawn_receiver(sys, [&](actor::receiver& self) {
      auto r = self.call<answer>(b, ask{41, flood}, wait_limit);
      if (!r) return result.set_value(r.error().describe());
      if (r->v != 42) return result.set_value("wrong reply");
      result.set_value(check_rest([&] { return self.receive(wait_limit); }));
    });
  }
  SECTION("coroutine receiver") {
    actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      auto r = co_await self.call(b, ask{41, flood}, wait_limit);
      if (!r) co_return result.set_value(r.error().describe());
      if (r->as<answer>().v != 42) co_return result.set_value("wrong reply");
      for (int i = 0; i < flood; ++i) {
        auto m = co_await self.receive(wait_limit);
        if (!m || !m->match<num>() || m->as<num>().v != i) co_return result.set_value("out of order at " + std::to_string(i));
      }
      result.set_value("ok");
    });
  }
  CHECK(await(result.get_future()) == "ok");
}

TEST_CASE("a reply after the call's timeout is counted and never received as a message", "[receiver]") {
  test::manual_system m;
  std::vector<actor::response_promise> held;
  std::mutex mu;
  auto b = m.sys.spawn<answerer>(&held, &mu);
  std::promise<std::string> first;
  std::promise<std::string> then;
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(m.sys, [&](actor::receiver& self) {
      auto out = self.call<answer>(b, hold{}, 1s);
      first.set_value(out ? "reply" : out.error().describe());
      auto x = self.receive(test::far_timeout);
      then.set_value(x ? describe(*x) : "nothing");
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(m.sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      auto out = co_await self.call(b, hold{}, 1s);
      first.set_value(out ? "reply" : out.error().describe());
      auto x = co_await self.receive(test::far_timeout);
      then.set_value(x ? describe(*x) : "nothing");
    });
  }
  REQUIRE(test::wait_until([&] {
    std::lock_guard lk(mu);
    return held.size() == 1;
  }));
  m.clk->advance(1s);
  CHECK(await(first.get_future()).rfind("timeout", 0) == 0);
  {
    std::lock_guard lk(mu);
    held[0].deliver(answer{1});
  }
  REQUIRE(test::wait_until([&] { return m.sys.stats().late_replies == 1; }));
  m.sys.send(r, num{5});  // the next message received is this one, not the late reply
  CHECK(await(then.get_future()) == "num 5");
}

TEST_CASE("a message that arrives as a wait times out is never lost (100000 races)", "[receiver]") {
  actor::actor_system sys(two_workers());
  constexpr int count = 100'000;
  std::promise<std::string> result;
  auto check = [](int& next, const actor::received& m) {
    if (!m.match<num>() || m.as<num>().v != next) return false;
    ++next;
    return true;
  };
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(sys, [&](actor::receiver& self) {
      int next = 0;
      while (next < count) {
        auto m = self.receive(std::chrono::microseconds(next % 7));
        if (m && !check(next, *m)) {
          return result.set_value("lost or reordered at " + std::to_string(next));
        }
      }
      result.set_value("ok");
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      int next = 0;
      while (next < count) {
        auto m = co_await self.receive(std::chrono::microseconds(next % 7));
        if (m && !check(next, *m)) co_return result.set_value("lost or reordered at " + std::to_string(next));
      }
      result.set_value("ok");
    });
  }
  for (int i = 0; i < count; ++i) sys.send(r, num{i});
  auto f = result.get_future();
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  CHECK(f.get() == "ok");
}

TEST_CASE("a receiver that throws stops crashed with the exception's text and type", "[receiver]") {
  actor::actor_system sys;
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(sys, [](actor::receiver& self) {
      (void)self.receive();
      throw std::runtime_error("boom");
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(sys, [](actor::co_receiver& self) -> actor::receiver_task {
      (void)co_await self.receive();
      throw std::runtime_error("boom");
    });
  }
  auto down = watch(sys, r);  // before the message that crashes it: the down is crashed, not noproc
  sys.send(r, num{1});
  auto why = await(down);
  CHECK(why.what == actor::down_reason::kind::crashed);
  CHECK(why.text == "boom");
  CHECK(why.error_type == "std::runtime_error");
  CHECK(sys.stats().actors_crashed == 1);
}

TEST_CASE("a receiver answers requests with reply and a request it drops is answered at once", "[receiver]") {
  actor::actor_system sys;
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(sys, [](actor::receiver& self) {
      for (;;) {
        auto m = self.receive();
        if (m.match<ask>()) self.reply(m, answer{m.as<ask>().v * 2});
        // anything else is dropped unanswered
      }
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(sys, [](actor::co_receiver& self) -> actor::receiver_task {
      for (;;) {
        auto m = co_await self.receive();
        if (m.match<ask>()) self.reply(m, answer{m.as<ask>().v * 2});
      }
    });
  }
  CHECK(test::await_value(sys.request<answer>(r, ask{21}, wait_limit)).v == 42);
  auto e = test::await_error(sys.request<answer>(r, num{1}, wait_limit));
  CHECK(e.code == actor::errc::remote_error);
  CHECK(e.text.find("dropped the request without a reply") != std::string::npos);
}

TEST_CASE("a receiver stopped from outside ends where it waits", "[receiver]") {
  actor::actor_system sys;
  std::atomic<int> unwound{0};
  struct guard {
    std::atomic<int>& n;
    ~guard() { ++n; }
  };
  test::event waiting;
  actor::actor_ref r;
  SECTION("thread receiver, in receive") {
    r = actor::spawn_receiver(sys, [&](actor::receiver& self) {
      guard g{unwound};
      waiting.set();
      (void)self.receive();
    });
  }
  SECTION("thread receiver, in call") {
    r = actor::spawn_receiver(sys, [&](actor::receiver& self) {
      guard g{unwound};
      waiting.set();
      (void)self.call<answer>(self.self(), ask{1}, 24h);  // to itself: nobody answers
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      guard g{unwound};
      waiting.set();
      (void)co_await self.receive();
    });
  }
  REQUIRE(waiting.wait_for());
  auto down = watch(sys, r);
  auto stopped = sys.stop(r, wait_limit);
  CHECK(await(stopped).has_value());
  // nothing hears of the death while the receiver's code still runs: its locals are gone first
  CHECK(unwound == 1);
  CHECK(await(down).what == actor::down_reason::kind::stopped);
  CHECK(unwound == 1);
}

TEST_CASE("receive with a zero timeout returns while messages keep coming", "[receiver]") {
  actor::actor_system sys;
  std::atomic<bool> stop_flood{false};
  std::promise<std::string> result;
  actor::actor_ref r;
  SECTION("thread receiver") {
    r = actor::spawn_receiver(sys, [&](actor::receiver& self) {
      (void)self.receive(wait_limit, of<num>);  // the flood has begun
      auto none = self.receive(0ms, of<farewell>);
      result.set_value(none ? "a farewell" : "nothing");
    });
  }
  SECTION("coroutine receiver") {
    r = actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
      (void)co_await self.receive(wait_limit, of<num>);
      auto none = co_await self.receive(0ms, of<farewell>);
      result.set_value(none ? "a farewell" : "nothing");
    });
  }
  std::thread flood([&] {
    for (int i = 0; !stop_flood.load(); ++i) sys.send(r, num{i});
  });
  auto f = result.get_future();
  const bool returned = f.wait_for(wait_limit) == std::future_status::ready;
  stop_flood = true;
  flood.join();
  REQUIRE(returned);
  CHECK(f.get() == "nothing");
}

// Answers every message with a copy of it.
class echoer final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {actor::others([](const actor::message& m) { return actor::any_message(m); })};
  }
};

TEST_CASE("call<R> with a request of the reply's own type (an echo)", "[receiver]") {
  actor::actor_system sys;
  auto echo = sys.spawn<echoer>();
  std::promise<std::string> got;
  actor::spawn_receiver(sys, [&](actor::receiver& self) {
    auto typed = self.call<num>(echo, num{3}, wait_limit);
    auto any = self.call(echo, num{4}, wait_limit);
    got.set_value(std::to_string(typed ? typed->v : -1) + " " + std::to_string(any ? any->as<num>().v : -1));
  });
  CHECK(await(got.get_future()) == "3 4");
}

TEST_CASE("100000 coroutine receivers wait at once and then all wake", "[receiver]") {
  actor::actor_system sys(two_workers());
  constexpr int count = 100'000;
  std::atomic<int> woken{0};
  std::vector<actor::actor_ref> refs;
  refs.reserve(count);
  for (int i = 0; i < count; ++i) {
    refs.push_back(actor::spawn_receiver(sys, [&woken](actor::co_receiver& self) -> actor::receiver_task {
      auto m = co_await self.receive();
      if (m.match<num>()) ++woken;
    }));
  }
  CHECK(sys.stats().actors_alive == count);
  for (auto& r : refs) sys.send(r, num{1});
  REQUIRE(test::wait_until([&] { return woken == count; }, 60s));
  REQUIRE(sys.await_all_actors_done_for(std::chrono::milliseconds(60'000)));
  CHECK(sys.stats().actors_alive == 0);
}

TEST_CASE("dynamic messages are matched by their type name", "[receiver]") {
  actor::actor_system sys;
  std::promise<std::string> got;
  auto r = actor::spawn_receiver(sys, [&](actor::co_receiver& self) -> actor::receiver_task {
    auto m = co_await self.receive(wait_limit, "example.greeting");
    if (!m) co_return got.set_value("timeout");
    auto args = m->as<actor::dynamic_message>().args_as<std::vector<std::string>>();
    got.set_value(args ? std::string(m->type_name()) + " " + args->at(0) : args.error().describe());
  });
  sys.send(r, actor::dynamic_message::of("example.other", 1));
  sys.send(r, actor::dynamic_message::of("example.greeting", std::vector<std::string>{"World"}));
  CHECK(await(got.get_future()) == "example.greeting World");
}

TEST_CASE("as<T> on a message of another type names both types", "[receiver]") {
  actor::actor_system sys;
  auto r = actor::spawn_receiver(sys, [](actor::receiver& self) { (void)self.receive().as<greeting>(); });
  auto down = watch(sys, r);
  sys.send(r, num{1});
  auto why = await(down);
  CHECK(why.what == actor::down_reason::kind::crashed);
  CHECK(why.text == "the message is a test.receiver.num, not a test.receiver.greeting");
}

}  // namespace receiver_test
