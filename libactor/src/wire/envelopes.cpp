// Envelopes on the wire: reading one the general way, writing one, and writing
// them into a batch as full envelopes or repeats.
#include "wire/envelopes.hpp"

#include <cstring>

#include "wire/codec_util.hpp"
#include "wire/reader.hpp"

namespace actor::detail::wire {

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

