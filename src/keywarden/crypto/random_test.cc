#include "keywarden/crypto/random.h"

#include <cstdint>
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
