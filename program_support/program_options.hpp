#pragma once
// What actor-node and actor-registry share as programs: options from the command
// line, then ACTOR_* environment variables, then a --config file (the first source
// to set an option wins); and stopping on SIGTERM/SIGINT within a bound.

#include <signal.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace actor {

/// The process environment as a map (also declared in actor/node_main.hpp).
[[nodiscard]] std::map<std::string, std::string> process_environment();

}  // namespace actor

namespace actor::detail {

/// The outcome of parse_sources: run (options bound into desc's variables), or
/// exit with `exit_code` after printing `output` (help/version: 0, a bad option: 2).
struct parse_outcome {
  bool run = false;
  int exit_code = 0;
  std::string output;
};

/// `desc` must define "help", "version" and "config". `usage` is printed above the
/// options by --help, `version` by --version; errors are prefixed with `program`.
parse_outcome parse_sources(int argc, const char* const* argv, const std::map<std::string, std::string>& env,
                            const boost::program_options::options_description& desc, std::string_view program,
                            std::string_view usage, std::string_view version);

/// The options every server program has (O: its options struct, with fields name,
/// listen, advertise, config_file, log_level, log_json, heartbeat_ms,
/// suspect_after_ms, down_after_ms, max_message_size, busy_poll_us, gateway_forwarding). `what` names the program's
/// kind in the help ("node", "registry").
template <class O>
void add_common_options(boost::program_options::options_description& d, O& o, const std::string& what) {
  namespace po = boost::program_options;
  // clang-format off
  d.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("name", po::value(&o.name)->default_value(o.name), ("this " + what + "'s name").c_str())
    ("listen", po::value(&o.listen)->default_value(o.listen), "ZeroMQ endpoint to bind (port 0: any free port)")
    ("advertise", po::value(&o.advertise), "address others use to reach this process (default: the bound endpoint)")
    ("config", po::value(&o.config_file), "config file of key = value lines, same names as these options")
    ("log-level", po::value(&o.log_level)->default_value(o.log_level), "debug, info, warn, error or off")
    ("log-json", po::value(&o.log_json)->default_value(o.log_json)->implicit_value(true), "write logs as JSON lines")
    ("heartbeat-ms", po::value(&o.heartbeat_ms)->default_value(o.heartbeat_ms), "heartbeat interval to peers")
    ("suspect-after-ms", po::value(&o.suspect_after_ms)->default_value(o.suspect_after_ms), "silence before a peer is suspect")
    ("down-after-ms", po::value(&o.down_after_ms)->default_value(o.down_after_ms), "silence before a peer is down")
    ("max-message-size", po::value(&o.max_message_size)->default_value(o.max_message_size), "largest accepted message, bytes")
    ("busy-poll-us", po::value(&o.busy_poll_us)->default_value(o.busy_poll_us),
     "microseconds an idle thread polls for work before it sleeps (0: at once; less CPU when idle, slower replies)")
    ("gateway-forwarding", po::value(&o.gateway_forwarding)->default_value(o.gateway_forwarding)->implicit_value(true),
     "act as a client gateway: forward what clients send through this process to other nodes (off: clients reach only it)");
  // clang-format on
}

/// What is wrong with the common options, or "".
std::string validate_common(const std::string& name, const std::string& listen, const std::string& advertise,
                            const std::string& log_level, int heartbeat_ms, int suspect_after_ms, int down_after_ms,
                            std::size_t max_message_size, int busy_poll_us);
template <class O>
std::string validate_common(const O& o) {
  return validate_common(o.name, o.listen, o.advertise, o.log_level, o.heartbeat_ms, o.suspect_after_ms,
                         o.down_after_ms, o.max_message_size, o.busy_poll_us);
}

/// Stores into vm the options of desc that ACTOR_<NAME> variables of env set
/// (ACTOR_LOG_LEVEL -> log-level; never help or version). Options already in vm
/// (from the command line) keep their values.
void store_environment(const std::map<std::string, std::string>& env,
                       const boost::program_options::options_description& desc,
                       boost::program_options::variables_map& vm);

/// "a,b" (one environment variable or config line) -> two values.
[[nodiscard]] std::vector<std::string> split_commas(const std::vector<std::string>& in);

/// Blocks SIGTERM and SIGINT for this thread and the threads it starts later; call
/// it before starting any thread, then wait_for_stop_signal.
sigset_t block_stop_signals();
/// Waits for SIGTERM or SIGINT; returns its name.
const char* wait_for_stop_signal(const sigset_t& sigs);
/// From now on, the process exits (code 0) after `limit` whatever else happens.
void exit_within(std::chrono::milliseconds limit, std::string_view component);

}  // namespace actor::detail
