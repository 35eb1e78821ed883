// Benchmarks of groups (docs/groups.md): publishes to a group of 100 members.
//
// Usage:
//   actor_group_bench [N]      N (2,000) publishes of a 64-byte message per round, 5 rounds, to
//                              100 members: all on the publisher's node ("local"), then spread
//                              over three nodes, 34 on the publisher's and 33 on each of two others
//                              ("3nodes"). The nodes and a registry are actor systems of this
//                              process talking over TCP on 127.0.0.1.
//
// A round's time runs from the publisher's first publish to the moment every member has received
// every message (one counter shared by the members of this process). N is kept small enough that a
// round never fills a peer's queue (100,000 envelopes), so nothing is dropped. Output: the median
// round as `RESULT group_<layout>_delivered <messages/s> msg/s` and `RESULT group_<layout>_publishes
// <publishes/s> publish/s`; exit 1 when a round does not complete within 60 s.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "actor/actor.hpp"
#include "actor/group.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"

namespace bench {
struct payload {
  std::string data;
  ACTOR_FIELDS(data)
};
struct go {
  std::uint64_t count = 0;
  ACTOR_FIELDS(count)
};
struct joined_request {
  ACTOR_NO_FIELDS
};
}  // namespace bench
ACTOR_MESSAGE(bench::payload, "bench.group.payload");
ACTOR_MESSAGE(bench::go, "bench.group.go");
ACTOR_MESSAGE(bench::joined_request, "bench.group.joined_request");

namespace bench {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t members_total = 100;
constexpr int rounds = 5;

class member final : public actor::actor_base {
 public:
  member(std::shared_ptr<std::atomic<std::uint64_t>> received, std::string group)
      : received_(std::move(received)), group_(std::move(group)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const payload&) { received_->fetch_add(1, std::memory_order_relaxed); }};
  }
  void on_start() override { (void)join_group(group_); }

 private:
  std::shared_ptr<std::atomic<std::uint64_t>> received_;
  std::string group_;
};

class publisher final : public actor::actor_base {
 public:
  explicit publisher(std::string group) : group_(std::move(group)) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const go& g) {
      const payload p{std::string(64, 'x')};
      for (std::uint64_t i = 0; i < g.count; ++i) publish(group_, p);
    }};
  }

 private:
  std::string group_;
};

actor::node_options named(const std::string& name, std::vector<std::string> registries) {
  actor::node_options o;
  o.name = name;
  o.registries = std::move(registries);
  return o;
}

struct place {
  place(const std::string& name, const std::string& registry) : node(sys, named(name, {registry})) {}
  actor::actor_system sys;
  actor::node node;
};

bool eventually(const std::function<bool()>& pred, std::chrono::seconds limit = 60s) {
  const auto deadline = clock_type::now() + limit;
  while (!pred()) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(100us);
  }
  return true;
}

// One layout: `spread` members on each place (the first is the publisher's); prints its RESULTs.
bool run(const std::string& layout, std::vector<place*> places, const std::vector<std::size_t>& spread,
         std::uint64_t n) {
  const std::string group = "bench-" + layout;
  auto received = std::make_shared<std::atomic<std::uint64_t>>(0);
  for (std::size_t i = 0; i < places.size(); ++i) {
    for (std::size_t k = 0; k < spread[i]; ++k) places[i]->sys.spawn<member>(received, group);
  }
  auto& hq = *places[0];
  auto known = [&] {
    auto m = hq.sys.request<actor::group_members>(hq.node.name_service(), actor::group_members_request{group}, 5s).get();
    return m && m->members.size() == members_total;
  };
  if (!eventually(known)) {
    std::fprintf(stderr, "group_bench %s: the members did not all join\n", layout.c_str());
    return false;
  }
  auto pub = hq.sys.spawn<publisher>(group);
  std::vector<double> seconds;
  for (int r = 0; r < rounds; ++r) {
    const auto want = received->load() + n * members_total;
    const auto start = clock_type::now();
    hq.sys.send(pub, go{n});
    if (!eventually([&] { return received->load() >= want; })) {
      std::fprintf(stderr, "group_bench %s: round %d incomplete (%llu of %llu)\n", layout.c_str(), r,
                   static_cast<unsigned long long>(received->load()), static_cast<unsigned long long>(want));
      return false;
    }
    seconds.push_back(std::chrono::duration<double>(clock_type::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  std::printf("RESULT group_%s_delivered %.0f msg/s\n", layout.c_str(), static_cast<double>(n * members_total) / median);
  std::printf("RESULT group_%s_publishes %.0f publish/s\n", layout.c_str(), static_cast<double>(n) / median);
  std::fflush(stdout);
  return true;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000;
  if (n == 0 || n * 33 > 90000) {
    std::fprintf(stderr, "usage: actor_group_bench [N]   (1 <= N <= 2727: a round must fit a peer's queue)\n");
    return 2;
  }
  actor::actor_system registry_sys;
  actor::node registry_node(registry_sys, named("registry", {}));
  actor::host_registry(registry_node);
  const auto registry = registry_node.address();
  place hq("hq", registry), east("east", registry), west("west", registry);
  bool ok = run("local", {&hq}, {members_total}, n);
  ok = run("3nodes", {&hq, &east, &west}, {34, 33, 33}, n) && ok;
  return ok ? 0 : 1;
}
