#pragma once
// Shared by the vector generator and the vector test: a minimal JSON value (enough for
// protocol_vectors.json: objects, arrays, strings, integers, true/false/null), its parser and
// writer, and the structured description ("value") of a decoded frame, ref or message body.
//
// protocol_vectors.json is a JSON array of {"name", "meaning", "hex", "value"}; "value" is one of
//   {"frame": "hello"|"welcome"|"refuse"|"ping"|"pong"|"batch", <the frame's fields>}
//   {"ref": [node, address, incarnation, id]}
//   {"body_of": <message type name>, "body": <the body>}

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "wire/wire.hpp"

namespace vectors {

namespace wire = actor::detail::wire;

struct json {
  enum class kind : std::uint8_t { null, boolean, integer, string, array, object };
  kind k = kind::null;
  bool b = false;
  bool negative = false;  // integer: the value is -magnitude
  std::uint64_t magnitude = 0;
  std::string s;
  std::vector<json> items;                           // array
  std::vector<std::pair<std::string, json>> fields;  // object, in order
  friend bool operator==(const json&, const json&) = default;

  static json null() { return {}; }
  static json boolean(bool v) { json j; j.k = kind::boolean; j.b = v; return j; }
  static json uint(std::uint64_t v) { json j; j.k = kind::integer; j.magnitude = v; return j; }
  static json integer(std::int64_t v) {
    json j = uint(v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v));
    j.negative = v < 0;
    return j;
  }
  static json string(std::string_view v) { json j; j.k = kind::string; j.s = v; return j; }
  static json array(std::vector<json> v = {}) { json j; j.k = kind::array; j.items = std::move(v); return j; }
  static json object(std::vector<std::pair<std::string, json>> v = {}) {
    json j;
    j.k = kind::object;
    j.fields = std::move(v);
    return j;
  }
  /// The field `key` of an object; std::runtime_error when there is none.
  [[nodiscard]] const json& at(std::string_view key) const {
    for (const auto& [name, v] : fields) {
      if (name == key) return v;
    }
    throw std::runtime_error("no field '" + std::string(key) + "'");
  }
  [[nodiscard]] bool has(std::string_view key) const {
    for (const auto& f : fields) {
      if (f.first == key) return true;
    }
    return false;
  }
};

// ---- writing ---------------------------------------------------------------------------

inline void write(const json& j, std::string& out) {
  switch (j.k) {
    case json::kind::null: out += "null"; return;
    case json::kind::boolean: out += j.b ? "true" : "false"; return;
    case json::kind::integer:
      if (j.negative) out += '-';
      out += std::to_string(j.magnitude);
      return;
    case json::kind::string:
      out += '"';
      for (unsigned char c : j.s) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
      }
      out += '"';
      return;
    case json::kind::array:
      out += '[';
      for (std::size_t i = 0; i < j.items.size(); ++i) {
        if (i > 0) out += ", ";
        write(j.items[i], out);
      }
      out += ']';
      return;
    case json::kind::object:
      out += '{';
      for (std::size_t i = 0; i < j.fields.size(); ++i) {
        if (i > 0) out += ", ";
        write(json::string(j.fields[i].first), out);
        out += ": ";
        write(j.fields[i].second, out);
      }
      out += '}';
      return;
  }
}

inline std::string to_text(const json& j) {
  std::string out;
  write(j, out);
  return out;
}

// ---- parsing ---------------------------------------------------------------------------

class parser {
 public:
  explicit parser(std::string_view text) : t_(text) {}

  json parse_document() {
    json j = value();
    space();
    if (i_ != t_.size()) fail("trailing characters");
    return j;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("JSON: " + why + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  json value() {
    space();
    if (i_ >= t_.size()) fail("unexpected end");
    const char c = t_[i_];
    if (c == '{') return object();
    if (c == '[') return array();
    if (c == '"') return json::string(string());
    if (word("null")) return json::null();
    if (word("true")) return json::boolean(true);
    if (word("false")) return json::boolean(false);
    if (c == '-' || (c >= '0' && c <= '9')) return integer();
    fail("unexpected character");
  }
  json object() {
    expect('{');
    json j = json::object();
    if (eat('}')) return j;
    do {
      space();
      std::string key = string();
      expect(':');
      j.fields.emplace_back(std::move(key), value());
    } while (eat(','));
    expect('}');
    return j;
  }
  json array() {
    expect('[');
    json j = json::array();
    if (eat(']')) return j;
    do {
      j.items.push_back(value());
    } while (eat(','));
    expect(']');
    return j;
  }
  json integer() {
    json j = json::uint(0);
    if (t_[i_] == '-') {
      j.negative = true;
      ++i_;
    }
    const auto start = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
      const auto d = static_cast<std::uint64_t>(t_[i_++] - '0');
      if (j.magnitude > (UINT64_MAX - d) / 10) fail("integer out of range");
      j.magnitude = j.magnitude * 10 + d;
    }
    if (i_ == start) fail("expected digits");
    if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) fail("only integers are supported");
    return j;
  }
  std::string string() {
    if (i_ >= t_.size() || t_[i_] != '"') fail("expected a string");
    ++i_;
    std::string out;
    while (i_ < t_.size() && t_[i_] != '"') {
      char c = t_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= t_.size()) fail("unfinished escape");
      c = t_[i_++];
      switch (c) {
        case '"': case '\\': case '/': out += c; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > t_.size()) fail("short \\u escape");
          const auto cp = std::stoul(std::string(t_.substr(i_, 4)), nullptr, 16);
          i_ += 4;
          if (cp >= 0xd800 && cp <= 0xdfff) fail("surrogate escapes are not supported");
          if (cp < 0x80) {  // UTF-8
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          } else {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
          }
          break;
        }
        default: fail("unknown escape");
      }
    }
    if (i_ >= t_.size()) fail("unterminated string");
    ++i_;
    return out;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

inline json parse(std::string_view text) { return parser(text).parse_document(); }

// ---- hex -------------------------------------------------------------------------------

inline std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

inline std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("odd number of hex digits");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw std::runtime_error(std::string("not a lower-case hex digit: ") + c);
  };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  return out;
}

// ---- describing decoded MessagePack ----------------------------------------------------

/// A MessagePack value as JSON (maps need string keys; floats and binaries are not used).
inline json from_msgpack(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return json::null();
    case msgpack::type::BOOLEAN: return json::boolean(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER: return json::uint(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER: return json::integer(o.via.i64);
    case msgpack::type::STR: return json::string(std::string_view(o.via.str.ptr, o.via.str.size));
    case msgpack::type::ARRAY: {
      json j = json::array();
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) j.items.push_back(from_msgpack(o.via.array.ptr[i]));
      return j;
    }
    case msgpack::type::MAP: {
      json j = json::object();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) throw std::runtime_error("a map key that is not a string");
        j.fields.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size), from_msgpack(kv.val));
      }
      return j;
    }
    default: throw std::runtime_error("a MessagePack type the vectors do not use");
  }
}

inline json describe(const wire::ref_view& r) {
  return json::array({json::string(r.node), json::string(r.address), json::uint(r.incarnation), json::uint(r.id)});
}

inline const char* kind_name(wire::kind k) {
  switch (k) {
    case wire::kind::send: return "send";
    case wire::kind::request: return "request";
    case wire::kind::reply: return "reply";
    case wire::kind::error: return "error";
  }
  return "?";
}

/// The "value" of a decoded frame; std::runtime_error when it does not read as its tag says.
inline json describe(const wire::frame& f) {
  auto must = [](auto e) {
    if (!e) throw std::runtime_error(e.error().text);
    return *e;
  };
  using F = std::vector<std::pair<std::string, json>>;
  switch (f.tag) {
    case wire::frame_tag::hello: {
      auto h = must(wire::read_hello(f));
      return json::object(F{{"frame", json::string("hello")}, {"version", json::uint(h.version)},
                            {"role", json::string(h.role)}, {"name", json::string(h.node)},
                            {"address", json::string(h.address)}, {"incarnation", json::uint(h.incarnation)}});
    }
    case wire::frame_tag::welcome: {
      auto w = must(wire::read_welcome(f));
      return json::object(F{{"frame", json::string("welcome")}, {"version", json::uint(w.version)},
                            {"name", json::string(w.node)}, {"address", json::string(w.address)},
                            {"incarnation", json::uint(w.incarnation)},
                            {"max_message_size", json::uint(w.max_message_size)}});
    }
    case wire::frame_tag::refuse: {
      auto r = must(wire::read_refuse(f));
      return json::object(
          F{{"frame", json::string("refuse")}, {"version", json::uint(r.version)}, {"reason", json::string(r.reason)}});
    }
    case wire::frame_tag::ping:
    case wire::frame_tag::pong: {
      auto p = must(wire::read_probe(f));
      return json::object(F{{"frame", json::string(f.tag == wire::frame_tag::ping ? "ping" : "pong")},
                            {"seq", json::uint(p.seq)}, {"incarnation", json::uint(p.incarnation)}});
    }
    case wire::frame_tag::hello_again: {
      auto h = must(wire::read_hello_again(f));
      json dropped = json::array();
      for (const auto& [id, correlation] : h.dropped) {
        json pair = json::array();
        pair.items.push_back(json::uint(id));
        pair.items.push_back(json::uint(correlation));
        dropped.items.push_back(std::move(pair));
      }
      return json::object(F{{"frame", json::string("hello_again")}, {"incarnation", json::uint(h.incarnation)},
                            {"reason", json::string(h.reason)}, {"dropped", std::move(dropped)}});
    }
    case wire::frame_tag::batch: {
      json envelopes = json::array();
      for (std::uint32_t i = 1; i < f.size; ++i) {
        auto v = must(wire::read_envelope(f.items[i]));
        envelopes.items.push_back(json::object(
            F{{"kind", json::string(kind_name(v.k))},
              {"sender", v.has_sender ? describe(v.sender) : json::null()},
              {"receiver", describe(v.receiver)},
              {"correlation", json::uint(v.correlation)},
              {"ttl_ms", json::uint(v.ttl_ms)},
              {"type", json::string(v.type)},
              {"body", from_msgpack(*v.body)}}));
      }
      return json::object(F{{"frame", json::string("batch")}, {"envelopes", std::move(envelopes)}});
    }
  }
  throw std::runtime_error("unknown frame tag");
}

}  // namespace vectors
