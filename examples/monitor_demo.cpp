// Monitors and links in one process (docs/monitors.md): a watcher hears why each worker
// stopped, a linked pair goes down together, and an actor that traps exits outlives its
// crashed partner. Exits 0 when every notification arrived as described.

#include <cstdio>
#include <future>
#include <stdexcept>
#include <string>

#include <actor/actor.hpp>

using namespace std::chrono_literals;

struct watch {
  actor::actor_ref target;
  ACTOR_FIELDS(target)
};
struct link_with {
  actor::actor_ref other;
  ACTOR_FIELDS(other)
};
struct work {
  bool fail = false;
  ACTOR_FIELDS(fail)
};
struct done {
  ACTOR_NO_FIELDS
};
ACTOR_MESSAGE(watch, "example.monitor.watch");
ACTOR_MESSAGE(link_with, "example.monitor.link_with");
ACTOR_MESSAGE(work, "example.monitor.work");
ACTOR_MESSAGE(done, "example.monitor.done");

// Does work; throws when asked to fail. Links on request.
class worker final : public actor::actor_base {
 public:
  explicit worker(std::promise<void>* trapped = nullptr) : trapped_(trapped) {}

 protected:
  actor::behavior make_behavior() override {
    return {[](const work& w) {
              if (w.fail) throw std::runtime_error("bad input");
              return done{};
            },
            [this](const link_with& l) {
              link(l.other);
              return done{};
            },
            [this](const actor::exit_msg& x) {
              std::printf("trapped exit: actor %llu is gone (%s)\n", static_cast<unsigned long long>(x.from.id()),
                          x.reason.describe().c_str());
              trapped_->set_value();
            }};
  }
  void on_start() override { trap_exit(trapped_ != nullptr); }

 private:
  std::promise<void>* trapped_;  // set: this worker traps exits
};

// Monitors whatever it is told to and prints each down; fulfils `all_in` after `expected` downs.
class watcher final : public actor::actor_base {
 public:
  watcher(int expected, std::promise<void>* all_in) : left_(expected), all_in_(all_in) {}

 protected:
  actor::behavior make_behavior() override {
    return {[this](const watch& w) {
              monitor(w.target);
              return done{};
            },
            [this](const actor::down_msg& d) {
              std::printf("down: actor %llu, monitor %llu, reason %s%s%s\n", static_cast<unsigned long long>(d.who.id()),
                          static_cast<unsigned long long>(d.monitor), d.reason.describe().c_str(),
                          d.reason.error_type.empty() ? "" : ", type ", d.reason.error_type.c_str());
              if (--left_ == 0) all_in_->set_value();
            }};
  }

 private:
  int left_;
  std::promise<void>* all_in_;
};

int main() {
  actor::actor_system sys;
  std::promise<void> all_in;
  auto w = sys.spawn<watcher>(4, &all_in);
  auto ok = [](auto f) { return f.wait_for(5s) == std::future_status::ready && f.get().has_value(); };

  auto quitter = sys.spawn<worker>();
  auto crasher = sys.spawn<worker>();
  auto partner = sys.spawn<worker>();       // linked to crasher: goes down with it
  std::promise<void> trapped;
  auto survivor = sys.spawn<worker>(&trapped);  // linked to crasher too, but traps exits
  for (const auto& t : {quitter, crasher, partner, survivor}) {
    if (!ok(sys.request<done>(w, watch{t}, 5s))) return 1;
  }
  if (!ok(sys.request<done>(partner, link_with{crasher}, 5s))) return 1;
  if (!ok(sys.request<done>(survivor, link_with{crasher}, 5s))) return 1;

  if (!ok(sys.stop(quitter, 5s))) return 1;                   // down: stopped
  auto failed = sys.request<done>(crasher, work{true}, 5s);  // down: crashed; partner: linked
  if (failed.get().error().code != actor::errc::remote_error) return 1;
  if (trapped.get_future().wait_for(5s) != std::future_status::ready) return 1;
  if (!ok(sys.stop(survivor, 5s))) return 1;  // it outlived the crash: down stopped

  if (all_in.get_future().wait_for(5s) != std::future_status::ready) {
    std::puts("not every down arrived");
    return 1;
  }
  std::puts("every monitor heard exactly once");
  return 0;
}
