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

#include <nlohmann/json.hpp>

#include "actor/builtins.hpp"
#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/system.hpp"
#include "actor/task.hpp"
#include "program_options.hpp"


namespace actor {

namespace po = boost::program_options;

namespace {

constexpr const char* version_text = "actor-node 0.1.0 (wire protocol 1)";

}  // namespace

expected<node_spawn> parse_spawn(const std::string& text, const std::string& option) {
  const auto usage = option + " takes TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON, not '" + text + "'";
  const auto eq = text.find('=');
  const auto head = text.substr(0, eq);
  if (head.empty() || head.front() == ':' || std::count(head.begin(), head.end(), ':') > 1) {
    return error{errc::bad_message, usage};
  }
  node_spawn out;
  const auto colon = head.find(':');
  out.type = head.substr(0, colon);
  if (colon != std::string::npos) {
    out.name = head.substr(colon + 1);
    if (out.name.empty()) return error{errc::bad_message, usage};
  }
  if (eq == std::string::npos) return out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.substr(eq + 1));
  } catch (const std::exception& ex) {
    return error{errc::bad_message, option + " '" + head + "': the config is not JSON: " + ex.what()};
  }
  if (!j.is_object()) return error{errc::bad_message, option + " '" + head + "': the config must be a JSON object"};
  const auto bytes = nlohmann::json::to_msgpack(j);
  auto cfg = config::from_msgpack(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!cfg) return error{errc::bad_message, option + " '" + head + "': " + cfg.error().text};
  out.config = std::move(*cfg);
  return out;
}

namespace {

po::options_description describe(node_program_options& o) {
  po::options_description d("actor-node options (also ACTOR_<NAME> environment variables and --config FILE)");
  detail::add_common_options(d, o, "node");
  // clang-format off
  d.add_options()
    ("registry", po::value(&o.registries)->multitoken(), "registry address (repeatable)")
    ("spawn", po::value(&o.spawns)->multitoken(), "spawn an actor at start: TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON, JSON being its config object (repeatable)")
    ("task", po::value(&o.tasks)->multitoken(), "start a task after the spawns, in the forms of --spawn (repeatable): every --task is configured, then every --task started, in order; a failing step stops them all and the node exits 1 (docs/tasks.md)")
    ("task-timeout-ms", po::value(&o.task_timeout_ms)->default_value(o.task_timeout_ms), "the deadline of each step of the --task sequence")
    ("plugin", po::value(&o.plugins)->multitoken(), "load actor types from a shared library (repeatable)")
    ("workers", po::value(&o.workers)->default_value(o.workers), "worker threads (0: one per core)");
  // clang-format on
  return d;
}

// "a,b" -> two values, but not at the commas of a JSON config ("t={"x":1,"y":2}").
std::vector<std::string> split_spawns(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& v : in) {
    std::string item;
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char ch : v) {
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (ch == '\\') {
          escaped = true;
        } else if (ch == '"') {
          in_string = false;
        }
      } else if (ch == '"') {
        in_string = true;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if ((ch == '}' || ch == ']') && depth > 0) {
        --depth;
      } else if (ch == ',' && depth == 0) {
        if (!item.empty()) out.push_back(std::move(item));
        item.clear();
        continue;
      }
      item += ch;
    }
    if (!item.empty()) out.push_back(std::move(item));
  }
  return out;
}

std::string validate(const node_program_options& o) {
  if (auto bad = detail::validate_common(o); !bad.empty()) return bad;
  for (const auto& s : o.spawns) {
    auto spec = parse_spawn(s);
    if (!spec) return spec.error().text;
  }
  for (const auto& t : o.tasks) {
    auto spec = parse_spawn(t, "--task");
    if (!spec) return spec.error().text;
  }
  if (o.task_timeout_ms <= 0) return "--task-timeout-ms must be positive, not " + std::to_string(o.task_timeout_ms);
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
    if (parsed.exit_code == 0) parsed.output += "\nbuilt-in actor types: echo, counter, kv, observer, pulse (a task: docs/tasks.md), printer, thread_printer, supervisor (docs/supervisors.md)\n";
    return {std::nullopt, parsed.exit_code, parsed.output};
  }
  o.spawns = split_spawns(o.spawns);
  o.tasks = split_spawns(o.tasks);
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
  for (const auto& text : o.spawns) {
    auto spec = parse_spawn(text);  // validated already
    auto ref = spec ? n->spawn(spec->type, spec->name, spec->config) : expected<actor_ref>(spec.error());
    if (!ref) {
      ACTOR_LOG(error, "node", "spawn_failed", {"spec", text}, {"error", ref.error().describe()});
      return 1;
    }
    ACTOR_LOG(info, "node", "spawned", {"type", spec->type}, {"name", spec->name}, {"id", ref->id()});
  }
  if (!o.tasks.empty()) {
    std::vector<task_spec> tasks;
    for (const auto& text : o.tasks) {
      auto spec = parse_spawn(text, "--task");  // validated already
      tasks.push_back({spec->type, spec->name, spec->config});
    }
    auto refs = start_tasks(*n, std::move(tasks), std::chrono::milliseconds(o.task_timeout_ms));
    if (!refs) {
      ACTOR_LOG(error, "node", "tasks_failed", {"error", refs.error().describe()});
      return 1;
    }
    ACTOR_LOG(info, "node", "tasks_started", {"tasks", refs->size()});
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
