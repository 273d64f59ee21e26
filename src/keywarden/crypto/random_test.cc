#include "keywarden/crypto/random.h"

#include <array>
#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace keywarden::crypto {
namespace {

TEST(RandomBytesTest, FillsAndDiffers) {
  std::vector<uint8_t> a(64, 0), b(64, 0);
  RandomBytes(a);
  RandomBytes(b);
  EXPECT_NE(a, b);  // 2^-512 chance of a false failure.
  EXPECT_NE(a, std::vector<uint8_t>(64, 0));
}

TEST(RandomBytesTest, EmptySpanIsFine) { RandomBytes({}); }

TEST(RandomSecretTest, HasRequestedSize) {
  EXPECT_EQ(RandomSecret(0).size(), 0u);
  EXPECT_EQ(RandomSecret(32).size(), 32u);
  EXPECT_FALSE(RandomSecret(32) == RandomSecret(32));
}

}  // namespace
}  // namespace keywarden::crypto

namespace keywarden::crypto {
namespace {

TEST(RandomPublicBytesTest, ValuesDoNotRepeatAcrossPoolRefills) {
  // 12-byte draws across several 4 KiB refills: any repeat would mean the
  // pool handed out the same bytes twice.
  std::set<std::array<uint8_t, 12>> seen;
  for (int i = 0; i < 5000; ++i) {
    std::array<uint8_t, 12> nonce{};
    RandomPublicBytes(nonce);
    EXPECT_TRUE(seen.insert(nonce).second) << "repeat at draw " << i;
  }
}

TEST(RandomPublicBytesTest, LargeRequestsBypassThePool) {
  std::array<uint8_t, 100> a{}, b{};
  RandomPublicBytes(a);
  RandomPublicBytes(b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace keywarden::crypto
