#include "wire.hpp"

#include <cstring>

namespace actor::detail::wire {

namespace {

msgpack::packer<msgpack::sbuffer> packer_for(msgpack::sbuffer& b) { return msgpack::packer<msgpack::sbuffer>(b); }

std::string to_string(const msgpack::sbuffer& b) { return {b.data(), b.size()}; }

error bad(std::string text) { return error{errc::bad_message, std::move(text)}; }

bool is_uint(const msgpack::object& o) { return o.type == msgpack::type::POSITIVE_INTEGER; }
bool is_str(const msgpack::object& o) { return o.type == msgpack::type::STR; }

// Reads element i of frame f as T; errors name the frame and the position.
template <class T>
bool get(const frame& f, std::uint32_t i, T& out) {
  if (i >= f.size) return false;
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
  pk.pack_array(6);
  pk.pack(static_cast<std::uint8_t>(frame_tag::welcome));
  pk.pack(w.version);
  pk.pack(w.node);
  pk.pack(w.address);
  pk.pack(w.incarnation);
  pk.pack(w.max_message_size);
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
    std::size_t off = 0;
    bool referenced = false;
    // strings and binaries point into `data` instead of being copied
    auto always_reference = [](msgpack::type::object_type, std::size_t, void*) { return true; };
    f.handle = msgpack::unpack(static_cast<const char*>(data), size, off, referenced, always_reference, nullptr, lim);
    if (off != size) return bad("trailing bytes after the frame");
  } catch (const std::exception& ex) {
    return bad(std::string("not valid MessagePack within limits: ") + ex.what());
  }
  const auto& o = f.handle.get();
  if (o.type != msgpack::type::ARRAY || o.via.array.size == 0) return bad("a frame must be a non-empty array");
  f.items = o.via.array.ptr;
  f.size = o.via.array.size;
  if (!is_uint(f.items[0]) || f.items[0].via.u64 < 1 || f.items[0].via.u64 > 6) return bad("unknown frame tag");
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
      !get(f, 4, w.incarnation) || (f.size > 5 && !get(f, 5, w.max_message_size))) {
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

bool read_ref(const msgpack::object& o, ref_view& out) noexcept {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 4) return false;
  const auto* a = o.via.array.ptr;
  if (!is_str(a[0]) || !is_str(a[1]) || !is_uint(a[2]) || !is_uint(a[3])) return false;
  out.node = std::string_view(a[0].via.str.ptr, a[0].via.str.size);
  out.address = std::string_view(a[1].via.str.ptr, a[1].via.str.size);
  out.incarnation = a[2].via.u64;
  out.id = a[3].via.u64;
  return true;
}

expected<envelope_view> read_envelope(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 7) return bad("an envelope is an array of 7");
  const auto* a = o.via.array.ptr;
  envelope_view v;
  if (!is_uint(a[0]) || a[0].via.u64 > 3) return bad("unknown envelope kind");
  v.k = static_cast<kind>(a[0].via.u64);
  v.has_sender = !a[1].is_nil();
  if (v.has_sender && !read_ref(a[1], v.sender)) return bad("sender must be nil or a ref [node, address, incarnation, id]");
  if (!read_ref(a[2], v.receiver)) return bad("receiver must be a ref [node, address, incarnation, id]");
  if (!is_uint(a[3]) || !is_uint(a[4])) return bad("correlation and ttl_ms must be unsigned integers");
  v.correlation = a[3].via.u64;
  v.ttl_ms = a[4].via.u64;
  if (!is_str(a[5])) return bad("type must be a string");
  v.type = std::string_view(a[5].via.str.ptr, a[5].via.str.size);
  v.body = &a[6];
  return v;
}

namespace {

// A cursor over the few MessagePack shapes an envelope's head is made of, as
// the encoder writes them. A false answer means "not in the shape expected",
// not "malformed": the caller then decodes the element the general way.
struct cursor {
  const unsigned char* p;
  const unsigned char* end;

  [[nodiscard]] std::size_t left() const noexcept { return static_cast<std::size_t>(end - p); }

  template <class T>
  bool big_endian(T& out) noexcept {
    if (left() < sizeof(T)) return false;
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
    p += sizeof(T);
    out = v;
    return true;
  }

  bool fixarray(std::uint32_t n) noexcept {
    if (left() < 1 || *p != (0x90 | n)) return false;
    ++p;
    return true;
  }
  bool nil() noexcept {
    if (left() < 1 || *p != 0xc0) return false;
    ++p;
    return true;
  }
  bool is_nil() const noexcept { return left() >= 1 && *p == 0xc0; }

  // Any integer encoding of a value >= 0 (msgpack-cxx reads those as POSITIVE_INTEGER).
  bool uint(std::uint64_t& v) noexcept {
    if (left() < 1) return false;
    const unsigned char b = *p;
    if (b <= 0x7f) {  // positive fixint: ids, kinds, most counters
      v = b;
      ++p;
      return true;
    }
    if (b == 0xcf && left() >= 9) {  // uint64: incarnations
      std::uint64_t x;
      std::memcpy(&x, p + 1, sizeof x);
      v = __builtin_bswap64(x);
      p += 9;
      return true;
    }
    return uint_slow(v);
  }
  bool uint_slow(std::uint64_t& v) noexcept {
    const unsigned char b = *p;
    const auto* save = p;
    ++p;
    bool ok = false;
    switch (b) {
      case 0xcc: { std::uint8_t x = 0; ok = big_endian(x); v = x; break; }
      case 0xcd: { std::uint16_t x = 0; ok = big_endian(x); v = x; break; }
      case 0xce: { std::uint32_t x = 0; ok = big_endian(x); v = x; break; }
      case 0xcf: { std::uint64_t x = 0; ok = big_endian(x); v = x; break; }
      case 0xd0: { std::uint8_t x = 0; ok = big_endian(x) && x < 0x80; v = x; break; }
      case 0xd1: { std::uint16_t x = 0; ok = big_endian(x) && x < 0x8000; v = x; break; }
      case 0xd2: { std::uint32_t x = 0; ok = big_endian(x) && x < 0x80000000u; v = x; break; }
      case 0xd3: { std::uint64_t x = 0; ok = big_endian(x) && x < 0x8000000000000000ull; v = x; break; }
      default: break;
    }
    if (!ok) p = save;
    return ok;
  }

  bool str(std::string_view& out) noexcept {
    if (left() < 1) return false;
    const auto* save = p;
    const unsigned char b = *p++;
    std::uint32_t n = 0;
    bool ok = true;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
    } else if (b == 0xd9) {
      std::uint8_t x = 0;
      ok = big_endian(x);
      n = x;
    } else if (b == 0xda) {
      std::uint16_t x = 0;
      ok = big_endian(x);
      n = x;
    } else if (b == 0xdb) {
      ok = big_endian(n);
    } else {
      ok = false;
    }
    if (!ok || left() < n) {
      p = save;
      return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }

  bool ref(ref_view& r) noexcept {
    const auto* save = p;
    if (fixarray(4) && str(r.node) && str(r.address) && uint(r.incarnation) && uint(r.id)) return true;
    p = save;
    return false;
  }
};

bool always_reference(msgpack::type::object_type, std::size_t, void*) { return true; }

msgpack::unpack_limit deeper(const msgpack::unpack_limit& l, std::size_t levels) {
  return msgpack::unpack_limit(l.array(), l.map(), l.str(), l.bin(), l.ext(),
                               l.depth() > levels ? l.depth() - levels : 1);
}

}  // namespace

batch_decoder::batch_decoder(const msgpack::unpack_limit& frame_limits)
    : element_limits_(deeper(frame_limits, 1)),
      body_limits_(deeper(frame_limits, 2)),
      max_elements_(static_cast<std::uint32_t>(std::min<std::size_t>(frame_limits.array(), UINT32_MAX))),
      zone_(64u << 10) {}

bool batch_decoder::is_batch(const void* data, std::size_t size) noexcept {
  cursor c{static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + size};
  if (c.left() < 1) return false;
  const unsigned char b = *c.p;
  if ((b & 0xf0) == 0x90) {
    ++c.p;
  } else if (b == 0xdc) {
    ++c.p;
    std::uint16_t n = 0;
    if (!c.big_endian(n)) return false;
  } else if (b == 0xdd) {
    ++c.p;
    std::uint32_t n = 0;
    if (!c.big_endian(n)) return false;
  } else {
    return false;
  }
  std::uint64_t tag = 0;
  return c.uint(tag) && tag == static_cast<std::uint64_t>(frame_tag::batch);
}

expected<void> batch_decoder::decode(const void* data, std::size_t size) {
  zone_.clear();
  envelopes_.clear();
  bodies_.clear();
  bad_elements_ = 0;
  first_bad_.clear();
  const auto* bytes = static_cast<const char*>(data);
  cursor c{reinterpret_cast<const unsigned char*>(bytes), reinterpret_cast<const unsigned char*>(bytes) + size};
  std::uint32_t n = 0;
  if (c.left() >= 1 && (*c.p & 0xf0) == 0x90) {
    n = *c.p++ & 0x0f;
  } else if (c.left() >= 1 && *c.p == 0xdc) {
    ++c.p;
    std::uint16_t x = 0;
    if (!c.big_endian(x)) return bad("not valid MessagePack within limits: insufficient bytes");
    n = x;
  } else if (c.left() >= 1 && *c.p == 0xdd) {
    ++c.p;
    if (!c.big_endian(n)) return bad("not valid MessagePack within limits: insufficient bytes");
  } else {
    return bad("a BATCH frame must be an array");
  }
  if (n > max_elements_) return bad("not valid MessagePack within limits: array size overflow");
  // every element takes at least a byte: a header claiming more cannot be satisfied
  if (n == 0 || n > c.left()) return bad("not valid MessagePack within limits: insufficient bytes");
  std::uint64_t tag = 0;
  if (!c.uint(tag) || tag != static_cast<std::uint64_t>(frame_tag::batch)) return bad("not a BATCH frame");
  std::size_t off = static_cast<std::size_t>(c.p - reinterpret_cast<const unsigned char*>(bytes));
  try {
    for (std::uint32_t i = 1; i < n; ++i) element(bytes, size, off);
  } catch (const std::exception& ex) {
    envelopes_.clear();
    bodies_.clear();
    return bad(std::string("not valid MessagePack within limits: ") + ex.what());
  }
  if (off != size) {
    envelopes_.clear();
    bodies_.clear();
    return bad("trailing bytes after the frame");
  }
  for (std::size_t i = 0; i < envelopes_.size(); ++i) envelopes_[i].body = &bodies_[i];
  return {};
}

void batch_decoder::element(const char* data, std::size_t size, std::size_t& off) {
  const auto* begin = reinterpret_cast<const unsigned char*>(data);
  cursor c{begin + off, begin + size};
  envelope_view v;
  std::uint64_t k = 4;
  const bool head = c.fixarray(7) && c.uint(k) && k <= 3 &&
                    (c.is_nil() ? c.nil() : (v.has_sender = c.ref(v.sender))) && c.ref(v.receiver) &&
                    c.uint(v.correlation) && c.uint(v.ttl_ms) && c.str(v.type);
  if (head) {
    v.k = static_cast<kind>(k);
    std::size_t body_off = static_cast<std::size_t>(c.p - begin);
    bool referenced = false;
    auto body = msgpack::unpack(zone_, data, size, body_off, referenced, always_reference, nullptr, body_limits_);
    off = body_off;
    envelopes_.push_back(v);
    bodies_.push_back(body);
    return;
  }
  // not in the encoder's shape: decode it the general way, for its envelope or the reason it is none
  bool referenced = false;
  auto o = msgpack::unpack(zone_, data, size, off, referenced, always_reference, nullptr, element_limits_);
  auto e = read_envelope(o);
  if (!e) return bad_element(e.error().text);
  envelopes_.push_back(*e);
  bodies_.push_back(*e->body);
}

void batch_decoder::bad_element(std::string why) {
  if (bad_elements_++ == 0) first_bad_ = std::move(why);
}

std::string encode_envelope(kind k, const wire_ref* sender, const wire_ref& receiver, std::uint64_t correlation,
                            std::uint64_t ttl_ms, std::string_view type, std::string_view body) {
  msgpack::sbuffer b(64 + type.size() + body.size());
  auto pk = packer_for(b);
  pk.pack_array(7);
  pk.pack(static_cast<std::uint8_t>(k));
  if (sender != nullptr) {
    pk.pack(*sender);
  } else {
    pk.pack_nil();
  }
  pk.pack(receiver);
  pk.pack(correlation);
  pk.pack(ttl_ms);
  pk.pack_str(static_cast<std::uint32_t>(type.size()));
  pk.pack_str_body(type.data(), static_cast<std::uint32_t>(type.size()));
  b.write(body.data(), body.size());
  return to_string(b);
}

}  // namespace actor::detail::wire
