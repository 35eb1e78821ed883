#include "actor/config.hpp"

#include "actor/unpack.hpp"

namespace actor {

config::config() : zone_(std::make_shared<msgpack::zone>()) {}

expected<config> config::from_object(const msgpack::object& obj) {
  if (obj.type != msgpack::type::MAP) return error{errc::bad_message, "a configuration must be a MessagePack map"};
  config out;
  for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
    const auto& kv = obj.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return error{errc::bad_message, "configuration keys must be strings"};
    // deep-copy into our own zone so the config outlives obj
    out.values_[kv.key.as<std::string>()] = msgpack::object(kv.val, *out.zone_);
  }
  return out;
}

expected<config> config::from_msgpack(std::string_view bytes) {
  if (bytes.empty()) return config{};
  msgpack::zone zone;  // from_object copies what it keeps
  auto o = unpack_bounded(bytes, zone);
  if (!o) return error{errc::bad_message, "configuration: " + o.error().text};
  return from_object(*o);
}

std::string config::to_msgpack() const {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(static_cast<std::uint32_t>(values_.size()));
  for (const auto& [k, v] : values_) {
    pk.pack(k);
    pk.pack(v);
  }
  return {buf.data(), buf.size()};
}

std::vector<std::string> config::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_) out.push_back(k);
  return out;
}

}  // namespace actor
