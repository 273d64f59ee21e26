#include "keywarden/iam/jwt_json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include "gtest/gtest.h"
#include "keywarden/crypto/random.h"

namespace keywarden::iam::jwt_json {
namespace {

TEST(JwtJsonParseTest, ReadsFlatObjectOfStringsIntegersAndBooleans) {
  auto object = Parse(
      " {\"a\" : \"x\",\n\"b\":-12,\t\"c\":true,\"d\":false,\"e\":0}\r\n");
  ASSERT_TRUE(object.ok()) << object.status();
  ASSERT_EQ(object->members().size(), 5u);
  EXPECT_EQ(std::get<std::string>(*object->Find("a")), "x");
  EXPECT_EQ(std::get<int64_t>(*object->Find("b")), -12);
  EXPECT_EQ(std::get<bool>(*object->Find("c")), true);
  EXPECT_EQ(std::get<bool>(*object->Find("d")), false);
  EXPECT_EQ(std::get<int64_t>(*object->Find("e")), 0);
  EXPECT_EQ(object->Find("f"), nullptr);
}

TEST(JwtJsonParseTest, EmptyObjectIsAnObject) {
  auto object = Parse("{}");
  ASSERT_TRUE(object.ok());
  EXPECT_TRUE(object->members().empty());
}

TEST(JwtJsonParseTest, DecodesEscapesAndSurrogatePairs) {
  auto object = Parse(
      R"({"s":"q\"b\\s\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00"})");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(std::get<std::string>(*object->Find("s")),
            "q\"b\\s/\b\f\n\r\tA\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JwtJsonParseTest, AcceptsInt64Extremes) {
  auto object =
      Parse(R"({"max":9223372036854775807,"min":-9223372036854775808})");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(std::get<int64_t>(*object->Find("max")),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(std::get<int64_t>(*object->Find("min")),
            std::numeric_limits<int64_t>::min());
}

TEST(JwtJsonParseTest, RejectsHugeAndNonIntegerNumbers) {
  for (const char* text : {
           R"({"n":9223372036854775808})",
           R"({"n":-9223372036854775809})",
           R"({"n":99999999999999999999999999999999999999})",
           R"({"n":1.5})",
           R"({"n":1e3})",
           R"({"n":1E3})",
           R"({"n":01})",
           R"({"n":-})",
           R"({"n":+1})",
           R"({"n":NaN})",
           R"({"n":Infinity})",
       }) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
}

TEST(JwtJsonParseTest, RejectsNonObjectsAndUnsupportedValues) {
  for (const char* text : {
           "", " ", "[]", "\"s\"", "1", "true", "null",
           R"({"a":null})", R"({"a":{}})", R"({"a":[]})", R"({"a":[1]})",
           R"({"a":{"b":1}})", R"({"a":tru})", R"({"a":True})",
       }) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
}

TEST(JwtJsonParseTest, RejectsDuplicateNames) {
  EXPECT_FALSE(Parse(R"({"alg":"ES256","alg":"none"})").ok());
  // Same name after unescaping.
  EXPECT_FALSE(Parse(R"({"alg":"ES256","\u0061lg":"none"})").ok());
}

TEST(JwtJsonParseTest, RejectsTrailingDataAndBrokenSyntax) {
  for (const char* text : {
           R"({"a":1}x)", R"({"a":1}{})", R"({"a":1},)", R"({"a":1)",
           R"({"a":1,})", R"({,"a":1})", R"({"a" 1})", R"({a:1})",
           R"({'a':1})", R"({"a":1;"b":2})", R"({"a")", R"({"a":)",
           R"({"a":"x)", "{\"a\":1}\v",
       }) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
}

TEST(JwtJsonParseTest, RejectsBadStrings) {
  for (std::string_view text : {
           std::string_view("{\"a\":\"x\ny\"}"),     // raw control character
           std::string_view("{\"a\":\"x\0y\"}", 10),  // NUL
           std::string_view(R"({"a":"\x"})"),         // unknown escape
           std::string_view(R"({"a":"\u12"})"),       // short \u
           std::string_view(R"({"a":"\u12g4"})"),     // bad hex
           std::string_view(R"({"a":"\ud800"})"),     // lone high surrogate
           std::string_view(R"({"a":"\udc00"})"),     // lone low surrogate
           std::string_view(R"({"a":"\ud800\u0041"})"),
           std::string_view("{\"a\":\"\xc3\"}"),          // truncated UTF-8
           std::string_view("{\"a\":\"\xc0\xaf\"}"),      // overlong
           std::string_view("{\"a\":\"\xed\xa0\x80\"}"),  // encoded surrogate
           std::string_view("{\"a\":\"\xf4\x90\x80\x80\"}"),  // > U+10FFFF
           std::string_view("{\"a\":\"\xff\"}"),
           std::string_view(R"({"a":"\)"),
       }) {
    EXPECT_FALSE(Parse(text).ok()) << text.size();
  }
}

TEST(JwtJsonParseTest, RejectsOversizedTextAndTooManyMembers) {
  std::string big = "{\"a\":\"" + std::string(kMaxTextSize, 'x') + "\"}";
  EXPECT_FALSE(Parse(big).ok());
  std::string many = "{";
  for (size_t i = 0; i <= kMaxMembers; ++i) {
    if (i > 0) many += ",";
    many += "\"k" + std::to_string(i) + "\":1";
  }
  many += "}";
  EXPECT_FALSE(Parse(many).ok());
}

TEST(JwtJsonParseTest, ErrorsDoNotQuoteTheInput) {
  auto object = Parse(R"({"secret-value":nul})");
  ASSERT_FALSE(object.ok());
  EXPECT_EQ(std::string(object.status().message()).find("secret"),
            std::string::npos);
}

TEST(JwtJsonSerializeTest, RoundTripsThroughParse) {
  Object object;
  object.Set("s", std::string("a\"b\\c\x01\n\xc3\xa9/"));
  object.Set("n", int64_t{-42});
  object.Set("t", true);
  object.Set("f", false);
  const std::string text = Serialize(object);
  EXPECT_EQ(text,
            "{\"s\":\"a\\\"b\\\\c\\u0001\\u000a\xc3\xa9/\",\"n\":-42,"
            "\"t\":true,\"f\":false}");
  auto parsed = Parse(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->members(), object.members());
}

// A cheap stand-in for the libFuzzer target: random mutations of a valid
// header must never crash (ASan/UBSan builds check the rest).
TEST(JwtJsonParseTest, SurvivesRandomMutations) {
  const std::string seed =
      R"({"alg":"ES256","typ":"JWT","kid":"k\u00e9-1","n":-17,"b":true})";
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text = seed;
    uint8_t r[6];
    crypto::RandomBytes(r);
    const int edits = 1 + r[0] % 4;
    for (int e = 0; e < edits; ++e) {
      crypto::RandomBytes(r);
      const size_t at = (size_t{r[1]} << 8 | r[2]) % (text.size() + 1);
      switch (r[3] % 3) {
        case 0:
          if (at < text.size()) text[at] = static_cast<char>(r[4]);
          break;
        case 1:
          text.insert(at, 1, static_cast<char>(r[4]));
          break;
        case 2:
          if (at < text.size()) text.erase(at, 1 + r[5] % 3);
          break;
      }
    }
    (void)Parse(text);
  }
}

}  // namespace
}  // namespace keywarden::iam::jwt_json
