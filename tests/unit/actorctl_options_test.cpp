// actorctl's options: the command line beats ACTOR_* variables, which beat the
// --config file, which beats the defaults; bad input exits 2 with a reason.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actorctl_options.hpp"

using Catch::Matchers::Contains;

namespace {

actorctl::parse_result parse(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), "actorctl");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return actorctl::parse_options(static_cast<int>(argv.size()), argv.data(), env);
}

struct config_file {
  explicit config_file(const std::string& text) {
    std::ofstream(path) << text;
  }
  ~config_file() { std::remove(path.c_str()); }
  std::string path = "/tmp/actorctl-options-test-" + std::to_string(::getpid()) + ".cfg";
};

}  // namespace

TEST_CASE("actorctl takes a command and its arguments after the options", "[actorctl]") {
  auto r = parse({"--node", "tcp://127.0.0.1:7100", "call", "c1", "actor.counter.incr", "{\"by\": 2}"});
  REQUIRE(r.opts);
  CHECK(r.opts->node == "tcp://127.0.0.1:7100");
  CHECK(r.opts->command == "call");
  CHECK(r.opts->args == std::vector<std::string>{"c1", "actor.counter.incr", "{\"by\": 2}"});
  CHECK(r.opts->timeout_ms == 5000);
}

TEST_CASE("actorctl options: command line, then environment, then config file, then defaults", "[actorctl]") {
  config_file cfg("timeout = 111\nname = from-file\nregistry = tcp://file:1\ndown-after-ms = 999\n");
  const std::map<std::string, std::string> env{
      {"ACTOR_TIMEOUT", "222"}, {"ACTOR_NAME", "from-env"}, {"ACTOR_CONFIG", cfg.path}, {"HOME", "/x"}};

  auto r = parse({"--timeout", "333", "ping"}, env);
  REQUIRE(r.opts);
  CHECK(r.opts->timeout_ms == 333);           // command line
  CHECK(r.opts->name == "from-env");          // environment over the file
  CHECK(r.opts->down_after_ms == 999);        // the file over the default
  CHECK(r.opts->registries == std::vector<std::string>{"tcp://file:1"});
  CHECK(r.opts->heartbeat_ms == 500);         // default

  auto no_cli = parse({"ping"}, env);
  REQUIRE(no_cli.opts);
  CHECK(no_cli.opts->timeout_ms == 222);
}

TEST_CASE("actorctl takes several registries, repeated or comma-separated", "[actorctl]") {
  auto r = parse({"--registry", "tcp://a:1", "--registry", "tcp://b:2", "list"});
  REQUIRE(r.opts);
  CHECK(r.opts->registries == std::vector<std::string>{"tcp://a:1", "tcp://b:2"});
  auto e = parse({"list"}, {{"ACTOR_REGISTRY", "tcp://a:1,tcp://b:2"}});
  REQUIRE(e.opts);
  CHECK(e.opts->registries == std::vector<std::string>{"tcp://a:1", "tcp://b:2"});
}

TEST_CASE("actorctl rejects bad options with exit code 2 and a reason", "[actorctl]") {
  auto none = parse({});
  CHECK_FALSE(none.opts);
  CHECK(none.exit_code == actorctl::exit_usage);
  CHECK_THAT(none.output, Contains("COMMAND"));

  auto unknown = parse({"--frobnicate", "ping"});
  CHECK(unknown.exit_code == actorctl::exit_usage);
  CHECK_THAT(unknown.output, Contains("frobnicate"));

  auto bad_number = parse({"--timeout", "soon", "ping"});
  CHECK(bad_number.exit_code == actorctl::exit_usage);

  auto negative = parse({"--timeout", "-5", "ping"});
  CHECK(negative.exit_code == actorctl::exit_usage);

  auto bad_address = parse({"--node", "localhost:7100", "ping"});
  CHECK(bad_address.exit_code == actorctl::exit_usage);
  CHECK_THAT(bad_address.output, Contains("tcp://"));

  auto missing_file = parse({"--config", "/nonexistent/actorctl.cfg", "ping"});
  CHECK(missing_file.exit_code == actorctl::exit_usage);
}

TEST_CASE("actorctl --help lists the commands, target forms and exit codes", "[actorctl]") {
  auto r = parse({"--help"});
  CHECK_FALSE(r.opts);
  CHECK(r.exit_code == actorctl::exit_ok);
  for (const char* word : {"lookup", "list", "call", "send", "multicall", "stop", "spawn", "stats", "watch", "ping",
                           "NODE@ADDRESS#INCARNATION/ID", "exit codes", "node_down", "--registry", "--timeout"}) {
    CHECK_THAT(r.output, Contains(word));
  }
}
