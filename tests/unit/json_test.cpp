// actorctl's JSON <-> MessagePack converter: what it accepts, how it encodes it,
// and how it says what is wrong with what it rejects.
#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "json.hpp"

using Catch::Matchers::Contains;
using actorctl::json_to_msgpack;
using actorctl::msgpack_to_json;

namespace {

// JSON -> MessagePack -> JSON
std::string round_trip(const std::string& json) {
  auto bytes = json_to_msgpack(json);
  REQUIRE(bytes);
  auto back = msgpack_to_json(*bytes);
  REQUIRE(back);
  return *back;
}

msgpack::object_handle decoded(const std::string& json) {
  auto bytes = json_to_msgpack(json);
  REQUIRE(bytes);
  return msgpack::unpack(bytes->data(), bytes->size());
}

std::string rejection(const std::string& json) {
  auto bytes = json_to_msgpack(json);
  REQUIRE_FALSE(bytes);
  CHECK(bytes.error().code == actor::errc::bad_message);
  return bytes.error().text;
}

template <class... Fields>
std::string packed(Fields&&... fields) {
  msgpack::sbuffer b;
  msgpack::pack(b, std::forward_as_tuple(fields...));
  return {b.data(), b.size()};
}

}  // namespace

TEST_CASE("a nested JSON document survives the trip to MessagePack and back", "[json]") {
  const std::string doc =
      R"({"a":1,"b":[true,false,null,-7,2.5,"x"],"c":{"d":{"e":[[],{}]},"s":"tab\tquote\"slash\\"},"u":"\u00e9\u20ac\ud83d\ude00"})";
  CHECK(round_trip(doc) == R"({"a":1,"b":[true,false,null,-7,2.5,"x"],"c":{"d":{"e":[[],{}]},"s":"tab\tquote\"slash\\"},"u":"é€😀"})");
}

TEST_CASE("whitespace around and between tokens is ignored", "[json]") {
  CHECK(round_trip(" \n{ \"a\" :\t[ 1 , 2 ]\r\n}  ") == R"({"a":[1,2]})");
}

TEST_CASE("JSON values become the MessagePack types a MSGPACK_DEFINE_MAP struct reads", "[json]") {
  auto h = decoded(R"({"int":5,"neg":-5,"big":18446744073709551615,"min":-9223372036854775808,"f":1.5,"e":1e3,"s":"x","b":true,"n":null,"a":[1]})");
  const auto& m = h.get();
  REQUIRE(m.type == msgpack::type::MAP);
  REQUIRE(m.via.map.size == 10);
  auto val = [&](std::string_view key) -> const msgpack::object& {
    for (std::uint32_t i = 0; i < m.via.map.size; ++i) {
      if (m.via.map.ptr[i].key.as<std::string>() == key) return m.via.map.ptr[i].val;
    }
    FAIL("no key " << key);
    return m;
  };
  CHECK(val("int").type == msgpack::type::POSITIVE_INTEGER);
  CHECK(val("int").as<std::int64_t>() == 5);
  CHECK(val("neg").type == msgpack::type::NEGATIVE_INTEGER);
  CHECK(val("neg").as<std::int64_t>() == -5);
  CHECK(val("big").as<std::uint64_t>() == 18446744073709551615ULL);
  CHECK(val("min").as<std::int64_t>() == INT64_MIN);
  CHECK(val("f").type == msgpack::type::FLOAT64);
  CHECK(val("f").as<double>() == 1.5);
  CHECK(val("e").type == msgpack::type::FLOAT64);
  CHECK(val("e").as<double>() == 1000.0);
  CHECK(val("s").as<std::string>() == "x");
  CHECK(val("b").as<bool>());
  CHECK(val("n").is_nil());
  CHECK(val("a").type == msgpack::type::ARRAY);
}

TEST_CASE("top-level scalars and empty containers are values too", "[json]") {
  CHECK(round_trip("0") == "0");
  CHECK(round_trip("-0") == "0");
  CHECK(round_trip("\"\"") == "\"\"");
  CHECK(round_trip("[]") == "[]");
  CHECK(round_trip("{}") == "{}");
  CHECK(round_trip("null") == "null");
}

TEST_CASE("floats print so that they read back as floats", "[json]") {
  CHECK(round_trip("2.0") == "2.0");
  CHECK(round_trip("0.1") == "0.1");
  CHECK(round_trip("-1.25e-5") == "-1.25e-05");
}

TEST_CASE("malformed JSON is rejected with its line, column and reason", "[json]") {
  CHECK_THAT(rejection(""), Contains("line 1, column 1") && Contains("end of the input"));
  CHECK_THAT(rejection("{\"a\":1,}"), Contains("column 8") && Contains("expected a string key after ','"));
  CHECK_THAT(rejection("[1,2,]"), Contains("no trailing commas"));
  CHECK_THAT(rejection("{\"a\" 1}"), Contains("expected ':'"));
  CHECK_THAT(rejection("{\n  \"a\": tru\n}"), Contains("line 2, column 8"));
  CHECK_THAT(rejection("{'a': 1}"), Contains("expected a string key"));
  CHECK_THAT(rejection("[1 2]"), Contains("expected ',' or ']'"));
  CHECK_THAT(rejection("{\"a\":1} x"), Contains("unexpected 'x' after the JSON value"));
  CHECK_THAT(rejection("\"abc"), Contains("unterminated string"));
  CHECK_THAT(rejection("01"), Contains("leading zeros"));
  CHECK_THAT(rejection("1."), Contains("digit after '.'"));
  CHECK_THAT(rejection("-"), Contains("expected a digit"));
  CHECK_THAT(rejection("1e"), Contains("exponent"));
  CHECK_THAT(rejection("NaN"), Contains("expected a value"));
  CHECK_THAT(rejection("18446744073709551616"), Contains("64-bit range"));
  CHECK_THAT(rejection("-9223372036854775809"), Contains("64-bit range"));
  CHECK_THAT(rejection("1e400"), Contains("float64 range"));
}

TEST_CASE("strings must be valid UTF-8 with control characters escaped", "[json]") {
  CHECK_THAT(rejection("\"a\nb\""), Contains("control character"));
  CHECK_THAT(rejection("\"\xff\""), Contains("invalid UTF-8"));
  CHECK_THAT(rejection("\"\xc0\xaf\""), Contains("invalid UTF-8"));  // overlong '/'
  CHECK_THAT(rejection("\"\\x41\""), Contains("unknown escape"));
  CHECK_THAT(rejection("\"\\u12\""), Contains("4 hex digits"));
  CHECK_THAT(rejection("\"\\ud800\""), Contains("low surrogate"));
  CHECK_THAT(rejection("\"\\udc00\""), Contains("lone low surrogate"));
}

TEST_CASE("an object cannot have the same key twice", "[json]") {
  CHECK_THAT(rejection("{\"a\":1,\"a\":2}"), Contains("duplicate key \"a\"") && Contains("column 8"));
}

TEST_CASE("nesting is bounded", "[json]") {
  const std::size_t limit = actorctl::max_json_depth;
  CHECK(json_to_msgpack(std::string(limit, '[') + std::string(limit, ']')));
  CHECK_THAT(rejection(std::string(limit + 1, '[') + std::string(limit + 1, ']')), Contains("nesting deeper"));
  CHECK_THAT(rejection(std::string(100000, '[')), Contains("nesting deeper"));
}

TEST_CASE("MessagePack that JSON has no literal for still prints as JSON", "[json]") {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(4);
  pk.pack(1);  // a key that is not a string
  pk.pack(std::string("one"));
  pk.pack(std::string("bin"));
  pk.pack_bin(3);
  pk.pack_bin_body("abc", 3);
  pk.pack(std::string("nan"));
  pk.pack_double(std::numeric_limits<double>::quiet_NaN());
  pk.pack(std::string("bad"));
  pk.pack_str(2);
  pk.pack_str_body("\xff\x01", 2);
  auto json = msgpack_to_json(std::string(b.data(), b.size()));
  REQUIRE(json);
  CHECK(*json == "{\"1\":\"one\",\"bin\":\"YWJj\",\"nan\":null,\"bad\":\"\xEF\xBF\xBD\\u0001\"}");
}

TEST_CASE("bytes that are not one MessagePack value are reported, not printed", "[json]") {
  CHECK_FALSE(msgpack_to_json(std::string("\x92\x01", 2)));        // an array of 2 with one element
  CHECK_FALSE(msgpack_to_json(packed(1) + std::string("\x01")));  // trailing bytes
}

// ---- the cases below pin what the nlohmann-json based converter must keep doing ----

namespace {

std::string bytes_of(const std::string& json) {
  auto bytes = json_to_msgpack(json);
  REQUIRE(bytes);
  return *bytes;
}

std::string deep_msgpack(std::size_t levels, char container = '\x91') {
  return std::string(levels, container) + '\x01';  // fixarray of 1 (or fixmap of 1 with '\x81' and a key each)
}

}  // namespace

TEST_CASE("integers take msgpack-cxx's smallest encodings, floats always a float64", "[json]") {
  const char ints[] =
      "\xdc\x00\x12\x00\x7f\xcc\x80\xcc\xff\xcd\x01\x00\xcd\xff\xff\xce\x00\x01\x00\x00\xce\xff\xff"
      "\xff\xff\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xff\xe0\xd0\xdf\xd0\x80\xd1\xff\x7f\xd1\x80\x00"
      "\xd2\xff\xff\x7f\xff\xd2\x80\x00\x00\x00\xd3\xff\xff\xff\xff\x7f\xff\xff\xff";
  CHECK(bytes_of("[0,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,"
                 "-2147483648,-2147483649]") == std::string(ints, sizeof ints - 1));
  // float64 even where a float32 would hold the value (nlohmann's to_msgpack would write one)
  CHECK(bytes_of("[2.0,-0]") == std::string("\x92\xcb\x40\x00\x00\x00\x00\x00\x00\x00\x00", 11));
  // str (str8 from 32 bytes), never bin; object members in the order given
  CHECK(bytes_of(R"("0123456789012345678901234567890123456789")") == "\xd9\x28" "0123456789012345678901234567890123456789");
  CHECK(bytes_of(R"({"b":1,"a":2})") == "\x82\xa1" "b" "\x01\xa1" "a" "\x02");
}

TEST_CASE("integers must fit 64 bits: int64 when negative, uint64 otherwise", "[json]") {
  auto h = decoded("[-9223372036854775808,18446744073709551615]");
  const auto& a = h.get().via.array;
  CHECK(a.ptr[0].type == msgpack::type::NEGATIVE_INTEGER);
  CHECK(a.ptr[0].as<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
  CHECK(a.ptr[1].type == msgpack::type::POSITIVE_INTEGER);
  CHECK(a.ptr[1].as<std::uint64_t>() == std::numeric_limits<std::uint64_t>::max());
  CHECK(round_trip("[-9223372036854775808,18446744073709551615]") == "[-9223372036854775808,18446744073709551615]");

  CHECK_THAT(rejection("[1,18446744073709551616]"), Contains("column 4") && Contains("integer out of the 64-bit range"));
  CHECK_THAT(rejection("[-9223372036854775809]"), Contains("column 2") && Contains("integer out of the 64-bit range"));
  CHECK_THAT(rejection("1" + std::string(400, '0')), Contains("integer out of the 64-bit range"));
  // a float that from_chars cannot hold is refused, not turned into inf or 0
  CHECK_THAT(rejection("{\"x\": 1e400}"), Contains("column 7") && Contains("float64 range"));
  CHECK_THAT(rejection("-1e400"), Contains("float64 range"));
  CHECK_THAT(rejection("1e-400"), Contains("float64 range"));
  CHECK_THAT(rejection("1" + std::string(400, '0') + ".5"), Contains("float64 range"));
  CHECK(round_trip("1.7976931348623157e308") == "1.7976931348623157e+308");
  CHECK(round_trip("5e-324") == "5e-324");
}

TEST_CASE("bin prints as a base64 string, ext as its type and base64 data", "[json]") {
  const auto bin = [](std::string_view data) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_bin(static_cast<std::uint32_t>(data.size()));
    pk.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
    auto json = msgpack_to_json(std::string(b.data(), b.size()));
    REQUIRE(json);
    return *json;
  };
  CHECK(bin("") == R"("")");
  CHECK(bin("a") == R"("YQ==")");
  CHECK(bin("ab") == R"("YWI=")");
  CHECK(bin("abc") == R"("YWJj")");
  CHECK(bin(std::string("\x00\xff\xfe", 3)) == R"("AP/+")");

  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_ext(2, -3);
  pk.pack_ext_body("hi", 2);
  auto json = msgpack_to_json(std::string(b.data(), b.size()));
  REQUIRE(json);
  CHECK(*json == R"({"ext_type":-3,"data":"aGk="})");
}

TEST_CASE("unicode: escapes, surrogate pairs and 4-byte UTF-8 are read, lone surrogates are not", "[json]") {
  CHECK(bytes_of(R"("\u00e9")") == "\xa2\xc3\xa9");
  CHECK(bytes_of(R"("\ud83d\ude00")") == "\xa4\xf0\x9f\x98\x80");
  CHECK(bytes_of(R"("\uD83D\uDE00")") == "\xa4\xf0\x9f\x98\x80");
  CHECK(round_trip("\"\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"") == "\"\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");  // U+1F600, U+10FFFF
  CHECK(round_trip(R"("\u0000\u001f\u007f\"\\\/")") == R"("\u0000\u001f\u007f\"\\/")");

  CHECK_THAT(rejection(R"("\ud800")"), Contains("column 8") && Contains("high surrogate must be followed"));
  CHECK_THAT(rejection(R"("\ud800x")"), Contains("column 8") && Contains("high surrogate must be followed"));
  CHECK_THAT(rejection(R"("\ud800\u0041")"), Contains("column 14") && Contains("high surrogate must be followed"));
  CHECK_THAT(rejection(R"(["\ude00"])"), Contains("column 9") && Contains("lone low surrogate"));
  CHECK_THAT(rejection(R"("\u12")"), Contains("column 4") && Contains("4 hex digits"));
  CHECK_THAT(rejection(R"("\u12x4")"), Contains("column 6") && Contains("4 hex digits"));
}

TEST_CASE("invalid UTF-8 in the input is refused where its sequence begins", "[json]") {
  CHECK_THAT(rejection("[\"ok\",\n \"ab\xe2\x82\"]"), Contains("line 2, column 5") && Contains("invalid UTF-8"));  // cut short
  CHECK_THAT(rejection("\"\xed\xa0\x80\""), Contains("column 2") && Contains("invalid UTF-8"));          // a surrogate
  CHECK_THAT(rejection("\"\xf4\x90\x80\x80\""), Contains("column 2") && Contains("invalid UTF-8"));      // past U+10FFFF
  CHECK_THAT(rejection("\"\xc3\xa9\x80\""), Contains("column 4") && Contains("invalid UTF-8"));          // a stray continuation
  CHECK_THAT(rejection("[\xc3\xa9]"), Contains("column 2") && Contains("got byte \\xC3"));                // outside a string
}

TEST_CASE("invalid UTF-8 in a MessagePack string prints as U+FFFD, DEL and control characters escaped", "[json]") {
  CHECK(actorctl::json_quote("a\xff" "b") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(actorctl::json_quote("\xe2\x82" "c") == "\"\xEF\xBF\xBD" "c\"");  // one U+FFFD for the broken sequence
  CHECK(actorctl::json_quote("\x7f\x01\n") == R"("\u007f\u0001\n")");
  CHECK(actorctl::json_quote("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");
}

TEST_CASE("nesting: max_json_depth levels of arrays or objects, not one more", "[json]") {
  const std::size_t limit = actorctl::max_json_depth;
  const auto arrays = [](std::size_t n, const std::string& inside) { return std::string(n, '[') + inside + std::string(n, ']'); };
  const auto objects = [](std::size_t n, const std::string& inside) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += "{\"k\":";
    return s + inside + std::string(n, '}');
  };
  CHECK(round_trip(arrays(limit, "1")) == arrays(limit, "1"));  // a scalar is no level of its own
  CHECK(round_trip(objects(limit, "1")) == objects(limit, "1"));
  CHECK(round_trip(objects(limit - 1, "[]")) == objects(limit - 1, "[]"));
  CHECK_THAT(rejection(arrays(limit + 1, "")), Contains("column 31") && Contains("nesting deeper than 30 levels"));
  CHECK_THAT(rejection(objects(limit + 1, "1")), Contains("column 151") && Contains("nesting deeper than 30 levels"));
  CHECK_THAT(rejection(objects(limit, "[]")), Contains("nesting deeper"));
  CHECK_THAT(rejection(objects(200000, "1")), Contains("nesting deeper"));
}

TEST_CASE("deep MessagePack is refused by msgpack_to_json, not recursed into", "[json]") {
  const std::size_t limit = actorctl::max_json_depth;
  auto ok = msgpack_to_json(deep_msgpack(limit));
  REQUIRE(ok);
  CHECK(*ok == std::string(limit, '[') + "1" + std::string(limit, ']'));
  for (std::size_t levels : {limit + 1, std::size_t{100000}, std::size_t{1000000}}) {
    CAPTURE(levels);
    auto deep = msgpack_to_json(deep_msgpack(levels));
    REQUIRE_FALSE(deep);
    CHECK(deep.error().code == actor::errc::bad_message);
    CHECK_THAT(deep.error().text, Contains("nested deeper than 30 levels"));
  }
  std::string maps;  // {1: {1: ... 1}} as map keys' values; the keys count as nested too
  for (std::size_t i = 0; i < 100000; ++i) maps += "\x81\x01";
  maps += '\x01';
  CHECK_FALSE(msgpack_to_json(maps));
  std::string keys(100000, '\x81');  // maps as keys: {{{...: 1}: 1}: 1}
  keys += std::string(100000 + 1, '\x01');
  CHECK_FALSE(msgpack_to_json(keys));

  // to_json itself, on an object built without a depth limit, throws rather than overflow the stack
  const auto bytes = deep_msgpack(limit + 1);
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  CHECK_THROWS_AS(actorctl::to_json(h.get()), std::length_error);
}

TEST_CASE("what nlohmann alone would accept is still refused", "[json]") {
  CHECK_THAT(rejection(std::string("{}\0x", 4)), Contains("column 3") && Contains("unexpected byte \\x00 after the JSON value"));
  CHECK_THAT(rejection(std::string("[1,\0]", 5)), Contains("column 4") && Contains("got byte \\x00"));
  CHECK_THAT(rejection(std::string("\"a\0\"", 4)), Contains("column 3") && Contains("control character"));
  CHECK_THAT(rejection("\xef\xbb\xbf{}"), Contains("column 1") && Contains("byte \\xEF"));  // a byte order mark
  CHECK_THAT(rejection("[1] // comment"), Contains("unexpected '/' after the JSON value"));
  CHECK_THAT(rejection("[1,/* c */2]"), Contains("column 4"));
}

TEST_CASE("errors name the token where the parse went wrong", "[json]") {
  CHECK_THAT(rejection("[01]"), Contains("column 3") && Contains("leading zeros"));
  CHECK_THAT(rejection("[1 \"x\"]"), Contains("column 4") && Contains("expected ',' or ']' in an array, got '\"'"));
  CHECK_THAT(rejection("{\"a\":1 \"b\":2}"), Contains("column 8") && Contains("expected ',' or '}' in an object"));
  CHECK_THAT(rejection("{\"a\":1,\"b\":]"), Contains("column 12") && Contains("expected a value (object"));
  CHECK_THAT(rejection("{-1:2}"), Contains("column 2") && Contains("expected a string key or '}'"));
  CHECK_THAT(rejection("[true false]"), Contains("column 7") && Contains("got 'f'"));
  CHECK_THAT(rejection("[1,\n  nul]"), Contains("line 2, column 3") && Contains("expected a value, got 'n'"));
  CHECK_THAT(rejection("\"a\\"), Contains("unterminated string"));
  CHECK_THAT(rejection("[\"a\",\n\"b\"\n,\n]"), Contains("line 4, column 1") && Contains("no trailing commas"));
}

TEST_CASE("a broken string whose text reads like a parser's words is a clear error, not a crash (found by the fuzzer)",
          "[json][hostile]") {
  // fuzz/fuzz_json's crash: nlohmann's message quotes the input ("last read: ..."), which here holds
  // "parsing object key - " outside any object; the explanation took that for the parser's words
  // and looked at the innermost open object, of which there was none
  const std::string input = "\"1u0dRRRRparsing object key - Re - invalid literal; las";
  auto bytes = json_to_msgpack(input);
  REQUIRE_FALSE(bytes);
  CHECK(bytes.error().code == actor::errc::bad_message);
  CHECK_THAT(bytes.error().text, Contains("malformed JSON at line 1"));
}

TEST_CASE("a string with a bad escape followed by more text is a clear error (found by the fuzzer)", "[json][hostile]") {
  const std::string input = "\"\\e00\"l_ms41dde\\d00\"";
  auto bytes = json_to_msgpack(input);
  REQUIRE_FALSE(bytes);
  CHECK(bytes.error().code == actor::errc::bad_message);
  CHECK_THAT(bytes.error().text, Contains("malformed JSON at line 1"));
}

TEST_CASE("maps keyed by maps keyed by maps cannot blow a few bytes up into gigabytes of JSON (found by the fuzzer)",
          "[json][hostile]") {
  // {{{...{nil: nil}...: nil}: nil}: nil}: each key that is a map prints as a quoted string, which
  // doubles the backslashes of the keys inside it
  auto nested_keys = [](int levels) {
    return std::string(static_cast<std::size_t>(levels), '\x81') + std::string(static_cast<std::size_t>(levels) + 1, '\xc0');
  };
  auto shallow = actorctl::msgpack_to_json(nested_keys(3));
  REQUIRE(shallow);
  CHECK(*shallow == R"({"{\"{\\\"null\\\":null}\":null}":null})");
  auto deep = actorctl::msgpack_to_json(nested_keys(28));  // 57 bytes; 2^28-fold before the bound
  REQUIRE_FALSE(deep);
  CHECK(deep.error().code == actor::errc::bad_message);
  CHECK_THAT(deep.error().text, Contains("not shown as JSON"));
}
