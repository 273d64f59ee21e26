#include "keywarden/cli/api_client.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/cli/http_client.h"

namespace keywarden::cli {
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

TEST(ParseEndpointTest, HttpAndHttpsWithDefaultPorts) {
  auto e = ParseEndpoint("http://127.0.0.1:8080");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "8080");
  EXPECT_EQ(e->Display(), "http://127.0.0.1:8080");
  e = ParseEndpoint("https://kms.example.com/");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, "443");
  EXPECT_EQ(e->Display(), "https://kms.example.com:443");
  EXPECT_EQ(ParseEndpoint("http://h")->port, "80");
}

TEST(ParseEndpointTest, Ipv6AndPathPrefix) {
  auto e = ParseEndpoint("https://[::1]:8443/kms/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, "8443");
  EXPECT_EQ(e->prefix, "/kms");
  EXPECT_EQ(e->Display(), "https://[::1]:8443/kms");
}

TEST(ParseEndpointTest, EquivalentSpellingsDisplayAlike) {
  EXPECT_EQ(ParseEndpoint("http://localhost:08080/")->Display(),
            ParseEndpoint("http://localhost:8080")->Display());
}

TEST(ParseEndpointTest, RejectsWhatIsNotAnHttpAddress) {
  for (const char* bad :
       {"", "127.0.0.1:8080", "ftp://h", "http://", "http://:80",
        "http://h:", "http://h:0", "http://h:65536", "http://h:12a",
        "http://::1:80", "http://[::1", "http://[::1]x", "http://u@h",
        "http://h/?q", "http://h/#f", "http://h /"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseEndpoint(bad).status())) << bad;
  }
}

TEST(SendTest, UnreachableServerIsUnavailableAndNamesTheEndpoint) {
  // Port 1 on loopback: nothing listens there in a test environment.
  auto e = ParseEndpoint("http://127.0.0.1:1");
  ASSERT_TRUE(e.ok());
  HttpRequest req{"GET", "/healthz", {{"Authorization", "Bearer sekrit"}}, ""};
  auto r = Send(*e, req, HttpOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("http://127.0.0.1:1"),
            absl::string_view::npos);
  EXPECT_EQ(r.status().message().find("sekrit"), absl::string_view::npos);
}

}  // namespace
}  // namespace keywarden::cli
