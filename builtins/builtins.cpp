#include "actor/builtins.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "actor/actor_base.hpp"
#include "actor/receiver.hpp"
#include "actor/system.hpp"
#include "actor/task.hpp"

namespace actor {

namespace {

class echo_actor final : public actor_base {
 protected:
  behavior make_behavior() override {
    return {others([](const message& m) { return any_message(m); })};
  }
};

class counter_actor final : public actor_base {
 public:
  explicit counter_actor(const config& cfg) : value_(cfg.get_or<std::int64_t>("start", 0)) {
    declare_outputs<counter_value>();
  }

 protected:
  behavior make_behavior() override {
    return {
        [this](const counter_incr& m) {
          value_ += m.by;
          notify(counter_value{value_});
          return counter_value{value_};
        },
        [this](const counter_get&) { return counter_value{value_}; },
    };
  }

 private:
  std::int64_t value_;
};

class kv_actor final : public actor_base {
 protected:
  behavior make_behavior() override {
    return {
        [this](kv_put& m) {
          auto [it, inserted] = data_.insert_or_assign(std::move(m.key), std::move(m.value));
          return kv_ok{!inserted};
        },
        [this](const kv_get& m) {
          auto it = data_.find(m.key);
          return it == data_.end() ? kv_value{false, {}} : kv_value{true, it->second};
        },
        [this](const kv_delete& m) { return kv_ok{data_.erase(m.key) > 0}; },
        [this](const kv_keys&) {
          kv_key_list out;
          for (const auto& [k, v] : data_) out.keys.push_back(k);
          return out;
        },
    };
  }

 private:
  std::map<std::string, std::string> data_;  // ordered: keys come back sorted
};

// ---- observer: observes a name and keeps what it received (actor/observe.hpp) ----

class observer_actor final : public actor_base {
 public:
  explicit observer_actor(const config& cfg) {
    auto name = cfg.get<std::string>("observe");
    if (!name) throw std::invalid_argument(name.error().text + " (the name to observe)");
    name_ = std::move(*name);
    if (name_.empty()) throw std::invalid_argument("config key 'observe' is empty: the name to observe");
    opts_.types = cfg.get_or<std::vector<std::string>>("types", {});
    const auto queue = cfg.get_or<std::int64_t>("queue", 0);
    if (queue < 0) throw std::invalid_argument("config key 'queue' must not be negative");
    opts_.queue = static_cast<std::size_t>(queue);
  }

 protected:
  behavior make_behavior() override {
    return {
        [this](const observer_report_request&) { return report_; },
        [this](const notifications_lost& l) { report_.lost += l.count; },
        [this](const observed_restarted&) { ++report_.restarts; },
        others([this](const message& m) {
          if (!sender()) return;  // notifications come from the observed actor
          ++report_.notes;
          if (report_.last.size() == observer_notes_kept) report_.last.erase(report_.last.begin());
          const auto bytes = m.pack();
          report_.last.push_back({std::string(m.type_name()), sender(), std::vector<char>(bytes.begin(), bytes.end())});
        }),
    };
  }
  void on_start() override { (void)observe(name_, opts_); }
  void on_stop(const stop_reason&) override { report_.last.clear(); }

 private:
  std::string name_;
  observe_options opts_;
  observer_report report_;
};

// ---- pulse: a task with two states and an output (actor/task.hpp) ----

struct pulse_tick {
  ACTOR_NO_FIELDS
};

}  // namespace
}  // namespace actor
ACTOR_MESSAGE(actor::pulse_tick, "actor.pulse.internal.tick");
namespace actor {
namespace {

class pulse_task final : public task {
 public:
  explicit pulse_task(const config& cfg)
      : task(cfg, config_schema{}
                      .optional("interval_ms", config_kind::integer, std::int64_t{100}, "time between beats")
                      .optional("start", config_kind::string, std::string("beating"), "beating or paused")) {
    declare_outputs<pulse_beat>();
    const auto interval = settings().get<std::int64_t>("interval_ms").value();
    if (interval <= 0) throw std::invalid_argument("config key 'interval_ms' must be positive");
    interval_ = std::chrono::milliseconds(interval);
    const auto start = settings().get<std::string>("start").value();
    if (start != "beating" && start != "paused") {
      throw std::invalid_argument("config key 'start' must be beating or paused, not '" + start + "'");
    }
    auto beating = [this] {
      return behavior{[this](const pulse_tick&) { notify(pulse_beat{++beats_}); },
                      [this](const pulse_pause&) { return moved("paused"); },
                      [this](const pulse_resume&) { return moved("beating"); }};
    };
    auto paused = [this] {
      return behavior{[](const pulse_tick&) {},  // no beat
                      [this](const pulse_pause&) { return moved("paused"); },
                      [this](const pulse_resume&) { return moved("beating"); }};
    };
    // the first state added is where it starts
    if (start == "paused") add_state("paused", paused);
    add_state("beating", beating);
    if (start != "paused") add_state("paused", paused);
  }

 protected:
  void on_run() override { periodic_send(interval_, pulse_tick{}); }

 private:
  task_state moved(const std::string& to) {
    if (state_name() != to) transition(to);
    return report();
  }

  std::chrono::milliseconds interval_{100};
  std::uint64_t beats_ = 0;
};

// ---- printer: the Concurrence seed's printer as receive-style actors (docs/receivers.md) ----

// The name a greeting or farewell names: its first positional argument (["World"], as scripts
// send it) or its "who" field ({"who": "World"}).
std::optional<std::string> who_of(const received& m) {
  const std::string bytes = m.body();
  msgpack::zone zone;
  auto o = unpack_bounded(bytes, zone);
  if (!o) return std::nullopt;
  const msgpack::object* who = nullptr;
  if (o->type == msgpack::type::ARRAY && o->via.array.size >= 1) {
    who = &o->via.array.ptr[0];
  } else if (o->type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < o->via.map.size; ++i) {
      const auto& kv = o->via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR && kv.key.as<std::string_view>() == "who") who = &kv.val;
    }
  }
  if (who == nullptr || who->type != msgpack::type::STR) return std::nullopt;
  return who->as<std::string>();
}

// One message to a printer (either kind): prints a greeting or a farewell, answers printer.lines.
template <class Self>
void print_one(Self& self, received& m, std::vector<std::string>& lines) {
  const bool hello = m.match("printer.greeting");
  if (hello || m.match("printer.farewell")) {
    auto who = who_of(m);
    if (!who) {
      if (m.is_request()) self.reply(m, error{errc::bad_message, std::string(m.type_name()) + R"( takes ["name"] or {"who": "name"})"});
      return;
    }
    std::string line = (hello ? "Hello " : "Goodbye ") + *who;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (lines.size() == printer_lines_kept) lines.erase(lines.begin());
    lines.push_back(line);
    if (m.is_request()) self.reply(m, dynamic_message::of("printer.printed", std::map<std::string, std::string>{{"line", line}}));
  } else if (m.match("printer.lines")) {
    self.reply(m, dynamic_message::of("printer.line_list", std::map<std::string, std::vector<std::string>>{{"lines", lines}}));
  } else if (m.is_request()) {
    self.reply(m, error{errc::bad_message, "a printer does not understand " + std::string(m.type_name())});
  }
}

receiver_task co_printer(co_receiver& self) {
  std::vector<std::string> lines;
  for (;;) {
    auto m = co_await self.receive();
    print_one(self, m, lines);
  }
}

void thread_printer(receiver& self) {
  std::vector<std::string> lines;
  for (;;) {
    auto m = self.receive();
    print_one(self, m, lines);
  }
}

}  // namespace

void register_builtin_types(actor_system& sys) {
  sys.register_actor_type<echo_actor>("echo");
  sys.register_actor_type<counter_actor>("counter");
  sys.register_actor_type<kv_actor>("kv");
  sys.register_actor_type<observer_actor>("observer");
  sys.register_actor_type<pulse_task>("pulse");
  register_receiver_type(sys, "printer", co_printer);
  register_receiver_type(sys, "thread_printer", thread_printer);
}

}  // namespace actor
