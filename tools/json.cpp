#include "json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "actor/unpack.hpp"

namespace actorctl {

namespace {

using nlohmann::json;

// ---- Positions in the input ----------------------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_punctuation(char c) { return std::string_view("{}[]:,").find(c) != std::string_view::npos; }

// What is at `at`, for a message: 'x', byte \xNN or the end of the input.
std::string describe(std::string_view in, std::size_t at) {
  if (at >= in.size()) return "the end of the input";
  const auto c = static_cast<unsigned char>(in[at]);
  if (c >= 0x20 && c < 0x7F) return "'" + std::string(1, static_cast<char>(c)) + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  return std::string("byte ") + buf;
}

std::string expected_a_value(std::string_view in, std::size_t at) {
  const bool literal_begun = at < in.size() && std::string_view("tfn").find(in[at]) != std::string_view::npos;
  if (literal_begun) return "expected a value, got " + describe(in, at);  // "tru", "nul"
  return "expected a value (object, array, string, number, true, false or null), got " + describe(in, at);
}

// "line L, column C" of a byte offset; lines and columns count from 1, columns in bytes.
std::string line_and_column(std::string_view in, std::size_t offset) {
  const auto before = in.substr(0, std::min(offset, in.size()));
  const auto line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const auto last_newline = before.rfind('\n');
  const auto column = last_newline == std::string_view::npos ? offset + 1 : offset - last_newline;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// Where the string literal whose closing quote is at end - 1 opens: the nearest quote
// before it that is not escaped (not after an odd run of backslashes).
std::size_t string_start(std::string_view in, std::size_t end) {
  for (std::size_t i = end - 1; i-- > 0;) {
    if (in[i] != '"') continue;
    std::size_t backslashes = 0;
    while (backslashes < i && in[i - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return i;
  }
  return 0;
}

// Where the literal that the byte at `bad` broke off begins ("tru" in "tru}"), or `bad`
// when no literal was begun. No prefix of true, false or null holds a t, f or n past its
// first letter, so the nearest match is the literal the lexer was reading.
std::size_t literal_start(std::string_view in, std::size_t bad) {
  for (std::size_t k = 1; k <= 4 && k <= bad; ++k) {
    const auto begun = in.substr(bad - k, k);
    for (std::string_view word : {"true", "false", "null"}) {
      if (k < word.size() && word.starts_with(begun)) return bad - k;
    }
  }
  return bad;
}

// Where the UTF-8 sequence that the byte at `bad` broke begins: its lead byte when
// `bad` is within the length that lead byte announces, else `bad` itself.
std::size_t utf8_sequence_start(std::string_view in, std::size_t bad) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(in[i]); };
  for (std::size_t k = 1; k <= 3 && k <= bad; ++k) {
    const auto b = byte(bad - k);
    if (b >= 0xC0) {
      const std::size_t length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      return k < length ? bad - k : bad;
    }
    if (b < 0x80) break;  // not a continuation byte: no sequence reaches `bad`
  }
  return bad;
}

// ---- Reading the input ---------------------------------------------------------------------

// Feeds the input to nlohmann's lexer, counting the bytes it has taken: the parser's
// callbacks carry no position. A NUL byte reaches the lexer as 0x01: nlohmann takes NUL
// for the end of the input (and would accept "{}\0junk"), while 0x01 is as invalid as
// NUL everywhere in JSON, so the parse fails where the NUL is.
class counting_reader {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = char;

  counting_reader(const char* at, std::size_t* taken) : at_(at), taken_(taken) {}
  char operator*() const { return *at_ == '\0' ? '\x01' : *at_; }
  counting_reader& operator++() {
    ++at_;
    ++*taken_;
    return *this;
  }
  counting_reader operator++(int) {
    auto before = *this;
    ++*this;
    return before;
  }
  bool operator==(const counting_reader& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  std::size_t* taken_;
};

// What nlohmann's parser reported when it stopped on malformed input.
struct syntax_error {
  std::size_t position;  // bytes read, the end of the input counting as one
  std::string token;     // the token's text so far (the lexer's get_token_string)
  int id;                // nlohmann's exception id: 101 syntax, 406 number overflow
  std::string what;      // nlohmann's message
  // Whether nlohmann's own words (before "; last read: ", which quotes the input) say this: a
  // string in the input that reads "parsing object key - " must not count (the fuzzer found one).
  [[nodiscard]] bool says(std::string_view words) const {
    const auto own = std::string_view(what).substr(0, what.find("; last read: "));
    return own.find(words) != std::string_view::npos;
  }
  // Whether the message quotes what the lexer last read (a lexical error, not a whole token).
  [[nodiscard]] bool quotes_input() const { return what.find("; last read: ") != std::string::npos; }
};

// An error at a byte offset, before it is given its line and column.
struct located_error {
  std::size_t offset;
  std::string why;
};

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

// Writes MessagePack as nlohmann's parser reports the values, and refuses what JSON
// allows but this contract does not (duplicate keys, integers past 64 bits, floats out
// of range, nesting deeper than max_json_depth) by stopping the parse. A container's
// size comes first in MessagePack, so each open container gathers its members in a
// buffer of its own, written to its parent when it ends.
class msgpack_writer final : public nlohmann::json_sax<json> {
 public:
  explicit msgpack_writer(std::string_view in) : in_(in) {}

  std::size_t taken = 0;  // bytes the lexer has read so far (counting_reader)

  [[nodiscard]] std::string bytes() const { return {root_.data(), root_.size()}; }
  [[nodiscard]] located_error failure() const { return refusal_ ? *refusal_ : explain(*syntax_); }

  bool null() override { return packed([](packer& p) { p.pack_nil(); }); }
  bool boolean(bool b) override { return packed([b](packer& p) { b ? p.pack_true() : p.pack_false(); }); }
  bool number_integer(number_integer_t v) override { return packed([v](packer& p) { p.pack_int64(v); }); }
  bool number_unsigned(number_unsigned_t v) override { return packed([v](packer& p) { p.pack_uint64(v); }); }
  bool number_float(number_float_t, const string_t& text) override;
  bool string(string_t& s) override { return packed([&s](packer& p) { p.pack(s); }); }
  bool binary(binary_t&) override { return refuse(taken, "a binary value"); }  // not in JSON text
  bool key(string_t& k) override;
  bool start_object(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) override {
    syntax_ = syntax_error{position, token, ex.id, ex.what()};
    return false;
  }

 private:
  using packer = msgpack::packer<msgpack::sbuffer>;

  struct container {
    bool is_object = false;
    std::uint32_t count = 0;  // members (key and value pairs in an object)
    msgpack::sbuffer members;
    std::set<std::string, std::less<>> keys;
  };

  msgpack::sbuffer& out() { return open_.empty() ? root_ : open_.back().members; }

  template <class Pack>
  bool packed(Pack pack) {
    packer p(out());
    pack(p);
    return value_done();
  }

  bool value_done() {
    if (open_.empty()) {
      done_ = true;
    } else {
      ++open_.back().count;
    }
    return true;
  }

  bool open(bool is_object) {
    if (open_.size() == max_json_depth) {
      return refuse(taken - 1, "nesting deeper than " + std::to_string(max_json_depth) + " levels");
    }
    open_.emplace_back().is_object = is_object;
    return true;
  }

  bool close() {
    container done = std::move(open_.back());
    open_.pop_back();
    packer p(out());
    if (done.is_object) {
      p.pack_map(done.count);
    } else {
      p.pack_array(done.count);
    }
    out().write(done.members.data(), done.members.size());
    return value_done();
  }

  bool refuse(std::size_t offset, std::string why) {
    refusal_ = located_error{offset, std::move(why)};
    return false;
  }

  [[nodiscard]] std::size_t token_start(const syntax_error& e) const;
  [[nodiscard]] std::optional<located_error> string_or_number_error(const syntax_error& e) const;
  [[nodiscard]] located_error explain(const syntax_error& e) const;

  std::string_view in_;
  msgpack::sbuffer root_;
  std::vector<container> open_;
  bool done_ = false;  // the top-level value is complete
  std::optional<located_error> refusal_;
  std::optional<syntax_error> syntax_;
};

bool msgpack_writer::key(string_t& k) {
  auto& object = open_.back();
  if (!object.keys.insert(k).second) {
    return refuse(string_start(in_, taken), "duplicate key " + json_quote(k) + " in an object");
  }
  packer(object.members).pack(k);
  return true;
}

// nlohmann hands over the number's text too: it is read again as before, an integer
// when it has no fraction or exponent (nlohmann gives integers past 64 bits as floats),
// else a float64 that std::from_chars can represent (1e400 and 1e-400 are refused).
bool msgpack_writer::number_float(number_float_t, const string_t& text) {
  // the lexer read one byte past the number (its last byte is a digit) unless the input ended
  const std::size_t end = taken > 0 && !is_digit(in_[taken - 1]) ? taken - 1 : taken;
  const std::size_t start = end - text.size();
  const char* first = text.data();
  const char* last = first + text.size();
  if (text.find_first_of(".eE") == std::string::npos) return refuse(start, "integer out of the 64-bit range");
  double d = 0;
  auto [p, ec] = std::from_chars(first, last, d);
  if (ec != std::errc{} || p != last) return refuse(start, "number out of the float64 range");
  pack_float64(out(), d);
  return value_done();
}

// Where the token that nlohmann stopped in begins. The lexer read up to e.position; the
// text of a string or number is exactly e.token (with a control character at its end
// shown as 8 characters, "<U+000A>"); a literal or punctuation is known by its last byte.
std::size_t msgpack_writer::token_start(const syntax_error& e) const {
  if (e.says("unexpected end of input")) return in_.size();
  if (e.says("invalid literal")) return literal_start(in_, std::min(e.position - 1, in_.size()));
  const std::size_t end = std::min(e.position, in_.size());
  if (end == 0) return 0;
  const char last = in_[end - 1];
  if (e.id == 101 && !e.quotes_input()) {  // a whole token, in the wrong place
    if (is_punctuation(last)) return end - 1;
    if (last == 'l' && end >= 4) return end - 4;                                       // null
    if (last == 'e' && end >= 5) return end - (in_[end - 4] == 't' ? 4 : 5);           // true, false
    if (last == 'e' && end == 4) return 0;                                             // true
  }
  const std::size_t shown_as_8 = static_cast<unsigned char>(last) < 0x20 ? 7 : 0;
  return end - std::min(end, e.token.size() - shown_as_8);
}

// A string or number the lexer could not read, in the words the old parser used.
std::optional<located_error> msgpack_writer::string_or_number_error(const syntax_error& e) const {
  const std::size_t bad = std::min(e.position - 1, in_.size());
  struct reason {
    std::string_view nlohmann;
    std::string_view ours;
  };
  static constexpr reason reasons[] = {
      {"missing closing quote", "unterminated string"},
      {"control character", "a control character in a string must be escaped"},
      {"expected digit after '-'", "expected a digit in a number"},
      {"expected digit after '.'", "expected a digit after '.'"},
      {"after exponent", "expected a digit in the exponent"},
  };
  if (e.says("ill-formed UTF-8")) return located_error{utf8_sequence_start(in_, bad), "invalid UTF-8 in a string"};
  if (e.says("forbidden character after backslash")) {
    if (bad == in_.size()) return located_error{bad, "unterminated string"};
    return located_error{bad, "unknown escape '\\" + std::string(1, in_[bad]) + "' in a string"};
  }
  // at the byte that is not a hex digit, or where the digits start when the input ends first
  if (e.says("must be followed by 4 hex digits")) {
    const std::size_t digits = in_.rfind("\\u", bad - 1) + 2;
    return located_error{in_.size() - digits < 4 ? digits : bad, "expected 4 hex digits after \\u"};
  }
  if (e.says("must be followed by U+DC00..U+DFFF")) {  // where the low surrogate's \u should be, or after it
    return located_error{in_.rfind("\\u", bad - 1) + 6, "a high surrogate must be followed by a \\u low surrogate"};
  }
  if (e.says("must follow U+D800..U+DBFF")) return located_error{bad + 1, "a lone low surrogate \\u escape"};
  for (const auto& r : reasons) {
    if (e.says(r.nlohmann)) return located_error{bad, std::string(r.ours)};
  }
  return std::nullopt;
}

// nlohmann's syntax error in the words and at the place the old parser gave: nlohmann
// names the context ("while parsing array - ...") and reads the offending token whole,
// where the old parser stopped at its first byte; where punctuation was due, that token
// is named whatever it is; where a value was due, a broken string or number is described.
located_error msgpack_writer::explain(const syntax_error& e) const {
  const std::size_t start = token_start(e);
  const std::string got = describe(in_, start);
  if (start > 0 && start < in_.size() && is_digit(in_[start]) && is_digit(in_[start - 1])) {
    return {start, "a number cannot start with 0 (no leading zeros)"};  // "01" reads as 0, then 1
  }
  if (done_) return {start, "unexpected " + got + " after the JSON value"};
  if (e.says("parsing object separator - ")) return {start, "expected ':' after an object key, got " + got};
  if (e.says("parsing object - ")) return {start, "expected ',' or '}' in an object, got " + got};
  if (e.says("parsing array - ")) return {start, "expected ',' or ']' in an array, got " + got};
  if (e.id == 406) {
    const bool integer = e.token.find_first_of(".eE") == std::string::npos;
    return {start, integer ? "integer out of the 64-bit range" : "number out of the float64 range"};
  }
  // where a key is due, only a string is read as one: "{-}" lacks a key, not a digit
  const bool string_here = start < in_.size() && in_[start] == '"';
  if (e.says("parsing object key - ") && !string_here && !open_.empty()) {
    const bool first = open_.back().count == 0;
    return {start, first ? "expected a string key or '}' in an object" : "expected a string key after ','"};
  }
  if (auto lexical = string_or_number_error(e)) return *lexical;
  if (start == in_.size()) return {start, "expected a value, got the end of the input"};
  if (in_[start] == ']' && !open_.empty() && !open_.back().is_object && open_.back().count > 0) {
    return {start, "expected a value after ',' (no trailing commas in JSON)"};
  }
  return {start, expected_a_value(in_, start)};
}

actor::error malformed(std::string_view in, const located_error& e) {
  return actor::error{actor::errc::bad_message, "malformed JSON at " + line_and_column(in, e.offset) + ": " + e.why};
}

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

// A float32 as the double with its shortest digits: 0.1f prints as 0.1, not as the
// 0.10000000149011612 it widens to.
double widen(float f) {
  if (!std::isfinite(f)) return f;
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  double d = f;
  if (ec == std::errc{}) std::from_chars(buf, end, d);
  return d;
}

// nlohmann prints a float with ".0" when it has no fraction or exponent, and NaN and
// the infinities as null.
std::string number_text(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER: return json(o.via.u64).dump();
    case msgpack::type::NEGATIVE_INTEGER: return json(o.via.i64).dump();
    case msgpack::type::FLOAT32: return json(widen(static_cast<float>(o.via.f64))).dump();
    default: return json(o.via.f64).dump();
  }
}

void write(std::string& out, const msgpack::object& o, std::size_t depth, std::size_t keys = 0);

void write_array(std::string& out, const msgpack::object_array& a, std::size_t depth, std::size_t keys) {
  out += '[';
  for (std::uint32_t i = 0; i < a.size; ++i) {
    if (i > 0) out += ',';
    write(out, a.ptr[i], depth + 1, keys);
  }
  out += ']';
}

// A key that is not a string prints as the string of its JSON text. Each key inside such a key
// is quoted once more, which doubles its backslashes: `keys` counts those levels, and more than
// max_key_nesting is refused (else 500 bytes of maps keyed by maps print as gigabytes: the fuzzer).
constexpr std::size_t max_key_nesting = 4;

void write_map(std::string& out, const msgpack::object_map& m, std::size_t depth, std::size_t keys) {
  out += '{';
  for (std::uint32_t i = 0; i < m.size; ++i) {
    if (i > 0) out += ',';
    const auto& kv = m.ptr[i];
    if (kv.key.type == msgpack::type::STR) {
      write(out, kv.key, depth + 1, keys);
    } else {
      if (keys >= max_key_nesting && (kv.key.type == msgpack::type::MAP || kv.key.type == msgpack::type::ARRAY)) {
        throw std::length_error("map keys that are maps nest more than " + std::to_string(max_key_nesting) +
                                " deep: not shown as JSON");
      }
      std::string key;
      write(key, kv.key, depth + 1, keys + 1);
      out += json_quote(key);
    }
    out += ':';
    write(out, kv.val, depth + 1, keys);
  }
  out += '}';
}

// `depth` counts the containers `o` is in: msgpack_to_json refuses deeper input, so
// the recursion stays shallow.
void write(std::string& out, const msgpack::object& o, std::size_t depth, std::size_t keys) {
  const bool container = o.type == msgpack::type::ARRAY || o.type == msgpack::type::MAP;
  if (container && depth >= max_json_depth) {
    throw std::length_error("MessagePack nested deeper than " + std::to_string(max_json_depth) + " levels");
  }
  switch (o.type) {
    case msgpack::type::NIL: out += "null"; return;
    case msgpack::type::BOOLEAN: out += o.via.boolean ? "true" : "false"; return;
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out += number_text(o); return;
    case msgpack::type::STR: out += json_quote(std::string_view(o.via.str.ptr, o.via.str.size)); return;
    case msgpack::type::BIN: out += '"' + base64(o.via.bin.ptr, o.via.bin.size) + '"'; return;
    case msgpack::type::EXT:
      out += "{\"ext_type\":" + std::to_string(static_cast<int>(o.via.ext.type())) + ",\"data\":\"" +
             base64(o.via.ext.data(), o.via.ext.size) + "\"}";
      return;
    case msgpack::type::ARRAY: write_array(out, o.via.array, depth, keys); return;
    case msgpack::type::MAP: write_map(out, o.via.map, depth, keys); return;
  }
  out += "null";
}

}  // namespace

actor::expected<std::string> json_to_msgpack(std::string_view in) {
  // nlohmann skips a UTF-8 byte order mark (and fails on a broken one); JSON text has none
  if (!in.empty() && in.front() == '\xEF') return malformed(in, {0, expected_a_value(in, 0)});
  msgpack_writer writer(in);
  const counting_reader first(in.data(), &writer.taken);
  const counting_reader last(in.data() + in.size(), &writer.taken);
  if (!json::sax_parse(first, last, &writer)) return malformed(in, writer.failure());
  return writer.bytes();
}

std::string to_json(const msgpack::object& o) {
  std::string out;
  write(out, o, 0);
  return out;
}

actor::expected<std::string> msgpack_to_json(std::string_view bytes) {
  // bounded by the bytes' length: a reply's body is network input
  msgpack::zone zone;
  auto o = actor::unpack_bounded(bytes, zone, max_json_depth);
  if (!o) return o.error();
  try {
    return to_json(*o);
  } catch (const std::length_error& ex) {
    return actor::error{actor::errc::bad_message, std::string("cannot show the body as JSON: ") + ex.what()};
  }
}

std::string json_quote(std::string_view s) {
  auto quoted = json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
  // DEL stays escaped, as it was: a terminal shows nothing for it
  for (auto at = quoted.find('\x7F'); at != std::string::npos; at = quoted.find('\x7F', at)) {
    quoted.replace(at, 1, "\\u007f");
  }
  return quoted;
}

}  // namespace actorctl
