// The Catch2 runner of actor_unit_tests; the tests live in the other files.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
