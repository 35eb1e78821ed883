// actor-node: hosts actors and routes messages between them and other nodes.
#include <actor/node_main.hpp>

int main(int argc, char** argv) { return actor::node_main(argc, argv); }
