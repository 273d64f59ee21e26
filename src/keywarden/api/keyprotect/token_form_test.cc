#include "keywarden/api/keyprotect/token_form.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {
namespace {

Reason R(const absl::Status& s) { return ReasonOf(s); }

std::string Form(std::string_view apikey) {
  return StrCat("grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey",
                "&apikey=", apikey);
}

std::string_view Text(const SecretBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A key as the API-key format writes it (iam/api_key.h).
constexpr std::string_view kKey =
    "kwk_0123abcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

TEST(TokenFormTest, DecodesTheIamApiKeyGrant) {
  auto req = DecodeTokenForm(StrCat(Form(kKey), "&response_type=cloud_iam"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(Text(req->api_key), kKey);
  // Unescaped and '+'-for-space forms decode too (WHATWG URL §5.1).
  req = DecodeTokenForm(
      "apikey=a%2Bb+c%7e&grant_type=urn:ibm:params:oauth:grant-type:apikey");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(Text(req->api_key), "a+b c~");
}

TEST(TokenFormTest, ARepeatedFieldIsRefused) {
  // Either copy alone would be a valid request; together they are refused,
  // so no reader can check one API key and use the other.
  EXPECT_EQ(R(DecodeTokenForm(Form(kKey) + "&apikey=" + std::string(kKey))
                  .status()),
            Reason::kBadRequest);
  EXPECT_EQ(R(DecodeTokenForm(Form(kKey) +
                              "&grant_type=urn%3Aibm%3Aparams%3Aoauth%3A"
                              "grant-type%3Aapikey")
                  .status()),
            Reason::kBadRequest);
  EXPECT_TRUE(DecodeTokenForm(Form(kKey)).ok());
}

// The wire text is Key Protect's and the clients' contract: byte for byte
// what the token endpoint answered before the form left the service.
TEST(TokenFormTest, ErrorsNameTheFieldInKeyProtectWording) {
  struct Case {
    std::string body;
    std::string_view message;
    std::string_view field;
  };
  const Case cases[] = {
      {"grant_type=password&apikey=x",
       "Bad Request: `grant_type` must be "
       "urn:ibm:params:oauth:grant-type:apikey",
       "grant_type"},
      {"apikey=x",
       "Bad Request: `grant_type` must be "
       "urn:ibm:params:oauth:grant-type:apikey",
       "grant_type"},
      {Form(""), "Bad Request: `apikey` is required", "apikey"},
      {Form("").substr(0, Form("").size() - 1),  // "&apikey", no '='
       "Bad Request: `apikey` is required", "apikey"},
      {"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey",
       "Bad Request: `apikey` is required", "apikey"},
      {Form(kKey) + "&apikey=y", "Bad Request: `apikey` is given more than once",
       "apikey"},
      {Form(kKey) + "&grant_type=z",
       "Bad Request: `grant_type` is given more than once", "grant_type"},
      {Form("abc%4"), "Bad Request: the form body has a malformed escape", ""},
      {Form("abc%zz"), "Bad Request: the form body has a malformed escape",
       ""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<service::TokenRequest> req = DecodeTokenForm(c.body);
    ASSERT_FALSE(req.ok()) << c.body;
    EXPECT_EQ(R(req.status()), Reason::kBadRequest) << c.body;
    EXPECT_EQ(std::string(req.status().message()), c.message) << c.body;
    EXPECT_EQ(FieldOf(req.status()).value_or(""), c.field) << c.body;
  }
}

TEST(TokenFormTest, ErrorsNeverQuoteTheApiKey) {
  for (const std::string& body :
       {Form(kKey) + "&apikey=" + std::string(kKey),
        Form(StrCat(kKey, "%g0")), StrCat("apikey=", kKey)}) {
    absl::StatusOr<service::TokenRequest> req = DecodeTokenForm(body);
    ASSERT_FALSE(req.ok());
    EXPECT_EQ(std::string(req.status().ToString()).find(kKey),
              std::string::npos);
  }
}

}  // namespace
}  // namespace keywarden::api::keyprotect
