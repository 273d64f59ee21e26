#include "keywarden/store/sql/tags_codec.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keywarden::store::sql_internal {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(TagsCodecTest, EncodesAsJsonArray) {
  EXPECT_EQ(EncodeTags({}), "[]");
  EXPECT_EQ(EncodeTags({"a", "b c"}), R"(["a","b c"])");
  EXPECT_EQ(EncodeTags({"q\"b\\", std::string("\x01\n", 2)}),
            R"(["q\"b\\","\u0001\u000a"])");
  EXPECT_EQ(EncodeTags({""}), R"([""])");
}

TEST(TagsCodecTest, RoundTripsAnyBytes) {
  std::vector<std::vector<std::string>> cases = {
      {},
      {""},
      {"plain", "with space", "日本語", "emoji \xF0\x9F\x94\x91"},
      {"\"", "\\", "\\\"", "/", ",<>:&|", "[", "]"},
      {std::string("nul\0inside", 10), "\x7f", "\xff\xfe"},
  };
  std::string all_controls;
  for (int c = 1; c < 0x20; ++c) all_controls.push_back(static_cast<char>(c));
  cases.push_back({all_controls});
  for (const auto& tags : cases) {
    absl::StatusOr<std::vector<std::string>> decoded =
        DecodeTags(EncodeTags(tags));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, tags);
  }
}

TEST(TagsCodecTest, DecodesOtherJsonSpellings) {
  auto d = DecodeTags(R"( [ "a" , "\u00e9\/\t" , "\ud83d\udd11" ] )");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(*d, ElementsAre("a", "\xC3\xA9/\t", "\xF0\x9F\x94\x91"));
  d = DecodeTags("[]");
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(*d, IsEmpty());
}

TEST(TagsCodecTest, RejectsMalformedInput) {
  for (const char* bad :
       {"", "[", "]", "[\"a\"", "[\"a\",]", "[,]", "[\"a\" \"b\"]", "[1]",
        "[null]", "\"a\"", "[\"a\"] x", "[\"\\x\"]", "[\"\\u12\"]",
        "[\"\\ud83d\"]", "[\"\\udd11\"]", "[\"unterminated]",
        "[\"raw\nnewline\"]", "{}", "[\"a\"]]"}) {
    EXPECT_EQ(DecodeTags(bad).status().code(), absl::StatusCode::kDataLoss)
        << bad;
  }
}

TEST(TagsCodecTest, TruncationsOfAValidEncodingAreRejected) {
  std::string good = EncodeTags({"alpha", "be\"ta", "\x05"});
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeTags(good.substr(0, n)).ok()) << n;
  }
}

}  // namespace
}  // namespace keywarden::store::sql_internal
