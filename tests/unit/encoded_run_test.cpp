// Runs of encoded sends (libactor/src/encoded_envelope.hpp): what a node's I/O
// thread makes of a frame's consecutive sends of one type from one sender to
// one actor. The actor handles them as the messages they are.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "wire/encoded_envelope.hpp"
#include "test_support.hpp"

namespace encoded_run_test {

struct item {
  std::int64_t n = 0;
  ACTOR_FIELDS(n)
};
struct get_items {
  ACTOR_NO_FIELDS
};
struct items {
  std::vector<std::int64_t> got;
  std::vector<std::uint64_t> senders;  // the id of each item's sender (0: anonymous)
  ACTOR_FIELDS(got, senders)
};

}  // namespace encoded_run_test

ACTOR_MESSAGE(encoded_run_test::item, "test.encoded_run.item");
ACTOR_MESSAGE(encoded_run_test::get_items, "test.encoded_run.get_items");
ACTOR_MESSAGE(encoded_run_test::items, "test.encoded_run.items");

namespace encoded_run_test {
namespace {

using actor::detail::envelope;

// Keeps the items it gets, with their senders; stops at the item `stop_at` (after keeping it),
// counting what it handled in `handled`, if given.
class keeper final : public actor::actor_base {
 public:
  explicit keeper(std::int64_t stop_at = -1, std::atomic<std::int64_t>* handled = nullptr)
      : stop_at_(stop_at), handled_(handled) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const item& i) {
          kept_.got.push_back(i.n);
          kept_.senders.push_back(sender().id());
          if (handled_ != nullptr) handled_->fetch_add(1);
          if (i.n == stop_at_) quit();
        },
        [this](const get_items&) { return kept_; },
    };
  }

 private:
  std::int64_t stop_at_;
  std::atomic<std::int64_t>* handled_;
  items kept_;
};

std::string body_of(std::int64_t n) {
  msgpack::sbuffer out;
  msgpack::pack(out, item{n});
  return {out.data(), out.size()};
}

// The envelopes a node's I/O thread would gather for items first..last - 1: sends
// joined into one run (with `bad` bodies where asked), linked newest first.
struct gathered {
  envelope* newest = nullptr;
  envelope* oldest = nullptr;
  std::int64_t messages = 0;
};
gathered run_of(std::int64_t first, std::int64_t last, actor::actor_ref sender, actor::detail::inbound_account* account,
                std::int64_t bad = -1) {
  gathered g;
  for (std::int64_t n = first; n < last; ++n) {
    const std::string body = n == bad ? std::string("\x93\x01\x02\x03", 4) : body_of(n);  // [1, 2, 3]: not an item
    if (g.newest != nullptr && actor::detail::can_join(g.newest, body)) {
      envelope* joined = actor::detail::join(g.newest, body);
      if (g.oldest == g.newest) g.oldest = joined;
      g.newest = joined;
    } else {
      envelope* e = actor::detail::make_encoded_envelope(&actor::type_of<item>(), body);
      REQUIRE(e != nullptr);
      e->sender = sender;
      e->inbound = account;
      e->next = g.newest;
      g.newest = e;
      if (g.oldest == nullptr) g.oldest = e;
    }
    ++g.messages;
  }
  return g;
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> out;
  for (std::int64_t n = first; n < last; ++n) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("consecutive encoded sends join into runs, up to their limit", "[encoded_run]") {
  auto* account = new actor::detail::inbound_account;
  const auto n = static_cast<std::int64_t>(actor::detail::max_run_length) + 10;
  auto g = run_of(0, n, {}, account);
  account->hold(g.messages);  // as the node does: each message holds the account once
  CHECK(account->pending() == n);
  CHECK(g.newest->run_length() == 10);  // a second run after the first filled up
  REQUIRE(g.newest->next != nullptr);
  CHECK(g.newest->next->run_length() == actor::detail::max_run_length);
  CHECK(g.newest->next == g.oldest);
  // an encoded request is no run's: each one is its own envelope
  auto* request = actor::detail::make_encoded_envelope(&actor::type_of<item>(), body_of(1));
  request->kind = actor::detail::envelope_kind::request;
  CHECK_FALSE(actor::detail::can_join(request, body_of(2)));
  delete request;
  delete g.newest;
  delete g.oldest;
  CHECK(account->pending() == 0);  // a run lets go of the account once for each of its messages
  actor::detail::inbound_account::release(account);
}

TEST_CASE("a run is handled as its messages, in order, between what came before and after it", "[encoded_run]") {
  test::manual_system t;
  auto k = t.sys.spawn<keeper>();
  auto from = t.sys.spawn<keeper>();  // a sender the items name
  auto* account = new actor::detail::inbound_account;
  for (std::int64_t n = 0; n < 5; ++n) t.sys.send(k, item{n});
  auto g = run_of(5, 600, from, account);
  account->hold(g.messages);  // as the node does before it enqueues them
  CHECK(account->pending() == 595);
  k.endpoint()->enqueue_chain(g.newest, g.oldest);
  for (std::int64_t n = 600; n < 605; ++n) t.sys.send(k, item{n});
  auto kept = test::await_value(t.sys.request<items>(k, get_items{}, test::far_timeout));
  CHECK(kept.got == range(0, 605));
  REQUIRE(kept.senders.size() == 605);
  CHECK(kept.senders[4] == 0);
  CHECK(kept.senders[5] == from.id());
  CHECK(kept.senders[599] == from.id());
  CHECK(kept.senders[600] == 0);
  CHECK(account->pending() == 0);  // every message let go of the account once handled
  CHECK(account->decode_errors.load() == 0);
  actor::detail::inbound_account::release(account);
}

TEST_CASE("a body in a run that does not fit its type is counted and skipped", "[encoded_run]") {
  test::manual_system t;
  auto k = t.sys.spawn<keeper>();
  auto* account = new actor::detail::inbound_account;
  auto g = run_of(0, 10, {}, account, 4);
  account->hold(g.messages);
  k.endpoint()->enqueue_chain(g.newest, g.oldest);
  auto kept = test::await_value(t.sys.request<items>(k, get_items{}, test::far_timeout));
  CHECK(kept.got == std::vector<std::int64_t>{0, 1, 2, 3, 5, 6, 7, 8, 9});
  CHECK(account->decode_errors.load() == 1);
  CHECK(account->pending() == 0);
  actor::detail::inbound_account::release(account);
}

TEST_CASE("an actor that stops in a run handles none of the run's messages after", "[encoded_run]") {
  test::manual_system t;
  std::atomic<std::int64_t> handled{0};
  auto k = t.sys.spawn<keeper>(3, &handled);
  auto* account = new actor::detail::inbound_account;
  auto g = run_of(0, 10, {}, account);
  account->hold(g.messages);
  k.endpoint()->enqueue_chain(g.newest, g.oldest);
  REQUIRE(test::wait_until([&] { return k.endpoint()->finished(); }));
  // the run is let go of, with the rest of its messages, once the worker is out of its handler
  CHECK(test::wait_until([&] { return account->pending() == 0; }));
  CHECK(handled.load() == 4);  // items 0 to 3
  // a run for an actor that has stopped: each of its messages is a dead letter
  const auto dead_before = t.sys.stats().dead_letters;
  auto late = run_of(0, 7, {}, account);
  account->hold(late.messages);
  k.endpoint()->enqueue_chain(late.newest, late.oldest);
  CHECK(t.sys.stats().dead_letters - dead_before == 7);
  CHECK(account->pending() == 0);
  CHECK(handled.load() == 4);
  actor::detail::inbound_account::release(account);
}

}  // namespace encoded_run_test
