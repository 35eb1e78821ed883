#include "actor/node_main.hpp"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include "actor/builtins.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/system.hpp"
#include "wire.hpp"

extern char** environ;

namespace actor {

namespace po = boost::program_options;

namespace {

constexpr const char* version_text = "actor-node 0.1.0 (wire protocol 1)";

po::options_description describe(node_program_options& o) {
  po::options_description d("actor-node options (also ACTOR_<NAME> environment variables and --config FILE)");
  // clang-format off
  d.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("name", po::value(&o.name)->default_value(o.name), "this node's name")
    ("listen", po::value(&o.listen)->default_value(o.listen), "ZeroMQ endpoint to bind (port 0: any free port)")
    ("advertise", po::value(&o.advertise), "address peers use to reach this node (default: the bound endpoint)")
    ("registry", po::value(&o.registries)->multitoken(), "registry address (repeatable)")
    ("config", po::value(&o.config_file), "config file of key = value lines, same names as these options")
    ("spawn", po::value(&o.spawns)->multitoken(), "spawn an actor at start: TYPE or TYPE:NAME (repeatable)")
    ("plugin", po::value(&o.plugins)->multitoken(), "load actor types from a shared library (repeatable)")
    ("log-level", po::value(&o.log_level)->default_value(o.log_level), "debug, info, warn, error or off")
    ("log-json", po::value(&o.log_json)->default_value(o.log_json)->implicit_value(true), "write logs as JSON lines")
    ("workers", po::value(&o.workers)->default_value(o.workers), "worker threads (0: one per core)")
    ("heartbeat-ms", po::value(&o.heartbeat_ms)->default_value(o.heartbeat_ms), "heartbeat interval to peers")
    ("suspect-after-ms", po::value(&o.suspect_after_ms)->default_value(o.suspect_after_ms), "silence before a peer is suspect")
    ("down-after-ms", po::value(&o.down_after_ms)->default_value(o.down_after_ms), "silence before a peer is down")
    ("max-message-size", po::value(&o.max_message_size)->default_value(o.max_message_size), "largest accepted message, bytes");
  // clang-format on
  return d;
}

// ACTOR_LOG_LEVEL -> log-level
std::string env_to_option(const std::string& var, const po::options_description& d) {
  static const std::string prefix = "ACTOR_";
  if (var.rfind(prefix, 0) != 0) return {};
  std::string name = var.substr(prefix.size());
  for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "help" || name == "version") return {};
  return d.find_nothrow(name, false) != nullptr ? name : std::string{};
}

// "a,b" from one environment variable -> two values
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

std::string validate(const node_program_options& o) {
  if (!log::level_from_string(o.log_level)) return "--log-level must be debug, info, warn, error or off, not '" + o.log_level + "'";
  if (o.name.empty()) return "--name cannot be empty";
  if (o.listen.find("://") == std::string::npos) return "--listen must be a ZeroMQ endpoint like tcp://127.0.0.1:7100, not '" + o.listen + "'";
  if (!o.advertise.empty() && o.advertise.find("://") == std::string::npos) return "--advertise must be a ZeroMQ endpoint, not '" + o.advertise + "'";
  for (const auto& s : o.spawns) {
    if (s.empty() || s.front() == ':' || std::count(s.begin(), s.end(), ':') > 1) return "--spawn takes TYPE or TYPE:NAME, not '" + s + "'";
  }
  if (o.heartbeat_ms <= 0 || o.suspect_after_ms <= 0 || o.down_after_ms <= 0) return "heartbeat and liveness times must be positive";
  if (o.suspect_after_ms > o.down_after_ms) return "--suspect-after-ms cannot exceed --down-after-ms";
  if (o.max_message_size < 1024) return "--max-message-size must be at least 1024";
  return {};
}

}  // namespace

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

node_parse_result parse_node_options(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  node_parse_result r;
  node_program_options o;
  auto desc = describe(o);
  po::variables_map vm;
  try {
    // the first source to set an option wins: command line, environment, config file
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << "usage: actor-node [options]\n\n" << desc << "\nbuilt-in actor types: echo, counter, kv\n";
      return {std::nullopt, 0, out.str()};
    }
    if (vm.count("version")) return {std::nullopt, 0, std::string(version_text) + "\n"};
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
    std::string config_file;
    if (vm.count("config")) config_file = vm["config"].as<std::string>();
    if (!config_file.empty()) {
      std::ifstream in(config_file);
      if (!in) return {std::nullopt, 2, "actor-node: cannot read config file '" + config_file + "'\n"};
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return {std::nullopt, 2, std::string("actor-node: ") + e.what() + "\n(see actor-node --help)\n"};
  }
  o.spawns = split_commas(o.spawns);
  o.registries = split_commas(o.registries);
  o.plugins = split_commas(o.plugins);
  if (auto bad = validate(o); !bad.empty()) return {std::nullopt, 2, "actor-node: " + bad + "\n"};
  r.options = std::move(o);
  return r;
}

int run_node(const node_program_options& o, const std::function<void(actor_system&)>& register_types) {
  log::set_level(*log::level_from_string(o.log_level));
  log::set_json(o.log_json);

  // signals are taken by sigwait below; block them before any thread starts
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  system_options sopts;
  sopts.workers = o.workers;
  actor_system sys(sopts);
  register_builtin_types(sys);
  if (register_types) register_types(sys);
  for (const auto& path : o.plugins) {
    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) {
      ACTOR_LOG(error, "node", "plugin_failed", {"path", path}, {"error", ::dlerror()});
      return 1;
    }
    auto* reg = reinterpret_cast<void (*)(actor_system&)>(::dlsym(lib, "actor_plugin_register"));
    if (reg == nullptr) {
      ACTOR_LOG(error, "node", "plugin_failed", {"path", path}, {"error", "no actor_plugin_register symbol"});
      return 1;
    }
    reg(sys);
    ACTOR_LOG(info, "node", "plugin_loaded", {"path", path});
  }

  node_options nopts;
  nopts.name = o.name;
  nopts.listen = o.listen;
  nopts.advertise = o.advertise;
  nopts.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
  nopts.suspect_after = std::chrono::milliseconds(o.suspect_after_ms);
  nopts.down_after = std::chrono::milliseconds(o.down_after_ms);
  nopts.max_message_size = o.max_message_size;
  std::unique_ptr<node> n;
  try {
    n = std::make_unique<node>(sys, nopts);
  } catch (const std::exception& ex) {
    ACTOR_LOG(error, "node", "start_failed", {"error", ex.what()});
    return 1;
  }
  for (const auto& spec : o.spawns) {
    auto colon = spec.find(':');
    auto type = spec.substr(0, colon);
    auto name = colon == std::string::npos ? std::string{} : spec.substr(colon + 1);
    auto ref = n->spawn(type, name);
    if (!ref) {
      ACTOR_LOG(error, "node", "spawn_failed", {"spec", spec}, {"error", ref.error().describe()});
      return 1;
    }
    ACTOR_LOG(info, "node", "spawned", {"type", type}, {"name", name}, {"id", ref->id()});
  }
  if (!o.registries.empty()) {
    ACTOR_LOG(warn, "node", "registry_ignored", {"reason", "registry support is not built yet"},
              {"registries", std::to_string(o.registries.size())});
  }
  ACTOR_LOG(info, "node", "ready", {"name", n->name()}, {"address", n->address()}, {"incarnation", n->incarnation()});

  int sig = 0;
  sigwait(&sigs, &sig);
  ACTOR_LOG(info, "node", "stopping", {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"});
  // whatever happens below, the process is gone within 5 s
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(4500));
    ACTOR_LOG(error, "node", "stop_timeout", {"reason", "actors did not stop in time"});
    std::_Exit(0);
  }).detach();
  if (!sys.shutdown(std::chrono::milliseconds(3000))) {
    ACTOR_LOG(warn, "node", "stop_incomplete", {"actors_alive", sys.stats().actors_alive});
  }
  n->shutdown();
  ACTOR_LOG(info, "node", "stopped", {"name", o.name});
  n.reset();
  if (sys.stats().actors_alive != 0) std::_Exit(0);  // a handler that never returns: do not wait for it
  return 0;
}

int node_main(int argc, char** argv, const std::function<void(actor_system&)>& register_types) {
  auto parsed = parse_node_options(argc, argv, process_environment());
  if (!parsed.options) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  return run_node(*parsed.options, register_types);
}

}  // namespace actor
