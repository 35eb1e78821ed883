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
#include "program_options.hpp"


namespace actor {

namespace po = boost::program_options;

namespace {

constexpr const char* version_text = "actor-node 0.1.0 (wire protocol 1)";

po::options_description describe(node_program_options& o) {
  po::options_description d("actor-node options (also ACTOR_<NAME> environment variables and --config FILE)");
  detail::add_common_options(d, o, "node");
  // clang-format off
  d.add_options()
    ("registry", po::value(&o.registries)->multitoken(), "registry address (repeatable)")
    ("spawn", po::value(&o.spawns)->multitoken(), "spawn an actor at start: TYPE or TYPE:NAME (repeatable)")
    ("plugin", po::value(&o.plugins)->multitoken(), "load actor types from a shared library (repeatable)")
    ("workers", po::value(&o.workers)->default_value(o.workers), "worker threads (0: one per core)");
  // clang-format on
  return d;
}

std::string validate(const node_program_options& o) {
  if (auto bad = detail::validate_common(o); !bad.empty()) return bad;
  for (const auto& s : o.spawns) {
    if (s.empty() || s.front() == ':' || std::count(s.begin(), s.end(), ':') > 1) return "--spawn takes TYPE or TYPE:NAME, not '" + s + "'";
  }
  for (const auto& r : o.registries) {
    if (r.find("://") == std::string::npos) return "--registry must be a ZeroMQ endpoint, not '" + r + "'";
  }
  return {};
}

}  // namespace

node_parse_result parse_node_options(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  node_parse_result r;
  node_program_options o;
  auto desc = describe(o);
  auto parsed = detail::parse_sources(argc, argv, env, desc, "actor-node", "usage: actor-node [options]", version_text);
  if (!parsed.run) {
    if (parsed.exit_code == 0) parsed.output += "\nbuilt-in actor types: echo, counter, kv\n";
    return {std::nullopt, parsed.exit_code, parsed.output};
  }
  o.spawns = detail::split_commas(o.spawns);
  o.registries = detail::split_commas(o.registries);
  o.plugins = detail::split_commas(o.plugins);
  if (auto bad = validate(o); !bad.empty()) return {std::nullopt, 2, "actor-node: " + bad + "\n"};
  r.options = std::move(o);
  return r;
}

int run_node(const node_program_options& o, const std::function<void(actor_system&)>& register_types) {
  log::set_level(*log::level_from_string(o.log_level));
  log::set_json(o.log_json);

  // signals are taken by sigwait below; block them before any thread starts
  auto sigs = detail::block_stop_signals();

  system_options sopts;
  sopts.workers = o.workers;
  sopts.busy_poll = std::chrono::microseconds(o.busy_poll_us);
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
  nopts.busy_poll = std::chrono::microseconds(o.busy_poll_us);
  nopts.gateway = o.gateway_forwarding;
  nopts.registries = o.registries;
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
  ACTOR_LOG(info, "node", "ready", {"name", n->name()}, {"address", n->address()}, {"incarnation", n->incarnation()});

  const char* sig = detail::wait_for_stop_signal(sigs);
  ACTOR_LOG(info, "node", "stopping", {"signal", sig});
  // whatever happens below, the process is gone within 5 s
  detail::exit_within(std::chrono::milliseconds(4500), "node");
  // names go from the registries now, not when their leases lapse
  n->leave(std::chrono::milliseconds(1000));
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
