#include "keywarden/api/http/json_codec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"

namespace keywarden::api::http {
namespace {

constexpr std::string_view kCreate =
    R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json",)"
    R"("collectionTotal":1},"resources":[{"type":)"
    R"("application/vnd.ibm.kms.key+json","name":"k1","extractable":false,)"
    R"("Tags":["a","b"],"expirationDate":"2030-01-02T03:04:05.123456789+02:00"}]})";

TEST(JsonCodecTest, DecodeCreateKeyAcceptsGoClientShapes) {
  auto req = DecodeCreateKey(kCreate);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->name, "k1");
  EXPECT_FALSE(req->extractable);
  EXPECT_THAT(req->tags, ::testing::ElementsAre("a", "b"));
  ASSERT_TRUE(req->expiration_time.has_value());
  EXPECT_EQ(FormatRfc3339(*req->expiration_time), "2030-01-02T01:04:05Z");
}

TEST(JsonCodecTest, DecodeCreateKeyErrors) {
  auto reason = [](std::string_view body) {
    return ReasonOf(DecodeCreateKey(body).status());
  };
  EXPECT_EQ(reason(""), Reason::kBadBody);
  EXPECT_EQ(reason("{"), Reason::kBadBody);
  EXPECT_EQ(reason("[]"), Reason::kBadBody);
  EXPECT_EQ(reason(R"({"metadata":{},"resources":[{"name":"ab"}]})"),
            Reason::kBadBody);
  EXPECT_EQ(reason(R"({"metadata":{"collectionTotal":2},"resources":[{"name":"ab"}]})"),
            Reason::kCollectionTotalMismatch);
  EXPECT_EQ(reason(R"({"metadata":{"collectionTotal":2},"resources":[{"name":"ab"},{"name":"cd"}]})"),
            Reason::kBadBody);
  EXPECT_EQ(reason(R"({"metadata":{"collectionTotal":1},"resources":[{"name":5}]})"),
            Reason::kBadBody);
  EXPECT_EQ(reason(R"({"metadata":{"collectionTotal":1},"resources":[{"name":"ab","extractable":"yes"}]})"),
            Reason::kBadBody);
  EXPECT_EQ(reason(R"({"metadata":{"collectionTotal":1},"resources":[{"name":"ab","expirationDate":"tomorrow"}]})"),
            Reason::kBadBody);
}

TEST(JsonCodecTest, DecodeCreateKeyReadsAliases) {
  auto req = DecodeCreateKey(
      R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json",)"
      R"("collectionTotal":1},"resources":[{"name":"k","Aliases":["a1","b2"]}]})");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_THAT(req->aliases, ::testing::ElementsAre("a1", "b2"));
}

TEST(JsonCodecTest, DecodePatchKeyShapes) {
  for (std::string_view body :
       {R"({"keyRingID":"r1"})", R"({"KeyRingID":"r1"})",
        R"({"keyringid":"r1"})",
        R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json",)"
        R"("collectionTotal":1},"resources":[{"keyRingID":"r1"}]})"}) {
    auto req = DecodePatchKey(body);
    ASSERT_TRUE(req.ok()) << body << ": " << req.status();
    EXPECT_EQ(req->key_ring_id, "r1");
  }
  EXPECT_EQ(ReasonOf(DecodePatchKey("").status()), Reason::kNoBody);
  EXPECT_EQ(ReasonOf(DecodePatchKey("{}").status()), Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodePatchKey(R"({"keyRingID":""})").status()),
            Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodePatchKey(R"({"keyRingID":7})").status()),
            Reason::kBadBody);
}

TEST(JsonCodecTest, KeyRingsAndAliasEncoding) {
  service::ListKeyRingsResult rings;
  store::KeyRing def;
  def.id = "default";
  store::KeyRing r1;
  r1.id = "r1";
  r1.creation_time = absl::FromUnixSeconds(1700000000);
  r1.created_by = "user-1";
  rings.rings = {def, r1};
  rings.total = 2;
  EXPECT_EQ(EncodeKeyRings(rings),
            R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key_ring+json",)"
            R"("collectionTotal":2,"totalCount":2},"resources":[{"id":"default"},)"
            R"({"id":"r1","creationDate":"2023-11-14T22:13:20Z","createdBy":"user-1"}]})");
  store::KeyAlias a;
  a.key_id = "k";
  a.alias = "al";
  a.created_by = "user-1";
  a.creation_time = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(EncodeAlias(a),
            R"({"metadata":{"collectionType":"application/vnd.ibm.kms.alias+json",)"
            R"("collectionTotal":1},"resources":[{"keyId":"k","alias":"al",)"
            R"("createdBy":"user-1","creationDate":"2023-11-14T22:13:20Z"}]})");
}

TEST(JsonCodecTest, OptionalBodiesAcceptEmptyNullAndObject) {
  for (std::string_view body : {"", "null", "{}", " \n"}) {
    auto w = DecodeWrap(body);
    ASSERT_TRUE(w.ok()) << body;
    EXPECT_FALSE(w->plaintext.has_value());
    EXPECT_TRUE(DecodeRotate(body).ok());
    EXPECT_TRUE(DecodeIgnoredBody(body).ok());
  }
  EXPECT_FALSE(DecodeWrap("[1]").ok());
  EXPECT_FALSE(DecodeIgnoredBody("not json").ok());
}

TEST(JsonCodecTest, FieldNamesAreCaseInsensitive) {
  auto w = DecodeWrap(R"({"Plaintext":"AAAA","AAD":["x"]})");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->plaintext, "AAAA");
  EXPECT_THAT(w->aad, ::testing::ElementsAre("x"));
}

TEST(JsonCodecTest, UnwrapNeedsABody) {
  EXPECT_EQ(ReasonOf(DecodeUnwrap("").status()), Reason::kNoBody);
  EXPECT_EQ(ReasonOf(DecodeUnwrap("null").status()), Reason::kNoBody);
  EXPECT_EQ(ReasonOf(DecodeUnwrap(R"({"aad":[1]})").status()),
            Reason::kInvalidField);
}

TEST(JsonCodecTest, ErrorEnvelope) {
  std::string field = "plaintext";
  std::string body = EncodeError("Bad Request: x", "INVALID_FIELD_ERR", "msg",
                                 400, &field);
  EXPECT_THAT(body, ::testing::HasSubstr(
                        R"("collectionType":"application/vnd.ibm.kms.error+json")"));
  EXPECT_THAT(body, ::testing::HasSubstr(R"("errorMsg":"Bad Request: x")"));
  EXPECT_THAT(body, ::testing::HasSubstr(R"("code":"INVALID_FIELD_ERR")"));
  EXPECT_THAT(body, ::testing::HasSubstr(
                        R"("target":{"type":"field","name":"plaintext"})"));
}

TEST(JsonCodecTest, TimesAreRfc3339Utc) {
  absl::Time t;
  ASSERT_TRUE(ParseRfc3339("2020-03-12T03:37:32Z", &t));
  EXPECT_EQ(FormatRfc3339(t), "2020-03-12T03:37:32Z");
  EXPECT_FALSE(ParseRfc3339("2020-03-12", &t));
}

}  // namespace
}  // namespace keywarden::api::http
