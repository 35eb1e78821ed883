// The target grammar (NAME, NAME@ADDRESS, NODE@ADDRESS#INCARNATION/ID) as actor::parse_target
// reads it, against the table the Python client is tested with too (tests/vectors/targets.json).
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actor/bridge.hpp"

namespace {

nlohmann::json target_table() {
  std::ifstream in(ACTOR_TARGET_VECTORS_PATH);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// What a parsed target is, in the table's words: its kind and parts.
std::string described(const actor::target& t) { return t.describe(); }

}  // namespace

TEST_CASE("every case of the shared target table parses as the table says", "[targets]") {
  const auto table = target_table();
  REQUIRE(table.size() > 20);
  for (const auto& c : table) {
    const auto text = c.at("text").get<std::string>();
    const auto kind = c.at("kind").get<std::string>();
    INFO("text '" << text << "', expected " << kind);
    auto parsed = actor::parse_target(text);
    if (kind == "error") {
      REQUIRE_FALSE(parsed);
      CHECK(parsed.error().code == actor::errc::bad_message);
      CHECK_THAT(parsed.error().text, Catch::Matchers::Contains("malformed target"));
      continue;
    }
    REQUIRE(parsed);
    if (kind == "name") {
      CHECK(described(*parsed) == "'" + c.at("name").get<std::string>() + "'");
    } else if (kind == "name_at_node") {
      CHECK(described(*parsed) == c.at("name").get<std::string>() + "@" + c.at("address").get<std::string>());
    } else {
      REQUIRE(kind == "ref");
      CHECK(described(*parsed) == c.at("node").get<std::string>() + "@" + c.at("address").get<std::string>() + "#" +
                                      std::to_string(c.at("incarnation").get<std::uint64_t>()) + "/" +
                                      std::to_string(c.at("id").get<std::uint64_t>()));
    }
  }
}

TEST_CASE("text given as a target is read by the same grammar", "[targets]") {
  CHECK(actor::target("c1@tcp://127.0.0.1:7100").describe() == "c1@tcp://127.0.0.1:7100");
  CHECK(actor::target(std::string("n1@tcp://h:1#7/16")).describe() == "n1@tcp://h:1#7/16");
  CHECK(actor::target("counter").describe() == "'counter'");
  CHECK(actor::target("c1@no-scheme").describe() == "(malformed target)");
  CHECK(actor::target::named("odd@name").describe() == "'odd@name'");
}
