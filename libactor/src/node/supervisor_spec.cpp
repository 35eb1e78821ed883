// supervisor_spec <-> config map (actor/supervisor.hpp): the keys, their types and ranges.

#include <set>

#include "actor/supervisor.hpp"

namespace actor {

std::string_view to_string(restart_kind k) noexcept {
  switch (k) {
    case restart_kind::permanent: return "permanent";
    case restart_kind::transient: return "transient";
    case restart_kind::temporary: return "temporary";
  }
  return "unknown";
}

std::string_view to_string(supervisor_strategy s) noexcept {
  switch (s) {
    case supervisor_strategy::one_for_one: return "one_for_one";
    case supervisor_strategy::one_for_all: return "one_for_all";
    case supervisor_strategy::rest_for_one: return "rest_for_one";
  }
  return "unknown";
}

namespace {

error bad(const std::string& where, const std::string& why) {
  return error{errc::bad_message, "supervisor spec: " + where + why};
}

// Unknown keys are an error: a typo must not silently fall back to a default.
expected<void> known_keys(const config& cfg, const std::set<std::string>& known, const std::string& where) {
  for (const auto& k : cfg.keys()) {
    if (!known.contains(k)) return bad(where, "unknown key '" + k + "'");
  }
  return {};
}

template <class T>
expected<void> read(const config& cfg, const char* key, T& out, const std::string& where) {
  if (!cfg.contains(key)) return {};
  auto v = cfg.get<T>(key);
  if (!v) return bad(where, "'" + std::string(key) + "' has the wrong type");
  out = std::move(*v);
  return {};
}

expected<void> read_ms(const config& cfg, const char* key, std::chrono::milliseconds& out, const std::string& where) {
  std::int64_t ms = out.count();
  if (auto r = read(cfg, key, ms, where); !r) return r;
  if (ms < 0) return bad(where, "'" + std::string(key) + "' must not be negative");
  out = std::chrono::milliseconds(ms);
  return {};
}

expected<child_spec> child_from(const config& c, std::size_t index) {
  const std::string where = "children[" + std::to_string(index) + "]: ";
  child_spec s;
  if (auto r = known_keys(c, {"type", "config", "name", "restart", "node", "fallback_nodes", "shutdown_ms"}, where); !r) {
    return r.error();
  }
  if (!c.contains("type")) return bad(where, "'type' is missing");
  if (auto r = read(c, "type", s.type, where); !r) return r.error();
  if (s.type.empty()) return bad(where, "'type' is empty");
  if (auto r = read(c, "config", s.config, where); !r) return r.error();
  if (auto r = read(c, "name", s.name, where); !r) return r.error();
  std::string restart(to_string(s.restart));
  if (auto r = read(c, "restart", restart, where); !r) return r.error();
  if (restart == "permanent") {
    s.restart = restart_kind::permanent;
  } else if (restart == "transient") {
    s.restart = restart_kind::transient;
  } else if (restart == "temporary") {
    s.restart = restart_kind::temporary;
  } else {
    return bad(where, "'restart' must be permanent, transient or temporary, not '" + restart + "'");
  }
  if (auto r = read(c, "node", s.node, where); !r) return r.error();
  if (auto r = read(c, "fallback_nodes", s.fallback_nodes, where); !r) return r.error();
  for (const auto& a : s.fallback_nodes) {
    if (a.empty()) return bad(where, "'fallback_nodes' has an empty address");
  }
  if (!s.fallback_nodes.empty() && s.node.empty()) return bad(where, "'fallback_nodes' needs 'node'");
  if (auto r = read_ms(c, "shutdown_ms", s.shutdown, where); !r) return r.error();
  return s;
}

}  // namespace

expected<supervisor_spec> supervisor_spec::from_config(const config& cfg) {
  supervisor_spec s;
  const std::string where;
  if (auto r = known_keys(cfg,
                          {"strategy", "intensity", "period_ms", "backoff_min_ms", "backoff_max_ms", "backoff_jitter",
                           "spawn_timeout_ms", "children"},
                          where);
      !r) {
    return r.error();
  }
  std::string strategy(to_string(s.strategy));
  if (auto r = read(cfg, "strategy", strategy, where); !r) return r.error();
  if (strategy == "one_for_one") {
    s.strategy = supervisor_strategy::one_for_one;
  } else if (strategy == "one_for_all") {
    s.strategy = supervisor_strategy::one_for_all;
  } else if (strategy == "rest_for_one") {
    s.strategy = supervisor_strategy::rest_for_one;
  } else {
    return bad(where, "'strategy' must be one_for_one, one_for_all or rest_for_one, not '" + strategy + "'");
  }
  std::int64_t intensity = s.intensity;
  if (auto r = read(cfg, "intensity", intensity, where); !r) return r.error();
  if (intensity < 0 || intensity > 1000000) return bad(where, "'intensity' must be in 0..1000000");
  s.intensity = static_cast<int>(intensity);
  if (auto r = read_ms(cfg, "period_ms", s.period, where); !r) return r.error();
  if (s.period.count() == 0) return bad(where, "'period_ms' must be positive");
  if (auto r = read_ms(cfg, "backoff_min_ms", s.backoff_min, where); !r) return r.error();
  if (auto r = read_ms(cfg, "backoff_max_ms", s.backoff_max, where); !r) return r.error();
  if (s.backoff_max < s.backoff_min) return bad(where, "'backoff_max_ms' must not be below 'backoff_min_ms'");
  if (auto r = read(cfg, "backoff_jitter", s.backoff_jitter, where); !r) return r.error();
  if (!(s.backoff_jitter >= 0.0 && s.backoff_jitter < 1.0)) return bad(where, "'backoff_jitter' must be in [0, 1)");
  if (auto r = read_ms(cfg, "spawn_timeout_ms", s.spawn_timeout, where); !r) return r.error();
  if (s.spawn_timeout.count() == 0) return bad(where, "'spawn_timeout_ms' must be positive");
  std::vector<config> children;
  if (auto r = read(cfg, "children", children, where); !r) return r.error();
  std::set<std::string> names;
  for (std::size_t i = 0; i < children.size(); ++i) {
    auto c = child_from(children[i], i);
    if (!c) return c.error();
    if (!c->name.empty() && !names.insert(c->name).second) {
      return bad("children[" + std::to_string(i) + "]: ", "the name '" + c->name + "' is used twice");
    }
    s.children.push_back(std::move(*c));
  }
  return s;
}

config supervisor_spec::to_config() const {
  // packed as one map and read back: nested configs have no msgpack::object form of their own
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  auto key = [&](std::string_view k) { pk.pack(std::string(k)); };
  pk.pack_map(8);
  key("strategy"), pk.pack(std::string(to_string(strategy)));
  key("intensity"), pk.pack(static_cast<std::int64_t>(intensity));
  key("period_ms"), pk.pack(static_cast<std::int64_t>(period.count()));
  key("backoff_min_ms"), pk.pack(static_cast<std::int64_t>(backoff_min.count()));
  key("backoff_max_ms"), pk.pack(static_cast<std::int64_t>(backoff_max.count()));
  key("backoff_jitter"), pk.pack(backoff_jitter);
  key("spawn_timeout_ms"), pk.pack(static_cast<std::int64_t>(spawn_timeout.count()));
  key("children"), pk.pack_array(static_cast<std::uint32_t>(children.size()));
  for (const auto& k : children) {
    pk.pack_map(7);
    key("type"), pk.pack(k.type);
    key("config"), k.config.pack_to(pk);
    key("name"), pk.pack(k.name);
    key("restart"), pk.pack(std::string(to_string(k.restart)));
    key("node"), pk.pack(k.node);
    key("fallback_nodes"), pk.pack(k.fallback_nodes);
    key("shutdown_ms"), pk.pack(static_cast<std::int64_t>(k.shutdown.count()));
  }
  return config::from_msgpack(std::string_view(buf.data(), buf.size())).value();
}

}  // namespace actor
