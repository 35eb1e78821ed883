#include "program_options.hpp"

#include <pthread.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "actor/log.hpp"

namespace actor::detail {

namespace po = boost::program_options;

namespace {

// ACTOR_LOG_LEVEL -> log-level, when desc has such an option
std::string env_to_option(const std::string& var, const po::options_description& d) {
  static const std::string prefix = "ACTOR_";
  if (var.rfind(prefix, 0) != 0) return {};
  std::string name = var.substr(prefix.size());
  for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "help" || name == "version") return {};
  return d.find_nothrow(name, false) != nullptr ? name : std::string{};
}

}  // namespace

void store_environment(const std::map<std::string, std::string>& env, const po::options_description& desc,
                       po::variables_map& vm) {
  po::parsed_options from_env(&desc);
  for (const auto& [var, value] : env) {
    auto name = env_to_option(var, desc);
    if (name.empty()) continue;
    po::option opt;
    opt.string_key = name;
    opt.value.push_back(value);
    from_env.options.push_back(opt);
  }
  po::store(from_env, vm);
}

parse_outcome parse_sources(int argc, const char* const* argv, const std::map<std::string, std::string>& env,
                            const po::options_description& desc, std::string_view program, std::string_view usage,
                            std::string_view version) {
  const std::string prog(program);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << usage << "\n\n" << desc;
      return {false, 0, out.str()};
    }
    if (vm.count("version")) return {false, 0, std::string(version) + "\n"};
    store_environment(env, desc, vm);
    std::string config_file;
    if (vm.count("config")) config_file = vm["config"].as<std::string>();
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) return {false, 2, prog + ": cannot read config file '" + config_file + "'\n"};
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return {false, 2, prog + ": " + e.what() + "\n(see " + prog + " --help)\n"};
  }
  return {true, 0, {}};
}

std::string validate_common(const std::string& name, const std::string& listen, const std::string& advertise,
                            const std::string& log_level, int heartbeat_ms, int suspect_after_ms, int down_after_ms,
                            std::size_t max_message_size, int busy_poll_us) {
  if (!log::level_from_string(log_level)) return "--log-level must be debug, info, warn, error or off, not '" + log_level + "'";
  if (name.empty()) return "--name cannot be empty";
  if (listen.find("://") == std::string::npos) return "--listen must be a ZeroMQ endpoint like tcp://127.0.0.1:7100, not '" + listen + "'";
  if (!advertise.empty() && advertise.find("://") == std::string::npos) return "--advertise must be a ZeroMQ endpoint, not '" + advertise + "'";
  if (heartbeat_ms <= 0 || suspect_after_ms <= 0 || down_after_ms <= 0) return "heartbeat and liveness times must be positive";
  if (suspect_after_ms > down_after_ms) return "--suspect-after-ms cannot exceed --down-after-ms";
  if (max_message_size < 1024) return "--max-message-size must be at least 1024";
  if (busy_poll_us < 0 || busy_poll_us > 1'000'000) {
    return "--busy-poll-us must be between 0 and 1000000, not " + std::to_string(busy_poll_us);
  }
  return {};
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& v : in) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

sigset_t block_stop_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return sigs;
}

const char* wait_for_stop_signal(const sigset_t& sigs) {
  int sig = 0;
  sigwait(&sigs, &sig);
  return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

void exit_within(std::chrono::milliseconds limit, std::string_view component) {
  std::thread([limit, c = std::string(component)] {
    std::this_thread::sleep_for(limit);
    ACTOR_LOG(error, c, "stop_timeout", {"reason", "did not stop in time"});
    std::_Exit(0);
  }).detach();
}

}  // namespace actor::detail

extern char** environ;

namespace actor {

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace actor
