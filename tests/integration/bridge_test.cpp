// The C++ Bridge (a wire-protocol client: no listening socket, no actors) against
// real node processes.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <map>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "actor/bridge.hpp"
#include "actor/builtins.hpp"
#include "harness.hpp"
#include "test_actors.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;
using actor::errc;

namespace {

template <class Rep, class Period>
long long in_ms(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration_cast<ms>(d).count();
}

actor::bridge_options fast_bridge(const std::string& name = "itest-bridge") {
  actor::bridge_options o;
  o.name = name;
  o.heartbeat = fast_heartbeat;
  o.down_after = fast_down_after;
  return o;
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

// Waits until a request sent after `before` (a stats reply of the node at
// `address`) has reached that node. The node counts every envelope it receives,
// the stats requests asked here too: `before` counted itself, each poll counts
// itself, and the request makes one more.
bool request_arrived(local_node& me, const std::string& address, const actor::node_stats& before) {
  std::uint64_t polls = 0;
  return poll_until(
      [&] {
        auto st = me.stats_at(address);
        ++polls;
        return st && st->messages_received >= before.messages_received + polls + 1;
      },
      5s);
}

}  // namespace

TEST_CASE("a bridge spawns an actor on a node and calls it through the returned ref", "[integration][bridge]") {
  node_process proc(fast_node_argv(actor_node_path(), "bridge-node"));
  actor::bridge b(fast_bridge());

  auto counter = b.spawn(proc.address(), "counter", "c1", actor::config{}.set("start", 5), 5s);
  REQUIRE(counter);
  auto v = b.call<actor::counter_value>(*counter, actor::counter_incr{2}, 5s);
  REQUIRE(v);
  CHECK(v->value == 7);

  SECTION("the ref's text form names the same actor") {
    const auto text = actor::format_ref(*counter);
    CHECK_THAT(text, Contains("bridge-node@" + proc.address() + "#" + std::to_string(proc.incarnation()) + "/"));
    auto parsed = actor::parse_target(text);
    REQUIRE(parsed);
    auto again = b.call<actor::counter_value>(*parsed, actor::counter_get{}, 5s);
    REQUIRE(again);
    CHECK(again->value == 7);
  }
  SECTION("the name registered on the node is a target too") {
    auto by_name = b.call<actor::counter_value>(actor::target::named_at(proc.address(), "c1"), actor::counter_get{}, 5s);
    REQUIRE(by_name);
    CHECK(by_name->value == 7);
    auto parsed = actor::parse_target("c1@" + proc.address());
    REQUIRE(parsed);
    CHECK(b.call<actor::counter_value>(*parsed, actor::counter_get{}, 5s));
    // text given as a target is read by the same grammar: no registry is needed for NAME@ADDRESS
    const std::string text = "c1@" + proc.address();
    auto by_text = b.call<actor::counter_value>(text, actor::counter_get{}, 5s);
    REQUIRE(by_text);
    CHECK(by_text->value == 7);
    auto by_printed_ref = b.call<actor::counter_value>(actor::format_ref(*counter), actor::counter_get{}, 5s);
    REQUIRE(by_printed_ref);
    CHECK(by_printed_ref->value == 7);
    auto malformed = b.call<actor::counter_value>("c1@no-scheme", actor::counter_get{}, 5s);
    REQUIRE_FALSE(malformed);
    CHECK(malformed.error().code == errc::bad_message);
    CHECK_THAT(malformed.error().text, Contains("tcp://host:port"));
    auto missing = b.call<actor::counter_value>(actor::target::named_at(proc.address(), "nobody"),
                                                actor::counter_get{}, 5s);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::no_such_actor);
  }
  SECTION("a dynamic call carries a type name and a MessagePack body both ways") {
    msgpack::sbuffer body;
    msgpack::packer<msgpack::sbuffer>(body).pack(std::map<std::string, int>{{"by", 3}});
    auto reply = b.call(*counter, actor::raw_message{"actor.counter.incr", {body.data(), body.size()}}, 5s);
    REQUIRE(reply);
    CHECK(reply->type == "actor.counter.value");
    auto h = msgpack::unpack(reply->body.data(), reply->body.size());
    CHECK(h.get().as<actor::counter_value>().value == 10);
  }
  SECTION("a reply of another type than asked for is bad_message") {
    auto wrong = b.call<actor::kv_ok>(*counter, actor::counter_get{}, 5s);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == errc::bad_message);
    CHECK_THAT(wrong.error().text, Contains("actor.counter.value"));
  }
}

TEST_CASE("a bridge pings a node and reads its stats", "[integration][bridge]") {
  node_process proc(fast_node_argv(actor_node_path(), "stats-node"));
  actor::bridge b(fast_bridge());
  auto pong = b.ping(proc.address(), 5s);
  REQUIRE(pong);
  CHECK(pong->node == "stats-node");
  CHECK(pong->incarnation == proc.incarnation());
  auto st = b.stats(proc.address(), 5s);
  REQUIRE(st);
  CHECK(st->node == "stats-node");
  CHECK(st->clients == 1);  // this bridge
}

TEST_CASE("multi_call has every request in flight at once and returns the outcomes in order",
          "[integration][bridge]") {
  node_process proc(fast_node_argv(test_node_path(), "multi-node"));
  actor::bridge b(fast_bridge());
  std::vector<actor::target> counters;
  for (int i = 0; i < 3; ++i) {
    auto c = b.spawn(proc.address(), "counter", "", actor::config{}.set("start", i * 10), 5s);
    REQUIRE(c);
    counters.emplace_back(*c);
  }
  auto sink = b.spawn(proc.address(), "sink", "", {}, 5s);
  REQUIRE(sink);
  const auto stale = actor::target::ref("multi-node", proc.address(), proc.incarnation() + 1, 16);

  SECTION("replies, a timeout and a stale ref, each in its place") {
    const actor::counter_incr by_one{1};
    const hold wait_forever;
    auto incr = actor::bridge::pack(actor::type_of<actor::counter_incr>(), &by_one);
    auto never = actor::bridge::pack(actor::type_of<hold>(), &wait_forever);
    REQUIRE(incr);
    REQUIRE(never);
    std::vector<actor::bridge_call> calls;
    for (const auto& c : counters) calls.push_back({c, *incr});
    calls.push_back({*sink, *never});
    calls.push_back({stale, *incr});
    const auto started = steady::now();
    auto out = b.multi_call(calls, 500ms);
    const auto took = steady::now() - started;
    REQUIRE(out.size() == 5);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(out[i]);
      auto h = msgpack::unpack(out[i]->body.data(), out[i]->body.size());
      CHECK(h.get().as<actor::counter_value>().value == i * 10 + 1);
    }
    REQUIRE_FALSE(out[3]);
    CHECK(out[3].error().code == errc::timeout);
    REQUIRE_FALSE(out[4]);
    CHECK(out[4].error().code == errc::no_such_actor);
    CHECK_THAT(out[4].error().text, Contains("stale"));
    CHECK(took < 500ms + 50ms * slowdown);
  }
  SECTION("five requests to actors that never answer take one timeout, not five") {
    std::vector<actor::target> sinks(5, *sink);
    const auto started = steady::now();
    auto out = b.multi_call<relayed>(sinks, hold{}, 300ms);
    const auto took = steady::now() - started;
    REQUIRE(out.size() == 5);
    for (const auto& r : out) {
      REQUIRE_FALSE(r);
      CHECK(r.error().code == errc::timeout);
    }
    INFO("took " << in_ms(took) << " ms");
    CHECK(took >= 300ms);
    CHECK(took < 300ms + 50ms * slowdown);
  }
}

TEST_CASE("stopping three actors answers stopped for each", "[integration][bridge]") {
  node_process proc(fast_node_argv(actor_node_path(), "stop-node"));
  actor::bridge b(fast_bridge());
  auto before = b.stats(proc.address(), 5s);
  REQUIRE(before);
  std::vector<actor::target> actors;
  for (const char* type : {"echo", "counter", "kv"}) {
    auto r = b.spawn(proc.address(), type, "", {}, 5s);
    REQUIRE(r);
    actors.emplace_back(*r);
  }
  auto out = b.stop(actors, 5s);
  REQUIRE(out.size() == 3);
  for (const auto& r : out) {
    INFO((r ? std::string("stopped") : r.error().describe()));
    CHECK(r);
  }
  auto st = b.stats(proc.address(), 5s);
  REQUIRE(st);
  CHECK(st->actors_alive == before->actors_alive);

  auto again = b.stop({actors[0]}, 5s);
  REQUIRE(again.size() == 1);
  REQUIRE_FALSE(again[0]);
  // a stopped actor answers actor_stopped for as long as its node runs, not no_such_actor by timing
  CHECK(again[0].error().code == errc::actor_stopped);
  auto call_after = b.call<actor::counter_value>(actors[1], actor::counter_get{}, 5s);
  REQUIRE_FALSE(call_after);
  CHECK(call_after.error().code == errc::actor_stopped);

  // a stop sent (not asked) and a request right behind it: the request meets the stop in
  // the mailbox or the node after it, and is answered actor_stopped either way
  auto kv = b.spawn(proc.address(), "kv", "", {}, 5s);
  REQUIRE(kv);
  REQUIRE(b.send(*kv, actor::stop_msg{}));
  auto behind = b.call<actor::kv_value>(*kv, actor::kv_get{"k"}, 5s);
  REQUIRE_FALSE(behind);
  CHECK(behind.error().code == errc::actor_stopped);
}

TEST_CASE("a call to an actor that never answers times out within 50 ms of its deadline", "[integration][bridge]") {
  node_process proc(fast_node_argv(test_node_path(), "sink-node"));
  actor::bridge b(fast_bridge());
  auto sink = b.spawn(proc.address(), "sink", "", {}, 5s);
  REQUIRE(sink);
  for (auto timeout : {100ms, 400ms}) {
    const auto started = steady::now();
    auto r = b.call<relayed>(*sink, hold{}, timeout);
    const auto took = steady::now() - started;
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::timeout);
    INFO("timeout " << timeout.count() << " ms, took " << in_ms(took) << " ms");
    CHECK(took >= timeout);
    CHECK(took < timeout + 50ms * slowdown);
  }
}

TEST_CASE("a node SIGKILLed mid-call fails the call with node_down, not at its deadline",
          "[integration][bridge][liveness]") {
  node_process proc(fast_node_argv(test_node_path(), "doomed"));
  local_node me;
  actor::bridge b(fast_bridge());
  auto sink = b.spawn(proc.address(), "sink", "", {}, 5s);
  REQUIRE(sink);
  auto before = me.stats_at(proc.address());
  REQUIRE(before);

  auto pending = std::async(std::launch::async, [&] { return b.call<relayed>(*sink, hold{}, 30s); });
  // the request reached the node (it counts it, then the stats request)
  REQUIRE(request_arrived(me, proc.address(), *before));
  REQUIRE(pending.wait_for(0s) == std::future_status::timeout);

  const auto killed_at = steady::now();
  REQUIRE(proc.kill());
  REQUIRE(pending.wait_for(fast_down_after + 1s) == std::future_status::ready);
  const auto detected_after = steady::now() - killed_at;
  auto r = pending.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::node_down);
  INFO("node_down after " << in_ms(detected_after) << " ms: " << r.error().describe());
  CHECK(detected_after < fast_down_after + 1s);

  // new calls fail at once while the node stays silent
  const auto asked_at = steady::now();
  auto again = b.ping(proc.address(), 30s);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::node_down);
  CHECK(steady::now() - asked_at < 200ms * slowdown);
}

TEST_CASE("a call to an address that takes TCP connections but never answers the handshake fails with node_down "
          "after down_after",
          "[integration][bridge][liveness]") {
  // a TCP listener that never speaks: connections complete (the kernel's backlog), HELLO goes unanswered
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_it{fd};
  actor::bridge b(fast_bridge());
  const auto address = "tcp://127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  const auto started = steady::now();
  auto r = b.ping(address, 30s);
  const auto took = steady::now() - started;
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::node_down);
  CHECK_THAT(r.error().text, Contains("handshake"));
  CHECK(took >= fast_down_after);
  CHECK(took < fast_down_after + 1s);
}

TEST_CASE("a node restarted on the same address is talked to again after node_down", "[integration][bridge][liveness]") {
  const auto port = unused_port();
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(port);
  actor::bridge b(fast_bridge());
  std::uint64_t first_incarnation = 0;
  {
    node_process first(fast_node_argv(actor_node_path(), "phoenix", {"--listen", listen}));
    first_incarnation = first.incarnation();
    REQUIRE(b.ping(listen, 5s));
    first.kill_and_reap();
  }
  node_process second(fast_node_argv(actor_node_path(), "phoenix", {"--listen", listen}));
  std::optional<actor::ping_reply> pong;
  std::string last;
  CHECK(poll_until(
      [&] {
        auto r = b.ping(listen, 1s);
        if (r) pong = *r;
        else last = r.error().describe();
        return r.has_value();
      },
      10s));
  INFO("last error: " << last);
  REQUIRE(pong);
  CHECK(pong->incarnation == second.incarnation());
  CHECK(pong->incarnation != first_incarnation);
}

TEST_CASE("several threads call through one bridge at once, and a slow call blocks none of the others",
          "[integration][bridge][threads]") {
  node_process proc(fast_node_argv(test_node_path(), "busy-node"));
  actor::bridge b(fast_bridge());
  auto counter = b.spawn(proc.address(), "counter", "", {}, 5s);
  auto sink = b.spawn(proc.address(), "sink", "", {}, 5s);
  REQUIRE(counter);
  REQUIRE(sink);

  auto slow = std::async(std::launch::async, [&] { return b.call<relayed>(*sink, hold{}, 3s * slowdown); });
  constexpr int threads = 6;
  constexpr int calls = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  const auto started = steady::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < calls; ++i) {
        if (!b.call<actor::counter_value>(*counter, actor::counter_incr{1}, 5s)) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  const auto took = steady::now() - started;
  CHECK(failures == 0);
  INFO("the fast calls took " << in_ms(took) << " ms");
  CHECK(slow.wait_for(0s) == std::future_status::timeout);  // still waiting: it blocked nobody
  auto total = b.call<actor::counter_value>(*counter, actor::counter_get{}, 5s);
  REQUIRE(total);
  CHECK(total->value == threads * calls);
  auto s = slow.get();
  REQUIRE_FALSE(s);
  CHECK(s.error().code == errc::timeout);
}

TEST_CASE("a send arrives, and sends from one bridge arrive in order", "[integration][bridge]") {
  node_process proc(fast_node_argv(test_node_path(), "send-node"));
  actor::bridge b(fast_bridge());
  auto checker = b.spawn(proc.address(), "order_checker", "", {}, 5s);
  REQUIRE(checker);
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(b.send(*checker, seq_msg{i}));
  auto report = b.call<seq_report>(*checker, seq_check{}, 5s);
  REQUIRE(report);
  CHECK(report->received == 1000);
  CHECK(report->in_order);
}

TEST_CASE("a handler that throws fails the bridge's call with remote_error", "[integration][bridge]") {
  node_process proc(fast_node_argv(test_node_path(), "crash-node"));
  actor::bridge b(fast_bridge());
  auto c = b.spawn(proc.address(), "crasher", "", {}, 5s);
  REQUIRE(c);
  auto r = b.call<relayed>(*c, boom{}, 5s);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::remote_error);
  CHECK_THAT(r.error().text, Contains("boom"));
}

TEST_CASE("spawn errors come back as typed errors", "[integration][bridge]") {
  node_process proc(fast_node_argv(actor_node_path(), "spawn-errors"));
  actor::bridge b(fast_bridge());
  auto unknown = b.spawn(proc.address(), "no-such-type", "", {}, 5s);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == errc::unknown_type);
  REQUIRE(b.spawn(proc.address(), "echo", "taken", {}, 5s));
  auto taken = b.spawn(proc.address(), "echo", "taken", {}, 5s);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == errc::name_taken);
}

TEST_CASE("names without a registry, local refs and malformed targets are errors, not crashes",
          "[integration][bridge]") {
  actor::bridge b(fast_bridge());
  auto by_name = b.call<actor::counter_value>("some-name", actor::counter_get{}, 1s);
  REQUIRE_FALSE(by_name);
  CHECK(by_name.error().code == errc::no_such_actor);
  CHECK_THAT(by_name.error().text, Contains("registry"));

  actor::actor_system sys;
  actor::register_builtin_types(sys);
  auto local = sys.spawn("echo");
  REQUIRE(local);
  auto to_local = b.call<actor::counter_value>(*local, actor::counter_get{}, 1s);
  REQUIRE_FALSE(to_local);
  CHECK(to_local.error().code == errc::no_such_actor);
  auto empty = b.call<actor::counter_value>(actor::actor_ref{}, actor::counter_get{}, 1s);
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == errc::no_such_actor);

  for (const char* bad : {"", "@tcp://127.0.0.1:1#x/1", "n@nowhere#1/2", "n@tcp://127.0.0.1:1#1", "@tcp://h:1"}) {
    INFO(bad);
    auto t = actor::parse_target(bad);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == errc::bad_message);
  }
}

TEST_CASE("destroying a bridge fails the calls pending in other threads with shutting_down",
          "[integration][bridge]") {
  node_process proc(fast_node_argv(test_node_path(), "shutdown-node"));
  local_node me;
  auto b = std::make_unique<actor::bridge>(fast_bridge());
  auto sink = b->spawn(proc.address(), "sink", "", {}, 5s);
  REQUIRE(sink);
  auto before = me.stats_at(proc.address());
  REQUIRE(before);
  auto* raw = b.get();
  auto pending = std::async(std::launch::async, [raw, t = actor::target(*sink)] { return raw->call<relayed>(t, hold{}, 30s); });
  REQUIRE(request_arrived(me, proc.address(), *before));

  const auto started = steady::now();
  b.reset();
  CHECK(steady::now() - started < 1s);
  REQUIRE(pending.wait_for(1s) == std::future_status::ready);
  auto r = pending.get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::shutting_down);
}

TEST_CASE("10,000 connect/call/close cycles leave file descriptors and the node's memory flat",
          "[integration][bridge][soak]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr int cycles = 1000;  // sanitizers make each cycle many times slower
#else
  constexpr int cycles = 10000;
#endif
  std::map<std::string, std::string> env;
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in a quarantine of up to 256 MB, which would read as growth here;
  // a small one keeps the RSS check meaningful (LeakSanitizer checks leaks at the node's exit).
  const char* asan = std::getenv("ASAN_OPTIONS");
  env["ASAN_OPTIONS"] = std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=1";
#endif
  node_process proc(fast_node_argv(actor_node_path(), "cycle-node"), env);
  local_node me;  // reads the node's stats as a peer, not as a client
  auto cycle = [&] {
    actor::bridge b(fast_bridge("cycler"));
    auto pong = b.ping(proc.address(), 5s);
    if (!pong) FAIL("ping failed: " << pong.error().describe());
  };
  for (int i = 0; i < 200; ++i) cycle();  // warm up: pools, allocator arenas, zmq's first use
  auto clients_gone = [&] {
    return poll_until(
        [&] {
          auto st = me.stats_at(proc.address());
          return st && st->clients == 0;
        },
        fast_down_after * 5);
  };
  REQUIRE(clients_gone());
  const auto fds_before = open_fds();
  const auto rss_before = proc.rss_kib();
  REQUIRE(rss_before);

  const auto started = steady::now();
  for (int i = 0; i < cycles; ++i) cycle();
  const auto took = steady::now() - started;

  INFO(cycles << " cycles in " << in_ms(took) << " ms");
  CHECK(open_fds() <= fds_before + 2);
  REQUIRE(clients_gone());  // the node forgot every client whose connection closed
  const auto rss_after = proc.rss_kib();
  REQUIRE(rss_after);
  INFO("node RSS " << *rss_before << " KiB -> " << *rss_after << " KiB");
#if defined(__SANITIZE_THREAD__)
  // TSan's shadow memory and sync-object metadata grow with the addresses a run touches; the
  // tight bound is the plain build's (LeakSanitizer checks ASan's at the node's exit)
  constexpr long max_growth_kib = 32 * 1024;
#elif defined(__SANITIZE_ADDRESS__)
  // ASan's allocator keeps per-thread caches and maps its size-class regions as they are
  // first used: 4.3 to 4.7 MB over these 1,000 cycles on this project's code at de7861d and
  // after it alike, none of it leaked (LeakSanitizer checks the node's exit below). A leak of
  // even 400 bytes a cycle shows in the plain build's 10,000 cycles against its 4 MB bound.
  constexpr long max_growth_kib = 8 * 1024;
#else
  constexpr long max_growth_kib = 4096;
#endif
  CHECK(*rss_after - *rss_before < max_growth_kib);
  auto st = me.stats_at(proc.address());
  REQUIRE(st);
  CHECK(st->decode_errors == 0);
  REQUIRE(proc.terminate());  // a clean exit: under ASan, LeakSanitizer found nothing leaked
  const auto status = proc.wait_exit(10s);
  REQUIRE(status);
  INFO("the node's exit: " << status->describe());
  CHECK((status->exited && status->code == 0));
}

TEST_CASE("a bridge frozen past its node's down bound is served at once when it resumes",
          "[integration][bridge][forgotten]") {
  // the node forgets a client whose connection has been gone for its down bound
  node_process node(fast_node_argv(actor_node_path(), "frozen-host"));
  actor::bridge observer(fast_bridge("observer"));
  auto clients = [&] {
    auto s = observer.stats(node.address(), ms(2000));
    return s ? static_cast<long long>(s->clients) : -1LL;
  };
  child_process caller({ACTOR_BRIDGE_CALLER_BIN, node.address()});
  REQUIRE(caller.wait_for_line("call 1 ok", ms(10000)));
  REQUIRE(poll_until([&] { return clients() == 2; }, ms(5000)));
  caller.stop();
  const bool forgotten = poll_until([&] { return clients() == 1; }, ms(20000 * slowdown));
  caller.resume();
  REQUIRE(forgotten);
  caller.signal(SIGUSR1);
  const auto line = caller.wait_for_line("call 2 ", ms(10000));
  REQUIRE(line);
  INFO(*line);
  CHECK_THAT(*line, Contains("call 2 ok"));
  const auto elapsed = std::stoll(line->substr(std::string("call 2 ok ").size()));
  CHECK(elapsed < 2000 * slowdown);
}

TEST_CASE("a call to an address where nothing listens fails at once with node_down naming it; the node is "
          "reached once it listens there",
          "[integration][bridge][resolve]") {
  actor::bridge_options o;
  o.name = "nowhere-test";
  o.down_after = ms(5000);  // the handshake bound: not what fails these calls
  actor::bridge b(o);
  const auto port = unused_port();
  const auto address = "tcp://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 2; ++i) {  // the first call, and one to the connection it left behind
    const auto start = steady::now();
    auto r = b.ping(address, ms(8000));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::node_down);
    CHECK_THAT(r.error().text, Contains(address) && Contains("nothing listens"));
    CHECK(steady::now() - start < ms(1000));
  }
  // the connection keeps saying HELLO: a node that starts there is reached without a new Bridge
  node_process proc(node_argv(actor_node_path(), "late-node", {"--listen", address}));
  const bool reached = poll_until([&] { return b.ping(address, ms(1000)).has_value(); }, ms(10000) * slowdown);
  CHECK(reached);
  // a name that resolves to several addresses (localhost: ::1 and 127.0.0.1 on many hosts) is
  // refused only when every one of them refuses
  actor::bridge fresh(o);
  auto by_name = fresh.ping("tcp://localhost:" + std::to_string(port), ms(5000));
  INFO((by_name ? std::string("ok") : by_name.error().describe()));
  CHECK(by_name.has_value());
}

TEST_CASE("a call to an address whose host cannot be resolved fails at once with node_down naming the host",
          "[integration][bridge][resolve]") {
  actor::bridge b(fast_bridge());
  for (int i = 0; i < 2; ++i) {  // the first call, and one to the connection it left behind
    const auto start = steady::now();
    auto r = b.ping("tcp://nosuchhost.invalid:7100", ms(5000));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::node_down);
    CHECK_THAT(r.error().text, Contains("cannot resolve nosuchhost.invalid"));
    CHECK(steady::now() - start < ms(1000));
  }
}
