// The batch answers written as text read back as the documents the API describes, byte for byte
// where the text is ASCII, and as valid JSON whatever bytes a message holds.
#include "node/api_json.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"

namespace ballast::node {
namespace {

using Json = nlohmann::json;

Status overloaded() {
  return Status(StatusCode::kResourceExhausted, "node overloaded: try again")
      .with_reason("overloaded");
}

TEST(ApiJsonTest, RejectionTextIsTheDocumentsText) {
  const Hash256 id = sha256(Bytes{1, 2, 3});
  const Status breaker = Status(StatusCode::kResourceExhausted, "fee 1 is below the floor 8")
                             .with_reason("ingress_breaker");
  const Status quoted = invalid_argument("bad \"field\" \\ in\ttab\nline \x01 \x1f end");
  for (const Status& status : {breaker, quoted, overloaded()}) {
    for (const std::optional<Hash256>& hash : {std::optional(id), std::optional<Hash256>()}) {
      for (std::optional<std::uint64_t> floor :
           {std::optional<std::uint64_t>(64), std::optional<std::uint64_t>()}) {
        EXPECT_EQ(rejection_text(status, hash, floor), rejection_json(status, hash, floor).dump())
            << status.to_string();
      }
    }
  }
}

TEST(ApiJsonTest, RejectionTextOfAnyBytesIsValidJson) {
  const std::string utf8 = "caf\xc3\xa9 \xe2\x82\xac";
  const std::string invalid = "bad \xff\xfe bytes \xc3";
  const Status readable = invalid_argument("market " + utf8 + " unknown");
  EXPECT_EQ(Json::parse(rejection_text(readable, std::nullopt))["message"],
            "market " + utf8 + " unknown");
  Json parsed = Json::parse(rejection_text(invalid_argument(invalid), std::nullopt));
  EXPECT_EQ(parsed["status"], "rejected");
  EXPECT_EQ(parsed["code"], "invalid_argument");
  EXPECT_TRUE(parsed["message"].get<std::string>().starts_with("bad ")) << parsed.dump();
}

TEST(ApiJsonTest, AcceptedAndResultsTextReadBackInOrder) {
  const Hash256 first = sha256(Bytes{1});
  const Hash256 second = sha256(Bytes{2});
  std::string text = results_text({accepted_text(first), rejection_text(overloaded(), second)});
  Json parsed = Json::parse(text);
  ASSERT_EQ(parsed["results"].size(), 2u);
  EXPECT_EQ(parsed["results"][0], (Json{{"status", "accepted"}, {"hash", first.hex()}}));
  EXPECT_EQ(parsed["results"][1]["reason"], "overloaded");
  EXPECT_EQ(parsed["results"][1]["hash"], second.hex());
  EXPECT_EQ(Json::parse(results_text({})), (Json{{"results", Json::array()}}));
}

}  // namespace
}  // namespace ballast::node
