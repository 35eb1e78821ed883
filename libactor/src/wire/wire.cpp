#include "wire/wire.hpp"

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

// A repeat element [kind, correlation, ttl_ms, body] decoded the general way,
// with the sender, receiver and type of `previous`.
expected<envelope_view> read_repeat(const msgpack::object& o, const envelope_view& previous) {
  const auto* a = o.via.array.ptr;
  envelope_view v = previous;
  if (!is_uint(a[0]) || a[0].via.u64 > 3) return bad("unknown envelope kind");
  v.k = static_cast<kind>(a[0].via.u64);
  if (!is_uint(a[1]) || !is_uint(a[2])) return bad("correlation and ttl_ms must be unsigned integers");
  v.correlation = a[1].via.u64;
  v.ttl_ms = a[2].via.u64;
  v.body = &a[3];
  v.body_bytes = {};  // not the previous envelope's
  v.repeat = true;
  return v;
}

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
  // An array header of any width (fixarray, array16, array32).
  bool array_header(std::uint32_t& n) noexcept {
    if (left() < 1) return false;
    const auto* save = p;
    const unsigned char b = *p++;
    bool ok = true;
    if ((b & 0xf0) == 0x90) {
      n = b & 0x0f;
    } else if (b == 0xdc) {
      std::uint16_t x = 0;
      ok = big_endian(x);
      n = x;
    } else if (b == 0xdd) {
      ok = big_endian(n);
    } else {
      ok = false;
    }
    if (!ok) p = save;
    return ok;
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

// Builds the MessagePack object at the cursor into a zone, as msgpack::unpack
// does with always_reference (strings, binaries and extensions point into the
// input) and the same limits, without the per-call set-up of msgpack-cxx's
// parser (a heap-allocated stack per call), which cost more than a small body.
// Unlike msgpack-cxx, it checks that the bytes are there before it allocates a
// container's elements. Throws msgpack::unpack_error on anything it rejects.
class object_builder {
 public:
  object_builder(cursor& c, msgpack::zone& z, const msgpack::unpack_limit& lim) : c_(c), z_(z), lim_(lim) {}
  /// Checks the object at the cursor as build() would and moves past it, building nothing.
  void check() {
    build_ = false;
    msgpack::object scratch;
    build(scratch);
  }

  void build(msgpack::object& o, std::size_t open = 0) {
    if (c_.left() < 1) fail("insufficient bytes");
    const unsigned char b = *c_.p++;
    if (b <= 0x7f) return set_uint(o, b);
    if (b >= 0xe0) return set_int(o, static_cast<std::int8_t>(b));
    if (b <= 0x8f) return map(o, b & 0x0f, open);
    if (b <= 0x9f) return array(o, b & 0x0f, open);
    if (b <= 0xbf) return str(o, b & 0x1f);
    switch (b) {
      case 0xc0: o.type = msgpack::type::NIL; return;
      case 0xc2: o.type = msgpack::type::BOOLEAN; o.via.boolean = false; return;
      case 0xc3: o.type = msgpack::type::BOOLEAN; o.via.boolean = true; return;
      case 0xc4: return bin(o, load<std::uint8_t>());
      case 0xc5: return bin(o, load<std::uint16_t>());
      case 0xc6: return bin(o, load<std::uint32_t>());
      case 0xc7: return ext(o, load<std::uint8_t>());
      case 0xc8: return ext(o, load<std::uint16_t>());
      case 0xc9: return ext(o, load<std::uint32_t>());
      case 0xca: return set_float(o, msgpack::type::FLOAT32, load_float<float, std::uint32_t>());
      case 0xcb: return set_float(o, msgpack::type::FLOAT64, load_float<double, std::uint64_t>());
      case 0xcc: return set_uint(o, load<std::uint8_t>());
      case 0xcd: return set_uint(o, load<std::uint16_t>());
      case 0xce: return set_uint(o, load<std::uint32_t>());
      case 0xcf: return set_uint(o, load<std::uint64_t>());
      case 0xd0: return set_int(o, static_cast<std::int8_t>(load<std::uint8_t>()));
      case 0xd1: return set_int(o, static_cast<std::int16_t>(load<std::uint16_t>()));
      case 0xd2: return set_int(o, static_cast<std::int32_t>(load<std::uint32_t>()));
      case 0xd3: return set_int(o, static_cast<std::int64_t>(load<std::uint64_t>()));
      case 0xd4: return ext(o, 1);
      case 0xd5: return ext(o, 2);
      case 0xd6: return ext(o, 4);
      case 0xd7: return ext(o, 8);
      case 0xd8: return ext(o, 16);
      case 0xd9: return str(o, load<std::uint8_t>());
      case 0xda: return str(o, load<std::uint16_t>());
      case 0xdb: return str(o, load<std::uint32_t>());
      case 0xdc: return array(o, load<std::uint16_t>(), open);
      case 0xdd: return array(o, load<std::uint32_t>(), open);
      case 0xde: return map(o, load<std::uint16_t>(), open);
      case 0xdf: return map(o, load<std::uint32_t>(), open);
      default: fail("parse error");  // 0xc1: never used
    }
  }

 private:
  [[noreturn]] static void fail(const char* why) { throw msgpack::unpack_error(why); }

  template <class T>
  T load() {
    T v = 0;
    if (!c_.big_endian(v)) fail("insufficient bytes");
    return v;
  }
  template <class Float, class Bits>
  double load_float() {
    const auto bits = load<Bits>();
    Float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  static void set_float(msgpack::object& o, msgpack::type::object_type t, double v) {
    o.type = t;
    o.via.f64 = v;
  }
  static void set_uint(msgpack::object& o, std::uint64_t v) {
    o.type = msgpack::type::POSITIVE_INTEGER;
    o.via.u64 = v;
  }
  static void set_int(msgpack::object& o, std::int64_t v) {
    if (v >= 0) return set_uint(o, static_cast<std::uint64_t>(v));
    o.type = msgpack::type::NEGATIVE_INTEGER;
    o.via.i64 = v;
  }
  const char* take(std::uint64_t n) {
    if (n > c_.left()) fail("insufficient bytes");
    const auto* at = reinterpret_cast<const char*>(c_.p);
    c_.p += n;
    return at;
  }
  void str(msgpack::object& o, std::uint32_t n) {
    o.via.str.ptr = take(n);
    if (n > lim_.str()) fail("str size overflow");
    o.type = msgpack::type::STR;
    o.via.str.size = n;
  }
  void bin(msgpack::object& o, std::uint32_t n) {
    o.via.bin.ptr = take(n);
    if (n > lim_.bin()) fail("bin size overflow");
    o.type = msgpack::type::BIN;
    o.via.bin.size = n;
  }
  void ext(msgpack::object& o, std::uint64_t n) {  // n data bytes after the type byte
    o.via.ext.ptr = take(n + 1);
    if (n + 1 > lim_.ext()) fail("ext size overflow");
    o.type = msgpack::type::EXT;
    o.via.ext.size = static_cast<std::uint32_t>(n);
  }
  void array(msgpack::object& o, std::uint32_t n, std::size_t open) {
    if (n > lim_.array()) fail("array size overflow");
    if (open + 1 > lim_.depth()) fail("depth size overflow");
    if (n > c_.left()) fail("insufficient bytes");  // each element takes a byte at least
    o.type = msgpack::type::ARRAY;
    o.via.array.size = n;
    o.via.array.ptr = nullptr;
    if (n == 0) return;
    if (!build_) {
      for (std::uint32_t i = 0; i < n; ++i) build(o, open + 1);
      return;
    }
    auto* items = static_cast<msgpack::object*>(
        z_.allocate_align(sizeof(msgpack::object) * n, MSGPACK_ZONE_ALIGNOF(msgpack::object)));
    o.via.array.ptr = items;
    for (std::uint32_t i = 0; i < n; ++i) build(items[i], open + 1);
  }
  void map(msgpack::object& o, std::uint32_t n, std::size_t open) {
    if (n > lim_.map()) fail("map size overflow");
    if (open + 1 > lim_.depth()) fail("depth size overflow");
    if (n > c_.left() / 2) fail("insufficient bytes");  // each pair takes two bytes at least
    o.type = msgpack::type::MAP;
    o.via.map.size = n;
    o.via.map.ptr = nullptr;
    if (n == 0) return;
    if (!build_) {
      for (std::uint32_t i = 0; i < 2 * n; ++i) build(o, open + 1);
      return;
    }
    auto* pairs = static_cast<msgpack::object_kv*>(
        z_.allocate_align(sizeof(msgpack::object_kv) * n, MSGPACK_ZONE_ALIGNOF(msgpack::object_kv)));
    o.via.map.ptr = pairs;
    for (std::uint32_t i = 0; i < n; ++i) {
      build(pairs[i].key, open + 1);
      build(pairs[i].val, open + 1);
    }
  }

  cursor& c_;
  msgpack::zone& z_;
  const msgpack::unpack_limit& lim_;
  bool build_ = true;  // false: check only
};

msgpack::unpack_limit deeper(const msgpack::unpack_limit& l, std::size_t levels) {
  return msgpack::unpack_limit(l.array(), l.map(), l.str(), l.bin(), l.ext(),
                               l.depth() > levels ? l.depth() - levels : 1);
}

}  // namespace

msgpack::object unpack_body(std::string_view bytes, msgpack::zone& z) {
  const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
  cursor c{begin, begin + bytes.size()};
  const auto lim = limits(std::max<std::size_t>(bytes.size(), 1024));
  msgpack::object o;
  object_builder(c, z, lim).build(o);
  if (c.p != c.end) throw msgpack::unpack_error("trailing bytes after the body");
  return o;
}

batch_decoder::batch_decoder(const msgpack::unpack_limit& frame_limits, bodies b)
    : bodies_wanted_(b),
      element_limits_(deeper(frame_limits, 1)),
      body_limits_(deeper(frame_limits, 2)),
      max_elements_(static_cast<std::uint32_t>(std::min<std::size_t>(frame_limits.array(), UINT32_MAX))),
      zone_(64u << 10) {}

bool batch_decoder::is_batch(const void* data, std::size_t size) noexcept {
  cursor c{static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + size};
  std::uint32_t n = 0;
  std::uint64_t tag = 0;
  return c.array_header(n) && c.uint(tag) && tag == static_cast<std::uint64_t>(frame_tag::batch);
}

expected<void> batch_decoder::decode(const void* data, std::size_t size) {
  zone_.clear();
  envelopes_.clear();
  bodies_.clear();
  // a 64 KiB batch holds a few thousand envelopes at most: do not keep the memory a huge frame took
  constexpr std::size_t kept_capacity = 4096;
  if (envelopes_.capacity() > kept_capacity) {
    envelopes_ = std::vector<envelope_view>();
    bodies_ = std::vector<msgpack::object>();
  }
  bad_elements_ = 0;
  first_bad_.clear();
  previous_good_ = false;
  const auto* bytes = static_cast<const char*>(data);
  cursor c{reinterpret_cast<const unsigned char*>(bytes), reinterpret_cast<const unsigned char*>(bytes) + size};
  std::uint32_t n = 0;
  if (!c.array_header(n)) return bad("a BATCH frame must be an array");
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
  for (std::size_t i = 0; i < envelopes_.size(); ++i) {
    // a body only checked is not there to point to (it is in body_bytes)
    const bool built = bodies_wanted_ == bodies::built || envelopes_[i].body_bytes.empty();
    envelopes_[i].body = built ? &bodies_[i] : nullptr;
  }
  return {};
}

void batch_decoder::element(const char* data, std::size_t size, std::size_t& off) {
  const auto* begin = reinterpret_cast<const unsigned char*>(data);
  cursor c{begin + off, begin + size};
  envelope_view v;
  std::uint64_t k = 4;
  bool head = c.fixarray(7) && c.uint(k) && k <= 3 &&
              (c.is_nil() ? c.nil() : (v.has_sender = c.ref(v.sender))) && c.ref(v.receiver) &&
              c.uint(v.correlation) && c.uint(v.ttl_ms) && c.str(v.type);
  if (!head && previous_good_) {
    // a repeat: [kind, correlation, ttl_ms, body] after the envelope whose sender, receiver and type it takes
    c.p = begin + off;
    v = envelopes_.back();
    k = 4;
    head = c.fixarray(4) && c.uint(k) && k <= 3 && c.uint(v.correlation) && c.uint(v.ttl_ms);
    v.repeat = true;
  }
  if (head) {
    v.k = static_cast<kind>(k);
    msgpack::object body;
    const auto* body_begin = c.p;
    object_builder builder(c, zone_, body_limits_);
    if (bodies_wanted_ == bodies::built) {
      builder.build(body);
    } else {
      builder.check();
    }
    v.body_bytes =
        std::string_view(reinterpret_cast<const char*>(body_begin), static_cast<std::size_t>(c.p - body_begin));
    off = static_cast<std::size_t>(c.p - begin);
    envelopes_.push_back(v);
    bodies_.push_back(body);
    previous_good_ = true;
    return;
  }
  // not in the encoder's shape: decode it the general way, for its envelope or the reason it is none
  bool referenced = false;
  auto o = msgpack::unpack(zone_, data, size, off, referenced, always_reference, nullptr, element_limits_);
  expected<envelope_view> e = bad("an envelope is an array of 7");
  if (o.type == msgpack::type::ARRAY && o.via.array.size == 4) {
    if (!previous_good_) return bad_element("a repeat envelope must follow an envelope");
    e = read_repeat(o, envelopes_.back());
  } else {
    e = read_envelope(o);
  }
  if (!e) return bad_element(e.error().text);
  envelopes_.push_back(*e);
  bodies_.push_back(*e->body);
  previous_good_ = true;
}

void batch_decoder::bad_element(std::string why) {
  previous_good_ = false;
  if (bad_elements_++ == 0) first_bad_ = std::move(why);
}

envelope_layout layout_of(std::string_view envelope) noexcept {
  const auto* begin = reinterpret_cast<const unsigned char*>(envelope.data());
  cursor c{begin, begin + envelope.size()};
  std::uint64_t k = 4, correlation = 0, ttl_ms = 0;
  ref_view sender, receiver;
  std::string_view type;
  const auto at = [&] { return static_cast<std::uint32_t>(c.p - begin); };
  if (!c.fixarray(7) || !c.uint(k) || at() != 2 || k > 3 || !(c.nil() || c.ref(sender)) || !c.ref(receiver)) return {};
  envelope_layout l;
  l.refs_end = at();
  if (!c.uint(correlation) || !c.uint(ttl_ms)) return {};
  l.type_begin = at();
  if (!c.str(type)) return {};
  l.type_end = at();
  return l;
}

namespace {
// True when the full envelope `full` (laid out as `layout`) has the sender,
// receiver and type of the full envelope `previous` written in `batch`.
bool same_head(const std::string& batch, const written_envelope& previous, std::string_view full,
               const envelope_layout& layout) noexcept {
  const auto same = [&](std::size_t begin, std::size_t end, std::size_t prev_begin, std::size_t prev_end) {
    return end - begin == prev_end - prev_begin &&
           std::memcmp(full.data() + begin, batch.data() + previous.offset + prev_begin, end - begin) == 0;
  };
  const auto& l = layout;
  const auto& p = previous.layout;
  return l.known() && previous.known() && same(2, l.refs_end, 2, p.refs_end) &&
         same(l.type_begin, l.type_end, p.type_begin, p.type_end);
}
}  // namespace

written_envelope append_envelope(std::string& batch, std::string_view bytes, const envelope_layout& layout,
                                 const written_envelope& previous, bool repeats_allowed) {
  const auto& l = layout;
  if (repeats_allowed && same_head(batch, previous, bytes, l)) {
    batch.push_back(static_cast<char>(0x94));  // fixarray of 4
    batch.push_back(bytes[1]);                 // kind
    batch.append(bytes.substr(l.refs_end, l.type_begin - l.refs_end));  // correlation, ttl_ms
    batch.append(bytes.substr(l.type_end));                              // body
    return previous;
  }
  const std::size_t at = batch.size();
  batch.append(bytes);
  return {at, l};
}

std::size_t repeat_view::full_size() const noexcept {
  const auto& h = head_layout;
  return 2 + (h.refs_end - 2) + (body_at - 2) + (h.type_end - h.type_begin) + (bytes.size() - body_at);
}

namespace {
// Writes r in full at the end of batch; its layout.
envelope_layout write_full(std::string& batch, const repeat_view& r) {
  const auto& h = r.head_layout;
  const std::size_t at = batch.size();
  batch.push_back(static_cast<char>(0x97));  // fixarray of 7
  batch.push_back(r.bytes[1]);               // kind
  batch.append(r.head.substr(2, h.refs_end - 2));                        // sender, receiver
  batch.append(r.bytes.substr(2, r.body_at - 2));                        // correlation, ttl_ms
  const auto type_begin = static_cast<std::uint32_t>(batch.size() - at);
  batch.append(r.head.substr(h.type_begin, h.type_end - h.type_begin));  // type
  const auto type_end = static_cast<std::uint32_t>(batch.size() - at);
  batch.append(r.bytes.substr(r.body_at));                               // body
  return {h.refs_end, type_begin, type_end};
}
}  // namespace

written_envelope append_repeat(std::string& batch, const repeat_view& r, const written_envelope& previous,
                               bool previous_is_head, bool repeats_allowed) {
  if (repeats_allowed && previous.known() && (previous_is_head || same_head(batch, previous, r.head, r.head_layout))) {
    batch.append(r.bytes);
    return previous;
  }
  const std::size_t at = batch.size();
  return {at, write_full(batch, r)};
}

std::string expand_repeat(const repeat_view& r, envelope_layout& layout) {
  std::string out;
  out.reserve(r.full_size());
  layout = write_full(out, r);
  return out;
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
