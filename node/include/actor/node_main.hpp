#pragma once
/// The actor-node program as a function, so users can build their own node
/// binary with their own actor types in one line:
///
///   int main(int argc, char** argv) {
///     return actor::node_main(argc, argv, [](actor::actor_system& sys) {
///       sys.register_actor_type<my_actor>("my_actor");
///     });
///   }
///
/// A plugin (--plugin PATH) is a shared library exporting
///   extern "C" void actor_plugin_register(actor::actor_system& sys);

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actor/config.hpp"
#include "actor/expected.hpp"
#include "actor/system.hpp"

namespace actor {

class actor_system;

/// Everything actor-node can be told, from the command line, ACTOR_* environment
/// variables or a config file (in that order of precedence), else the defaults.
struct node_program_options {
  std::string name = "node";
  std::string listen = "tcp://127.0.0.1:7100";
  std::string advertise;
  std::vector<std::string> registries;
  std::string config_file;
  std::vector<std::string> spawns;   ///< TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON (parse_spawn)
  /// Tasks started as one sequence after the spawns (actor/task.hpp), in this order; the same forms.
  std::vector<std::string> tasks;
  int task_timeout_ms = 5000;  ///< each step of the sequence
  std::vector<std::string> plugins;  ///< shared libraries to load
  std::string log_level = "info";
  bool log_json = false;
  std::size_t workers = 0;  ///< 0: one per core
  /// How long idle workers and the I/O thread poll for work before they sleep (0 ... 1,000,000).
  int busy_poll_us = static_cast<int>(default_busy_poll.count());
  bool gateway_forwarding = false;  ///< --gateway-forwarding: act as a client gateway (node_options::gateway)
  int heartbeat_ms = 500;
  int suspect_after_ms = 1000;
  int down_after_ms = 2000;
  std::size_t max_message_size = 16u << 20;
};

/// The outcome of parsing: options to run with, or an exit code with text to
/// print (help and version: 0 on stdout; a bad option or value: 2 on stderr).
struct node_parse_result {
  std::optional<node_program_options> options;
  int exit_code = 0;
  std::string output;
};

/// One --spawn: a registered type, a name to register (may be empty) and a config.
struct node_spawn {
  std::string type;
  std::string name;
  actor::config config;
};
/// Reads TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON (JSON: the config, an object, e.g.
/// supervisor:sup={"children":[{"type":"counter","name":"c"}]}); errc::bad_message saying why.
/// `option` names the option in errors ("--spawn", "--task").
[[nodiscard]] expected<node_spawn> parse_spawn(const std::string& text, const std::string& option = "--spawn");

/// Parses argv; `env` maps variable names to values (a test passes its own; the
/// program passes the process environment).
[[nodiscard]] node_parse_result parse_node_options(int argc, const char* const* argv,
                                                   const std::map<std::string, std::string>& env);

/// The process environment as a map.
[[nodiscard]] std::map<std::string, std::string> process_environment();

/// Runs a node until SIGTERM or SIGINT; returns the process exit code.
int run_node(const node_program_options& opts, const std::function<void(actor_system&)>& register_types = {});

/// parse_node_options + run_node.
int node_main(int argc, char** argv, const std::function<void(actor_system&)>& register_types = {});

}  // namespace actor
