// become(): the state pattern, with a door that is locked or unlocked.

#include <string>

#include "test_support.hpp"

namespace behavior_test {

struct open_door {
  ACTOR_NO_FIELDS
};
struct unlock {
  std::string code;
  MSGPACK_DEFINE_MAP(code)
};
struct lock_door {
  ACTOR_NO_FIELDS
};
struct door_state {
  std::string state;
  bool opened = false;
  MSGPACK_DEFINE_MAP(state, opened)
};

}  // namespace behavior_test

ACTOR_MESSAGE(behavior_test::open_door, "test.behavior.open_door");
ACTOR_MESSAGE(behavior_test::unlock, "test.behavior.unlock");
ACTOR_MESSAGE(behavior_test::lock_door, "test.behavior.lock_door");
ACTOR_MESSAGE(behavior_test::door_state, "test.behavior.door_state");

namespace behavior_test {
namespace {

using test::await;
using test::await_error;
using test::await_value;
using test::far_timeout;

class door final : public actor::actor_base {
 public:
  explicit door(std::string code, bool start_unlocked = false) : code_(std::move(code)), start_unlocked_(start_unlocked) {}

 protected:
  actor::behavior make_behavior() override { return locked(); }
  void on_start() override {
    if (start_unlocked_) become(unlocked());
  }

 private:
  actor::behavior locked() {
    return {
        [](const open_door&) { return door_state{"locked", false}; },
        [this](const unlock& u) {
          if (u.code != code_) return door_state{"locked", false};
          become(unlocked());
          // still the locked behavior's handler: the switch happens when it returns
          return door_state{"unlocked", false};
        },
    };
  }
  actor::behavior unlocked() {
    return {
        [](const open_door&) { return door_state{"unlocked", true}; },
        [this](const lock_door&) {
          become(unlocked());  // replaced below: the last become() of a handler wins
          become(locked());
          return door_state{"locked", false};
        },
    };
  }

  std::string code_;
  bool start_unlocked_;
};

door_state ask(actor::actor_system& sys, const actor::actor_ref& d, auto msg) {
  return await_value(sys.request<door_state>(d, std::move(msg), far_timeout));
}

TEST_CASE("become switches which handler runs: a door opens only when unlocked", "[behavior]") {
  test::manual_system t;
  auto d = t.sys.spawn<door>("1234");

  CHECK_FALSE(ask(t.sys, d, open_door{}).opened);
  CHECK(ask(t.sys, d, unlock{"0000"}).state == "locked");
  CHECK_FALSE(ask(t.sys, d, open_door{}).opened);

  CHECK(ask(t.sys, d, unlock{"1234"}).state == "unlocked");
  const auto opened = ask(t.sys, d, open_door{});
  CHECK(opened.opened);
  CHECK(opened.state == "unlocked");

  CHECK(ask(t.sys, d, lock_door{}).state == "locked");
  CHECK_FALSE(ask(t.sys, d, open_door{}).opened);
}

TEST_CASE("after become a message only the old behavior handled fails with bad_message", "[behavior]") {
  test::manual_system t;
  auto d = t.sys.spawn<door>("1234");
  // locked: no handler for lock_door
  CHECK(await_error(t.sys.request<door_state>(d, lock_door{}, far_timeout)).code == actor::errc::bad_message);
  REQUIRE(ask(t.sys, d, unlock{"1234"}).state == "unlocked");
  // unlocked: no handler for unlock any more
  CHECK(await_error(t.sys.request<door_state>(d, unlock{"1234"}, far_timeout)).code == actor::errc::bad_message);
  CHECK(ask(t.sys, d, open_door{}).opened);
}

TEST_CASE("messages queued behind the handler that calls become meet the new behavior", "[behavior]") {
  test::manual_system t;
  auto d = t.sys.spawn<door>("1234");
  // both are queued before the first is handled
  auto unlocked = t.sys.request<door_state>(d, unlock{"1234"}, far_timeout);
  auto opened = t.sys.request<door_state>(d, open_door{}, far_timeout);
  CHECK(test::await_value(std::move(unlocked)).state == "unlocked");
  CHECK(test::await_value(std::move(opened)).opened);
}

TEST_CASE("become in on_start replaces the initial behavior before the first message", "[behavior]") {
  test::manual_system t;
  auto d = t.sys.spawn<door>("1234", true);
  CHECK(ask(t.sys, d, open_door{}).opened);
}

}  // namespace
}  // namespace behavior_test
