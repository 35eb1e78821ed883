// Monitors from outside the actor system: a program (not an actor) watches two actors on a
// node through the Bridge and prints why each one is gone.
//   1. a node in this process, and a Bridge client talking to it over TCP, as a separate
//      program would (pass a node's address to watch its actors instead: the demo then spawns
//      "demo.worker" there, so that node must know the type)
//   2. monitor(ref) on two workers: one is asked to stop, the other crashes on a message
//   3. each monitor completes once, with its reason: "stopped", and "crashed" with the
//      exception's text and type; the crash is also heard through a callback
// Exits 0 when both reasons are the expected ones, 1 otherwise.

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include <actor/actor.hpp>
#include <actor/bridge.hpp>
#include <actor/node.hpp>

using namespace std::chrono_literals;

struct fail {
  std::string why;
  ACTOR_FIELDS(why)
};
ACTOR_MESSAGE(fail, "demo.fail");

// A worker that throws when told to fail: its monitors hear crashed, with the text and type.
class worker final : public actor::actor_base {
 protected:
  actor::behavior make_behavior() override {
    return {[](const fail& f) { throw std::runtime_error(f.why); }};
  }
};

int main(int argc, char** argv) {
  actor::actor_system system;
  system.register_actor_type<worker>("demo.worker");
  std::optional<actor::node> own;
  std::string address = argc > 1 ? argv[1] : "";
  if (address.empty()) {
    actor::node_options o;
    o.name = "demo";
    o.listen = "tcp://127.0.0.1:0";
    own.emplace(system, o);
    address = own->address();
  }
  std::printf("node at %s\n", address.c_str());

  actor::bridge_options bo;
  bo.name = "monitor-demo";
  actor::bridge bridge(bo);
  auto quiet = bridge.spawn(address, "demo.worker");
  auto fragile = bridge.spawn(address, "demo.worker");
  if (!quiet || !fragile) {
    std::fprintf(stderr, "spawn failed: %s\n", (!quiet ? quiet : fragile).error().describe().c_str());
    return 1;
  }

  // 2. monitor both; the handles complete once each
  auto m1 = bridge.monitor(*quiet);
  auto m2 = bridge.monitor(*fragile);
  if (!m1 || !m2) {
    std::fprintf(stderr, "monitor failed: %s\n", (!m1 ? m1 : m2).error().describe().c_str());
    return 1;
  }
  m2->on_down([](const actor::down_reason& r) {  // on the Bridge's I/O thread: print and return
    std::printf("callback: %s\n", r.describe().c_str());
  });

  // 3. one stops, one crashes
  (void)bridge.stop({*quiet}, 5s);
  (void)bridge.send(*fragile, fail{"disk full"});

  auto r1 = m1->wait(5s);
  auto r2 = m2->wait(5s);
  if (!r1 || !r2) {
    std::fprintf(stderr, "no down: %s\n", (!r1 ? r1.error() : r2.error()).describe().c_str());
    return 1;
  }
  std::printf("%s: %s\n", actor::format_ref(*quiet).c_str(), r1->describe().c_str());
  std::printf("%s: %s (%s)\n", actor::format_ref(*fragile).c_str(), r2->describe().c_str(), r2->error_type.c_str());
  const bool ok = r1->what == actor::down_reason::kind::stopped && r2->what == actor::down_reason::kind::crashed &&
                  r2->text.find("disk full") != std::string::npos && r2->error_type == "std::runtime_error";
  std::printf("%s\n", ok ? "as expected" : "UNEXPECTED");
  return ok ? 0 : 1;
}
