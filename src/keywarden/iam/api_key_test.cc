#include "keywarden/iam/api_key.h"

#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::iam {
namespace {

using ::testing::MatchesRegex;

SecretHash HashOf(std::string_view text) {
  return crypto::Sha256(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

TEST(GenerateApiKeyTest, HasTheDocumentedShape) {
  const GeneratedApiKey key = GenerateApiKey();
  EXPECT_EQ(key.text.size(), kApiKeySize);
  EXPECT_THAT(key.text, MatchesRegex("kwk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}"));
  EXPECT_THAT(key.prefix, MatchesRegex("kwk_[0-9a-f]{8}"));
  EXPECT_EQ(key.text.substr(0, kApiKeyPrefixSize), key.prefix);
  // 43 symbols of base64url carry the 32 secret bytes.
  auto secret = crypto::Base64UrlDecode(key.text.substr(kApiKeyPrefixSize + 1));
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->size(), 32u);
}

TEST(GenerateApiKeyTest, HashIsSha256OfTheWholeText) {
  const GeneratedApiKey key = GenerateApiKey();
  EXPECT_EQ(key.hash, HashOf(key.text));
}

TEST(GenerateApiKeyTest, KeysAndPrefixesDiffer) {
  std::set<std::string> texts;
  std::set<std::string> prefixes;
  for (int i = 0; i < 1000; ++i) {
    const GeneratedApiKey key = GenerateApiKey();
    texts.insert(key.text);
    prefixes.insert(key.prefix);
  }
  EXPECT_EQ(texts.size(), 1000u);
  // 32 bits of public id: a collision in 1000 is ~1e-4 likely; allow one.
  EXPECT_GE(prefixes.size(), 999u);
}

TEST(ParseApiKeyTest, ParsesGeneratedKeys) {
  for (int i = 0; i < 100; ++i) {
    const GeneratedApiKey key = GenerateApiKey();
    auto parsed = ParseApiKey(key.text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->prefix, key.prefix);
    EXPECT_EQ(parsed->hash, key.hash);
  }
}

TEST(ParseApiKeyTest, RejectsEveryOtherShape) {
  const std::string good = GenerateApiKey().text;
  const std::string secret = good.substr(kApiKeyPrefixSize + 1);
  for (const std::string& bad : {
           std::string(""),
           std::string("kwk_"),
           good.substr(0, good.size() - 1),
           good + "A",
           " " + good,
           good + "\n",
           "KWK_" + good.substr(4),
           "kwx_" + good.substr(4),
           "kwk_ABCDEF01_" + secret,   // upper-case hex
           "kwk_abcdef0g_" + secret,   // not hex
           "kwk_abcdef01-" + secret,   // wrong separator
           "kwk_abcdef01_" + secret.substr(0, 42) + "=",
           "kwk_abcdef01_" + secret.substr(0, 42) + "+",
           "kwk_abcdef01_" + secret.substr(0, 42) + "/",
           "kwk_abcdef01_" + std::string(42, 'A') + "B",  // non-canonical
           "kwk_abcdef0_1" + secret,
           std::string("Bearer ") + good,
       }) {
    auto parsed = ParseApiKey(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseApiKeyTest, ErrorDoesNotQuoteTheKey) {
  const std::string good = GenerateApiKey().text;
  auto parsed = ParseApiKey(good + "x");
  ASSERT_FALSE(parsed.ok());
  const std::string message(parsed.status().message());
  EXPECT_EQ(message.find(good.substr(kApiKeyPrefixSize + 1, 10)),
            std::string::npos);
  EXPECT_EQ(message.find(good.substr(4, 8)), std::string::npos);
}

TEST(ParseApiKeyTest, AcceptsAFixedKnownKey) {
  const std::string text =
      "kwk_0123abcd_" + crypto::Base64UrlEncode(std::vector<uint8_t>(32, 7));
  auto parsed = ParseApiKey(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->prefix, "kwk_0123abcd");
  EXPECT_EQ(parsed->hash, HashOf(text));
}

}  // namespace
}  // namespace keywarden::iam
