#include "actorctl_options.hpp"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "program_options.hpp"

namespace actorctl {

namespace po = boost::program_options;

namespace {

constexpr const char* usage_text = R"(usage: actorctl [options] COMMAND [ARGS...]

Talks to actors from scripts: a Bridge client of the libactor wire protocol.

commands:
  lookup NAME                     print the ref registered as NAME (via the registry)
  list [PREFIX]                   print the registered names starting with PREFIX, as JSON
  call TARGET TYPE [JSON]         request, print the reply's body as JSON (JSON defaults to {})
  send TARGET TYPE [JSON]         send one way
  multicall TYPE JSON TARGET...   the same request to every TARGET at once; one JSON line per target
  stop TARGET...                  stop actors; one JSON line per target
  spawn TYPE [NAME] [CONFIG]      spawn on --node; print the new actor's ref (a TARGET); CONFIG's
                                  "groups": ["G", ...] joins it to those groups
  stats [ADDRESS]                 a node's counters as JSON (default: --node)
  ping [ADDRESS]                  a node's name, address and incarnation as JSON (default: --node)
  watch [PREFIX]                  print the names under PREFIX, then their changes, as JSON lines,
                                  and a "down" line (with the reason) when an actor that held one
                                  of them dies, until SIGINT/SIGTERM or --count lines after the names
  monitor TARGET                  wait (up to --timeout) until the actor is gone, then print one JSON
                                  line {"target", "ref", "monitor", "reason": {"what", "text",
                                  "error_type"}} and exit 0; what: stopped, normal, crashed,
                                  shutdown, linked, noproc (gone already), node_down,
                                  node_restarted. Once the monitor is in place, says
                                  "actorctl: monitoring REF" on stderr. Still there at --timeout: exit 3
  observe TARGET [TYPE...]        observe the actor's outputs (only TYPEs, when given) and print one
                                  JSON line per event until SIGINT/SIGTERM, --count notifications or
                                  --for seconds (exit 0): {"event": "notification", "seq", "from",
                                  "type", "body"}, {"event": "lost", "count", "from"} (the oldest were
                                  dropped: --queue was full), {"event": "restarted", "target", "ref"}
                                  (a NAME target is followed to the actor that holds it next). Says
                                  "actorctl: observing REF" on stderr once in place. The actor gone
                                  (not a NAME): exit 1 (node down: 5)
  state TARGET                    a task's state: {"state", "phase", "states"} (docs/tasks.md)
  start-tasks SPEC...             start tasks on --node as one sequence (docs/tasks.md): SPEC is
                                  TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON; every task is
                                  configured, then every task started, in order, --timeout per step;
                                  a failing step stops them all (the error names the task and step).
                                  Prints their refs as a JSON array
  members GROUP                   print the members of a group (docs/groups.md) as a JSON array of
                                  refs: the registries' list, or --node's view without --registry
  publish GROUP TYPE [JSON]       send one way to every member of GROUP, once each; prints
                                  {"group", "members", "sent", "failed": [{"ref", "error"}]}
                                  (a member it could not send to: the exit code of its error)

targets:
  NAME                            resolved through the registries (--registry); without any
                                  registry, the name registered on --node
  NAME@ADDRESS                    the actor registered as NAME on the node at ADDRESS
  NODE@ADDRESS#INCARNATION/ID     a ref, as spawn and lookup print it
                                  (e.g. n1@tcp://127.0.0.1:7100#7733619457346/16)

message bodies are JSON objects sent as the MessagePack map of the type's fields,
e.g.  actorctl call c1 actor.counter.incr '{"by": 2}', or JSON arrays of positional
arguments for receive-style actors, e.g.  actorctl call p printer.greeting '["World"]'

exit codes:
  0 ok                            4 no_such_actor
  1 any other error               5 node_down
  2 bad usage, malformed JSON or  6 remote_error (the handler threw)
    target, unknown message type
    or actor type, body that does
    not fit its type (bad_message)
  3 timeout (monitor: the actor
    was still there)

)";

po::options_description describe(options& o) {
  po::options_description d("options (also ACTOR_<NAME> environment variables and --config FILE)");
  // clang-format off
  d.add_options()
    ("help,h", "print this help and exit")
    ("registry", po::value(&o.registries), "registry address (repeatable; asked in order)")
    ("node", po::value(&o.node), "node address for spawn, stats, ping and names without a registry")
    ("gateway", po::value(&o.gateways),
     "a node started with --gateway-forwarding to send everything through (repeatable; the first not down is used), "
     "e.g. a cluster's published port: refs stay the cluster's addresses")
    ("timeout", po::value(&o.timeout_ms)->default_value(o.timeout_ms), "deadline of the command, in ms")
    ("name", po::value(&o.name)->default_value(o.name), "start of this client's routing id")
    ("config", po::value(&o.config_file), "config file of key = value lines, same names as these options")
    ("heartbeat-ms", po::value(&o.heartbeat_ms)->default_value(o.heartbeat_ms), "ping interval to nodes")
    ("down-after-ms", po::value(&o.down_after_ms)->default_value(o.down_after_ms), "silence before a node is down")
    ("max-message-size", po::value(&o.max_message_size)->default_value(o.max_message_size), "largest accepted message, bytes")
    ("count", po::value(&o.count)->default_value(o.count), "watch: exit after this many lines after the names (changes and downs); observe: after this many notifications (0: never)")
    ("for", po::value(&o.for_seconds)->default_value(o.for_seconds), "observe: exit after this many seconds (0: never)")
    ("queue", po::value(&o.queue)->default_value(o.queue), "observe: notifications outstanding at most; past it the oldest are dropped (0: 1024)");
  // clang-format on
  return d;
}

// ACTOR_DOWN_AFTER_MS -> down-after-ms; only names of options
std::string validate(const options& o) {
  if (o.command.empty()) return "a COMMAND is needed";
  if (o.timeout_ms <= 0) return "--timeout must be a positive number of milliseconds";
  if (o.heartbeat_ms <= 0 || o.down_after_ms <= 0) return "--heartbeat-ms and --down-after-ms must be positive";
  if (o.max_message_size < 1024) return "--max-message-size must be at least 1024";
  if (o.for_seconds < 0) return "--for must not be negative";
  for (const auto& g : o.gateways) {
    if (g.find("://") == std::string::npos) return "--gateway must be an address like tcp://host:port, not '" + g + "'";
  }
  for (const auto& r : o.registries) {
    if (r.find("://") == std::string::npos) return "--registry must be an address like tcp://host:port, not '" + r + "'";
  }
  if (!o.node.empty() && o.node.find("://") == std::string::npos) {
    return "--node must be an address like tcp://host:port, not '" + o.node + "'";
  }
  return {};
}

}  // namespace

parse_result parse_options(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  options o;
  auto desc = describe(o);
  po::options_description hidden;
  hidden.add_options()("command", po::value(&o.command))("args", po::value(&o.args));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  po::variables_map vm;
  try {
    // the first source to set an option wins: command line, environment, config file
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << usage_text << desc << "\n";
      return {std::nullopt, exit_ok, out.str()};
    }
    actor::detail::store_environment(env, desc, vm);  // ACTOR_<NAME>, as the server programs read them
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) return {std::nullopt, exit_usage, "actorctl: cannot read config file '" + path + "'\n"};
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return {std::nullopt, exit_usage, std::string("actorctl: ") + e.what() + "\n(see actorctl --help)\n"};
  }
  o.registries = actor::detail::split_commas(o.registries);
  o.gateways = actor::detail::split_commas(o.gateways);
  if (auto bad = validate(o); !bad.empty()) {
    return {std::nullopt, exit_usage, "actorctl: " + bad + "\n(see actorctl --help)\n"};
  }
  return {std::move(o), exit_ok, {}};
}

}  // namespace actorctl
