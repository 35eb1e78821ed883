// actor-node's options: precedence (command line > ACTOR_* environment > config file >
// default), and the exit code 2 for bad input, both through parse_node_options and
// through the real program.
#include <catch2/catch.hpp>

#include "actor/node_main.hpp"
#include "actor/registry_main.hpp"
#include "harness.hpp"

using namespace itest;
using Catch::Matchers::Contains;
using env_map = std::map<std::string, std::string>;

namespace {

actor::node_parse_result parse(std::vector<std::string> args, const env_map& env) {
  args.insert(args.begin(), "actor-node");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return actor::parse_node_options(static_cast<int>(args.size()), argv.data(), env);
}

}  // namespace

TEST_CASE("node options come from the command line, then ACTOR_ variables, then the config file, then defaults",
          "[integration][options]") {
  temp_file file("# a comment\nheartbeat-ms = 333\nspawn = kv:from_file\nname = file-name\n");
  const env_map env{{"ACTOR_HEARTBEAT_MS", "222"}, {"ACTOR_SPAWN", "counter:env1,echo:env2"}, {"PATH", "/bin"}};

  SECTION("the command line wins over the environment and the file") {
    auto r = parse({"--config", file.path(), "--heartbeat-ms", "111", "--spawn", "echo:cli1", "--spawn", "kv:cli2"},
                   env);
    REQUIRE(r.options);
    CHECK(r.options->heartbeat_ms == 111);
    CHECK(r.options->spawns == std::vector<std::string>{"echo:cli1", "kv:cli2"});
    CHECK(r.options->name == "file-name");  // set by the file alone
    CHECK(r.options->down_after_ms == 2000);  // set by nobody
  }
  SECTION("the environment wins over the file") {
    auto r = parse({"--config", file.path()}, env);
    REQUIRE(r.options);
    CHECK(r.options->heartbeat_ms == 222);
    CHECK(r.options->spawns == std::vector<std::string>{"counter:env1", "echo:env2"});
  }
  SECTION("the file wins over the defaults") {
    auto r = parse({"--config", file.path()}, {});
    REQUIRE(r.options);
    CHECK(r.options->heartbeat_ms == 333);
    CHECK(r.options->spawns == std::vector<std::string>{"kv:from_file"});
    CHECK(r.options->name == "file-name");
  }
  SECTION("the config file can be named by ACTOR_CONFIG") {
    auto r = parse({}, {{"ACTOR_CONFIG", file.path()}});
    REQUIRE(r.options);
    CHECK(r.options->heartbeat_ms == 333);
  }
  SECTION("without any source the defaults hold") {
    auto r = parse({}, {});
    REQUIRE(r.options);
    CHECK(r.exit_code == 0);
    CHECK(r.options->heartbeat_ms == 500);
    CHECK(r.options->spawns.empty());
    CHECK(r.options->name == "node");
  }
}

TEST_CASE("an unknown option or a malformed value is exit code 2 with a message", "[integration][options]") {
  SECTION("an unknown option") {
    auto r = parse({"--bogus"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("bogus"));
  }
  SECTION("a malformed number on the command line") {
    auto r = parse({"--heartbeat-ms", "abc"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("abc"));
  }
  SECTION("a malformed number in the environment") {
    auto r = parse({}, {{"ACTOR_HEARTBEAT_MS", "abc"}});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
  }
  SECTION("a malformed number in the config file") {
    temp_file file("heartbeat-ms = abc\n");
    auto r = parse({"--config", file.path()}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
  }
  SECTION("an unknown key in the config file") {
    temp_file file("bogus-key = 1\n");
    auto r = parse({"--config", file.path()}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("bogus-key"));
  }
  SECTION("a config file that does not exist") {
    auto r = parse({"--config", "/nonexistent/actor-node.conf"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("/nonexistent/actor-node.conf"));
  }
  SECTION("inconsistent liveness times") {
    auto r = parse({"--suspect-after-ms", "5000", "--down-after-ms", "1000"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
  }
  SECTION("a busy-poll time out of range") {
    auto r = parse({"--busy-poll-us", "-1"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("--busy-poll-us"));
    CHECK_FALSE(parse({}, {{"ACTOR_BUSY_POLL_US", "2000000"}}).options);
    auto ok = parse({}, {{"ACTOR_BUSY_POLL_US", "0"}});
    REQUIRE(ok.options);
    CHECK(ok.options->busy_poll_us == 0);
  }
  SECTION("a malformed --spawn") {
    auto r = parse({"--spawn", "a:b:c"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("a:b:c"));
  }
  SECTION("--help is exit code 0 with the usage") {
    auto r = parse({"--help"}, {});
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Contains("usage") && Contains("--heartbeat-ms"));
  }
}

TEST_CASE("actor-node exits with status 2 and a message on an unknown option or a malformed value",
          "[integration][options]") {
  SECTION("--bogus") {
    child_process proc({actor_node_path(), "--bogus"});
    auto st = proc.wait_exit(10s);
    REQUIRE(st);
    CHECK(st->describe() == "exited with code 2");
    CHECK_THAT(proc.log(), Contains("bogus"));
  }
  SECTION("--heartbeat-ms abc") {
    child_process proc({actor_node_path(), "--heartbeat-ms", "abc"});
    auto st = proc.wait_exit(10s);
    REQUIRE(st);
    CHECK(st->describe() == "exited with code 2");
    CHECK_THAT(proc.log(), Contains("abc"));
  }
  SECTION("ACTOR_HEARTBEAT_MS=abc") {
    child_process proc({actor_node_path(), "--listen", "tcp://127.0.0.1:0"}, {{"ACTOR_HEARTBEAT_MS", "abc"}});
    auto st = proc.wait_exit(10s);
    REQUIRE(st);
    CHECK(st->describe() == "exited with code 2");
  }
}

TEST_CASE("actor-node takes its options from ACTOR_ variables unless the command line sets them",
          "[integration][options]") {
  local_node me;
  SECTION("the environment alone") {
    node_process proc({actor_node_path(), "--listen", "tcp://127.0.0.1:0"}, {{"ACTOR_NAME", "from-env"}});
    auto ping = me.ask<actor::ping_reply>(me.node.manager_at(proc.address()), actor::ping_request{});
    REQUIRE(ping);
    CHECK(ping->node == "from-env");
  }
  SECTION("the command line over the environment") {
    node_process proc({actor_node_path(), "--listen", "tcp://127.0.0.1:0", "--name", "from-cli"},
                      {{"ACTOR_NAME", "from-env"}});
    auto ping = me.ask<actor::ping_reply>(me.node.manager_at(proc.address()), actor::ping_request{});
    REQUIRE(ping);
    CHECK(ping->node == "from-cli");
  }
  SECTION("ACTOR_LISTEN and ACTOR_SPAWN") {
    node_process proc({actor_node_path()}, {{"ACTOR_LISTEN", "tcp://127.0.0.1:0"}, {"ACTOR_SPAWN", "counter:c,kv:k"}});
    CHECK(me.lookup_at(proc.address(), "c"));
    CHECK(me.lookup_at(proc.address(), "k"));
  }
}

// ---- actor-registry --------------------------------------------------------------------

namespace {

actor::registry_parse_result parse_registry(std::vector<std::string> args, const env_map& env) {
  args.insert(args.begin(), "actor-registry");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return actor::parse_registry_options(static_cast<int>(args.size()), argv.data(), env);
}

}  // namespace

TEST_CASE("registry options follow the same precedence, and bad ones exit 2", "[integration][options][registry]") {
  temp_file file("lease-ms = 3000\npeer = tcp://10.0.0.1:7000\nname = from-file\n");
  const env_map env{{"ACTOR_LEASE_MS", "2500"}, {"ACTOR_PEER", "tcp://r2:7000,tcp://r3:7000"}};

  auto cli = parse_registry({"--config", file.path(), "--lease-ms", "1500"}, env);
  REQUIRE(cli.options);
  CHECK(cli.options->lease_ms == 1500);
  CHECK(cli.options->peers == std::vector<std::string>{"tcp://r2:7000", "tcp://r3:7000"});
  CHECK(cli.options->name == "from-file");
  CHECK(cli.options->listen == "tcp://127.0.0.1:7000");

  auto from_env = parse_registry({"--config", file.path()}, env);
  REQUIRE(from_env.options);
  CHECK(from_env.options->lease_ms == 2500);

  auto from_file = parse_registry({"--config", file.path()}, {});
  REQUIRE(from_file.options);
  CHECK(from_file.options->lease_ms == 3000);
  CHECK(from_file.options->peers == std::vector<std::string>{"tcp://10.0.0.1:7000"});

  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"--no-such-flag"}, {"--lease-ms", "soon"}, {"--lease-ms", "0"}, {"--peer", "nowhere"}, {"--log-level", "loud"},
           {"--busy-poll-us", "-5"}}) {
    auto r = parse_registry(bad, {});
    INFO(bad.front());
    CHECK_FALSE(r.options);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("actor-registry"));
  }
  auto help = parse_registry({"--help"}, {});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Contains("--lease-ms"));

  // and the real program says what is wrong and exits 2
  child_process proc({actor_registry_path(), "--lease-ms", "soon"});
  auto status = proc.wait_exit(10s);
  REQUIRE(status);
  CHECK(status->exited);
  CHECK(status->code == 2);
  CHECK_THAT(proc.log(), Contains("lease-ms"));
}
