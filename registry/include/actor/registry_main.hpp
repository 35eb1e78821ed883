#pragma once
/// The actor-registry program as a function (see registry.hpp for the service).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actor/system.hpp"

namespace actor {

/// Everything actor-registry can be told, from the command line, ACTOR_* environment
/// variables or a config file (in that order of precedence), else the defaults.
struct registry_program_options {
  std::string name = "registry";
  std::string listen = "tcp://127.0.0.1:7000";
  std::string advertise;
  std::vector<std::string> peers;  ///< other replicas, to copy the table from at start
  std::string config_file;
  std::string log_level = "info";
  bool log_json = false;
  int lease_ms = 2000;
  /// How long idle workers and the I/O thread poll for work before they sleep (0 ... 1,000,000).
  int busy_poll_us = static_cast<int>(default_busy_poll.count());
  bool gateway_forwarding = false;  ///< --gateway-forwarding: act as a client gateway (node_options::gateway)
  int heartbeat_ms = 500;
  int suspect_after_ms = 1000;
  int down_after_ms = 2000;
  std::size_t max_message_size = 16u << 20;
};

/// Options to run with, or an exit code with text to print (help and version: 0 on
/// stdout; a bad option or value: 2 on stderr).
struct registry_parse_result {
  std::optional<registry_program_options> options;
  int exit_code = 0;
  std::string output;
};

[[nodiscard]] registry_parse_result parse_registry_options(int argc, const char* const* argv,
                                                           const std::map<std::string, std::string>& env);

/// Runs a registry until SIGTERM or SIGINT; returns the process exit code.
int run_registry(const registry_program_options& opts);

/// parse_registry_options (with the process environment) + run_registry.
int registry_main(int argc, char** argv);

}  // namespace actor
