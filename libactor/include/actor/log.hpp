#pragma once
/// Structured logs: one line per event, with level, component, event and
/// key=value fields; or JSON lines. Written to stderr. Thread-safe.
///
///   ACTOR_LOG(info, "transport", "peer_down", {"peer", addr}, {"after_ms", 2000});

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace actor::log {

enum class level : std::uint8_t { debug, info, warn, error, off };

[[nodiscard]] std::string_view to_string(level l) noexcept;
/// Parses "debug", "info", "warn", "error", "off".
[[nodiscard]] std::optional<level> level_from_string(std::string_view s) noexcept;

/// Process-wide settings; set them before starting threads that log.
void set_level(level l) noexcept;
[[nodiscard]] level current_level() noexcept;
void set_json(bool on) noexcept;

/// One key=value field; numbers are written bare, strings quoted when needed.
struct field {
  field(std::string_view k, std::string_view v) : key(k), value(v), quoted(true) {}
  field(std::string_view k, const char* v) : key(k), value(v), quoted(true) {}
  field(std::string_view k, const std::string& v) : key(k), value(v), quoted(true) {}
  template <class N>
    requires std::is_arithmetic_v<N>
  field(std::string_view k, N n) : key(k), value(std::to_string(n)), quoted(false) {}
  std::string_view key;
  std::string value;
  bool quoted;
};

[[nodiscard]] inline bool enabled(level l) noexcept { return l >= current_level(); }
void write(level l, std::string_view component, std::string_view event, std::initializer_list<field> fields);

}  // namespace actor::log

/// Logs only when the level is enabled: the fields are not even built otherwise.
#define ACTOR_LOG(LEVEL, COMPONENT, EVENT, ...)                                              \
  do {                                                                                       \
    if (::actor::log::enabled(::actor::log::level::LEVEL))                                   \
      ::actor::log::write(::actor::log::level::LEVEL, COMPONENT, EVENT, {__VA_ARGS__});      \
  } while (false)
