// actor::unpack_bounded: the bounded reader (core/bounded_reader.hpp) for users of the public API.
#include "actor/unpack.hpp"

#include <string>

#include "core/bounded_reader.hpp"

namespace actor {

expected<msgpack::object> unpack_bounded(std::string_view bytes, msgpack::zone& zone, std::size_t max_depth) {
  const auto lim = detail::bounded_limits(bytes.size(), max_depth);
  const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
  detail::byte_cursor c{begin, begin + bytes.size()};
  msgpack::object o;
  try {
    detail::object_builder(c, zone, lim).build(o);
  } catch (const msgpack::depth_size_overflow&) {
    return error{errc::bad_message, "MessagePack nested deeper than " + std::to_string(max_depth) + " levels"};
  } catch (const std::exception& ex) {
    return error{errc::bad_message, std::string("not valid MessagePack: ") + ex.what()};
  }
  if (c.p != c.end) return error{errc::bad_message, "trailing bytes after the MessagePack value"};
  return o;
}

}  // namespace actor
