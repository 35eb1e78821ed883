// A class derived from actor_base sees only the documented protected API: every
// name the runtime used to keep in actor_base and detail::endpoint (functions,
// state, nested types) is free for the derived class's own messages. Each
// message type below is named after one of them and used unqualified inside
// make_behavior; before the runtime moved into detail::actor_cell, class scope
// lookup found the base's member instead and this did not compile.

#include <atomic>
#include <cstdint>
#include <memory>

#include "test_support.hpp"

// old actor_base: public, private functions, nested types, state; old endpoint:
// functions and state; the endpoint's new destroy()
#define NAME_HIDING_NAMES(X)                                                                                     \
  X(enqueue) X(enqueue_chain) X(finished) X(decodes_bodies) X(resume_result) X(resume) X(send_request)           \
  X(set_continuation) X(start_timer) X(answer) X(extras) X(start) X(handle) X(dispatch) X(handle_outcome)       \
  X(terminate) X(crash) X(bounce) X(take_next) X(handle_run) X(try_block) X(close_and_drain) X(inbox_) X(cache_) \
  X(current_) X(system_) X(executor_) X(live_prev_) X(live_next_) X(extras_) X(behavior_) X(state) X(state_)    \
  X(answered_) X(finished_) X(quit_reason_) X(id) X(set_id) X(wire_address) X(add_ref) X(add_refs)              \
  X(try_add_ref) X(use_count) X(release) X(refs_) X(id_) X(destroy) X(owner_) X(live_list) X(actor_extras)      \
  X(endpoint) X(executor)

namespace name_hiding_test {

#define NAME_HIDING_DECLARE(name) \
  struct name {                   \
    ACTOR_NO_FIELDS               \
  };
NAME_HIDING_NAMES(NAME_HIDING_DECLARE)
#undef NAME_HIDING_DECLARE

struct get_handled {
  ACTOR_NO_FIELDS
};
struct handled {
  std::int64_t n = 0;
  MSGPACK_DEFINE_MAP(n)
};

#define NAME_HIDING_COUNT(name) +1
inline constexpr std::int64_t name_count = 0 NAME_HIDING_NAMES(NAME_HIDING_COUNT);
#undef NAME_HIDING_COUNT

class user_actor final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
#define NAME_HIDING_HANDLER(name) [this](const name&) { ++n_; },
    return {NAME_HIDING_NAMES(NAME_HIDING_HANDLER)[this](const get_handled&) { return handled{n_}; }};
#undef NAME_HIDING_HANDLER
  }

 private:
  std::int64_t n_ = 0;
};

}  // namespace name_hiding_test

#define NAME_HIDING_REGISTER(name) \
  ACTOR_MESSAGE(name_hiding_test::name, "name_hiding_test." #name);
NAME_HIDING_NAMES(NAME_HIDING_REGISTER)
#undef NAME_HIDING_REGISTER
ACTOR_MESSAGE(name_hiding_test::get_handled, "name_hiding_test.get_handled");
ACTOR_MESSAGE(name_hiding_test::handled, "name_hiding_test.handled");

TEST_CASE("an actor's messages may take every name the runtime uses internally", "[name_hiding]") {
  using namespace name_hiding_test;
  actor::system_options opts;
  opts.workers = 1;
  actor::actor_system sys{opts};
  auto a = sys.spawn<user_actor>();
#define NAME_HIDING_SEND(name) sys.send(a, name{});
  NAME_HIDING_NAMES(NAME_HIDING_SEND)
#undef NAME_HIDING_SEND
  // the request queues behind every send: it sees them all handled
  auto r = test::await_value(sys.request<handled>(a, get_handled{}, test::wait_limit));
  CHECK(r.n == name_count);
  CHECK(name_count == 52);
  CHECK(sys.stats().dead_letters == 0);
}
