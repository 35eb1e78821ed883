// Messages between actors: replies to plain sends, ordering per sender, the
// seeds' warehouse example, unhandled messages, fallbacks and wrong reply types.

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace messaging_test {

struct ping {
  std::int64_t n = 0;
  MSGPACK_DEFINE_MAP(n)
};
struct pong {
  std::int64_t n = 0;
  MSGPACK_DEFINE_MAP(n)
};
struct get_count {
  ACTOR_NO_FIELDS
};
struct count {
  std::int64_t n = 0;
  std::int64_t out_of_order = 0;
  MSGPACK_DEFINE_MAP(n, out_of_order)
};

// the seeds' warehouse example
struct task {
  std::int64_t input = 0;
  actor::actor_ref destination;  // packed by actor_ref's own adaptor (needs a node to cross the wire)
  MSGPACK_DEFINE_MAP(input, destination)
};
struct task_result {
  std::int64_t value = 0;
  MSGPACK_DEFINE_MAP(value)
};
struct flush {
  ACTOR_NO_FIELDS
};
struct flushed {
  std::int64_t tasks = 0;
  MSGPACK_DEFINE_MAP(tasks)
};
struct get_inventory {
  ACTOR_NO_FIELDS
};
struct inventory {
  std::vector<std::int64_t> items;
  MSGPACK_DEFINE_MAP(items)
};

// ordering
struct seq {
  std::int64_t source = 0;
  std::int64_t i = 0;
  MSGPACK_DEFINE_MAP(source, i)
};
struct go {
  ACTOR_NO_FIELDS
};
struct order_report {
  std::map<std::int64_t, std::int64_t> received;      // per source
  std::map<std::int64_t, std::int64_t> out_of_order;  // per source
  std::int64_t sender_mismatches = 0;                 // one source seen from two senders
  MSGPACK_DEFINE_MAP(received, out_of_order, sender_mismatches)
};

// unhandled messages and fallbacks
struct handled {
  ACTOR_NO_FIELDS
};
struct unhandled {
  ACTOR_NO_FIELDS
};
struct note {
  std::string text;
  std::int64_t number = 0;
  MSGPACK_DEFINE_MAP(text, number)
};
struct get_seen {
  ACTOR_NO_FIELDS
};
struct seen {
  std::vector<std::string> type_names;
  std::vector<std::string> note_texts;
  std::vector<std::string> packed;
  MSGPACK_DEFINE_MAP(type_names, note_texts, packed)
};
struct fallback_answer {
  std::string handled_by;
  MSGPACK_DEFINE_MAP(handled_by)
};

// wrong reply types
struct ask_a {
  ACTOR_NO_FIELDS
};
struct reply_a {
  ACTOR_NO_FIELDS
};
struct reply_b {
  std::int64_t x = 0;
  MSGPACK_DEFINE_MAP(x)
};
struct relay {
  ACTOR_NO_FIELDS
};
struct outcome {
  bool replied = false;
  actor::errc code{};
  std::string text;
  MSGPACK_DEFINE_MAP(replied, code, text)
};

}  // namespace messaging_test

ACTOR_MESSAGE(messaging_test::ping, "test.messaging.ping");
ACTOR_MESSAGE(messaging_test::pong, "test.messaging.pong");
ACTOR_MESSAGE(messaging_test::get_count, "test.messaging.get_count");
ACTOR_MESSAGE(messaging_test::count, "test.messaging.count");
ACTOR_MESSAGE(messaging_test::task, "test.messaging.task");
ACTOR_MESSAGE(messaging_test::task_result, "test.messaging.task_result");
ACTOR_MESSAGE(messaging_test::flush, "test.messaging.flush");
ACTOR_MESSAGE(messaging_test::flushed, "test.messaging.flushed");
ACTOR_MESSAGE(messaging_test::get_inventory, "test.messaging.get_inventory");
ACTOR_MESSAGE(messaging_test::inventory, "test.messaging.inventory");
ACTOR_MESSAGE(messaging_test::seq, "test.messaging.seq");
ACTOR_MESSAGE(messaging_test::go, "test.messaging.go");
ACTOR_MESSAGE(messaging_test::order_report, "test.messaging.order_report");
ACTOR_MESSAGE(messaging_test::handled, "test.messaging.handled");
ACTOR_MESSAGE(messaging_test::unhandled, "test.messaging.unhandled");
ACTOR_MESSAGE(messaging_test::note, "test.messaging.note");
ACTOR_MESSAGE(messaging_test::get_seen, "test.messaging.get_seen");
ACTOR_MESSAGE(messaging_test::seen, "test.messaging.seen");
ACTOR_MESSAGE(messaging_test::fallback_answer, "test.messaging.fallback_answer");
ACTOR_MESSAGE(messaging_test::ask_a, "test.messaging.ask_a");
ACTOR_MESSAGE(messaging_test::reply_a, "test.messaging.reply_a");
ACTOR_MESSAGE(messaging_test::reply_b, "test.messaging.reply_b");
ACTOR_MESSAGE(messaging_test::relay, "test.messaging.relay");
ACTOR_MESSAGE(messaging_test::outcome, "test.messaging.outcome");

namespace messaging_test {
namespace {

using test::await;
using test::await_error;
using test::await_value;
using test::far_timeout;

// ---- ping-pong ------------------------------------------------------------------

class ponger final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const ping& p) {
          if (p.n != pings_ + 1) ++out_of_order_;
          ++pings_;
          return pong{p.n};  // the answer to a plain send goes back to its sender
        },
        [this](const get_count&) { return count{pings_, out_of_order_}; },
    };
  }

 private:
  std::int64_t pings_ = 0;
  std::int64_t out_of_order_ = 0;
};

class pinger final : public actor::actor_base {
 public:
  pinger(actor::actor_ref partner, std::int64_t rounds, std::shared_ptr<std::promise<count>> done)
      : partner_(std::move(partner)), rounds_(rounds), done_(std::move(done)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const pong& p) {
      if (p.n != pongs_ + 1) ++out_of_order_;
      ++pongs_;
      if (!(sender() == partner_)) ++out_of_order_;
      if (pongs_ == rounds_) {
        done_->set_value(count{pongs_, out_of_order_});
      } else {
        send(partner_, ping{p.n + 1});
      }
    }};
  }
  void on_start() override { send(partner_, ping{1}); }

 private:
  actor::actor_ref partner_;
  std::int64_t rounds_;
  std::shared_ptr<std::promise<count>> done_;
  std::int64_t pongs_ = 0;
  std::int64_t out_of_order_ = 0;
};

TEST_CASE("ping-pong for 10000 rounds counts 10000 on both sides", "[messaging]") {
  constexpr std::int64_t rounds = 10'000;
  test::manual_system t;
  auto done = std::make_shared<std::promise<count>>();
  auto finished = done->get_future();
  auto pong_side = t.sys.spawn<ponger>();
  t.sys.spawn<pinger>(pong_side, rounds, done);

  const count ping_side = await(finished);
  CHECK(ping_side.n == rounds);
  CHECK(ping_side.out_of_order == 0);

  const count pong_count = await_value(t.sys.request<count>(pong_side, get_count{}, far_timeout));
  CHECK(pong_count.n == rounds);
  CHECK(pong_count.out_of_order == 0);
}

TEST_CASE("ping-pong completes whether idle workers sleep at once, poll briefly or poll for long",
          "[messaging][scheduler]") {
  // busy_poll 0: every message wakes a sleeping worker; 1 s: workers poll throughout,
  // and a sleeping one must still be woken when the poller is busy.
  const auto busy_poll = GENERATE(std::chrono::microseconds(0), std::chrono::microseconds(200),
                                  std::chrono::microseconds(1'000'000));
  const std::size_t workers = GENERATE(1u, 2u, 4u);
  CAPTURE(busy_poll.count(), workers);
  constexpr std::int64_t rounds = 2'000;
  actor::system_options opts;
  opts.workers = workers;
  opts.busy_poll = busy_poll;
  actor::actor_system sys(opts);
  std::vector<std::shared_ptr<std::promise<count>>> done;
  std::vector<std::future<count>> finished;
  for (int pair = 0; pair < 3; ++pair) {  // more pairs than some worker counts: jobs queue up
    done.push_back(std::make_shared<std::promise<count>>());
    finished.push_back(done.back()->get_future());
    sys.spawn<pinger>(sys.spawn<ponger>(), rounds, done.back());
  }
  for (auto& f : finished) {
    const count c = await(f);
    CHECK(c.n == rounds);
    CHECK(c.out_of_order == 0);
  }
}

// ---- the warehouse example ------------------------------------------------------------

class worker final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const task& t) {
          ++tasks_;
          send(t.destination, task_result{t.input * 2});
        },
        [this](const flush&) { return flushed{tasks_}; },
    };
  }

 private:
  std::int64_t tasks_ = 0;
};

class warehouse final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const task_result& r) { items_.push_back(r.value); },
        [this](const get_inventory&) { return inventory{items_}; },
    };
  }

 private:
  std::vector<std::int64_t> items_;
};

TEST_CASE("the warehouse example sorts doubled numbers into two warehouses in order", "[messaging][example]") {
  test::manual_system t;
  auto doubler = t.sys.spawn<worker>();
  auto positives = t.sys.spawn<warehouse>();
  auto negatives = t.sys.spawn<warehouse>();

  const std::vector<std::int64_t> inputs{1, 2, 3, -2, -4, -6};
  for (auto v : inputs) t.sys.send(doubler, task{v, v >= 0 ? positives : negatives});

  // The flush request follows the tasks from this thread, so when it is answered the
  // worker has sent every result; the inventory requests are sent after that.
  CHECK(await_value(t.sys.request<flushed>(doubler, flush{}, far_timeout)).tasks ==
        static_cast<std::int64_t>(inputs.size()));

  CHECK(await_value(t.sys.request<inventory>(positives, get_inventory{}, far_timeout)).items ==
        std::vector<std::int64_t>{2, 4, 6});
  CHECK(await_value(t.sys.request<inventory>(negatives, get_inventory{}, far_timeout)).items ==
        std::vector<std::int64_t>{-4, -8, -12});

  std::vector<std::future<actor::expected<actor::stopped>>> stops;
  for (const auto& r : {doubler, positives, negatives}) stops.push_back(t.sys.stop(r, far_timeout));
  for (auto& f : stops) CHECK(await(f).has_value());
}

// ---- ordering -----------------------------------------------------------------------

class collector final : public actor::actor_base {
 public:
  collector(std::int64_t expected_total, std::shared_ptr<std::promise<void>> all_in)
      : expected_total_(expected_total), all_in_(std::move(all_in)) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const seq& s) {
          auto& n = report_.received[s.source];
          if (s.i != n) ++report_.out_of_order[s.source];
          ++n;
          // a source is one sender: every message of it must come from the same ref
          auto [it, inserted] = senders_.emplace(s.source, sender().id());
          if (!inserted && it->second != sender().id()) ++report_.sender_mismatches;
          if (++total_ == expected_total_ && all_in_) all_in_->set_value();
        },
        [this](const get_count&) { return report_; },
    };
  }

 private:
  std::int64_t expected_total_;
  std::shared_ptr<std::promise<void>> all_in_;
  std::int64_t total_ = 0;
  order_report report_;
  std::map<std::int64_t, std::uint64_t> senders_;
};

class sequencer final : public actor::actor_base {
 public:
  sequencer(actor::actor_ref to, std::int64_t source, std::int64_t n) : to_(std::move(to)), source_(source), n_(n) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const go&) {
      for (std::int64_t i = 0; i < n_; ++i) send(to_, seq{source_, i});
    }};
  }

 private:
  actor::actor_ref to_;
  std::int64_t source_;
  std::int64_t n_;
};

void check_report(const order_report& r, std::int64_t sources, std::int64_t per_source) {
  CHECK(static_cast<std::int64_t>(r.received.size()) == sources);
  for (const auto& [source, n] : r.received) {
    INFO("source " << source);
    CHECK(n == per_source);
  }
  CHECK(r.out_of_order.empty());
  CHECK(r.sender_mismatches == 0);
}

TEST_CASE("many messages from one sender arrive in the order sent", "[messaging][order]") {
  constexpr std::int64_t n = 20'000;
  test::manual_system t;
  auto sink = t.sys.spawn<collector>(n, nullptr);
  for (std::int64_t i = 0; i < n; ++i) t.sys.send(sink, seq{0, i});
  // the request comes after the messages from the same thread: it sees all of them
  check_report(await_value(t.sys.request<order_report>(sink, get_count{}, far_timeout)), 1, n);
}

namespace {
// envelopes seq{0, from}..seq{0, to - 1}, linked newest first as enqueue_chain takes them
std::pair<actor::detail::envelope*, actor::detail::envelope*> chain_of(std::int64_t from, std::int64_t to) {
  actor::detail::envelope* newest = nullptr;
  actor::detail::envelope* oldest = nullptr;
  for (std::int64_t i = from; i < to; ++i) {
    auto* e = actor::detail::make_envelope(seq{0, i}, actor::detail::envelope_kind::send, {});
    e->next = newest;
    newest = e;
    if (oldest == nullptr) oldest = e;
  }
  return {newest, oldest};
}
}  // namespace

TEST_CASE("a chain of envelopes is handled in order, between what came before and after it", "[messaging][order]") {
  test::manual_system t;
  auto sink = t.sys.spawn<collector>(30, nullptr);
  for (std::int64_t i = 0; i < 10; ++i) t.sys.send(sink, seq{0, i});
  auto [newest, oldest] = chain_of(10, 20);
  sink.endpoint()->enqueue_chain(newest, oldest);  // an actor's mailbox takes it in one step
  for (std::int64_t i = 20; i < 30; ++i) t.sys.send(sink, seq{0, i});
  check_report(await_value(t.sys.request<order_report>(sink, get_count{}, far_timeout)), 1, 30);

  // an endpoint without a mailbox of its own gets them one by one, oldest first
  struct recorder final : actor::detail::endpoint {
    std::vector<std::int64_t> got;
    void enqueue(actor::detail::envelope* e) noexcept override {
      got.push_back(static_cast<const seq*>(e->data)->i);
      delete e;
    }
  } r;
  auto [first, last] = chain_of(0, 5);
  r.enqueue_chain(first, last);
  CHECK(r.got == std::vector<std::int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("several concurrent sender actors each keep their order at one receiver", "[messaging][order]") {
  constexpr std::int64_t senders = 4;
  constexpr std::int64_t per_sender = 5'000;
  test::manual_system t(4);
  auto all_in = std::make_shared<std::promise<void>>();
  auto all_in_future = all_in->get_future();
  auto sink = t.sys.spawn<collector>(senders * per_sender, all_in);
  std::vector<actor::actor_ref> sources;
  for (std::int64_t s = 0; s < senders; ++s) sources.push_back(t.sys.spawn<sequencer>(sink, s, per_sender));
  for (const auto& s : sources) t.sys.send(s, go{});

  await(all_in_future);
  check_report(await_value(t.sys.request<order_report>(sink, get_count{}, far_timeout)), senders, per_sender);
}

TEST_CASE("several threads sending from outside the actors each keep their order", "[messaging][order]") {
  constexpr std::int64_t threads = 4;
  constexpr std::int64_t per_thread = 5'000;
  test::manual_system t;
  auto all_in = std::make_shared<std::promise<void>>();
  auto all_in_future = all_in->get_future();
  auto sink = t.sys.spawn<collector>(threads * per_thread, all_in);
  {
    std::vector<std::jthread> senders;
    for (std::int64_t s = 0; s < threads; ++s) {
      senders.emplace_back([&t, sink, s] {
        for (std::int64_t i = 0; i < per_thread; ++i) t.sys.send(sink, seq{s, i});
      });
    }
  }
  await(all_in_future);
  const auto report = await_value(t.sys.request<order_report>(sink, get_count{}, far_timeout));
  CHECK(static_cast<std::int64_t>(report.received.size()) == threads);
  for (const auto& [source, n] : report.received) CHECK(n == per_thread);
  CHECK(report.out_of_order.empty());
}

// ---- unhandled messages and fallbacks --------------------------------------------------

class picky final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const handled&) { return reply_a{}; }};
  }
};

TEST_CASE("a request with no matching handler fails with bad_message", "[messaging][unhandled]") {
  test::manual_system t;
  auto a = t.sys.spawn<picky>();
  const auto err = await_error(t.sys.request<reply_a>(a, unhandled{}, far_timeout));
  CHECK(err.code == actor::errc::bad_message);
  CHECK_THAT(err.text, Catch::Contains("test.messaging.unhandled"));
  // the actor is not harmed by it
  CHECK(await(t.sys.request<reply_a>(a, handled{}, far_timeout)).has_value());
}

TEST_CASE("a plain message with no matching handler is counted as a dead letter", "[messaging][unhandled]") {
  test::manual_system t;
  auto a = t.sys.spawn<picky>();
  const auto before = t.sys.stats().dead_letters;
  t.sys.send(a, unhandled{});
  t.sys.send(a, unhandled{});
  REQUIRE(await(t.sys.request<reply_a>(a, handled{}, far_timeout)).has_value());  // after both
  CHECK(t.sys.stats().dead_letters == before + 2);
}

class observer final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        actor::others([this](const actor::message& m) {
          seen_.type_names.emplace_back(m.type_name());
          if (m.is<note>()) seen_.note_texts.push_back(m.get<note>().text);
          seen_.packed.push_back(m.pack());
          return fallback_answer{"fallback"};
        }),
        [](const handled&) { return fallback_answer{"typed"}; },  // listed after the fallback on purpose
        [this](const get_seen&) { return seen_; },
    };
  }

 private:
  seen seen_;
};

TEST_CASE("a fallback sees every message without a handler of its own", "[messaging][fallback]") {
  test::manual_system t;
  auto a = t.sys.spawn<observer>();
  t.sys.send(a, note{"hello", 42});
  t.sys.send(a, unhandled{});
  t.sys.send(a, handled{});  // has a typed handler: not for the fallback

  const auto s = await_value(t.sys.request<seen>(a, get_seen{}, far_timeout));
  REQUIRE(s.type_names == std::vector<std::string>{"test.messaging.note", "test.messaging.unhandled"});
  CHECK(s.note_texts == std::vector<std::string>{"hello"});
  // the fallback can read the body as MessagePack
  REQUIRE(s.packed.size() == 2);
  auto decoded = msgpack::unpack(s.packed[0].data(), s.packed[0].size());
  const auto n = decoded.get().as<note>();
  CHECK(n.text == "hello");
  CHECK(n.number == 42);
}

TEST_CASE("a typed handler wins over the fallback and the fallback can answer requests", "[messaging][fallback]") {
  test::manual_system t;
  auto a = t.sys.spawn<observer>();
  CHECK(await_value(t.sys.request<fallback_answer>(a, handled{}, far_timeout)).handled_by == "typed");
  CHECK(await_value(t.sys.request<fallback_answer>(a, unhandled{}, far_timeout)).handled_by == "fallback");
}

// ---- wrong reply types ------------------------------------------------------------------

class wrong_replier final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {
        [](const ask_a&) { return reply_b{7}; },  // the requester expects reply_a
        [](const handled&) { return reply_a{}; },
    };
  }
};

TEST_CASE("a reply of the wrong type gives bad_message to a requester outside the actors", "[messaging][reply]") {
  test::manual_system t;
  auto a = t.sys.spawn<wrong_replier>();
  const auto err = await_error(t.sys.request<reply_a>(a, ask_a{}, far_timeout));
  CHECK(err.code == actor::errc::bad_message);
  CHECK_THAT(err.text, Catch::Contains("test.messaging.reply_b"));
  // neither side crashed
  CHECK(await(t.sys.request<reply_a>(a, handled{}, far_timeout)).has_value());
  CHECK(t.sys.stats().actors_crashed == 0);
}

class relayer final : public actor::actor_base {
 public:
  explicit relayer(actor::actor_ref target) : target_(std::move(target)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const relay&) {
      auto rp = make_response_promise();
      request(target_, ask_a{}, far_timeout)
          .then([rp](const reply_a&) mutable { rp.deliver(outcome{true, {}, {}}); },
                [rp](const actor::error& e) mutable { rp.deliver(outcome{false, e.code, e.text}); });
    }};
  }

 private:
  actor::actor_ref target_;
};

TEST_CASE("a reply of the wrong type reaches an actor's continuation as bad_message", "[messaging][reply]") {
  test::manual_system t;
  auto target = t.sys.spawn<wrong_replier>();
  auto a = t.sys.spawn<relayer>(target);
  const auto o = await_value(t.sys.request<outcome>(a, relay{}, far_timeout));
  CHECK_FALSE(o.replied);
  CHECK(o.code == actor::errc::bad_message);
  CHECK(t.sys.stats().actors_crashed == 0);
  CHECK(t.sys.stats().actors_alive == 2);
}

}  // namespace
}  // namespace messaging_test
