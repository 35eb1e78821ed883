// actor-bridge-caller NODE_ADDRESS: a C++ Bridge in a process of its own, so that a test
// can freeze it as a whole (SIGSTOP). It pings the node once at start, then once per
// SIGUSR1, printing "call N ok|<error> ELAPSED_MS" for each; it ends on SIGTERM.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "actor/bridge.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: actor-bridge-caller NODE_ADDRESS\n");
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the Bridge's threads start: they inherit it
  actor::bridge_options o;
  o.name = "caller";
  o.heartbeat = std::chrono::milliseconds(100);
  o.down_after = std::chrono::milliseconds(2000);
  actor::bridge b(o);
  for (int n = 1;; ++n) {
    const auto start = std::chrono::steady_clock::now();
    auto r = b.ping(argv[1], std::chrono::seconds(5));
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("call %d %s %lld %s\n", n, r ? "ok" : std::string(actor::to_string(r.error().code)).c_str(),
                static_cast<long long>(elapsed), r ? "" : r.error().text.c_str());
    std::fflush(stdout);
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || sig == SIGTERM) return 0;
  }
}
