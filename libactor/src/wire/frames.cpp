// The wire's frames: HELLO, WELCOME, REFUSE, PING/PONG, the BATCH header, and
// decoding a frame the general way (decode_frame) within limits.
#include "wire/frames.hpp"

#include <memory>

#include "wire/codec_util.hpp"
#include "wire/reader.hpp"

namespace actor::detail::wire {

namespace {

// Reads element i of frame f as T; errors name the frame and the position.
// Text fields must be MessagePack str (msgpack-cxx would also take a bin).
template <class T>
bool get(const frame& f, std::uint32_t i, T& out) {
  if (i >= f.size) return false;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!is_str(f.items[i])) return false;
  }
  try {
    f.items[i].convert(out);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string encode(const hello& h) {
  msgpack::sbuffer b;
  auto pk = packer_for(b);
  pk.pack_array(6);
  pk.pack(static_cast<std::uint8_t>(frame_tag::hello));
  pk.pack(h.version);
  pk.pack(h.role);
  pk.pack(h.node);
  pk.pack(h.address);
  pk.pack(h.incarnation);
  return to_string(b);
}

std::string encode(const welcome& w) {
  msgpack::sbuffer b;
  auto pk = packer_for(b);
  pk.pack_array(w.features != 0 ? 7 : 6);
  pk.pack(static_cast<std::uint8_t>(frame_tag::welcome));
  pk.pack(w.version);
  pk.pack(w.node);
  pk.pack(w.address);
  pk.pack(w.incarnation);
  pk.pack(w.max_message_size);
  if (w.features != 0) pk.pack(w.features);
  return to_string(b);
}

std::string encode(const refuse& r) {
  msgpack::sbuffer b;
  auto pk = packer_for(b);
  pk.pack_array(3);
  pk.pack(static_cast<std::uint8_t>(frame_tag::refuse));
  pk.pack(r.version);
  pk.pack(r.reason);
  return to_string(b);
}

std::string encode_probe(frame_tag tag, const probe& p) {
  msgpack::sbuffer b;
  auto pk = packer_for(b);
  pk.pack_array(3);
  pk.pack(static_cast<std::uint8_t>(tag));
  pk.pack(p.seq);
  pk.pack(p.incarnation);
  return to_string(b);
}

std::string encode(const hello_again& h) {
  msgpack::sbuffer b;
  auto pk = packer_for(b);
  pk.pack_array(4);
  pk.pack(static_cast<std::uint8_t>(frame_tag::hello_again));
  pk.pack(h.incarnation);
  pk.pack(h.reason);
  pk.pack_array(static_cast<std::uint32_t>(h.dropped.size()));
  for (const auto& [id, correlation] : h.dropped) {
    pk.pack_array(2);
    pk.pack(id);
    pk.pack(correlation);
  }
  return to_string(b);
}

void begin_batch(std::string& out, std::size_t count) {
  // array32 header, always 5 bytes, so a batch can be started before its size is final
  out.assign(5, '\0');
  out[0] = static_cast<char>(0xdd);
  out.push_back(static_cast<char>(frame_tag::batch));  // positive fixint
  set_batch_count(out, count);
}

void set_batch_count(std::string& batch, std::size_t count) {
  const auto n = static_cast<std::uint32_t>(count + 1);  // the tag is an element too
  batch[1] = static_cast<char>(n >> 24);
  batch[2] = static_cast<char>(n >> 16);
  batch[3] = static_cast<char>(n >> 8);
  batch[4] = static_cast<char>(n);
}

msgpack::unpack_limit limits(std::size_t max_message_size) {
  // No container can hold more elements than the message has bytes; the depth
  // bound keeps recursion in check.
  const std::size_t n = std::min<std::size_t>(max_message_size, 1u << 20);
  return msgpack::unpack_limit(n, n, max_message_size, max_message_size, max_message_size, 32);
}

expected<frame> decode_frame(const void* data, std::size_t size, const msgpack::unpack_limit& lim) {
  frame f;
  try {
    // the bounded reader: strings and binaries point into `data`, and no header
    // claims more elements than the bytes left hold (msgpack::unpack would
    // reserve them first: 161 bytes of nested array32 headers took ~1 GB)
    const auto* begin = static_cast<const unsigned char*>(data);
    cursor c{begin, begin + size};
    auto zone = std::make_unique<msgpack::zone>();
    msgpack::object o;
    object_builder(c, *zone, lim).build(o);
    if (c.p != c.end) return bad("trailing bytes after the frame");
    f.handle = msgpack::object_handle(o, std::move(zone));
  } catch (const std::exception& ex) {
    return bad(std::string("not valid MessagePack within limits: ") + ex.what());
  }
  const auto& o = f.handle.get();
  if (o.type != msgpack::type::ARRAY || o.via.array.size == 0) return bad("a frame must be a non-empty array");
  f.items = o.via.array.ptr;
  f.size = o.via.array.size;
  if (!is_uint(f.items[0]) || f.items[0].via.u64 < 1 || f.items[0].via.u64 > 7) return bad("unknown frame tag");
  f.tag = static_cast<frame_tag>(f.items[0].via.u64);
  return f;
}

expected<hello> read_hello(const frame& f) {
  hello h;
  if (f.size < 6 || !get(f, 1, h.version) || !get(f, 2, h.role) || !get(f, 3, h.node) || !get(f, 4, h.address) ||
      !get(f, 5, h.incarnation)) {
    return bad("malformed HELLO");
  }
  return h;
}

expected<welcome> read_welcome(const frame& f) {
  welcome w;
  if (f.size < 5 || !get(f, 1, w.version) || !get(f, 2, w.node) || !get(f, 3, w.address) ||
      !get(f, 4, w.incarnation) || (f.size > 5 && !get(f, 5, w.max_message_size)) ||
      (f.size > 6 && !get(f, 6, w.features))) {
    return bad("malformed WELCOME");
  }
  return w;
}

expected<refuse> read_refuse(const frame& f) {
  refuse r;
  if (f.size < 3 || !get(f, 1, r.version) || !get(f, 2, r.reason)) return bad("malformed REFUSE");
  return r;
}

expected<probe> read_probe(const frame& f) {
  probe p;
  if (f.size < 3 || !get(f, 1, p.seq) || !get(f, 2, p.incarnation)) return bad("malformed PING/PONG");
  return p;
}

}  // namespace actor::detail::wire

namespace actor::detail::wire {

expected<hello_again> read_hello_again(const frame& f) {
  hello_again h;
  if (f.size < 4 || !get(f, 1, h.incarnation) || !get(f, 2, h.reason) || f.items[3].type != msgpack::type::ARRAY) {
    return bad("malformed HELLO_AGAIN");
  }
  const auto& list = f.items[3].via.array;
  h.dropped.reserve(list.size);
  for (std::uint32_t i = 0; i < list.size; ++i) {
    const auto& e = list.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != 2 || !is_uint(e.via.array.ptr[0]) ||
        !is_uint(e.via.array.ptr[1])) {
      return bad("malformed HELLO_AGAIN: dropped holds [sender id, correlation] pairs");
    }
    h.dropped.emplace_back(e.via.array.ptr[0].via.u64, e.via.array.ptr[1].via.u64);
  }
  return h;
}

}  // namespace actor::detail::wire
