// Requests: deadlines on a manual clock, error replies, response promises, and
// requests made by actors with then(on_reply, on_error).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace request_test {

struct block {
  ACTOR_NO_FIELDS
};
struct get_count {
  ACTOR_NO_FIELDS
};
struct count {
  std::int64_t n = 0;
  MSGPACK_DEFINE_MAP(n)
};
struct divide {
  std::int64_t a = 0;
  std::int64_t b = 0;
  MSGPACK_DEFINE_MAP(a, b)
};
struct quotient {
  std::int64_t q = 0;
  MSGPACK_DEFINE_MAP(q)
};
struct fail_with {
  actor::errc code{};
  std::string text;
  MSGPACK_DEFINE_MAP(code, text)
};
struct defer {
  ACTOR_NO_FIELDS
};
struct answer_twice {
  ACTOR_NO_FIELDS
};
struct ask {
  std::int64_t x = 0;
  std::int64_t timeout_ms = 0;
  MSGPACK_DEFINE_MAP(x, timeout_ms)
};
struct double_it {
  std::int64_t x = 0;
  MSGPACK_DEFINE_MAP(x)
};
struct doubled {
  std::int64_t value = 0;
  MSGPACK_DEFINE_MAP(value)
};
struct outcome {
  bool replied = false;
  std::int64_t value = 0;
  actor::errc code{};
  std::string text;
  MSGPACK_DEFINE_MAP(replied, value, code, text)
};
struct get_calls {
  ACTOR_NO_FIELDS
};
struct calls {
  std::int64_t replies = 0;
  std::int64_t errors = 0;
  MSGPACK_DEFINE_MAP(replies, errors)
};
struct release_all {
  ACTOR_NO_FIELDS
};
struct released {
  std::int64_t n = 0;
  MSGPACK_DEFINE_MAP(n)
};

}  // namespace request_test

ACTOR_MESSAGE(request_test::block, "test.request.block");
ACTOR_MESSAGE(request_test::get_count, "test.request.get_count");
ACTOR_MESSAGE(request_test::count, "test.request.count");
ACTOR_MESSAGE(request_test::divide, "test.request.divide");
ACTOR_MESSAGE(request_test::quotient, "test.request.quotient");
ACTOR_MESSAGE(request_test::fail_with, "test.request.fail_with");
ACTOR_MESSAGE(request_test::defer, "test.request.defer");
ACTOR_MESSAGE(request_test::answer_twice, "test.request.answer_twice");
ACTOR_MESSAGE(request_test::ask, "test.request.ask");
ACTOR_MESSAGE(request_test::double_it, "test.request.double_it");
ACTOR_MESSAGE(request_test::doubled, "test.request.doubled");
ACTOR_MESSAGE(request_test::outcome, "test.request.outcome");
ACTOR_MESSAGE(request_test::get_calls, "test.request.get_calls");
ACTOR_MESSAGE(request_test::calls, "test.request.calls");
ACTOR_MESSAGE(request_test::release_all, "test.request.release_all");
ACTOR_MESSAGE(request_test::released, "test.request.released");

namespace request_test {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::await_error;
using test::await_value;
using test::far_timeout;

// ---- deadlines ---------------------------------------------------------------------

// Blocks in its `block` handler until the test opens the gate.
class busy final : public actor::actor_base {
 public:
  busy(test::event& entered, test::event& gate) : entered_(entered), gate_(gate) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const block&) {
          entered_.set();
          gate_.wait_for(std::chrono::seconds(30));
        },
        [this](const get_count&) { return count{++answered_}; },
    };
  }

 private:
  test::event& entered_;
  test::event& gate_;
  std::int64_t answered_ = 0;
};

TEST_CASE("a request to a busy actor fails with timeout exactly when the clock passes its deadline", "[request][timeout]") {
  test::event entered;
  test::event gate;
  test::manual_system t;
  test::release_on_exit open_gate(gate);
  auto a = t.sys.spawn<busy>(entered, gate);
  t.sys.send(a, block{});
  REQUIRE(entered.wait_for());

  constexpr actor::duration timeout = 2s;
  auto reply = t.sys.request<count>(a, get_count{}, timeout);
  t.clk->advance(timeout - 1ns);
  CHECK_FALSE(test::is_ready(reply));  // nothing but the deadline can answer: the actor is blocked
  t.clk->advance(1ns);
  const auto err = await_error(std::move(reply));
  CHECK(err.code == actor::errc::timeout);

  // the actor was only slow: once unblocked it answers again
  gate.set();
  CHECK(await(t.sys.request<count>(a, get_count{}, far_timeout)).has_value());
}

TEST_CASE("a request answered in time is not touched by its deadline later", "[request][timeout]") {
  test::event entered;
  test::event gate;
  test::manual_system t;
  test::release_on_exit open_gate(gate);
  auto a = t.sys.spawn<busy>(entered, gate);
  auto reply = t.sys.request<count>(a, get_count{}, 1s);
  CHECK(await_value(std::move(reply)).n == 1);
  // the deadline timer is cancelled with the reply
  CHECK(test::wait_until([&] { return t.clk->pending() == 0; }));
  t.clk->advance(10s);
  CHECK(await_value(t.sys.request<count>(a, get_count{}, 1s)).n == 2);
}

TEST_CASE("a request to the empty ref fails with no_such_actor at once", "[request]") {
  test::manual_system t;
  const auto err = await_error(t.sys.request<count>(actor::actor_ref{}, get_count{}, far_timeout));
  CHECK(err.code == actor::errc::no_such_actor);
}

// ---- error replies and promises --------------------------------------------------------

class calculator final : public actor::actor_base {
 public:
  explicit calculator(std::shared_ptr<std::promise<actor::response_promise>> deferred = nullptr)
      : deferred_(std::move(deferred)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [](const divide& d) -> actor::expected<quotient> {
          if (d.b == 0) return actor::error{actor::errc::bad_message, "division by zero"};
          return quotient{d.a / d.b};
        },
        [](const fail_with& f) { return actor::error{f.code, f.text}; },
        [this](const defer&) { deferred_->set_value(make_response_promise()); },
        [this](const answer_twice&) {
          reply(quotient{1});
          reply(quotient{2});  // only the first answer counts
        },
    };
  }

 private:
  std::shared_ptr<std::promise<actor::response_promise>> deferred_;
};

TEST_CASE("a handler returning expected answers with its value or its error", "[request][error]") {
  test::manual_system t;
  auto a = t.sys.spawn<calculator>();
  CHECK(await_value(t.sys.request<quotient>(a, divide{12, 4}, far_timeout)).q == 3);
  const auto err = await_error(t.sys.request<quotient>(a, divide{1, 0}, far_timeout));
  CHECK(err.code == actor::errc::bad_message);
  CHECK(err.text == "division by zero");
}

TEST_CASE("a handler returning an error answers the request with that error and keeps running", "[request][error]") {
  test::manual_system t;
  auto a = t.sys.spawn<calculator>();
  const auto err = await_error(t.sys.request<quotient>(a, fail_with{actor::errc::unauthorized, "no entry"}, far_timeout));
  CHECK(err == actor::error{actor::errc::unauthorized, "no entry"});
  CHECK(t.sys.stats().actors_crashed == 0);
  CHECK(await_value(t.sys.request<quotient>(a, divide{9, 3}, far_timeout)).q == 3);
}

TEST_CASE("reply() answers the request and only its first answer counts", "[request]") {
  test::manual_system t;
  auto a = t.sys.spawn<calculator>();
  CHECK(await_value(t.sys.request<quotient>(a, answer_twice{}, far_timeout)).q == 1);
}

TEST_CASE("a response promise answers a request later from another thread and only once", "[request][promise]") {
  test::manual_system t;
  auto handed_over = std::make_shared<std::promise<actor::response_promise>>();
  auto promise_future = handed_over->get_future();
  auto a = t.sys.spawn<calculator>(handed_over);

  auto reply = t.sys.request<quotient>(a, defer{}, far_timeout);
  auto rp = await(promise_future);
  CHECK(rp.pending());
  CHECK_FALSE(test::is_ready(reply));  // the handler returned without answering

  // meanwhile the actor handles other requests
  CHECK(await_value(t.sys.request<quotient>(a, divide{8, 2}, far_timeout)).q == 4);

  rp.deliver(quotient{41});  // from the test thread
  CHECK_FALSE(rp.pending());
  rp.deliver(quotient{99});
  CHECK(await_value(std::move(reply)).q == 41);
}

// ---- requests made by actors -----------------------------------------------------------

class doubler final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const double_it& d) { return doubled{d.x * 2}; }};
  }
};

// Takes every double_it without answering, until released.
class sink final : public actor::actor_base {
 public:
  explicit sink(test::event& received) : received_(received) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const double_it&) {
          held_.push_back(make_response_promise());
          received_.set();
        },
        [this](const release_all&) {
          for (auto& rp : held_) rp.deliver(doubled{-1});
          const auto n = static_cast<std::int64_t>(held_.size());
          held_.clear();  // a promise holds a ref to its requester: keeping it would make a ref cycle
          return released{n};
        },
    };
  }

 private:
  test::event& received_;
  std::vector<actor::response_promise> held_;
};

class exploder final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const double_it&) -> doubled { throw std::runtime_error("target exploded"); }};
  }
};

// Forwards each `ask` to its target with request().then() and reports what came back.
class asker final : public actor::actor_base {
 public:
  explicit asker(actor::actor_ref target) : target_(std::move(target)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const ask& a) {
          auto rp = make_response_promise();
          request(target_, double_it{a.x}, std::chrono::milliseconds(a.timeout_ms))
              .then(
                  [this, rp](const doubled& d) mutable {
                    ++calls_.replies;
                    rp.deliver(outcome{true, d.value, {}, {}});
                  },
                  [this, rp](const actor::error& e) mutable {
                    ++calls_.errors;
                    rp.deliver(outcome{false, 0, e.code, e.text});
                  });
        },
        [this](const get_calls&) { return calls_; },
    };
  }

 private:
  actor::actor_ref target_;
  calls calls_;
};

TEST_CASE("an actor's request gets the reply through its on_reply continuation", "[request][actor]") {
  test::manual_system t;
  auto target = t.sys.spawn<doubler>();
  auto a = t.sys.spawn<asker>(target);
  const auto o = await_value(t.sys.request<outcome>(a, ask{21, 1000}, far_timeout));
  CHECK(o.replied);
  CHECK(o.value == 42);
  const auto c = await_value(t.sys.request<calls>(a, get_calls{}, far_timeout));
  CHECK(c.replies == 1);
  CHECK(c.errors == 0);
}

TEST_CASE("an actor's request that gets no answer ends in on_error with timeout at its deadline", "[request][actor][timeout]") {
  test::event received;
  test::manual_system t;
  auto target = t.sys.spawn<sink>(received);
  auto a = t.sys.spawn<asker>(target);
  auto reply = t.sys.request<outcome>(a, ask{5, 1000}, far_timeout);
  REQUIRE(received.wait_for());  // the request, and with it its deadline, exists now

  t.clk->advance(1000ms - 1ns);
  // a round trip to the asker: anything the clock enqueued would be handled before it
  CHECK(await_value(t.sys.request<calls>(a, get_calls{}, far_timeout)).errors == 0);
  CHECK_FALSE(test::is_ready(reply));

  t.clk->advance(1ns);
  const auto o = await_value(std::move(reply));
  CHECK_FALSE(o.replied);
  CHECK(o.code == actor::errc::timeout);

  // a reply after the deadline does not reach the continuation a second time
  CHECK(await_value(t.sys.request<released>(target, release_all{}, far_timeout)).n == 1);
  const auto c = await_value(t.sys.request<calls>(a, get_calls{}, far_timeout));
  CHECK(c.replies == 0);
  CHECK(c.errors == 1);
}

TEST_CASE("an actor's request to a stopped actor ends in on_error with actor_stopped", "[request][actor]") {
  test::manual_system t;
  auto target = t.sys.spawn<doubler>();
  REQUIRE(await(t.sys.stop(target, far_timeout)).has_value());
  auto a = t.sys.spawn<asker>(target);
  const auto o = await_value(t.sys.request<outcome>(a, ask{1, 1000}, far_timeout));
  CHECK_FALSE(o.replied);
  CHECK(o.code == actor::errc::actor_stopped);
}

TEST_CASE("an actor's request to an actor that crashes on it ends in on_error with remote_error", "[request][actor]") {
  test::manual_system t;
  auto target = t.sys.spawn<exploder>();
  auto a = t.sys.spawn<asker>(target);
  const auto o = await_value(t.sys.request<outcome>(a, ask{1, 1000}, far_timeout));
  CHECK_FALSE(o.replied);
  CHECK(o.code == actor::errc::remote_error);
  CHECK_THAT(o.text, Catch::Contains("target exploded"));
  const auto c = await_value(t.sys.request<calls>(a, get_calls{}, far_timeout));
  CHECK(c.replies == 0);
  CHECK(c.errors == 1);
}

TEST_CASE("an actor's request to the empty ref ends in on_error with no_such_actor", "[request][actor]") {
  test::manual_system t;
  auto a = t.sys.spawn<asker>(actor::actor_ref{});
  const auto o = await_value(t.sys.request<outcome>(a, ask{1, 1000}, far_timeout));
  CHECK_FALSE(o.replied);
  CHECK(o.code == actor::errc::no_such_actor);
}

}  // namespace
}  // namespace request_test
