#include "keywarden/client/errors.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace keywarden::client {
namespace {

TEST(ErrorFromResponseTest, UsesReasonCodeAndMessageOfTheEnvelope) {
  const auto s = ErrorFromResponse(403, R"({"metadata":{"collectionType":
      "application/vnd.ibm.kms.error+json","collectionTotal":1},
      "resources":[{"errorMsg":"Forbidden","reasons":[{"code":"FORBIDDEN_ERR",
      "message":"not allowed","status":403}]}]})");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "FORBIDDEN_ERR: not allowed");
}

TEST(ErrorFromResponseTest, MapsStatusesToCodes) {
  EXPECT_TRUE(absl::IsUnauthenticated(ErrorFromResponse(401, "")));
  EXPECT_TRUE(absl::IsNotFound(ErrorFromResponse(404, "")));
  EXPECT_TRUE(absl::IsFailedPrecondition(ErrorFromResponse(409, "")));
  EXPECT_TRUE(absl::IsInternal(ErrorFromResponse(500, "")));
  EXPECT_TRUE(absl::IsInvalidArgument(ErrorFromResponse(422, "")));
  EXPECT_TRUE(absl::IsNotFound(ErrorFromResponse(410, "")));
  EXPECT_TRUE(absl::IsResourceExhausted(ErrorFromResponse(429, "")));
  EXPECT_TRUE(absl::IsUnavailable(ErrorFromResponse(503, "")));
}

TEST(ErrorFromResponseTest, ReasonCodeIsAPayload) {
  const auto s = ErrorFromResponse(422, R"({"resources":[{"reasons":[{
      "code":"UNPROCESSABLE_CIPHERTEXT_ERR","message":"invalid"}]}]})");
  EXPECT_EQ(ReasonOf(s), "UNPROCESSABLE_CIPHERTEXT_ERR");
  EXPECT_EQ(ReasonOf(ErrorFromResponse(502, "<html>")), "");
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), "");
}

TEST(ErrorFromResponseTest, NonEnvelopeBodiesGiveTheHttpStatus) {
  EXPECT_EQ(ErrorFromResponse(502, "<html>bad gateway</html>").message(),
            "HTTP 502");
  EXPECT_EQ(ErrorFromResponse(400, R"({"resources":[]})").message(),
            "HTTP 400");
  EXPECT_EQ(ErrorFromResponse(400, R"({"resources":[{"reasons":"x"}]})")
                .message(),
            "HTTP 400");
  EXPECT_EQ(ErrorFromResponse(409, R"({"resources":[{"errorMsg":"busy"}]})")
                .message(),
            "HTTP 409: busy");
}

TEST(ErrorFromResponseTest, ControlCharactersFromTheServerAreReplaced) {
  const auto s = ErrorFromResponse(
      400,
      R"({"resources":[{"reasons":[{"code":"X\u001b[2J","message":"a\nb"}]}]})");
  EXPECT_EQ(s.message(), "X?[2J: a?b");
}

TEST(PercentEncodeTest, KeepsUnreservedEscapesEverythingElse) {
  EXPECT_EQ(PercentEncode("user-1_a.b~C"), "user-1_a.b~C");
  EXPECT_EQ(PercentEncode("../x y/?&="), "..%2Fx%20y%2F%3F%26%3D");
  EXPECT_EQ(PercentEncode("urn:ibm"), "urn%3Aibm");
  EXPECT_EQ(PercentEncode("\xff"), "%FF");
}

}  // namespace
}  // namespace keywarden::client
