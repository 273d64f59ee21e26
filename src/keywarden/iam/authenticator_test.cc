#include "keywarden/iam/authenticator.h"

#include <vector>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"

namespace keywarden::iam {
namespace {

TEST(BootstrapTokenAuthenticatorTest, AcceptsOnlyTheToken) {
  std::string token = GenerateAdminToken();
  BootstrapTokenAuthenticator auth(HashToken(token));
  auto ok = auth.Authenticate("Bearer " + token);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->is_admin);
  EXPECT_TRUE(auth.Authenticate("bearer " + token).ok());
  const std::vector<std::string> bad_headers = {
      "", "Bearer", "Bearer ", token, "Basic " + token, "Bearer " + token + "x",
      "Bearer " + GenerateAdminToken()};
  for (const std::string& bad : bad_headers) {
    auto r = auth.Authenticate(bad);
    EXPECT_EQ(ReasonOf(r.status()), Reason::kUnauthorized) << bad;
  }
}

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
