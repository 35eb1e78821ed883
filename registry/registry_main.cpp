#include "actor/registry_main.hpp"

#include <cstdio>
#include <memory>

#include "actor/log.hpp"
#include "actor/node.hpp"
#include "actor/registry.hpp"
#include "actor/system.hpp"
#include "program_options.hpp"

namespace actor {

namespace po = boost::program_options;

namespace {

constexpr const char* version_text = "actor-registry 0.1.0 (wire protocol 1)";

po::options_description describe(registry_program_options& o) {
  po::options_description d("actor-registry options (also ACTOR_<NAME> environment variables and --config FILE)");
  detail::add_common_options(d, o, "registry");
  // clang-format off
  d.add_options()
    ("peer", po::value(&o.peers)->multitoken(), "another registry replica, to copy the table from at start (repeatable)")
    ("lease-ms", po::value(&o.lease_ms)->default_value(o.lease_ms), "a node's names lapse after this long without a heartbeat");
  // clang-format on
  return d;
}

std::string validate(const registry_program_options& o) {
  if (auto bad = detail::validate_common(o); !bad.empty()) return bad;
  for (const auto& p : o.peers) {
    if (p.find("://") == std::string::npos) return "--peer must be a ZeroMQ endpoint, not '" + p + "'";
  }
  if (o.lease_ms <= 0) return "--lease-ms must be positive";
  return {};
}

}  // namespace

registry_parse_result parse_registry_options(int argc, const char* const* argv,
                                             const std::map<std::string, std::string>& env) {
  registry_program_options o;
  auto desc = describe(o);
  auto parsed = detail::parse_sources(argc, argv, env, desc, "actor-registry", "usage: actor-registry [options]",
                                      version_text);
  if (!parsed.run) return {std::nullopt, parsed.exit_code, parsed.output};
  o.peers = detail::split_commas(o.peers);
  if (auto bad = validate(o); !bad.empty()) return {std::nullopt, 2, "actor-registry: " + bad + "\n"};
  return {std::move(o), 0, {}};
}

int run_registry(const registry_program_options& o) {
  log::set_level(*log::level_from_string(o.log_level));
  log::set_json(o.log_json);
  auto sigs = detail::block_stop_signals();

  system_options sopts;
  sopts.busy_poll = std::chrono::microseconds(o.busy_poll_us);
  actor_system sys(sopts);
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
  std::unique_ptr<node> n;
  try {
    n = std::make_unique<node>(sys, nopts);
  } catch (const std::exception& ex) {
    ACTOR_LOG(error, "registry", "start_failed", {"error", ex.what()});
    return 1;
  }
  registry_options ropts;
  ropts.lease = std::chrono::milliseconds(o.lease_ms);
  ropts.peers = o.peers;
  host_registry(*n, ropts);
  ACTOR_LOG(info, "registry", "ready", {"name", n->name()}, {"address", n->address()},
            {"incarnation", n->incarnation()}, {"lease_ms", o.lease_ms}, {"peers", o.peers.size()});

  const char* sig = detail::wait_for_stop_signal(sigs);
  ACTOR_LOG(info, "registry", "stopping", {"signal", sig});
  detail::exit_within(std::chrono::milliseconds(4500), "registry");
  sys.shutdown(std::chrono::milliseconds(3000));
  n->shutdown();
  ACTOR_LOG(info, "registry", "stopped", {"name", o.name});
  return 0;
}

int registry_main(int argc, char** argv) {
  auto parsed = parse_registry_options(argc, argv, process_environment());
  if (!parsed.options) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  return run_registry(*parsed.options);
}

}  // namespace actor
