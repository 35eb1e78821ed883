#include "json.hpp"

#include <charconv>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>

namespace actorctl {

namespace {

// The length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
// bytes there are not one (overlong forms, surrogates and code points past U+10FFFF
// are invalid too).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// ---- JSON -> MessagePack -------------------------------------------------------------------

// Always a float64: msgpack-cxx's pack_double writes integral values as integers,
// and a JSON 2.0 should stay a float.
void pack_float64(msgpack::sbuffer& out, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[9];
  buf[0] = static_cast<char>(0xCB);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  out.write(buf, sizeof buf);
}

class parser {
 public:
  explicit parser(std::string_view in) : in_(in) {}

  actor::expected<std::string> run() {
    msgpack::sbuffer out;
    skip_space();
    if (!value(out, 1)) return error_;
    skip_space();
    if (pos_ != in_.size()) {
      fail("unexpected " + describe_here() + " after the JSON value");
      return error_;
    }
    return std::string(out.data(), out.size());
  }

 private:
  using packer = msgpack::packer<msgpack::sbuffer>;

  bool value(msgpack::sbuffer& out, std::size_t depth) {
    if (depth > max_json_depth) return fail("nesting deeper than " + std::to_string(max_json_depth) + " levels");
    if (pos_ == in_.size()) return fail("expected a value, got the end of the input");
    switch (in_[pos_]) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string s;
        if (!string_literal(s)) return false;
        packer(out).pack(s);
        return true;
      }
      case 't': return literal(out, "true");
      case 'f': return literal(out, "false");
      case 'n': return literal(out, "null");
      default:
        if (in_[pos_] == '-' || is_digit(in_[pos_])) return number(out);
        return fail("expected a value (object, array, string, number, true, false or null), got " + describe_here());
    }
  }

  bool object(msgpack::sbuffer& out, std::size_t depth) {
    ++pos_;  // '{'
    msgpack::sbuffer members;
    std::uint32_t count = 0;
    std::set<std::string, std::less<>> keys;
    skip_space();
    if (peek('}')) {
      ++pos_;
      packer(out).pack_map(0);
      return true;
    }
    for (;;) {
      skip_space();
      if (!peek('"')) return fail(count == 0 ? "expected a string key or '}' in an object" : "expected a string key after ','");
      const auto key_at = pos_;
      std::string key;
      if (!string_literal(key)) return false;
      if (!keys.insert(key).second) {
        pos_ = key_at;
        return fail("duplicate key " + json_quote(key) + " in an object");
      }
      skip_space();
      if (!peek(':')) return fail("expected ':' after an object key, got " + describe_here());
      ++pos_;
      skip_space();
      packer(members).pack(key);
      if (!value(members, depth + 1)) return false;
      ++count;
      skip_space();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek('}')) {
        ++pos_;
        break;
      }
      return fail("expected ',' or '}' in an object, got " + describe_here());
    }
    packer(out).pack_map(count);
    out.write(members.data(), members.size());
    return true;
  }

  bool array(msgpack::sbuffer& out, std::size_t depth) {
    ++pos_;  // '['
    msgpack::sbuffer items;
    std::uint32_t count = 0;
    skip_space();
    if (peek(']')) {
      ++pos_;
      packer(out).pack_array(0);
      return true;
    }
    for (;;) {
      skip_space();
      if (peek(']')) return fail("expected a value after ',' (no trailing commas in JSON)");
      if (!value(items, depth + 1)) return false;
      ++count;
      skip_space();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek(']')) {
        ++pos_;
        break;
      }
      return fail("expected ',' or ']' in an array, got " + describe_here());
    }
    packer(out).pack_array(count);
    out.write(items.data(), items.size());
    return true;
  }

  bool string_literal(std::string& s) {
    ++pos_;  // '"'
    for (;;) {
      if (pos_ == in_.size()) return fail("unterminated string");
      const char c = in_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (!escape(s)) return false;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("a control character in a string must be escaped");
      const auto n = utf8_length(in_, pos_);
      if (n == 0) return fail("invalid UTF-8 in a string");
      s.append(in_.substr(pos_, n));
      pos_ += n;
    }
  }

  bool escape(std::string& s) {
    ++pos_;  // '\'
    if (pos_ == in_.size()) return fail("unterminated string");
    const char c = in_[pos_++];
    switch (c) {
      case '"': s += '"'; return true;
      case '\\': s += '\\'; return true;
      case '/': s += '/'; return true;
      case 'b': s += '\b'; return true;
      case 'f': s += '\f'; return true;
      case 'n': s += '\n'; return true;
      case 'r': s += '\r'; return true;
      case 't': s += '\t'; return true;
      case 'u': break;
      default:
        --pos_;
        return fail("unknown escape '\\" + std::string(1, c) + "' in a string");
    }
    std::uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a lone low surrogate \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (in_.substr(pos_, 2) != "\\u") return fail("a high surrogate must be followed by a \\u low surrogate");
      pos_ += 2;
      std::uint32_t low = 0;
      if (!hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) return fail("a high surrogate must be followed by a \\u low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(s, cp);
    return true;
  }

  bool hex4(std::uint32_t& cp) {
    if (in_.size() - pos_ < 4) return fail("expected 4 hex digits after \\u");
    for (int i = 0; i < 4; ++i) {
      const char h = in_[pos_];
      std::uint32_t d = 0;
      if (h >= '0' && h <= '9') {
        d = static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        d = static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        d = static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return fail("expected 4 hex digits after \\u");
      }
      cp = cp * 16 + d;
      ++pos_;
    }
    return true;
  }

  bool number(msgpack::sbuffer& out) {
    const auto start = pos_;
    const bool negative = peek('-');
    if (negative) ++pos_;
    if (pos_ == in_.size() || !is_digit(in_[pos_])) return fail("expected a digit in a number");
    if (in_[pos_] == '0') {
      ++pos_;
      if (pos_ < in_.size() && is_digit(in_[pos_])) return fail("a number cannot start with 0 (no leading zeros)");
    } else {
      digits();
    }
    bool is_float = false;
    if (peek('.')) {
      ++pos_;
      if (pos_ == in_.size() || !is_digit(in_[pos_])) return fail("expected a digit after '.'");
      digits();
      is_float = true;
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      if (pos_ == in_.size() || !is_digit(in_[pos_])) return fail("expected a digit in the exponent");
      digits();
      is_float = true;
    }
    const char* first = in_.data() + start;
    const char* last = in_.data() + pos_;
    packer pk(out);
    if (is_float) {
      double d = 0;
      auto [p, ec] = std::from_chars(first, last, d);
      if (ec != std::errc{} || p != last) return fail_at(start, "number out of the float64 range");
      pack_float64(out, d);
    } else if (negative) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(first, last, v);
      if (ec != std::errc{} || p != last) return fail_at(start, "integer out of the 64-bit range");
      pk.pack_int64(v);
    } else {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(first, last, v);
      if (ec != std::errc{} || p != last) return fail_at(start, "integer out of the 64-bit range");
      pk.pack_uint64(v);
    }
    return true;
  }

  bool literal(msgpack::sbuffer& out, std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return fail("expected a value, got " + describe_here());
    pos_ += word.size();
    packer pk(out);
    if (word == "true") {
      pk.pack_true();
    } else if (word == "false") {
      pk.pack_false();
    } else {
      pk.pack_nil();
    }
    return true;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  void digits() {
    while (pos_ < in_.size() && is_digit(in_[pos_])) ++pos_;
  }
  [[nodiscard]] bool peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  void skip_space() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }

  [[nodiscard]] std::string describe_here() const {
    if (pos_ >= in_.size()) return "the end of the input";
    const auto c = static_cast<unsigned char>(in_[pos_]);
    if (c >= 0x20 && c < 0x7F) return "'" + std::string(1, static_cast<char>(c)) + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    return std::string("byte ") + buf;
  }

  bool fail_at(std::size_t at, const std::string& why) {
    pos_ = at;
    return fail(why);
  }

  bool fail(const std::string& why) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < pos_ && i < in_.size(); ++i) {
      if (in_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    error_ = actor::error{actor::errc::bad_message, "malformed JSON at line " + std::to_string(line) + ", column " +
                                                        std::to_string(column) + ": " + why};
    return false;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  actor::error error_;
};

// ---- MessagePack -> JSON -------------------------------------------------------------------

std::string base64(const char* data, std::size_t n) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < n) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < n) v |= static_cast<unsigned char>(data[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < n ? table[(v >> 6) & 63] : '=';
    out += i + 2 < n ? table[v & 63] : '=';
  }
  return out;
}

template <class F>
void append_float(std::string& out, F v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, ec == std::errc{} ? static_cast<std::size_t>(p - buf) : 0);
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";  // reads back as a float
}

void write(std::string& out, const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: out += "null"; return;
    case msgpack::type::BOOLEAN: out += o.via.boolean ? "true" : "false"; return;
    case msgpack::type::POSITIVE_INTEGER: out += std::to_string(o.via.u64); return;
    case msgpack::type::NEGATIVE_INTEGER: out += std::to_string(o.via.i64); return;
    case msgpack::type::FLOAT32: append_float(out, static_cast<float>(o.via.f64)); return;
    case msgpack::type::FLOAT64: append_float(out, o.via.f64); return;
    case msgpack::type::STR: out += json_quote(std::string_view(o.via.str.ptr, o.via.str.size)); return;
    case msgpack::type::BIN: out += '"' + base64(o.via.bin.ptr, o.via.bin.size) + '"'; return;
    case msgpack::type::EXT:
      out += "{\"ext_type\":" + std::to_string(static_cast<int>(o.via.ext.type())) + ",\"data\":\"" +
             base64(o.via.ext.data(), o.via.ext.size) + "\"}";
      return;
    case msgpack::type::ARRAY:
      out += '[';
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i > 0) out += ',';
        write(out, o.via.array.ptr[i]);
      }
      out += ']';
      return;
    case msgpack::type::MAP:
      out += '{';
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i > 0) out += ',';
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR) {
          write(out, kv.key);
        } else {
          out += json_quote(to_json(kv.key));
        }
        out += ':';
        write(out, kv.val);
      }
      out += '}';
      return;
  }
  out += "null";
}

}  // namespace

actor::expected<std::string> json_to_msgpack(std::string_view json) { return parser(json).run(); }

std::string to_json(const msgpack::object& o) {
  std::string out;
  write(out, o);
  return out;
}

actor::expected<std::string> msgpack_to_json(std::string_view bytes) {
  try {
    std::size_t offset = 0;
    auto h = msgpack::unpack(bytes.data(), bytes.size(), offset);
    if (offset != bytes.size()) return actor::error{actor::errc::bad_message, "trailing bytes after the MessagePack value"};
    return to_json(h.get());
  } catch (const std::exception& ex) {
    return actor::error{actor::errc::bad_message, std::string("not valid MessagePack: ") + ex.what()};
  }
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    const auto n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not valid UTF-8
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  out += '"';
  return out;
}

}  // namespace actorctl
