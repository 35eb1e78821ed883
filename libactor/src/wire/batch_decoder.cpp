// The hot path of every node: BATCH frames decoded straight from their bytes.
#include "wire/batch_decoder.hpp"

#include "wire/codec_util.hpp"
#include "wire/envelopes.hpp"
#include "wire/frames.hpp"
#include "wire/reader.hpp"

namespace actor::detail::wire {

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

}  // namespace

msgpack::object unpack_body(std::string_view bytes, msgpack::zone& z) {
  return build_bounded(bytes, z, limits(std::max<std::size_t>(bytes.size(), 1024)));
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
  msgpack::object o;
  c.p = begin + off;
  object_builder(c, zone_, element_limits_).build(o);  // bounded, as the frame's body is
  off = static_cast<std::size_t>(c.p - begin);
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

}  // namespace actor::detail::wire
