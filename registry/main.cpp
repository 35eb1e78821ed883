// actor-registry: the cluster's name service (see actor/registry.hpp).
#include <actor/registry_main.hpp>

int main(int argc, char** argv) { return actor::registry_main(argc, argv); }
