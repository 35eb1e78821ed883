// Spawning: by registered type name with a config, and on a dedicated thread.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace spawn_test {

struct scale {
  std::int64_t x = 0;
  MSGPACK_DEFINE_MAP(x)
};
struct scaled {
  std::int64_t value = 0;
  std::string label;
  MSGPACK_DEFINE_MAP(value, label)
};
struct where {
  ACTOR_NO_FIELDS
};
struct here {
  std::uint64_t thread = 0;  // a hash of the handler's std::thread::id
  MSGPACK_DEFINE_MAP(thread)
};
struct block {
  ACTOR_NO_FIELDS
};

}  // namespace spawn_test

ACTOR_MESSAGE(spawn_test::scale, "test.spawn.scale");
ACTOR_MESSAGE(spawn_test::scaled, "test.spawn.scaled");
ACTOR_MESSAGE(spawn_test::where, "test.spawn.where");
ACTOR_MESSAGE(spawn_test::here, "test.spawn.here");
ACTOR_MESSAGE(spawn_test::block, "test.spawn.block");

namespace spawn_test {
namespace {

using test::await;
using test::await_value;
using test::far_timeout;

std::uint64_t this_thread_hash() { return std::hash<std::thread::id>{}(std::this_thread::get_id()); }

actor::behavior where_behavior() {
  return {[](const where&) { return here{this_thread_hash()}; }};
}

// Configured by name: "factor" (required, not zero) and "label" (optional).
class scaler final : public actor::actor_base {
 public:
  explicit scaler(const actor::config& cfg)
      : factor_(cfg.get<std::int64_t>("factor").value()), label_(cfg.get_or<std::string>("label", "plain")) {
    if (factor_ == 0) throw std::invalid_argument("factor must not be zero");
  }

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const scale& s) { return scaled{s.x * factor_, label_}; },
        [](const where&) { return here{this_thread_hash()}; },
    };
  }

 private:
  std::int64_t factor_;
  std::string label_;
};

// No config constructor: spawned by name, it is default-constructed.
class plain final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const scale& s) { return scaled{s.x, "plain-type"}; }};
  }
};

class locator final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override { return where_behavior(); }
};

// Blocks in `block` until the gate opens.
class blocker final : public actor::actor_base {
 public:
  blocker(test::event& entered, test::event& gate) : entered_(entered), gate_(gate) {}

 protected:
  actor::behavior make_behavior() override {
    return {
        [this](const block&) {
          entered_.set();
          gate_.wait_for(std::chrono::seconds(30));
        },
        [](const where&) { return here{this_thread_hash()}; },
    };
  }

 private:
  test::event& entered_;
  test::event& gate_;
};

// ---- by type name ----------------------------------------------------------------------

TEST_CASE("an actor type spawned by name receives its config values", "[spawn][config]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.scaler");
  actor::config cfg;
  cfg.set("factor", std::int64_t{7}).set("label", std::string("sevenfold"));

  auto spawned = t.sys.spawn("test.scaler", cfg);
  REQUIRE(spawned.has_value());
  const auto r = await_value(t.sys.request<scaled>(*spawned, scale{6}, far_timeout));
  CHECK(r.value == 42);
  CHECK(r.label == "sevenfold");

  // optional values fall back to their default
  actor::config minimal;
  minimal.set("factor", std::int64_t{-2});
  auto other = t.sys.spawn("test.scaler", minimal);
  REQUIRE(other.has_value());
  const auto r2 = await_value(t.sys.request<scaled>(*other, scale{5}, far_timeout));
  CHECK(r2.value == -10);
  CHECK(r2.label == "plain");
}

TEST_CASE("a config decoded from MessagePack bytes reaches an actor spawned by name", "[spawn][config]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.scaler");
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack(std::string("factor"));
  pk.pack(3);
  pk.pack(std::string("label"));
  pk.pack(std::string("from the wire"));
  auto cfg = actor::config::from_msgpack(std::string_view(buf.data(), buf.size()));
  REQUIRE(cfg.has_value());

  auto a = t.sys.spawn("test.scaler", *cfg);
  REQUIRE(a.has_value());
  const auto r = await_value(t.sys.request<scaled>(*a, scale{11}, far_timeout));
  CHECK(r.value == 33);
  CHECK(r.label == "from the wire");
}

TEST_CASE("spawning an unknown type name fails with unknown_type", "[spawn]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.scaler");
  const auto spawned_before = t.sys.stats().actors_spawned;
  auto r = t.sys.spawn("test.no-such-type");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == actor::errc::unknown_type);
  CHECK_THAT(r.error().text, Catch::Contains("test.no-such-type"));
  CHECK(t.sys.stats().actors_spawned == spawned_before);
}

TEST_CASE("a constructor that rejects its config makes spawn fail with bad_message", "[spawn][config]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.scaler");
  const auto spawned_before = t.sys.stats().actors_spawned;

  actor::config zero;
  zero.set("factor", std::int64_t{0});
  actor::config wrong_type;
  wrong_type.set("factor", std::string("three"));

  for (const auto& [what, cfg] : {std::pair{"a zero factor", zero}, std::pair{"a missing factor", actor::config{}},
                                  std::pair{"a factor of the wrong type", wrong_type}}) {
    INFO(what);
    auto r = t.sys.spawn("test.scaler", cfg);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == actor::errc::bad_message);
  }
  auto zero_again = t.sys.spawn("test.scaler", zero);
  REQUIRE_FALSE(zero_again.has_value());
  CHECK_THAT(zero_again.error().text, Catch::Contains("factor must not be zero"));
  CHECK(t.sys.stats().actors_spawned == spawned_before);
  CHECK(t.sys.stats().actors_alive == 0);
}

TEST_CASE("a type without a config constructor is default-constructed and actor_types lists the names",
          "[spawn]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.b-scaler");
  t.sys.register_actor_type<plain>("test.a-plain");
  CHECK(t.sys.actor_types() == std::vector<std::string>{"test.a-plain", "test.b-scaler"});

  actor::config ignored;
  ignored.set("factor", std::int64_t{100});
  auto a = t.sys.spawn("test.a-plain", ignored);
  REQUIRE(a.has_value());
  const auto r = await_value(t.sys.request<scaled>(*a, scale{4}, far_timeout));
  CHECK(r.value == 4);
  CHECK(r.label == "plain-type");
}

TEST_CASE("registering a type name again replaces the first registration", "[spawn]") {
  test::manual_system t;
  t.sys.register_actor_type<scaler>("test.thing");
  t.sys.register_actor_type<plain>("test.thing");
  CHECK(t.sys.actor_types() == std::vector<std::string>{"test.thing"});
  auto a = t.sys.spawn("test.thing");  // scaler would reject the empty config
  REQUIRE(a.has_value());
  CHECK(await_value(t.sys.request<scaled>(*a, scale{1}, far_timeout)).label == "plain-type");
}

// ---- dedicated threads --------------------------------------------------------------------

TEST_CASE("a detached actor blocked in a handler does not stall the pool", "[spawn][detached]") {
  test::event entered;
  test::event gate;
  test::manual_system t(1);  // a single pool worker
  test::release_on_exit open_gate(gate);

  auto pooled = t.sys.spawn<locator>();
  auto detached = t.sys.spawn_detached<blocker>(entered, gate);
  t.sys.send(detached, block{});
  REQUIRE(entered.wait_for());

  // the blocked actor holds its own thread, not the only worker
  std::uint64_t pool_thread = 0;
  for (int i = 0; i < 3; ++i) {
    const auto h = await_value(t.sys.request<here>(pooled, where{}, far_timeout));
    if (i == 0) pool_thread = h.thread;
    CHECK(h.thread == pool_thread);
  }
  auto spawned_meanwhile = t.sys.spawn<locator>();
  CHECK(await_value(t.sys.request<here>(spawned_meanwhile, where{}, far_timeout)).thread == pool_thread);

  gate.set();
  const auto d = await_value(t.sys.request<here>(detached, where{}, far_timeout));
  CHECK(d.thread != pool_thread);
  CHECK(d.thread != this_thread_hash());
  CHECK(await(t.sys.stop(detached, far_timeout)).has_value());
}

TEST_CASE("spawning by name can put the actor on a dedicated thread", "[spawn][detached]") {
  test::manual_system t(1);
  t.sys.register_actor_type<scaler>("test.scaler");
  actor::config cfg;
  cfg.set("factor", std::int64_t{2});
  auto pooled = t.sys.spawn("test.scaler", cfg);
  auto detached = t.sys.spawn("test.scaler", cfg, true);
  REQUIRE(pooled.has_value());
  REQUIRE(detached.has_value());
  const auto p = await_value(t.sys.request<here>(*pooled, where{}, far_timeout));
  const auto d = await_value(t.sys.request<here>(*detached, where{}, far_timeout));
  CHECK(p.thread != d.thread);
  CHECK(await_value(t.sys.request<scaled>(*detached, scale{21}, far_timeout)).value == 42);
}

}  // namespace
}  // namespace spawn_test
