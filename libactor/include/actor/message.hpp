#pragma once
/// Message types: plain structs that list their fields with ACTOR_FIELDS (or
/// msgpack-cxx's MSGPACK_DEFINE_MAP), each registered once under a stable type
/// name with ACTOR_MESSAGE(type, "name").
///
///   struct ping { int n = 0; ACTOR_FIELDS(n) };
///   ACTOR_MESSAGE(ping, "example.ping");   // at global scope, after the struct
///
/// Sending a type that is not registered does not compile.

#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <msgpack.hpp>

#include "actor/fields.hpp"
#include "actor/error.hpp"

namespace actor {

namespace detail {
struct envelope;
}

/// Specialized by ACTOR_MESSAGE; holds `static constexpr std::string_view name`.
template <class T>
struct message_traits;

/// True for types registered with ACTOR_MESSAGE.
template <class T>
concept registered_message = requires {
  { message_traits<std::remove_cvref_t<T>>::name } -> std::convertible_to<std::string_view>;
};

/// A growable byte buffer MessagePack packers write into.
struct byte_sink {
  std::string bytes;
  void write(const char* data, std::size_t n) { bytes.append(data, n); }
};

/// Run-time description of a registered message type; one static instance per type.
struct message_type {
  std::string_view name;
  /// Writes the value at `value` (of this type) as MessagePack.
  void (*pack)(const void* value, msgpack::packer<byte_sink>& out);
  /// Builds an envelope holding a value decoded from `obj`; throws msgpack::type_error
  /// (or std::exception) when obj does not fit the type.
  detail::envelope* (*unpack)(const msgpack::object& obj);
  /// Builds an envelope holding a copy of the value at `value`.
  detail::envelope* (*copy)(const void* value);
  /// A message the runtime handles before the behavior sees it (actor.stop, the watch
  /// messages of actor/monitor.hpp); false for every user type.
  bool runtime = false;
};

/// The run-time description of T.
template <registered_message T>
[[nodiscard]] const message_type& type_of() noexcept;

/// Looks a registered message type up by name; nullptr when none is registered.
/// Thread-safe.
[[nodiscard]] const message_type* find_message_type(std::string_view name) noexcept;

/// The names of every registered message type, sorted.
[[nodiscard]] std::vector<std::string> registered_message_names();

namespace detail {
/// True for the runtime's own messages (message_type::runtime); specialized next to them.
template <class T>
inline constexpr bool runtime_message = false;

/// Adds t to the process-wide table. Registering the same name for two
/// different types is a programming error: it prints both and aborts.
bool register_message_type(const message_type& t) noexcept;
}  // namespace detail

/// A read-only view of a message of any registered type, as a fallback handler sees it.
class message {
 public:
  message(const message_type* type, const void* data) noexcept : type_(type), data_(data) {}
  [[nodiscard]] std::string_view type_name() const noexcept { return type_->name; }
  [[nodiscard]] const message_type& type() const noexcept { return *type_; }
  template <registered_message T>
  [[nodiscard]] bool is() const noexcept { return type_ == &type_of<T>(); }
  /// Precondition: is<T>().
  template <registered_message T>
  [[nodiscard]] const T& get() const noexcept { return *static_cast<const T*>(data_); }
  /// The body as MessagePack bytes.
  [[nodiscard]] std::string pack() const;
  /// Internal: an envelope holding a copy of this message.
  [[nodiscard]] detail::envelope* clone() const { return type_->copy(data_); }

 private:
  const message_type* type_;
  const void* data_;
};

/// For a message without fields (ACTOR_FIELDS() does not compile empty):
///   struct get { ACTOR_NO_FIELDS };
#define ACTOR_NO_FIELDS                                                                      \
  template <typename Packer>                                                                 \
  void msgpack_pack(Packer& pk) const {                                                      \
    pk.pack_map(0);                                                                          \
  }                                                                                          \
  void msgpack_unpack(const msgpack::object& o) {                                            \
    if (o.type != msgpack::type::MAP) throw msgpack::type_error();                           \
  }                                                                                          \
  void msgpack_object(msgpack::object* o, msgpack::zone&) const {                            \
    o->type = msgpack::type::MAP;                                                            \
    o->via.map.size = 0;                                                                     \
    o->via.map.ptr = nullptr;                                                                \
  }

// ---- built-in messages of the runtime -------------------------------------

/// Asks an actor to stop: it runs on_stop and answers `stopped`.
struct stop_msg {
  ACTOR_NO_FIELDS
};
/// The answer to stop_msg.
struct stopped {
  ACTOR_NO_FIELDS
};
template <>
inline constexpr bool detail::runtime_message<stop_msg> = true;

}  // namespace actor

#define ACTOR_DETAIL_CAT2(a, b) a##b
#define ACTOR_DETAIL_CAT(a, b) ACTOR_DETAIL_CAT2(a, b)

/// Registers T under NAME. Use at global scope, once per type, in a header next to T.
#define ACTOR_MESSAGE(T, NAME)                                            \
  template <>                                                             \
  struct actor::message_traits<T> {                                       \
    static constexpr std::string_view name = NAME;                        \
  };                                                                      \
  [[maybe_unused]] static const bool ACTOR_DETAIL_CAT(actor_detail_registered_, __COUNTER__) = \
      ::actor::detail::register_message_type(::actor::type_of<T>())

ACTOR_MESSAGE(actor::error, "actor.error");
ACTOR_MESSAGE(actor::stop_msg, "actor.stop");
ACTOR_MESSAGE(actor::stopped, "actor.stopped");

#include "actor/detail/envelope.hpp"
