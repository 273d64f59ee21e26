#include "keywarden/crypto/base64.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/random.h"

namespace keywarden::crypto {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string AsString(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// RFC 4648 §10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
      {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status();
    EXPECT_EQ(AsString(*decoded), plain);
  }
}

TEST(Base64Test, AllByteValuesAndBothHighAlphabetSymbols) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  const std::string encoded = Base64Encode(all);
  EXPECT_NE(encoded.find('+'), std::string::npos);
  EXPECT_NE(encoded.find('/'), std::string::npos);
  auto decoded = Base64Decode(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::vector<uint8_t>(decoded->span().begin(), decoded->span().end()),
            all);
}

TEST(Base64Test, RoundTripsRandomLengths) {
  for (size_t len = 0; len <= 300; ++len) {
    std::vector<uint8_t> data(len);
    RandomBytes(data);
    const std::string encoded = Base64Encode(data);
    ASSERT_EQ(encoded.size(), (len + 2) / 3 * 4);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << len << ": " << decoded.status();
    EXPECT_EQ(std::vector<uint8_t>(decoded->span().begin(),
                                   decoded->span().end()),
              data)
        << len;
  }
}

void ExpectIllegalAt(std::string_view text, size_t offset) {
  auto decoded = Base64Decode(text);
  ASSERT_FALSE(decoded.ok()) << "accepted \"" << text << "\"";
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message(),
            "illegal base64 data at input byte " + std::to_string(offset))
      << "for \"" << text << "\"";
}

TEST(Base64DecodeTest, RejectsCharactersOutsideTheAlphabet) {
  ExpectIllegalAt("!m9v", 0);
  ExpectIllegalAt("Zm!v", 2);
  ExpectIllegalAt("Zm9v!mFy", 4);
  ExpectIllegalAt("Zm9vYmF!", 7);
  ExpectIllegalAt("Zm9vYm*=", 6);
  ExpectIllegalAt(std::string_view("Zm9v\0mFy", 8), 4);
  ExpectIllegalAt("Zm9v\x80mFy", 4);
  ExpectIllegalAt("Zm9v\xffmFy", 4);
}

TEST(Base64DecodeTest, RejectsUrlSafeAlphabet) {
  // RFC 4648 §5 symbols are not part of the §4 alphabet.
  ExpectIllegalAt("-_-_", 0);
  ExpectIllegalAt("ab_d", 2);
  ExpectIllegalAt("Zm9v-w==", 4);
  ExpectIllegalAt("Zm9vYm-=", 6);
}

TEST(Base64DecodeTest, RejectsMissingPadding) {
  // An unpadded final quantum is reported at its first symbol, as Go does.
  ExpectIllegalAt("Z", 0);
  ExpectIllegalAt("Zg", 0);
  ExpectIllegalAt("Zm8", 0);
  ExpectIllegalAt("Zm9vY", 4);
  ExpectIllegalAt("Zm9vYg", 4);
  ExpectIllegalAt("Zm9vYmE", 4);
  // Half the padding: reported at the end of the input.
  ExpectIllegalAt("Zg=", 3);
  ExpectIllegalAt("Zm9vYg=", 7);
}

TEST(Base64DecodeTest, RejectsMisplacedPadding) {
  ExpectIllegalAt("=", 0);
  ExpectIllegalAt("====", 0);
  ExpectIllegalAt("=Zg=", 0);
  ExpectIllegalAt("Z===", 1);
  ExpectIllegalAt("Z=g=", 1);
  ExpectIllegalAt("Zg=a", 2);
  ExpectIllegalAt("Zm9v=", 4);
  ExpectIllegalAt("Zm9v====", 4);
  // Padding in the middle: the data after it is the error.
  ExpectIllegalAt("Zg==Zg==", 4);
  ExpectIllegalAt("Zm8=Zm8=", 4);
  ExpectIllegalAt("Zm8=Zm9v", 4);
  ExpectIllegalAt("Zg===", 4);
  ExpectIllegalAt("Zm8==", 4);
}

TEST(Base64DecodeTest, RejectsNonZeroTrailingBits) {
  // RFC 4648 §3.5; reported where Go's Strict() reports it (the padding).
  ExpectIllegalAt("Zh==", 2);
  ExpectIllegalAt("Zm9=", 3);
  ExpectIllegalAt("Zm9vYh==", 6);
  ExpectIllegalAt("Zm9vYmF=", 7);
  ExpectIllegalAt("//==", 2);
  ExpectIllegalAt("///=", 3);
}

TEST(Base64DecodeTest, RejectsWhitespace) {
  ExpectIllegalAt(" Zm9v", 0);
  ExpectIllegalAt("Zm9v YmFy", 4);
  ExpectIllegalAt("Zm9v\nYmFy", 4);
  ExpectIllegalAt("Zm9v\r\nYmFy", 4);
  ExpectIllegalAt("Zm\t9v", 2);
  ExpectIllegalAt("Zm9vYmFy\n", 8);
  ExpectIllegalAt("Zm9vYg==\n", 8);
  ExpectIllegalAt("Zm9vYg= =", 6);  // the lone "=", as Go reports it
}

// Every 4-symbol final quantum with one or two padding characters: decoding
// succeeds exactly when the text is the canonical encoding of its bytes.
TEST(Base64DecodeTest, AcceptsOnlyCanonicalFinalQuanta) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int accepted = 0;
  std::string text = "xxxx";
  for (int a = 0; a < 64; ++a) {
    for (int b = 0; b < 64; ++b) {
      text[0] = kAlphabet[a];
      text[1] = kAlphabet[b];
      text[2] = '=';
      text[3] = '=';
      auto one = Base64Decode(text);
      if (one.ok()) {
        ++accepted;
        EXPECT_EQ(Base64Encode(one->span()), text);
      }
      for (int c = 0; c < 64; ++c) {
        text[2] = kAlphabet[c];
        text[3] = '=';
        auto two = Base64Decode(text);
        if (two.ok()) {
          ++accepted;
          EXPECT_EQ(Base64Encode(two->span()), text);
        }
      }
    }
  }
  EXPECT_EQ(accepted, 256 + 65536);  // one encoding per 1- and 2-byte string
}

// Random short strings over an alphabet rich in edge cases: whatever decodes
// must be the canonical encoding of its bytes, and every rejection names an
// offset inside (or just past) the input.
TEST(Base64DecodeTest, RandomStringsDecodeOnlyWhenCanonical) {
  static constexpr char kSymbols[] = "AQgw/+=9- \n_";
  std::vector<uint8_t> noise(4096);
  RandomBytes(noise);
  size_t next = 0;
  for (int round = 0; round < 20000; ++round) {
    if (next + 12 > noise.size()) {
      RandomBytes(noise);
      next = 0;
    }
    const size_t len = noise[next++] % 11;
    std::string text;
    for (size_t i = 0; i < len; ++i) {
      text.push_back(kSymbols[noise[next++] % (sizeof(kSymbols) - 1)]);
    }
    auto decoded = Base64Decode(text);
    if (decoded.ok()) {
      EXPECT_EQ(Base64Encode(decoded->span()), text);
      continue;
    }
    const std::string_view msg(decoded.status().message().data(),
                               decoded.status().message().size());
    constexpr std::string_view kPrefix = "illegal base64 data at input byte ";
    ASSERT_EQ(msg.substr(0, kPrefix.size()), kPrefix) << text;
    EXPECT_LE(std::stoul(std::string(msg.substr(kPrefix.size()))), text.size())
        << text;
  }
}

TEST(Base64DecodeTest, EmptyIsEmpty) {
  auto decoded = Base64Decode("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

// RFC 4648 §10 vectors, converted to the URL alphabet without padding.
TEST(Base64UrlTest, Rfc4648VectorsWithoutPadding) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},       {"f", "Zg"},         {"fo", "Zm8"},
      {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64UrlEncode(Bytes(plain)), encoded);
    auto decoded = Base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status();
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
}

// RFC 7515 Appendix C: the bytes {3, 236, 255, 224, 193} are "A-z_4ME".
TEST(Base64UrlTest, Rfc7515AppendixC) {
  const std::vector<uint8_t> bytes = {3, 236, 255, 224, 193};
  EXPECT_EQ(Base64UrlEncode(bytes), "A-z_4ME");
  auto decoded = Base64UrlDecode("A-z_4ME");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
}

TEST(Base64UrlTest, RoundTripsAllLengthsAndUsesOnlyUrlAlphabet) {
  for (size_t len = 0; len <= 300; ++len) {
    std::vector<uint8_t> data(len);
    RandomBytes(data);
    const std::string encoded = Base64UrlEncode(data);
    ASSERT_EQ(encoded.size(), (len * 4 + 2) / 3) << len;
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    auto decoded = Base64UrlDecode(encoded);
    ASSERT_TRUE(decoded.ok()) << len << ": " << decoded.status();
    EXPECT_EQ(*decoded, data);
  }
}

TEST(Base64UrlDecodeTest, RejectsStandardAlphabetSymbols) {
  EXPECT_EQ(Base64UrlDecode("ab+d").status().message(),
            "illegal base64url data at input byte 2");
  EXPECT_EQ(Base64UrlDecode("abc/").status().message(),
            "illegal base64url data at input byte 3");
}

TEST(Base64UrlDecodeTest, RejectsPadding) {
  for (const char* text : {"Zg==", "Zm8=", "Zg=", "=", "Zm9v===="}) {
    auto decoded = Base64UrlDecode(text);
    EXPECT_FALSE(decoded.ok()) << text;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(Base64UrlDecodeTest, RejectsWhitespaceAndControlBytes) {
  for (std::string_view text :
       {std::string_view("Zm9v\n"), std::string_view(" Zm9v"),
        std::string_view("Zm 9v"), std::string_view("Zm9v\0", 5)}) {
    EXPECT_FALSE(Base64UrlDecode(text).ok());
  }
}

TEST(Base64UrlDecodeTest, RejectsImpossibleLength) {
  EXPECT_EQ(Base64UrlDecode("A").status().message(),
            "illegal base64url data at input byte 1");
  EXPECT_EQ(Base64UrlDecode("Zm9vA").status().message(),
            "illegal base64url data at input byte 5");
}

TEST(Base64UrlDecodeTest, RejectsNonZeroTrailingBits) {
  // "Zg" is canonical for "f"; "Zh".."Zv" differ only in the unused bits.
  EXPECT_TRUE(Base64UrlDecode("Zg").ok());
  EXPECT_EQ(Base64UrlDecode("Zh").status().message(),
            "illegal base64url data at input byte 1");
  EXPECT_TRUE(Base64UrlDecode("Zm8").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9").ok());
}

TEST(Base64UrlDecodeTest, EveryAcceptedStringReencodesIdentically) {
  // Canonical: whatever decodes must encode back to the same text.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ";
  for (int trial = 0; trial < 5000; ++trial) {
    uint8_t r[8];
    RandomBytes(r);
    std::string text;
    for (size_t i = 0; i < r[0] % 8; ++i) {
      text.push_back(alphabet[r[1 + i % 7] % alphabet.size()]);
      r[1 + i % 7] = static_cast<uint8_t>(r[1 + i % 7] * 31 + 7);
    }
    auto decoded = Base64UrlDecode(text);
    if (decoded.ok()) {
      EXPECT_EQ(Base64UrlEncode(*decoded), text);
    }
  }
}

TEST(Base64UrlDecodeTest, ExistingStandardDecoderStillRejectsUrlAlphabet) {
  EXPECT_FALSE(Base64Decode("A-z_4ME=").ok());
}

}  // namespace
}  // namespace keywarden::crypto
