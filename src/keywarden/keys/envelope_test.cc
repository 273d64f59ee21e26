#include "keywarden/keys/envelope.h"

#include <numeric>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/base64.h"

namespace keywarden::keys {
namespace {

constexpr std::string_view kInstance = "11111111-2222-4333-8444-555555555555";
constexpr std::string_view kKey = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

std::vector<uint8_t> Iota(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

crypto::AesGcm Kek() { return *crypto::AesGcm::Create(Iota(32)); }

std::string B64(const std::vector<uint8_t>& v) {
  return crypto::Base64Encode(v);
}

struct Golden {
  std::string_view version;
  std::vector<uint8_t> dek;
  std::vector<std::string> aad;
  std::string_view wdek_base64;
};

// Produced independently by tests/kat/wdek_vectors.js (Node's crypto) from
// the layout in docs/formats/wdek.md. If one of these changes, every WDEK a
// client holds stops unwrapping: do not "fix" the constants.
std::vector<Golden> GoldenVectors() {
  return {
      {kKey, std::vector<uint8_t>(32, 0x42), {},
       "Aaqqqqq7u0zMjd3u7u7u7u4AAQIDBAUGBwgJCgsFQJRZh6eAWc8D1cnzqzovwZTFdrI5HT"
       "56JafHXytC8Ni6ukDeOUitu7Ab8XGJMow="},
      {"0f0e0d0c-0b0a-4908-8706-050403020100",
       {'a', 'b', 'c', 'd', 'e', 'f', 'g'}, {"ctx-1", "ctx-2"},
       "AQ8ODQwLCkkIhwYFBAMCAQAAAQIDBAUGBwgJCgsmYLV/oIOl1fu7l69hT0usaFlrYODDOw=="},
      {kKey, std::vector<uint8_t>(16, 0x00), {"ab", "c"},
       "Aaqqqqq7u0zMjd3u7u7u7u4AAQIDBAUGBwgJCgtHAtYbxeXCG41Bl4ux6XhtgEmkrJW4Jv"
       "RLi+9jTGuZ8Q=="},
  };
}

TEST(WdekTest, GoldenVectorsAreStable) {
  for (const Golden& g : GoldenVectors()) {
    auto wdek = WrapDekWithNonceForTesting(Kek(), kInstance, kKey, g.version,
                                           Iota(12), g.dek, g.aad);
    ASSERT_TRUE(wdek.ok()) << wdek.status();
    EXPECT_EQ(B64(*wdek), g.wdek_base64);
  }
}

TEST(WdekTest, GoldenVectorsUnwrap) {
  for (const Golden& g : GoldenVectors()) {
    auto raw = crypto::Base64Decode(g.wdek_base64);
    ASSERT_TRUE(raw.ok());
    auto parsed = ParseWdek(raw->span());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->version_id, g.version);
    auto dek = UnwrapDek(Kek(), kInstance, kKey, *parsed, g.aad);
    ASSERT_TRUE(dek.ok()) << dek.status();
    EXPECT_EQ(std::vector<uint8_t>(dek->data(), dek->data() + dek->size()),
              g.dek);
  }
}

TEST(WdekTest, WrapUsesFreshNonces) {
  std::vector<uint8_t> dek(32, 7);
  auto a = WrapDek(Kek(), kInstance, kKey, kKey, dek, {});
  auto b = WrapDek(Kek(), kInstance, kKey, kKey, dek, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

class WdekNegativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = WrapDek(Kek(), kInstance, kKey, kKey, std::vector<uint8_t>(32, 9),
                     aad_);
    ASSERT_TRUE(w.ok());
    wdek_ = *w;
  }
  bool Opens(const std::vector<uint8_t>& bytes,
             const std::vector<std::string>& aad,
             std::string_view instance = kInstance,
             std::string_view key = kKey) {
    auto parsed = ParseWdek(bytes);
    if (!parsed.ok()) return false;
    return UnwrapDek(Kek(), instance, key, *parsed, aad).ok();
  }
  std::vector<std::string> aad_ = {"tenant-a", "bucket-1"};
  std::vector<uint8_t> wdek_;
};

TEST_F(WdekNegativeTest, IntactWdekOpens) { EXPECT_TRUE(Opens(wdek_, aad_)); }

TEST_F(WdekNegativeTest, EveryFlippedByteFails) {
  for (size_t i = 0; i < wdek_.size(); ++i) {
    std::vector<uint8_t> bad = wdek_;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Opens(bad, aad_)) << "byte " << i;
  }
}

TEST_F(WdekNegativeTest, EveryTruncationFails) {
  for (size_t n = 0; n < wdek_.size(); ++n) {
    std::vector<uint8_t> bad(wdek_.begin(), wdek_.begin() + n);
    EXPECT_FALSE(Opens(bad, aad_)) << "length " << n;
  }
}

TEST_F(WdekNegativeTest, AadMustMatchExactlyAndInOrder) {
  EXPECT_FALSE(Opens(wdek_, {}));
  EXPECT_FALSE(Opens(wdek_, {"bucket-1", "tenant-a"}));
  EXPECT_FALSE(Opens(wdek_, {"tenant-a"}));
  EXPECT_FALSE(Opens(wdek_, {"tenant-abucket-1"}));
  EXPECT_FALSE(Opens(wdek_, {"tenant-a", "bucket-1", ""}));
}

TEST_F(WdekNegativeTest, OtherInstanceOrKeyFails) {
  EXPECT_FALSE(Opens(wdek_, aad_, "11111111-2222-4333-8444-555555555556"));
  EXPECT_FALSE(Opens(wdek_, aad_, kInstance,
                     "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeef"));
}

TEST_F(WdekNegativeTest, UnknownFormatByteIsRejected) {
  std::vector<uint8_t> bad = wdek_;
  bad[0] = 0x02;
  EXPECT_FALSE(ParseWdek(bad).ok());
}

TEST(WdekAadTest, ItemBoundariesAreUnambiguous) {
  std::vector<std::string> a = {"ab", "c"};
  std::vector<std::string> b = {"a", "bc"};
  EXPECT_NE(WdekAad(kInstance, kKey, kKey, a), WdekAad(kInstance, kKey, kKey, b));
}

TEST(MaterialAadTest, BindsEveryId) {
  auto base = MaterialAad("i", "k", "v");
  EXPECT_NE(base, MaterialAad("i2", "k", "v"));
  EXPECT_NE(base, MaterialAad("i", "k2", "v"));
  EXPECT_NE(base, MaterialAad("i", "k", "v2"));
  EXPECT_NE(MaterialAad("ik", "", "v"), MaterialAad("i", "k", "v"));
}

}  // namespace
}  // namespace keywarden::keys
