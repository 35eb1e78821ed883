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
