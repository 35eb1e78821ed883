#pragma once
/// Death notification: monitors (one-way) and links (both ways), the same for local and
/// remote actors (docs/monitors.md; the wire form in docs/protocol.md "Monitors and links").
///
///   class watcher final : public actor::actor_base {
///     actor::behavior make_behavior() override {
///       return {[this](const watch& w) { monitor(w.target); },
///               [this](const actor::down_msg& d) { /* d.reason.what, d.reason.text */ }};
///     }
///   };
///
/// Contract (actor_base::monitor, link, trap_exit):
///  - Exactly one down_msg arrives per monitor id: when the target stops or crashes, when it
///    was already gone or never existed (noproc), when its node is declared down (node_down)
///    or comes back as a new incarnation (node_restarted). demonitor(id) ends it: no down_msg
///    for that id is handled afterwards, even one already queued.
///  - A link is both ways. When either side stops with an abnormal reason (anything but
///    normal and stopped), the other stops with reason `linked`, unless it traps exits: then
///    it receives an exit_msg instead. Linking to an actor that is gone behaves like its death
///    with reason noproc.
///  - An actor's monitors and links end with it: the targets forget it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "actor/actor_ref.hpp"
#include "actor/fields.hpp"
#include "actor/message.hpp"

namespace actor {

/// Why an actor is gone, as its monitors and links hear it. On the wire a map
/// {"what": "crashed", "text": "...", "error_type": "std::runtime_error"}; `what` is one of
/// the names below (to_string).
struct down_reason {
  enum class kind : std::uint8_t {
    normal,          ///< it called quit()
    stopped,         ///< it was asked to stop (actor.stop: a supervisor, the Bridge, actorctl)
    crashed,         ///< a handler or on_start threw: text is what(), error_type the exception's type
    shutdown,        ///< its system shut down, or a supervisor gave up (restart intensity exceeded)
    linked,          ///< a linked actor died abnormally; text says which and why
    noproc,          ///< it was gone, or never existed, when the monitor or link was made
    node_down,       ///< its node was declared down (silent past the down bound, or refusing us)
    node_restarted,  ///< its node came back as a new incarnation: the actor is gone
  };
  kind what = kind::normal;
  std::string text;
  std::string error_type;

  /// Abnormal reasons stop linked actors that do not trap exits: all but normal and stopped.
  [[nodiscard]] bool abnormal() const noexcept { return what != kind::normal && what != kind::stopped; }
  /// "crashed: text", or the kind's name alone when there is no text.
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const down_reason&, const down_reason&) = default;
  ACTOR_FIELDS(what, text, error_type)
};

/// The stable name of a kind ("normal", "stopped", "crashed", ...), as on the wire.
[[nodiscard]] std::string_view to_string(down_reason::kind k) noexcept;
/// Inverse of to_string; nullopt for an unknown name.
[[nodiscard]] std::optional<down_reason::kind> down_kind_from_string(std::string_view name) noexcept;

/// Delivered once per monitor (actor_base::monitor) when its target is gone.
struct down_msg {
  std::uint64_t monitor = 0;  ///< the id monitor() returned
  actor_ref who;              ///< the monitored actor
  down_reason reason;
  ACTOR_FIELDS(monitor, who, reason)
};

/// Delivered to an actor that traps exits (actor_base::trap_exit) when a linked actor is gone;
/// without trap_exit, an abnormal reason stops the actor instead (reason `linked`).
struct exit_msg {
  actor_ref from;  ///< the linked actor
  down_reason reason;
  ACTOR_FIELDS(from, reason)
};

namespace detail {
// The requests behind monitor/demonitor/link/unlink, sent to the target with the watcher as
// sender and the watch id as the envelope's correlation (docs/protocol.md). Bodies are empty.
struct monitor_request {
  ACTOR_NO_FIELDS
};
struct demonitor_request {
  ACTOR_NO_FIELDS
};
struct link_request {
  ACTOR_NO_FIELDS
};
struct unlink_request {
  ACTOR_NO_FIELDS
};
template <>
inline constexpr bool runtime_message<down_msg> = true;
template <>
inline constexpr bool runtime_message<exit_msg> = true;
template <>
inline constexpr bool runtime_message<monitor_request> = true;
template <>
inline constexpr bool runtime_message<demonitor_request> = true;
template <>
inline constexpr bool runtime_message<link_request> = true;
template <>
inline constexpr bool runtime_message<unlink_request> = true;
}  // namespace detail

}  // namespace actor

// down_reason::kind travels as its name, a string.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<actor::down_reason::kind> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, actor::down_reason::kind k) const {
      const auto name = actor::to_string(k);
      o.pack_str(static_cast<std::uint32_t>(name.size()));
      o.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
      return o;
    }
  };
  template <>
  struct convert<actor::down_reason::kind> {
    const msgpack::object& operator()(const msgpack::object& o, actor::down_reason::kind& k) const {
      if (o.type != msgpack::type::STR) throw msgpack::type_error();
      auto found = actor::down_kind_from_string(std::string_view(o.via.str.ptr, o.via.str.size));
      if (!found) throw msgpack::type_error();
      k = *found;
      return o;
    }
  };
  template <>
  struct object_with_zone<actor::down_reason::kind> {
    void operator()(msgpack::object::with_zone& o, actor::down_reason::kind k) const {
      const auto name = actor::to_string(k);
      o.type = msgpack::type::STR;
      o.via.str.ptr = name.data();  // a static string
      o.via.str.size = static_cast<std::uint32_t>(name.size());
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack

ACTOR_MESSAGE(actor::down_msg, "actor.down");
ACTOR_MESSAGE(actor::exit_msg, "actor.exit");
ACTOR_MESSAGE(actor::detail::monitor_request, "actor.monitor");
ACTOR_MESSAGE(actor::detail::demonitor_request, "actor.demonitor");
ACTOR_MESSAGE(actor::detail::link_request, "actor.link");
ACTOR_MESSAGE(actor::detail::unlink_request, "actor.unlink");
