#pragma once
// Small helpers the wire's .cpp files share: writing into an sbuffer, the
// bad_message error, and the MessagePack shapes the decoders test for.

#include <string>

#include <msgpack.hpp>

#include "actor/error.hpp"

namespace actor::detail::wire {

inline msgpack::packer<msgpack::sbuffer> packer_for(msgpack::sbuffer& b) { return msgpack::packer<msgpack::sbuffer>(b); }

inline std::string to_string(const msgpack::sbuffer& b) { return {b.data(), b.size()}; }

/// errc::bad_message with `text`.
inline error bad(std::string text) { return error{errc::bad_message, std::move(text)}; }

inline bool is_uint(const msgpack::object& o) { return o.type == msgpack::type::POSITIVE_INTEGER; }
inline bool is_str(const msgpack::object& o) { return o.type == msgpack::type::STR; }

}  // namespace actor::detail::wire
