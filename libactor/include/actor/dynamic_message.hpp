#pragma once
/// dynamic_message: a message of a type this process has not registered, the way scripts and
/// other languages send one: a type name and a MessagePack body (the seed's args and kwargs: an
/// array of positional arguments, a map of named ones, or any one value).
///
///   self.send(printer, actor::dynamic_message::of("example.greeting", std::vector<std::string>{"World"}));
///   if (m.match("example.greeting")) { auto args = m.as<actor::dynamic_message>().args_as<std::vector<std::string>>(); }
///
/// Contract:
///  - On the wire a dynamic_message is its own type name and its body: the receiving side
///    cannot tell it from a typed message of that name. A process that registered the name
///    decodes the body as that type (a body that does not fit: bad_message, as for any message).
///  - Receive-style actors (actor/receiver.hpp) take messages of unregistered types from the
///    network as dynamic_message; other actors answer them bad_message ("unknown message type").
///    A reply of an unregistered type reaches any requester as a dynamic_message (a request that
///    expected another type fails with bad_message at once, not at its deadline).
///  - body holds exactly one MessagePack value; the network refuses to send one that does not,
///    or one named after a runtime message (actor.stop, actor.monitor, ...): bad_message to a
///    request's sender, counted as an encode failure.

#include <string>
#include <utility>

#include <msgpack.hpp>

#include "actor/expected.hpp"
#include "actor/message.hpp"
#include "actor/unpack.hpp"

namespace actor {

struct dynamic_message {
  std::string type;  ///< the type name it travels under
  std::string body;  ///< one MessagePack value

  /// A message named `type` with `value` packed as its body (a std::tuple or std::vector packs
  /// as an array: positional arguments; a std::map as named ones).
  template <class T>
  static dynamic_message of(std::string type, const T& value) {
    byte_sink out;
    msgpack::packer<byte_sink>(out).pack(value);
    return {std::move(type), std::move(out.bytes)};
  }
  /// The body decoded into `zone` (strings point into body: keep this message alive).
  [[nodiscard]] expected<msgpack::object> args(msgpack::zone& zone) const { return unpack_bounded(body, zone); }
  /// The body converted to T; bad_message when it is not MessagePack or does not fit T.
  template <class T>
  [[nodiscard]] expected<T> args_as() const {
    msgpack::zone zone;
    auto o = args(zone);
    if (!o) return o.error();
    try {
      return o->as<T>();
    } catch (const std::exception& ex) {
      return error{errc::bad_message, "the body of '" + type + "' does not fit: " + ex.what()};
    }
  }

  // MessagePack: the body itself (where the network writes a dynamic message, it writes `type`
  // as the type name and these bytes as the body; see net/router.cpp)
  template <class Packer>
  void msgpack_pack(Packer& pk) const {
    msgpack::zone zone;
    auto o = args(zone);
    if (!o) throw msgpack::type_error();
    pk.pack(*o);
  }
  void msgpack_unpack(const msgpack::object& o) {
    byte_sink out;
    msgpack::packer<byte_sink>(out).pack(o);
    body = std::move(out.bytes);
    if (type.empty()) type = "actor.dynamic";
  }
};

}  // namespace actor

ACTOR_MESSAGE(actor::dynamic_message, "actor.dynamic");
