#pragma once
// actorctl's options: command line, then ACTOR_* environment variables, then a
// --config file (the first source to set an option wins), then the defaults; the
// same precedence and spelling as actor-node (ACTOR_DOWN_AFTER_MS -> --down-after-ms).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace actorctl {

/// Exit codes, one per kind of outcome (documented in --help and the README).
enum exit_code : int {
  exit_ok = 0,
  exit_other_error = 1,  ///< actor_stopped, overloaded, shutting_down, unauthorized, name_taken, ...
  exit_usage = 2,        ///< bad usage, malformed JSON or target, unknown message or actor type, body not fitting
  exit_timeout = 3,
  exit_no_such_actor = 4,
  exit_node_down = 5,
  exit_remote_error = 6,
};

struct options {
  std::vector<std::string> registries;
  std::vector<std::string> gateways;  ///< --gateway: send everything through these nodes (bridge_options::gateways)
  std::string node;  ///< the node for spawn, stats, ping, and for names when no registry is given
  int timeout_ms = 5000;
  std::string name = "actorctl";  ///< start of the bridge's routing id
  std::string config_file;
  int heartbeat_ms = 500;
  int down_after_ms = 2000;
  std::size_t max_message_size = 16u << 20;
  std::size_t count = 0;  ///< watch: stop after this many changes; observe: notifications (0: until SIGINT/SIGTERM)
  double for_seconds = 0;  ///< observe: stop after this long (0: until SIGINT/SIGTERM)
  std::size_t queue = 0;   ///< observe: the observation's queue bound (0: the default, 1,024)
  std::string command;
  std::vector<std::string> args;
};

/// Options to run with, or an exit code and text to print (help: 0 on stdout;
/// a bad option or value: 2 on stderr).
struct parse_result {
  std::optional<options> opts;
  int exit_code = exit_ok;
  std::string output;
};

[[nodiscard]] parse_result parse_options(int argc, const char* const* argv,
                                         const std::map<std::string, std::string>& env);

}  // namespace actorctl
