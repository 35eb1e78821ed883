// Tasks (actor/task.hpp): the configuration schema, and the task's phases and states.

#include "actor/task.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>

namespace actor {

const char* to_string(config_kind k) noexcept {
  switch (k) {
    case config_kind::string: return "a string";
    case config_kind::integer: return "an integer";
    case config_kind::number: return "a number";
    case config_kind::boolean: return "a boolean";
    case config_kind::strings: return "a list of strings";
    case config_kind::map: return "a map";
    case config_kind::any: return "any value";
  }
  return "?";
}

namespace {

bool fits(const config& cfg, const std::string& key, config_kind kind) {
  switch (kind) {
    case config_kind::string: return cfg.get<std::string>(key).has_value();
    case config_kind::integer: return cfg.get<std::int64_t>(key).has_value() || cfg.get<std::uint64_t>(key).has_value();
    case config_kind::number: return cfg.get<double>(key).has_value();
    case config_kind::boolean: return cfg.get<bool>(key).has_value();
    case config_kind::strings: return cfg.get<std::vector<std::string>>(key).has_value();
    case config_kind::map: return cfg.get<std::map<std::string, msgpack::object>>(key).has_value();
    case config_kind::any: return true;
  }
  return false;
}

// Keys of the node's, not the task's: always allowed.
bool node_key(const std::string& key) { return key == "groups" || key == task_sequence_key; }

}  // namespace

config_schema& config_schema::required(std::string name, config_kind kind, std::string about) {
  keys_.push_back({std::move(name), kind, true, std::move(about)});
  return *this;
}

expected<config> config_schema::apply(const config& cfg) const {
  // a copy of its own (a config's copies share one zone, which the defaults would grow)
  auto copied = config::from_msgpack(cfg.to_msgpack());
  if (!copied) return copied.error();
  config out = std::move(*copied);
  for (const auto& k : keys_) {
    const std::string what = std::string(to_string(k.kind)) + (k.about.empty() ? "" : ": " + k.about);
    if (!cfg.contains(k.name)) {
      if (k.required) return error{errc::bad_message, "missing config key '" + k.name + "' (" + what + ")"};
      out.set(k.name, defaults_.get<msgpack::object>(k.name).value());
      continue;
    }
    if (!fits(cfg, k.name, k.kind)) {
      return error{errc::bad_message, "config key '" + k.name + "' must be " + what};
    }
  }
  if (!allow_unknown_) {
    for (const auto& given : cfg.keys()) {
      if (node_key(given)) continue;
      const bool known = std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k.name == given; });
      if (known) continue;
      std::string names;
      for (const auto& k : keys_) names += (names.empty() ? "" : ", ") + k.name;
      return error{errc::bad_message,
                   "unknown config key '" + given + "' (" + (names.empty() ? "this task takes none" : "known: " + names) + ")"};
    }
  }
  return out;
}

// ---- task ----

task::task(const config& cfg, config_schema schema) {
  auto in_sequence = cfg.get<bool>(task_sequence_key);
  in_sequence_ = in_sequence && *in_sequence;
  auto checked = schema.apply(cfg);
  if (!checked) throw std::invalid_argument(checked.error().text);
  settings_ = std::move(*checked);
  settings_.erase(task_sequence_key);  // the node's, not the task's
}

void task::add_state(std::string name, std::function<behavior()> make, std::function<void()> on_enter,
                     std::function<void()> on_exit) {
  if (find(name) != nullptr) throw std::logic_error("task state '" + name + "' is added twice");
  states_.push_back({std::move(name), std::move(make), std::move(on_enter), std::move(on_exit)});
}

const task::state_def* task::find(const std::string& name) const {
  auto it = std::find_if(states_.begin(), states_.end(), [&](const auto& s) { return s.name == name; });
  return it == states_.end() ? nullptr : &*it;
}

behavior task::make_behavior() {
  if (states_.empty()) add_state("main", [this] { return make_state_behavior(); });
  return lifecycle({});
}

void task::on_start() {
  if (in_sequence_) return;  // the sequence sends the steps
  if (auto c = configure_step(); !c) throw std::runtime_error(c.error().text);
  if (auto s = start_step(); !s) throw std::runtime_error(s.error().text);
}

void task::on_stop(const stop_reason&) {
  if (phase_ != phase::running) return;
  if (const auto* s = find(state_); s != nullptr && s->on_exit) s->on_exit();
}

expected<task_configured> task::configure_step() {
  if (phase_ == phase::running) return error{errc::bad_message, "the task runs already: it is configured once, before it starts"};
  try {
    on_configure(settings_);
  } catch (const std::exception& ex) {
    return error{errc::bad_message, std::string("configure failed: ") + ex.what()};
  }
  phase_ = phase::configured;
  return task_configured{};
}

expected<task_started> task::start_step() {
  if (phase_ == phase::created) return error{errc::bad_message, "the task is not configured yet"};
  if (phase_ == phase::running) return task_started{state_};
  try {
    on_run();
    phase_ = phase::running;
    enter(0);
  } catch (const std::exception& ex) {
    phase_ = phase::configured;
    state_.clear();
    return error{errc::bad_message, std::string("start failed: ") + ex.what()};
  }
  return task_started{state_};
}

void task::enter(std::size_t index) {
  const auto& s = states_.at(index);
  state_ = s.name;
  become(lifecycle(s.make ? s.make() : behavior{}));
  if (s.on_enter) s.on_enter();  // may transition on: its become() comes later, and wins
}

void task::transition(const std::string& name) {
  if (phase_ != phase::running) throw std::logic_error("task: transition to '" + name + "' before the task runs");
  const auto* next = find(name);
  if (next == nullptr) throw std::logic_error("task: no state '" + name + "'");
  if (const auto* now = find(state_); now != nullptr && now->on_exit) now->on_exit();
  enter(static_cast<std::size_t>(next - states_.data()));
}

task_state task::report() const {
  task_state out;
  out.state = state_;
  out.phase = phase_ == phase::created ? "created" : phase_ == phase::configured ? "configured" : "running";
  for (const auto& s : states_) out.states.push_back(s.name);
  return out;
}

// The task's behavior: its lifecycle messages, then (once it runs) the current state's; before,
// other requests are refused and other sends dropped.
behavior task::lifecycle(behavior state_behavior) {
  behavior life{
      [this](const task_configure&) { return configure_step(); },
      [this](const task_start&) { return start_step(); },
      [this](const task_state_request&) { return report(); },
  };
  if (phase_ == phase::running) return behavior::combine(std::move(life), state_behavior);
  return behavior::combine(std::move(life), behavior::raw([this](detail::envelope& e) -> detail::envelope* {
                             if (e.kind != detail::envelope_kind::request) return nullptr;
                             return detail::to_reply(error{errc::bad_message, "task " + std::to_string(self().id()) +
                                                                                  " is not running (" + report().phase +
                                                                                  "): " + std::string(e.type->name)});
                           }));
}

}  // namespace actor
