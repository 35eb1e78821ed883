// Your own actor-node: the node program (actor::node_program) with your actor types and the
// built-in ones (actor::builtins). Run it like actor-node: `my_node --help`.
#include <actor/builtins.hpp>
#include <actor/node_main.hpp>

int main(int argc, char** argv) {
  return actor::node_main(argc, argv, [](actor::actor_system& sys) { actor::register_builtin_types(sys); });
}
