#include "keywarden/crypto/hkdf.h"

#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/hmac.h"
#include "keywarden/crypto/random.h"

namespace keywarden::crypto {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) {
  const std::string bytes =
      absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::string HexOf(std::span<const uint8_t> bytes) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::vector<uint8_t> Range(int from, int to) {
  std::vector<uint8_t> v(to - from);
  std::iota(v.begin(), v.end(), static_cast<uint8_t>(from));
  return v;
}

struct Rfc5869Case {
  const char* name;
  std::vector<uint8_t> ikm;
  std::vector<uint8_t> salt;
  std::vector<uint8_t> info;
  size_t length;
  const char* prk;
  const char* okm;
};

// RFC 5869 Appendix A.1-A.3: the SHA-256 test cases.
std::vector<Rfc5869Case> Rfc5869Cases() {
  return {
      {"A.1 basic", std::vector<uint8_t>(22, 0x0b),
       Hex("000102030405060708090a0b0c"), Hex("f0f1f2f3f4f5f6f7f8f9"), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf3400"
       "7208d5b887185865"},
      {"A.2 longer inputs", Range(0x00, 0x50), Range(0x60, 0xb0),
       Range(0xb0, 0x100), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c5904"
       "5a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c581"
       "79ec3e87c14c01d5c1f3434f1d87"},
      {"A.3 zero-length salt and info", std::vector<uint8_t>(22, 0x0b), {}, {},
       42, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d20"
       "1395faa4b61a96c8"},
  };
}

TEST(HkdfTest, Rfc5869VectorsExtractAndExpand) {
  for (const Rfc5869Case& c : Rfc5869Cases()) {
    SecretBytes prk = HkdfSha256Extract(c.salt, c.ikm);
    EXPECT_EQ(HexOf(prk.span()), c.prk) << c.name;
    auto okm = HkdfSha256(c.salt, c.ikm, c.info, c.length);
    ASSERT_TRUE(okm.ok()) << c.name << ": " << okm.status();
    EXPECT_EQ(HexOf(okm->span()), c.okm) << c.name;
    auto expanded = HkdfSha256Expand(prk.span(), c.info, c.length);
    ASSERT_TRUE(expanded.ok()) << c.name;
    EXPECT_EQ(HexOf(expanded->span()), c.okm) << c.name;
  }
}

TEST(HkdfTest, ExpanderMatchesTheFirstBlockOfTheVectors) {
  for (const Rfc5869Case& c : Rfc5869Cases()) {
    auto expander = HkdfSha256Expander::Create(Hex(c.prk));
    ASSERT_TRUE(expander.ok()) << c.name;
    for (size_t len : {1u, 16u, 32u}) {
      std::vector<uint8_t> out(len);
      // The info split at every point gives the same output.
      for (size_t cut = 0; cut <= c.info.size(); ++cut) {
        std::span<const uint8_t> info(c.info);
        ASSERT_TRUE(
            expander->Expand(info.first(cut), info.subspan(cut), out).ok());
        EXPECT_EQ(HexOf(out), std::string(c.okm).substr(0, 2 * len))
            << c.name << " L=" << len << " cut=" << cut;
      }
    }
  }
}

TEST(HkdfTest, ExpanderAgreesWithEvpKdfAndHmacOnRandomInputs) {
  for (int i = 0; i < 50; ++i) {
    SecretBytes prk = RandomSecret(32 + i % 40);  // also PRKs longer than B
    SecretBytes info = RandomSecret(i * 3);
    auto expander = HkdfSha256Expander::Create(prk.span());
    ASSERT_TRUE(expander.ok());
    std::vector<uint8_t> out(32);
    ASSERT_TRUE(expander->Expand(info.span(), {}, out).ok());
    auto reference = HkdfSha256Expand(prk.span(), info.span(), 32);
    ASSERT_TRUE(reference.ok());
    EXPECT_EQ(HexOf(out), HexOf(reference->span()));
    std::vector<uint8_t> msg(info.span().begin(), info.span().end());
    msg.push_back(0x01);
    EXPECT_EQ(HexOf(out), HexOf(HmacSha256(prk.span(), msg)));
  }
}

TEST(HkdfTest, RejectsBadLengthsAndShortPrks) {
  std::vector<uint8_t> ikm(32, 1);
  EXPECT_FALSE(HkdfSha256({}, ikm, {}, 0).ok());
  EXPECT_FALSE(HkdfSha256({}, ikm, {}, 255 * 32 + 1).ok());
  EXPECT_TRUE(HkdfSha256({}, ikm, {}, 255 * 32).ok());
  EXPECT_FALSE(HkdfSha256Expand(std::vector<uint8_t>(31, 1), {}, 16).ok());
  EXPECT_FALSE(HkdfSha256Expander::Create(std::vector<uint8_t>(31, 1)).ok());
  auto expander = HkdfSha256Expander::Create(ikm);
  ASSERT_TRUE(expander.ok());
  std::vector<uint8_t> none;
  std::vector<uint8_t> too_long(33);
  EXPECT_FALSE(expander->Expand({}, {}, none).ok());
  EXPECT_FALSE(expander->Expand({}, {}, too_long).ok());
}

TEST(HkdfTest, DistinctInfoGivesDistinctKeys) {
  auto expander = HkdfSha256Expander::Create(std::vector<uint8_t>(32, 7));
  ASSERT_TRUE(expander.ok());
  std::vector<uint8_t> a(32), b(32);
  std::vector<uint8_t> x = {1}, y = {2};
  ASSERT_TRUE(expander->Expand(x, {}, a).ok());
  ASSERT_TRUE(expander->Expand(y, {}, b).ok());
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace keywarden::crypto
