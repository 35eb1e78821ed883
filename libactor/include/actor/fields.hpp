#pragma once
/// ACTOR_FIELDS: how a message type lists its fields (see actor/message.hpp).
//
// detail::field_map is what ACTOR_FIELDS expands to. It writes and
// reads a struct as a MessagePack map of its fields, exactly as msgpack-cxx's
// MSGPACK_DEFINE_MAP does (the same bytes; the same rules on reading), but
// reads without building a std::map of the keys first: msgpack-cxx allocates a
// map node and a std::string per key for every message it decodes.
//
// Reading, as MSGPACK_DEFINE_MAP: not a map, or a key that is not a string:
// msgpack::type_error. A field whose key is missing keeps its value; keys of no
// field are ignored; of keys that appear twice, the first counts.

#include <cstdint>
#include <cstring>
#include <string_view>
#include <tuple>
#include <utility>

#include <msgpack.hpp>

namespace actor::detail {

template <std::size_t N>
constexpr std::string_view field_name(const char (&name)[N]) noexcept {
  return {name, N - 1};  // a string literal: without its terminating zero
}
template <class Name>
std::string_view field_name(const Name& name) noexcept {
  return std::string_view(name);
}

/// The value of the first entry of `map` (a MAP whose keys are all strings) with key `name`; null: none.
inline const msgpack::object* find_field(const msgpack::object& map, std::string_view name) noexcept {
  const msgpack::object_kv* kv = map.via.map.ptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& key = kv[i].key.via.str;
    if (key.size == name.size() && std::memcmp(key.ptr, name.data(), name.size()) == 0) return &kv[i].val;
  }
  return nullptr;
}

/// Names and fields, alternating (name0, field0, name1, field1, ...), as
/// msgpack::type::define_map takes them.
template <class... Args>
class field_map {
 public:
  explicit field_map(Args&... args) : a_(args...) {}

  template <class Packer>
  void msgpack_pack(Packer& pk) const {
    std::apply([&](auto&... x) { msgpack::type::make_define_map(x...).msgpack_pack(pk); }, a_);
  }

  void msgpack_unpack(const msgpack::object& o) const {
    if (o.type != msgpack::type::MAP) throw msgpack::type_error();
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      if (o.via.map.ptr[i].key.type != msgpack::type::STR) throw msgpack::type_error();
    }
    unpack_fields(o, std::make_index_sequence<sizeof...(Args) / 2>{});
  }

  void msgpack_object(msgpack::object* o, msgpack::zone& z) const {
    std::apply([&](auto&... x) { msgpack::type::make_define_map(x...).msgpack_object(o, z); }, a_);
  }

 private:
  static_assert(sizeof...(Args) % 2 == 0, "names and fields, alternating");

  template <std::size_t... I>
  void unpack_fields(const msgpack::object& o, std::index_sequence<I...>) const {
    (unpack_field(o, std::get<2 * I>(a_), std::get<2 * I + 1>(a_)), ...);
  }
  template <class Name, class Field>
  static void unpack_field(const msgpack::object& o, const Name& name, Field& field) {
    if (const auto* v = find_field(o, field_name(name))) msgpack::v1::type::convert_helper(*v, field);
  }

  std::tuple<Args&...> a_;
};

template <class... Args>
field_map<Args...> make_field_map(Args&... args) {
  return field_map<Args...>(args...);
}

}  // namespace actor::detail

/// A message's fields, written as a MessagePack map of field name to value:
///   struct put { std::string key; std::string value; ACTOR_FIELDS(key, value) };
/// The same bytes, and the same rules on reading, as MSGPACK_DEFINE_MAP (the two
/// interoperate), with a decode that allocates nothing of its own (detail::field_map above).
#define ACTOR_FIELDS(...)                                                                    \
  template <typename Packer>                                                                 \
  void msgpack_pack(Packer& msgpack_pk) const {                                              \
    ::actor::detail::make_field_map MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_pack(msgpack_pk); \
  }                                                                                          \
  void msgpack_unpack(const msgpack::object& msgpack_o) {                                    \
    ::actor::detail::make_field_map MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_unpack(msgpack_o); \
  }                                                                                          \
  template <typename MSGPACK_OBJECT>                                                         \
  void msgpack_object(MSGPACK_OBJECT* msgpack_o, msgpack::zone& msgpack_z) const {           \
    ::actor::detail::make_field_map MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__)                     \
        .msgpack_object(msgpack_o, msgpack_z);                                               \
  }
