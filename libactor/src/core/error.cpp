#include "actor/error.hpp"

#include <array>
#include <utility>

namespace actor {

namespace {
constexpr std::array<std::pair<errc, std::string_view>, 11> names{{
    {errc::timeout, "timeout"},
    {errc::no_such_actor, "no_such_actor"},
    {errc::actor_stopped, "actor_stopped"},
    {errc::node_down, "node_down"},
    {errc::remote_error, "remote_error"},
    {errc::overloaded, "overloaded"},
    {errc::shutting_down, "shutting_down"},
    {errc::bad_message, "bad_message"},
    {errc::unauthorized, "unauthorized"},
    {errc::name_taken, "name_taken"},
    {errc::unknown_type, "unknown_type"},
}};
}  // namespace

std::string_view to_string(errc code) noexcept {
  for (const auto& [c, n] : names) {
    if (c == code) return n;
  }
  return "unknown_error";
}

std::optional<errc> errc_from_string(std::string_view name) noexcept {
  for (const auto& [c, n] : names) {
    if (n == name) return c;
  }
  return std::nullopt;
}

std::string error::describe() const {
  std::string out(to_string(code));
  if (!text.empty()) {
    out += ": ";
    out += text;
  }
  return out;
}

}  // namespace actor
