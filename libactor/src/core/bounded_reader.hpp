#pragma once
// The bounded reader: every decode of bytes from the network or a file goes
// through it (the node's and the Bridge's frames and bodies, configurations,
// actorctl's replies via actor::unpack_bounded). A cursor over MessagePack
// bytes, and a builder of MessagePack objects that checks the bytes are there
// before it allocates a container's elements (unlike msgpack::unpack, whose
// limits alone let a short header of nested array32/map32 reserve gigabytes):
// a container may claim no more elements than the bytes left could hold, so
// what a decode allocates is bounded by the input's length.
// In core/ so every layer reaches it; inline: it is the hot path of every
// node (wire::batch_decoder) and of layout_of.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <msgpack.hpp>

namespace actor::detail {

// A cursor over MessagePack bytes, reading the few shapes an envelope's head is
// made of as the encoder writes them (wire::cursor adds refs). A false answer
// means "not in the shape expected", not "malformed": the caller then decodes
// the element the general way (object_builder).
struct byte_cursor {
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
};

// Builds the MessagePack object at the cursor into a zone, as msgpack::unpack
// does with always_reference (strings, binaries and extensions point into the
// input) and the same limits, without the per-call set-up of msgpack-cxx's
// parser (a heap-allocated stack per call), which cost more than a small body.
// Unlike msgpack-cxx, it checks that the bytes are there before it allocates a
// container's elements. Throws msgpack::unpack_error on anything it rejects.
class object_builder {
 public:
  object_builder(byte_cursor& c, msgpack::zone& z, const msgpack::unpack_limit& lim) : c_(c), z_(z), lim_(lim) {}
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
  [[noreturn]] static void too_deep() { throw msgpack::depth_size_overflow("depth size overflow"); }

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
    if (open + 1 > lim_.depth()) too_deep();
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
    if (open + 1 > lim_.depth()) too_deep();
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

  byte_cursor& c_;
  msgpack::zone& z_;
  const msgpack::unpack_limit& lim_;
  bool build_ = true;  // false: check only
};

/// Limits for a value of `size` bytes nested at most `depth` deep: no size
/// limit beyond what the bytes hold (the builder checks that), capped at 1 Mi
/// elements a container.
inline msgpack::unpack_limit bounded_limits(std::size_t size, std::size_t depth) {
  const std::size_t n = std::min<std::size_t>(std::max<std::size_t>(size, 1), 1u << 20);
  const std::size_t s = std::max<std::size_t>(size, 1);
  return msgpack::unpack_limit(n, n, s, s, s, depth);
}

/// Builds the one MessagePack value `bytes` holds (nothing after it) in `z`;
/// strings, binaries and extensions point into `bytes`. Throws
/// msgpack::unpack_error (depth_size_overflow when nested too deep).
inline msgpack::object build_bounded(std::string_view bytes, msgpack::zone& z, const msgpack::unpack_limit& lim) {
  const auto* begin = reinterpret_cast<const unsigned char*>(bytes.data());
  byte_cursor c{begin, begin + bytes.size()};
  msgpack::object o;
  object_builder(c, z, lim).build(o);
  if (c.p != c.end) throw msgpack::unpack_error("trailing bytes after the value");
  return o;
}

}  // namespace actor::detail
