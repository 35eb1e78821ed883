// actorctl: the command-line Bridge, for scripts. Parses its options, runs one
// command through an actor::bridge, prints results as JSON on stdout and errors on
// stderr, and exits with a code per outcome (see actorctl --help).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "actor/bridge.hpp"
#include "actor/log.hpp"
#include "actor/task.hpp"
#include "program_options.hpp"  // process_environment
#include "actorctl_options.hpp"
#include "json.hpp"

namespace actorctl {

namespace {

using namespace std::chrono_literals;
using actor::errc;

volatile std::sig_atomic_t interrupted = 0;

int exit_for(errc code) {
  switch (code) {
    case errc::timeout: return exit_timeout;
    case errc::no_such_actor: return exit_no_such_actor;
    case errc::node_down: return exit_node_down;
    case errc::remote_error: return exit_remote_error;
    case errc::bad_message:
    case errc::unknown_type: return exit_usage;
    default: return exit_other_error;
  }
}

int fail(const actor::error& e) {
  std::fprintf(stderr, "actorctl: %s\n", e.describe().c_str());
  return exit_for(e.code);
}

int usage(const std::string& why) {
  std::fprintf(stderr, "actorctl: %s\n(see actorctl --help)\n", why.c_str());
  return exit_usage;
}

// Set once stdout cannot be written (its reader went: `actorctl observe ... | head`): the streaming
// commands stop then.
bool stdout_gone = false;

void print_line(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fputc('\n', stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) stdout_gone = true;
}

std::string error_json(const actor::error& e) {
  return "{\"code\":" + json_quote(actor::to_string(e.code)) + ",\"text\":" + json_quote(e.text) + "}";
}

std::string ref_json(const actor::actor_ref& r) { return r ? json_quote(actor::format_ref(r)) : "null"; }

bool is_map_or_array(std::string_view msgpack) {
  const auto first = static_cast<unsigned char>(msgpack.front());
  return (first & 0xF0) == 0x80 || first == 0xDE || first == 0xDF ||  // fixmap, map16, map32
         (first & 0xF0) == 0x90 || first == 0xDC || first == 0xDD;    // fixarray, array16, array32
}

// A body given on the command line: a JSON object (a typed message's fields) or array (a dynamic
// message's positional arguments, for receivers: docs/receivers.md), as MessagePack.
actor::expected<std::string> body_from(const std::string& json) {
  auto bytes = json_to_msgpack(json);
  if (bytes && !is_map_or_array(*bytes)) {
    return actor::error{errc::bad_message,
                        "a message body must be a JSON object (the message's fields) or array (positional "
                        "arguments), not " + json};
  }
  return bytes;
}

// A call's outcome: its reply's body as one JSON line (exit 0), or the error.
int print_reply(const actor::expected<actor::raw_message>& reply) {
  if (!reply) return fail(reply.error());
  auto json = msgpack_to_json(reply->body);
  if (!json) return fail(json.error());
  print_line(*json);
  return exit_ok;
}

struct context {
  const options& opts;
  actor::bridge& bridge;
  std::chrono::milliseconds timeout;
  const std::vector<std::string>& args;

  // A target from its text; a bare name goes to --node when no registry is given.
  actor::expected<actor::target> target(const std::string& text) const {
    if (text.find('@') == std::string::npos && opts.registries.empty() && !opts.node.empty()) {
      return actor::target::named_at(opts.node, text);
    }
    return actor::parse_target(text);
  }
  // The node a command is about: its argument, else --node.
  [[nodiscard]] std::string node_address(std::size_t arg) const { return args.size() > arg ? args[arg] : opts.node; }
};

int cmd_lookup(const context& c) {
  const auto& name = c.args[0];
  auto ref = [&]() -> actor::expected<actor::actor_ref> {
    if (!c.opts.registries.empty() || c.opts.node.empty()) return c.bridge.lookup(name, c.timeout);
    // no registry: the name registered on --node
    auto r = c.bridge.call<actor::lookup_reply>(actor::target::manager_at(c.opts.node), actor::lookup_request{name},
                                                c.timeout);
    if (!r) return r.error();
    return r->ref;
  }();
  if (!ref) return fail(ref.error());
  print_line(actor::format_ref(*ref));
  return exit_ok;
}

int cmd_list(const context& c) {
  auto entries = c.bridge.list(c.args.empty() ? std::string() : c.args[0], c.timeout);
  if (!entries) return fail(entries.error());
  std::string out = "[";
  for (const auto& e : *entries) {
    if (out.size() > 1) out += ',';
    out += "{\"name\":" + json_quote(e.name) + ",\"ref\":" + ref_json(e.ref) + "}";
  }
  print_line(out + "]");
  return exit_ok;
}

int cmd_call(const context& c) {
  auto body = body_from(c.args.size() > 2 ? c.args[2] : "{}");
  if (!body) return usage(body.error().text);
  auto to = c.target(c.args[0]);
  if (!to) return usage(to.error().text);
  auto reply = c.bridge.call(*to, actor::raw_message{c.args[1], *body}, c.timeout);
  return print_reply(reply);
}

int cmd_send(const context& c) {
  auto body = body_from(c.args.size() > 2 ? c.args[2] : "{}");
  if (!body) return usage(body.error().text);
  auto to = c.target(c.args[0]);
  if (!to) return usage(to.error().text);
  auto sent = c.bridge.send(*to, actor::raw_message{c.args[1], *body}, c.timeout);
  return sent ? exit_ok : fail(sent.error());
}

// One JSON line per target; the exit code of the first failure (0 when none).
int report(const std::vector<std::string>& targets, const std::vector<actor::expected<std::string>>& outcomes,
           const std::string& ok_field) {
  int code = exit_ok;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& o = outcomes[i];
    std::string line = "{\"target\":" + json_quote(targets[i]) + ",";
    if (o) {
      line += json_quote(ok_field) + ":" + *o + "}";
    } else {
      line += "\"error\":" + error_json(o.error()) + "}";
      std::fprintf(stderr, "actorctl: %s: %s\n", targets[i].c_str(), o.error().describe().c_str());
      if (code == exit_ok) code = exit_for(o.error().code);
    }
    print_line(line);
  }
  return code;
}

int cmd_multicall(const context& c) {
  auto body = body_from(c.args[1]);
  if (!body) return usage(body.error().text);
  std::vector<std::string> names(c.args.begin() + 2, c.args.end());
  std::vector<actor::bridge_call> calls;
  for (const auto& n : names) {
    auto to = c.target(n);
    if (!to) return usage(to.error().text);
    calls.push_back({*to, actor::raw_message{c.args[0], *body}});
  }
  std::vector<actor::expected<std::string>> outcomes;
  for (auto& r : c.bridge.multi_call(calls, c.timeout)) {
    outcomes.push_back(r ? msgpack_to_json(r->body) : actor::expected<std::string>(r.error()));
  }
  return report(names, outcomes, "reply");
}

int cmd_stop(const context& c) {
  std::vector<actor::target> targets;
  for (const auto& n : c.args) {
    auto to = c.target(n);
    if (!to) return usage(to.error().text);
    targets.push_back(*to);
  }
  std::vector<actor::expected<std::string>> outcomes;
  for (auto& r : c.bridge.stop(targets, c.timeout)) {
    outcomes.push_back(r ? actor::expected<std::string>(std::string("true")) : actor::expected<std::string>(r.error()));
  }
  return report(c.args, outcomes, "stopped");
}

int cmd_spawn(const context& c) {
  if (c.opts.node.empty()) return usage("spawn needs --node ADDRESS");
  actor::config cfg;
  if (c.args.size() > 2) {
    auto bytes = body_from(c.args[2]);
    if (!bytes) return usage(bytes.error().text);
    auto parsed = actor::config::from_msgpack(*bytes);
    if (!parsed) return usage(parsed.error().text);
    cfg = *parsed;
  }
  auto ref = c.bridge.spawn(c.opts.node, c.args[0], c.args.size() > 1 ? c.args[1] : std::string(), cfg, c.timeout);
  if (!ref) return fail(ref.error());
  print_line(actor::format_ref(*ref));
  return exit_ok;
}

// stats and ping: a request to a node's manager, printed as it comes.
int ask_manager(const context& c, const char* type) {
  const auto address = c.node_address(0);
  if (address.empty()) return usage(std::string(type) + " needs an ADDRESS or --node");
  auto reply = c.bridge.call(actor::target::manager_at(address), actor::raw_message{type, "\x80"}, c.timeout);
  return print_reply(reply);
}

// members GROUP: the registries' list (or, without --registry, --node's view), one ref a line.
int cmd_members(const context& c) {
  const auto node = c.opts.registries.empty() ? c.opts.node : std::string();
  if (c.opts.registries.empty() && node.empty()) return usage("members needs --registry or --node");
  auto members = c.bridge.members(c.args[0], c.timeout, node);
  if (!members) return fail(members.error());
  std::string out = "[";
  for (const auto& m : *members) out += (out.size() > 1 ? "," : "") + ref_json(m);
  print_line(out + "]");
  return exit_ok;
}

// publish GROUP TYPE [JSON]: one way to each member; prints how many there were and were sent to.
int cmd_publish(const context& c) {
  const auto node = c.opts.registries.empty() ? c.opts.node : std::string();
  if (c.opts.registries.empty() && node.empty()) return usage("publish needs --registry or --node");
  auto body = body_from(c.args.size() > 2 ? c.args[2] : "{}");
  if (!body) return usage(body.error().text);
  auto out = c.bridge.publish(c.args[0], actor::raw_message{c.args[1], *body}, c.timeout, node);
  if (!out) return fail(out.error());
  std::string failed = "[";
  for (const auto& [ref, e] : out->failed) {
    failed += (failed.size() > 1 ? "," : "") + std::string("{\"ref\":") + ref_json(ref) + ",\"error\":" + error_json(e) + "}";
    std::fprintf(stderr, "actorctl: %s: %s\n", actor::format_ref(ref).c_str(), e.describe().c_str());
  }
  print_line("{\"group\":" + json_quote(c.args[0]) + ",\"members\":" + std::to_string(out->members) +
             ",\"sent\":" + std::to_string(out->sent) + ",\"failed\":" + failed + "]}");
  return out->failed.empty() ? exit_ok : exit_for(out->failed.front().second.code);
}

// state TARGET: a task's state, phase and states (actor/task.hpp), as JSON.
int cmd_state(const context& c) {
  auto to = c.target(c.args[0]);
  if (!to) return usage(to.error().text);
  auto reply = c.bridge.call(*to, actor::raw_message{"actor.task.state", "\x80"}, c.timeout);
  return print_reply(reply);
}

// start-tasks SPEC...: one sequence on --node (configure all, then start all; --timeout per step);
// prints the tasks' refs as a JSON array, in order.
int cmd_start_tasks(const context& c) {
  if (c.opts.node.empty()) return usage("start-tasks needs --node ADDRESS");
  actor::task_sequence_request r;
  r.step_timeout_ms = static_cast<std::uint64_t>(c.timeout.count());
  for (const auto& text : c.args) {
    const auto eq = text.find('=');
    const auto head = text.substr(0, eq);
    const auto colon = head.find(':');
    actor::task_spec spec{head.substr(0, colon), colon == std::string::npos ? std::string() : head.substr(colon + 1), {}};
    if (spec.type.empty() || (colon != std::string::npos && (spec.name.empty() || spec.name.find(':') != std::string::npos))) {
      return usage("a task is TYPE, TYPE:NAME, TYPE=JSON or TYPE:NAME=JSON, not '" + text + "'");
    }
    if (eq != std::string::npos) {
      auto bytes = body_from(text.substr(eq + 1));
      if (!bytes) return usage(head + ": " + bytes.error().text);
      auto cfg = actor::config::from_msgpack(*bytes);
      if (!cfg) return usage(head + ": " + cfg.error().text);
      spec.config = *cfg;
    }
    r.tasks.push_back(std::move(spec));
  }
  const auto steps = static_cast<int>(r.tasks.size() * 4 + 1);
  auto started = c.bridge.call<actor::task_sequence_started>(actor::target::manager_at(c.opts.node), r, c.timeout * steps);
  if (!started) return fail(started.error());
  std::string out = "[";
  for (const auto& ref : started->refs) out += (out.size() > 1 ? "," : "") + ref_json(ref);
  print_line(out + "]");
  return exit_ok;
}

int cmd_stats(const context& c) { return ask_manager(c, "actor.node.stats"); }
int cmd_ping(const context& c) { return ask_manager(c, "actor.node.ping"); }

std::string reason_json(const actor::down_reason& r) {
  return "{\"what\":" + json_quote(actor::to_string(r.what)) + ",\"text\":" + json_quote(r.text) +
         ",\"error_type\":" + json_quote(r.error_type) + "}";
}

void on_stop_signals() {
  std::signal(SIGINT, [](int) { interrupted = 1; });
  std::signal(SIGTERM, [](int) { interrupted = 1; });
}

// Waits for the actor's down (until --timeout) and prints it as one JSON line.
int cmd_monitor(const context& c) {
  on_stop_signals();
  const auto deadline = std::chrono::steady_clock::now() + c.timeout;
  auto to = c.target(c.args[0]);
  if (!to) return usage(to.error().text);
  auto m = c.bridge.monitor(*to, c.timeout);
  if (!m) return fail(m.error());
  // in place before we say so: a stop after this line gives its own reason, not noproc
  if (auto in_place = m->sync(c.timeout); !in_place && !m->done()) return fail(in_place.error());
  std::fprintf(stderr, "actorctl: monitoring %s (monitor %llu)\n", actor::format_ref(m->target()).c_str(),
               static_cast<unsigned long long>(m->id()));
  std::fflush(stderr);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto r = m->wait(std::clamp(left, 0ms, 200ms));
    if (r) {
      print_line("{\"target\":" + json_quote(c.args[0]) + ",\"ref\":" + ref_json(m->target()) +
                 ",\"monitor\":" + std::to_string(m->id()) + ",\"reason\":" + reason_json(*r) + "}");
      return exit_ok;
    }
    if (r.error().code != errc::timeout) return fail(r.error());
    if (left <= 0ms) {
      return fail(actor::error{errc::timeout, "the actor was still there after " + std::to_string(c.timeout.count()) +
                                                  " ms"});
    }
    if (interrupted != 0) return fail(actor::error{errc::shutting_down, "interrupted"});
  }
}

// The monitors of watch: one per actor seen behind a name (kept when the name moves on, so
// the down of the actor that held it is printed even when the registry's change comes first).
class name_monitors {
 public:
  explicit name_monitors(actor::bridge& b) : bridge_(b) {}
  void follow(const std::string& name, const actor::actor_ref& ref) {
    if (!ref) return;
    prune();
    const auto key = actor::format_ref(ref);
    if (handles_.count(key) != 0) return;
    auto m = bridge_.monitor(ref, 1s);
    if (!m) return;  // its node is unreachable: nothing to print for it
    (void)m->sync(1s);  // in place before the name is printed: a stop after that gives its reason
    auto out = downs_;
    const auto id = m->id();
    m->on_down([out, name, key, id](const actor::down_reason& r) {
      std::lock_guard lk(out->mu);
      out->lines.push_back("{\"event\":\"down\",\"name\":" + json_quote(name) + ",\"ref\":" + json_quote(key) +
                           ",\"monitor\":" + std::to_string(id) + ",\"reason\":" + reason_json(r) + "}");
    });
    handles_.emplace(key, std::move(*m));
  }
  // The down lines that came since the last call.
  std::deque<std::string> take() {
    std::lock_guard lk(downs_->mu);
    return std::exchange(downs_->lines, {});
  }

 private:
  struct lines {
    std::mutex mu;
    std::deque<std::string> lines;
  };
  // the monitors whose down came are dropped (a watch over a churning prefix stays flat); an
  // actor does not come back under its ref, so forgetting it is safe
  void prune() {
    for (auto it = handles_.begin(); it != handles_.end();) {
      it = it->second.done() ? handles_.erase(it) : std::next(it);
    }
  }

  actor::bridge& bridge_;
  std::shared_ptr<lines> downs_ = std::make_shared<lines>();
  std::map<std::string, actor::monitor_handle> handles_;  // by the ref's text
};

int cmd_watch(const context& c) {
  on_stop_signals();
  auto w = c.bridge.watch(c.args.empty() ? std::string() : c.args[0], c.timeout);
  if (!w) return fail(w.error());
  name_monitors monitors(c.bridge);
  for (const auto& e : w->snapshot()) {
    monitors.follow(e.name, e.ref);
    print_line("{\"event\":\"present\",\"name\":" + json_quote(e.name) + ",\"ref\":" + ref_json(e.ref) + "}");
  }
  std::size_t seen = 0;
  auto more = [&] { return interrupted == 0 && !stdout_gone && (c.opts.count == 0 || seen < c.opts.count); };
  while (more()) {
    for (auto& line : monitors.take()) {
      if (!more()) break;
      print_line(line);
      ++seen;
    }
    if (!more()) break;
    auto change = w->next(50ms);
    if (!change) {
      if (change.error().code == errc::timeout) continue;
      return fail(change.error());
    }
    // a ref that disappeared: its down is printed already, or will be
    if (change->event != "disappeared") monitors.follow(change->name, change->ref);
    print_line("{\"event\":" + json_quote(change->event) + ",\"name\":" + json_quote(change->name) +
               ",\"ref\":" + ref_json(change->ref) + "}");
    ++seen;
  }
  return exit_ok;
}

// Observes TARGET and prints one JSON line per event, until SIGINT/SIGTERM, --count
// notifications or --for seconds (docs/observe.md "From outside").
int cmd_observe(const context& c) {
  on_stop_signals();
  auto to = c.target(c.args[0]);
  if (!to) return usage(to.error().text);
  actor::observe_options o;
  o.types.assign(c.args.begin() + 1, c.args.end());
  o.queue = c.opts.queue;
  auto obs = c.bridge.observe(*to, o, c.timeout);
  if (!obs) return fail(obs.error());
  std::string outputs;
  for (const auto& t : obs->outputs()) outputs += (outputs.empty() ? "" : ", ") + t;
  std::fprintf(stderr, "actorctl: observing %s (observation %llu; outputs: %s)\n",
               actor::format_ref(obs->target()).c_str(), static_cast<unsigned long long>(obs->id()),
               outputs.empty() ? "none" : outputs.c_str());
  std::fflush(stderr);
  const auto until = c.opts.for_seconds > 0
                         ? std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                                   std::chrono::duration<double>(c.opts.for_seconds))
                         : std::chrono::steady_clock::time_point::max();
  std::size_t notes = 0;
  while (interrupted == 0 && !stdout_gone && (c.opts.count == 0 || notes < c.opts.count) &&
         std::chrono::steady_clock::now() < until) {
    auto e = obs->next(200ms);
    if (!e) {
      if (e.error().code == errc::timeout) continue;
      return fail(e.error());  // the observed actor is gone (and no name to follow), or its node
    }
    switch (e->what) {
      case actor::observed::kind::notification: {
        auto body = msgpack_to_json(e->msg.body);
        print_line("{\"event\":\"notification\",\"seq\":" + std::to_string(e->seq) + ",\"from\":" + ref_json(e->from) +
                   ",\"type\":" + json_quote(e->msg.type) + ",\"body\":" + (body ? *body : std::string("null")) + "}");
        ++notes;
        break;
      }
      case actor::observed::kind::lost:
        print_line("{\"event\":\"lost\",\"count\":" + std::to_string(e->count) + ",\"from\":" + ref_json(e->from) + "}");
        break;
      case actor::observed::kind::restarted:
        print_line("{\"event\":\"restarted\",\"target\":" + json_quote(c.args[0]) + ",\"ref\":" + ref_json(e->from) + "}");
        break;
    }
  }
  return exit_ok;
}

struct command {
  const char* name;
  std::size_t min_args;
  std::size_t max_args;  // SIZE_MAX: any number
  int (*run)(const context&);
  const char* synopsis;
};

constexpr std::size_t many = static_cast<std::size_t>(-1);
constexpr command commands[] = {
    {"lookup", 1, 1, cmd_lookup, "lookup NAME"},
    {"list", 0, 1, cmd_list, "list [PREFIX]"},
    {"call", 2, 3, cmd_call, "call TARGET TYPE [JSON]"},
    {"send", 2, 3, cmd_send, "send TARGET TYPE [JSON]"},
    {"multicall", 3, many, cmd_multicall, "multicall TYPE JSON TARGET..."},
    {"stop", 1, many, cmd_stop, "stop TARGET..."},
    {"spawn", 1, 3, cmd_spawn, "spawn TYPE [NAME] [CONFIG]"},
    {"stats", 0, 1, cmd_stats, "stats [ADDRESS]"},
    {"ping", 0, 1, cmd_ping, "ping [ADDRESS]"},
    {"watch", 0, 1, cmd_watch, "watch [PREFIX]"},
    {"monitor", 1, 1, cmd_monitor, "monitor TARGET"},
    {"observe", 1, many, cmd_observe, "observe TARGET [TYPE...]"},
    {"members", 1, 1, cmd_members, "members GROUP"},
    {"state", 1, 1, cmd_state, "state TARGET"},
    {"start-tasks", 1, many, cmd_start_tasks, "start-tasks TYPE[:NAME][=JSON]..."},
    {"publish", 2, 3, cmd_publish, "publish GROUP TYPE [JSON]"},
};

int run(const options& o) {
  const command* cmd = nullptr;
  for (const auto& c : commands) {
    if (o.command == c.name) cmd = &c;
  }
  if (cmd == nullptr) return usage("unknown command '" + o.command + "'");
  if (o.args.size() < cmd->min_args || o.args.size() > cmd->max_args) {
    return usage(std::string("usage: actorctl [options] ") + cmd->synopsis);
  }
  actor::bridge_options bo;
  bo.registries = o.registries;
  bo.gateways = o.gateways;
  bo.name = o.name;
  bo.heartbeat = std::chrono::milliseconds(o.heartbeat_ms);
  bo.down_after = std::chrono::milliseconds(o.down_after_ms);
  bo.max_message_size = o.max_message_size;
  actor::bridge b(bo);
  return cmd->run(context{o, b, std::chrono::milliseconds(o.timeout_ms), o.args});
}

}  // namespace

}  // namespace actorctl

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  actor::log::set_level(actor::log::level::off);  // errors are reported once, by actorctl itself
  auto parsed = actorctl::parse_options(argc, argv, actor::process_environment());
  if (!parsed.opts) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == actorctl::exit_ok ? stdout : stderr);
    return parsed.exit_code;
  }
  try {
    return actorctl::run(*parsed.opts);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "actorctl: %s\n", ex.what());
    return actorctl::exit_other_error;
  }
}
