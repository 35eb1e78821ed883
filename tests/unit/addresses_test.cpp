#include <catch2/catch.hpp>

#include "net/addresses.hpp"

using namespace actor::detail;

TEST_CASE("canonical addresses: localhost is 127.0.0.1, scheme and host in lower case", "[addresses]") {
  CHECK(canonical_address("tcp://localhost:7100") == "tcp://127.0.0.1:7100");
  CHECK(canonical_address("tcp://LocalHost:7100") == "tcp://127.0.0.1:7100");
  CHECK(canonical_address("TCP://127.0.0.1:7100") == "tcp://127.0.0.1:7100");
  CHECK(canonical_address("tcp://127.0.0.1:7100") == "tcp://127.0.0.1:7100");
  CHECK(canonical_address("tcp://Node1:7100") == "tcp://node1:7100");
  CHECK(canonical_address("tcp://[::1]:7100") == "tcp://[::1]:7100");
  CHECK(canonical_address("tcp://localhost:7100") != canonical_address("tcp://localhost:7101"));
}

TEST_CASE("canonical addresses: what is not tcp://HOST:PORT is left as it is", "[addresses]") {
  CHECK(canonical_address("") == "");
  CHECK(canonical_address("ipc:///tmp/x") == "ipc:///tmp/x");
  CHECK(canonical_address("tcp://localhost") == "tcp://localhost");
  CHECK(canonical_address("tcp://::1:7100") == "tcp://::1:7100");  // IPv6 without brackets: ambiguous
  CHECK(host_of("tcp://:7100").empty());
}

TEST_CASE("hosts and ports of addresses", "[addresses]") {
  CHECK(host_of("tcp://node1:7100") == "node1");
  CHECK(port_of("tcp://node1:7100") == "7100");
  CHECK(host_of("tcp://[::1]:7100") == "[::1]");
  CHECK(port_of("tcp://[::1]:7100") == "7100");
  CHECK(host_of("udp://node1:7100").empty());
}

TEST_CASE("loopback, literal and wildcard hosts", "[addresses]") {
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("[::1]"));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("10.0.0.1"));
  CHECK_FALSE(is_loopback_host("node1"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK(is_ip_literal("10.0.0.1"));
  CHECK(is_ip_literal("[fe80::1]"));
  CHECK_FALSE(is_ip_literal("node1"));
  CHECK_FALSE(is_ip_literal("localhost"));
  CHECK(is_wildcard_host("*"));
  CHECK(is_wildcard_host("0.0.0.0"));
  CHECK(is_wildcard_host("[::]"));
  CHECK_FALSE(is_wildcard_host("127.0.0.1"));
}
