#include "keywarden/common/secret_bytes.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace keywarden {
namespace {

SecretBytes Of(std::vector<uint8_t> v) { return SecretBytes(v.data(), v.size()); }

TEST(SecretBytesTest, SizedConstructorIsZeroed) {
  SecretBytes s(8);
  ASSERT_EQ(s.size(), 8u);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s.data()[i], 0);
  EXPECT_TRUE(SecretBytes().empty());
}

TEST(SecretBytesTest, CopiesContent) {
  const std::vector<uint8_t> v = {1, 2, 3, 4};
  SecretBytes s{std::span<const uint8_t>(v)};
  EXPECT_EQ(std::vector<uint8_t>(s.span().begin(), s.span().end()), v);
  SecretBytes copy(s);
  EXPECT_TRUE(copy == s);
  SecretBytes assigned;
  assigned = s;
  EXPECT_TRUE(assigned == s);
  assigned = assigned;  // self-assignment keeps the content
  EXPECT_TRUE(assigned == s);
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = Of({9, 8, 7});
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): part of contract
  EXPECT_EQ(b.size(), 3u);
  SecretBytes c = Of({1});
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(c == Of({9, 8, 7}));
}

TEST(SecretBytesTest, TruncateShrinksAndIgnoresGrowth) {
  SecretBytes s = Of({1, 2, 3, 4, 5});
  s.Truncate(10);
  EXPECT_EQ(s.size(), 5u);
  s.Truncate(2);
  EXPECT_TRUE(s == Of({1, 2}));
  s.Truncate(0);
  EXPECT_TRUE(s.empty());
}

TEST(SecretBytesTest, EqualityComparesSizeAndContent) {
  EXPECT_TRUE(Of({1, 2, 3}) == Of({1, 2, 3}));
  EXPECT_FALSE(Of({1, 2, 3}) == Of({1, 2, 4}));
  EXPECT_FALSE(Of({1, 2, 3}) == Of({1, 2}));
  EXPECT_TRUE(SecretBytes() == SecretBytes());
}

TEST(ConstantTimeEqualsTest, Basic) {
  const std::vector<uint8_t> a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 0}, d = {};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_FALSE(ConstantTimeEquals(a, d));
  EXPECT_TRUE(ConstantTimeEquals(d, d));
}

}  // namespace
}  // namespace keywarden
