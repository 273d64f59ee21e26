#include "keywarden/iam/authenticator.h"

#include <vector>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"

namespace keywarden::iam {
namespace {

TEST(TokenHashTest, HexRoundTrip) {
  TokenHash h = HashToken("abc");
  TokenHash back;
  ASSERT_TRUE(TokenHashFromHex(TokenHashToHex(h), &back));
  EXPECT_EQ(h, back);
  EXPECT_FALSE(TokenHashFromHex("zz", &back));
  EXPECT_FALSE(TokenHashFromHex(std::string(64, 'g'), &back));
}

TEST(AdminTokenTest, TokensAreFreshAndPrefixed) {
  std::string a = GenerateAdminToken(), b = GenerateAdminToken();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("kwadm_", 0), 0u);
  EXPECT_EQ(a.size(), 6u + 64u);
}

}  // namespace
}  // namespace keywarden::iam
