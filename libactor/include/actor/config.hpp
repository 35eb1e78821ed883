#pragma once
/// config: an actor's configuration, a MessagePack map with string keys, as used to
/// spawn actors by type name (from a node's config file or a remote request).

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "actor/expected.hpp"

namespace actor {

/// A value type; copies are cheap. Not thread-safe: do not mutate one config
/// (or its copies) from two threads.
class config {
 public:
  config();

  /// Decodes a MessagePack map with string keys (an empty input is an empty map).
  /// errc::bad_message when the bytes are not such a map.
  [[nodiscard]] static expected<config> from_msgpack(std::string_view bytes);
  /// Builds a config from a decoded MessagePack object; errc::bad_message unless it is a map with string keys.
  [[nodiscard]] static expected<config> from_object(const msgpack::object& obj);
  /// The map as MessagePack bytes.
  [[nodiscard]] std::string to_msgpack() const;

  template <class T>
  config& set(std::string key, const T& value) {
    values_[std::move(key)] = msgpack::object(value, *zone_);
    return *this;
  }
  /// The value under key converted to T; errc::bad_message when missing or of another type.
  template <class T>
  [[nodiscard]] expected<T> get(std::string_view key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return error{errc::bad_message, "missing config key '" + std::string(key) + "'"};
    try {
      return it->second.as<T>();
    } catch (const std::exception&) {
      return error{errc::bad_message, "config key '" + std::string(key) + "' has the wrong type"};
    }
  }
  /// The value under key, or fallback when missing. Throws bad_expected_access when present but of another type.
  template <class T>
  [[nodiscard]] T get_or(std::string_view key, T fallback) const {
    if (!contains(key)) return fallback;
    return get<T>(key).value();
  }
  [[nodiscard]] bool contains(std::string_view key) const { return values_.find(key) != values_.end(); }
  /// Removes key; whether it was there.
  bool erase(std::string_view key) {
    auto it = values_.find(key);
    if (it == values_.end()) return false;
    values_.erase(it);
    return true;
  }
  [[nodiscard]] std::vector<std::string> keys() const;
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }

  /// Writes the map to a MessagePack packer.
  template <typename Stream>
  void pack_to(msgpack::packer<Stream>& pk) const {
    pk.pack_map(static_cast<std::uint32_t>(values_.size()));
    for (const auto& [k, v] : values_) {
      pk.pack(k);
      pk.pack(v);
    }
  }

 private:
  std::shared_ptr<msgpack::zone> zone_;
  std::map<std::string, msgpack::object, std::less<>> values_;
};

}  // namespace actor

// A config inside a message is written as its MessagePack map.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<actor::config> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const actor::config& c) const {
      c.pack_to(o);
      return o;
    }
  };
  template <>
  struct convert<actor::config> {
    const msgpack::object& operator()(const msgpack::object& o, actor::config& c) const {
      if (o.is_nil()) {
        c = actor::config{};
        return o;
      }
      auto r = actor::config::from_object(o);
      if (!r) throw msgpack::type_error();
      c = std::move(*r);
      return o;
    }
  };
  }  // namespace adaptor
}
}  // namespace msgpack
