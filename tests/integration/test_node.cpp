// actor-test-node: a user's own node binary, built the way node_main.hpp documents,
// hosting the test actor types next to the built-ins.
#include <actor/node_main.hpp>

#include "test_actors.hpp"

int main(int argc, char** argv) {
  return actor::node_main(argc, argv, [](actor::actor_system& s) { itest::register_test_types(s); });
}
