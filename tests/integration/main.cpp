// The Catch2 runner of actor_integration_tests; the tests live in the *_test.cpp files.
#define CATCH_CONFIG_RUNNER
#include <csignal>

#include <catch2/catch.hpp>

#include "actor/log.hpp"

int main(int argc, char** argv) {
  // the in-process nodes log warnings and errors only; the node processes' logs
  // are captured by the harness and printed when a test fails
  actor::log::set_level(std::getenv("ITEST_DEBUG") ? actor::log::level::debug : actor::log::level::warn);
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
