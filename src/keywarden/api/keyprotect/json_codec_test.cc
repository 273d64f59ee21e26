#include "keywarden/api/keyprotect/json_codec.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {
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

// Moved from the service's KeyManagerTest when base64 moved into the codec:
// the decoded field carries the error, which the service reports in turn.
TEST(JsonCodecTest, BadBase64NamesFieldAndPosition) {
  auto req = DecodeCreateKey(
      R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json",)"
      R"("collectionTotal":1},"resources":[{"name":"bad","payload":"AAA*"}]})");
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_TRUE(req->payload.has_value());
  absl::Status s = req->payload->status();
  EXPECT_EQ(ReasonOf(s), Reason::kInvalidField);
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("illegal base64 data at input byte 3"));
  EXPECT_EQ(FieldOf(s), "payload");

  auto rotate = DecodeRotate(
      R"({"payload":"AAAA","encryptedNonce":"A*","iv":"AAAAAAAAAAAAAAAA"})");
  ASSERT_TRUE(rotate.ok()) << rotate.status();
  EXPECT_TRUE(rotate->payload->ok());
  EXPECT_EQ(FieldOf(rotate->encrypted_nonce->status()), "encryptedNonce");
  EXPECT_EQ(rotate->iv->value().size(), 12u);
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
  ASSERT_TRUE(w->plaintext.has_value() && w->plaintext->ok());
  EXPECT_EQ((*w->plaintext)->size(), 3u);  // "AAAA": three zero bytes
  EXPECT_THAT(w->aad, ::testing::ElementsAre("x"));
}

// Base64 that does not decode, or is empty or too long, is the field's
// error; the codec hands it to the service, which reports it after
// authorization and the key's state (as Key Protect orders its checks).
TEST(JsonCodecTest, UndecodableDeksAndWdeksAreFieldErrorsForTheService) {
  auto w = DecodeWrap(R"({"plaintext":"!!!!"})");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->plaintext.has_value());
  EXPECT_EQ(ReasonOf(w->plaintext->status()), Reason::kInvalidField);
  EXPECT_EQ(FieldOf(w->plaintext->status()), "plaintext");
  auto empty = DecodeWrap(R"({"plaintext":""})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ReasonOf(empty->plaintext->status()), Reason::kInvalidField);
  auto huge = DecodeWrap(R"({"plaintext":")" + std::string(4100, 'A') + R"("})");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(ReasonOf(huge->plaintext->status()), Reason::kInvalidField);

  for (std::string_view body : {R"({"ciphertext":"!!!!"})", R"({"aad":[]})",
                                R"({"ciphertext":""})"}) {
    auto u = DecodeUnwrap(body);
    ASSERT_TRUE(u.ok()) << body;
    ASSERT_TRUE(u->ciphertext.has_value()) << body;
    EXPECT_EQ(ReasonOf(u->ciphertext->status()), Reason::kInvalidField) << body;
    EXPECT_EQ(FieldOf(u->ciphertext->status()), "ciphertext") << body;
  }
  auto ok = DecodeUnwrap(R"({"ciphertext":"AQID"})");
  ASSERT_TRUE(ok.ok() && ok->ciphertext->ok());
  EXPECT_EQ(**ok->ciphertext, (std::vector<uint8_t>{1, 2, 3}));
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

// --- Strict JSON (docs/api.md "Strict HTTP and JSON") ----------------------

constexpr std::string_view kKeyMeta =
    R"("metadata":{"collectionType":"application/vnd.ibm.kms.key+json",)"
    R"("collectionTotal":1})";
constexpr std::string_view kPolicyMeta =
    R"("metadata":{"collectionType":"application/vnd.ibm.kms.policy+json",)"
    R"("collectionTotal":1})";

std::string Envelope(std::string_view metadata, std::string_view resource) {
  return StrCat("{", metadata, R"(,"resources":[)", resource, "]}");
}

// Every request decoder, by the body it reads.
std::vector<
    std::pair<std::string, std::function<absl::Status(std::string_view)>>>
AllDecoders() {
  auto st = [](auto f) {
    return [f](std::string_view b) { return f(b).status(); };
  };
  return {
      {"create", st([](std::string_view b) { return DecodeCreateKey(b); })},
      {"create_overrides",
       st([](std::string_view b) { return DecodeCreateKey(b, true); })},
      {"patch", st(DecodePatchKey)},
      {"wrap", st(DecodeWrap)},
      {"unwrap", st(DecodeUnwrap)},
      {"rotate", st(DecodeRotate)},
      {"ignored", DecodeIgnoredBody},
      {"clock", st(DecodeClockAdvance)},
      {"import_token", st(DecodeCreateImportToken)},
      {"key_policies", st(DecodeKeyPolicies)},
      {"instance_policies",
       st([](std::string_view b) { return DecodeInstancePolicies(b); })},
      {"registration", st(DecodeRegistrationInput)},
      {"deactivate", st(DecodeDeactivateRegistrations)},
      {"event_ack", st(DecodeEventAcks)},
      {"webhook", st(DecodeWebhook)},
      {"principal", st(DecodeCreatePrincipal)},
      {"api_key", st(DecodeCreateApiKey)},
      {"instance", st(DecodeCreateInstance)},
      {"policy", st(DecodeCreatePolicy)},
      {"authorization", st(DecodeCreateAuthorization)},
  };
}

TEST(JsonCodecStrictTest, RepeatedMemberNameIsBadBodyOnEveryDecoder) {
  // RFC 7493 §2.3, at the top, nested in an object, in an array, and in
  // another case than the first.
  for (std::string_view body :
       {R"({"a":1,"a":2})", R"({"plaintext":"AAAA","plaintext":"BBBB"})",
        R"({"x":{"n":1,"n":1}})", R"({"x":[{"n":1},{"n":1,"m":2,"n":3}]})",
        R"({"ciphertext":"a","CipherText":"b"})", R"([{"k":1,"k":1}])",
        R"({"a\u0062":1,"ab":2})"}) {
    for (const auto& [name, decode] : AllDecoders()) {
      absl::Status s = decode(body);
      EXPECT_EQ(ReasonOf(s), Reason::kBadBody)
          << name << " " << body << ": " << s;
      EXPECT_TRUE(FieldOf(s).has_value()) << name << " " << body << ": " << s;
    }
  }
}

TEST(JsonCodecStrictTest, RepeatedMemberNamesOfRealBodies) {
  // What the issue reproduced: each accepted today with the last value.
  EXPECT_EQ(
      FieldOf(
          DecodeWrap(R"({"plaintext":"AAAA","plaintext":"BBBB"})").status()),
      "plaintext");
  EXPECT_EQ(
      ReasonOf(DecodeUnwrap(R"({"ciphertext":"a","ciphertext":"b"})").status()),
      Reason::kBadBody);
  EXPECT_EQ(
      ReasonOf(DecodeCreateKey(StrCat("{", kKeyMeta, R"(,"resources":[],)",
                                      R"("resources":[{"name":"ab"}]})"))
                   .status()),
      Reason::kBadBody);
  EXPECT_EQ(FieldOf(DecodeCreateKey(
                        Envelope(kKeyMeta, R"({"name":"ab","extractable":true,)"
                                           R"("extractable":false})"))
                        .status()),
            "extractable");
  // Many members: the sorted comparison.
  std::string many = "{";
  for (int i = 0; i < 40; ++i) StrAppend(&many, "\"m", i, "\":0,");
  std::string unique = many + "\"z\":0}";
  many += "\"M7\":0}";
  EXPECT_TRUE(DecodeIgnoredBody(unique).ok());
  EXPECT_EQ(FieldOf(DecodeIgnoredBody(many)), "m7");
  // Same names in different objects are fine.
  EXPECT_TRUE(
      DecodeIgnoredBody(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})").ok());
  // A quoted name is bounded.
  std::string long_name(500, 'n');
  auto s = DecodeWrap(StrCat("{\"", long_name, "\":1,\"", long_name, "\":2}"))
               .status();
  EXPECT_EQ(ReasonOf(s), Reason::kBadBody);
  EXPECT_LE(FieldOf(s)->size(), 64u);
}

TEST(JsonCodecStrictTest, AdminKeepsBadRequestForNonJson) {
  EXPECT_EQ(ReasonOf(DecodeCreateInstance("nope").status()),
            Reason::kBadRequest);
  EXPECT_EQ(
      ReasonOf(DecodeCreateInstance(R"({"name":"a","name":"b"})").status()),
      Reason::kBadBody);
}

TEST(JsonCodecStrictTest, EnvelopeFieldsAreTyped) {
  auto reason = [](std::string_view metadata) {
    return ReasonOf(
        DecodeCreateKey(Envelope(metadata, R"({"name":"ab"})")).status());
  };
  EXPECT_EQ(reason(kKeyMeta), Reason::kNone);
  // Media types compare in any case; either field may be left out.
  EXPECT_EQ(
      reason(
          R"("metadata":{"collectionType":"Application/Vnd.IBM.KMS.Key+JSON"})"),
      Reason::kNone);
  EXPECT_EQ(reason(R"("metadata":{"collectionTotal":1})"), Reason::kNone);
  for (
      std::string_view bad :
      {R"("metadata":{"collectionType":7,"collectionTotal":1})",
       R"("metadata":{"collectionType":{},"collectionTotal":1})",
       R"("metadata":{"collectionType":null,"collectionTotal":1})",
       R"("metadata":{"collectionType":"application/vnd.ibm.kms.policy+json","collectionTotal":1})",
       R"("metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":null})",
       R"("metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":"1"})",
       R"("metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":1.5})",
       R"("metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":true})"}) {
    EXPECT_EQ(reason(bad), Reason::kBadBody) << bad;
  }
  EXPECT_EQ(
      FieldOf(
          DecodeCreateKey(
              Envelope(R"("metadata":{"collectionType":7,"collectionTotal":1})",
                       R"({"name":"ab"})"))
              .status()),
      "collectionType");
}

TEST(JsonCodecStrictTest, EachEnvelopeEndpointChecksItsOwnType) {
  const std::string wrong = Envelope(
      R"("metadata":{"collectionType":"application/vnd.ibm.kms.alias+json","collectionTotal":1})",
      "{}");
  EXPECT_EQ(ReasonOf(DecodeKeyPolicies(wrong).status()), Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodeInstancePolicies(wrong).status()), Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodeRegistrationInput(wrong).status()),
            Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodeDeactivateRegistrations(wrong).status()),
            Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodeEventAcks(wrong).status()), Reason::kBadBody);
  EXPECT_EQ(ReasonOf(DecodePatchKey(wrong).status()), Reason::kBadBody);
  // And takes its own.
  EXPECT_TRUE(
      DecodeRegistrationInput(
          Envelope(
              R"("metadata":{"collectionType":"application/vnd.ibm.kms.registration_input+json","collectionTotal":1})",
              "{}"))
          .ok());
  for (std::string_view type : {"application/vnd.ibm.kms.resource_crn+json",
                                "application/vnd.ibm.kms.crn+json"}) {
    EXPECT_TRUE(DecodeDeactivateRegistrations(
                    Envelope(StrCat(R"("metadata":{"collectionType":")", type,
                                    R"(","collectionTotal":1})"),
                             R"({"resourceCrn":"crn:v1:x"})"))
                    .ok())
        << type;
  }
}

TEST(JsonCodecStrictTest, CreateWithTwoKeysIsBadBodyWhateverTheTotal) {
  // keyprotect-api.md §3.1: BAD_BODY_ERR, not COLLECTION_TOTAL_MISMATCH_ERR.
  for (std::string_view total : {"1", "2", "3"}) {
    auto s =
        DecodeCreateKey(
            StrCat(
                R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":)",
                total, R"(},"resources":[{"name":"ab"},{"name":"cd"}]})"))
            .status();
    EXPECT_EQ(ReasonOf(s), Reason::kBadBody) << total;
    EXPECT_THAT(std::string(s.message()),
                ::testing::HasSubstr("Only creation of one key per request"));
  }
  // One key with a wrong total is still a mismatch.
  EXPECT_EQ(
      ReasonOf(
          DecodeCreateKey(
              R"({"metadata":{"collectionTotal":2},"resources":[{"name":"ab"}]})")
              .status()),
      Reason::kCollectionTotalMismatch);
}

TEST(JsonCodecStrictTest, InstancePolicyQueryMismatchComesFirst) {
  auto put = [](std::string_view resource,
                std::optional<keys::InstancePolicyType> selected) {
    return ReasonOf(
        DecodeInstancePolicies(Envelope(kPolicyMeta, resource), selected)
            .status());
  };
  const auto rotation = keys::InstancePolicyType::kRotation;
  // Another type, an unknown type, a type of the wrong kind, none at all,
  // and another type with attributes that type would refuse.
  for (
      std::string_view resource :
      {R"({"policy_type":"dualAuthDelete","policy_data":{"enabled":true}})",
       R"({"policy_type":"bogus","policy_data":{"enabled":true}})",
       R"({"policy_type":7})", R"({"policy_data":{"enabled":true}})",
       R"({"policy_type":"allowedIP","policy_data":{"enabled":"x","attributes":{"allowed_ip":5}}})"}) {
    EXPECT_EQ(put(resource, rotation), Reason::kBodyQueryParamMismatch)
        << resource;
  }
  // Without ?policy= the type itself is what is wrong.
  EXPECT_EQ(put(R"({"policy_type":"bogus","policy_data":{"enabled":true}})",
                std::nullopt),
            Reason::kBadBody);
  EXPECT_EQ(
      put(R"({"policy_type":"rotation","policy_data":{"enabled":true,"attributes":{"interval_month":3}}})",
          rotation),
      Reason::kNone);
  // Two resources under ?policy=.
  EXPECT_EQ(
      ReasonOf(
          DecodeInstancePolicies(
              StrCat(
                  "{", kPolicyMeta.substr(0, kPolicyMeta.size() - 2),
                  R"(2},"resources":[{"policy_type":"rotation"},{"policy_type":"rotation"}]})"),
              rotation)
              .status()),
      Reason::kNumCollectionResource);
}

}  // namespace
}  // namespace keywarden::api::keyprotect

namespace keywarden::api::keyprotect {
namespace {

TEST(JsonCodecSealTest, InitNeedsTwoIntegersInRange) {
  absl::StatusOr<SealInitRequest> ok =
      DecodeSealInit(R"({"shares":5,"Threshold":3})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->shares, 5);
  EXPECT_EQ(ok->threshold, 3);
  for (const char* bad :
       {"", "{}", "null", "[]", R"({"shares":5})", R"({"shares":"5","threshold":3})",
        R"({"shares":0,"threshold":1})", R"({"shares":256,"threshold":2})",
        R"({"shares":18446744073709551615,"threshold":2})",
        R"({"shares":5.5,"threshold":2})", R"({"shares":5,"threshold":-1})",
        R"({"shares":5,"shares":6,"threshold":2})", "{"}) {
    absl::StatusOr<SealInitRequest> r = DecodeSealInit(bad);
    EXPECT_FALSE(r.ok()) << bad;
    const Reason reason = ReasonOf(r.status());
    EXPECT_TRUE(reason == Reason::kBadRequest || reason == Reason::kBadBody)
        << bad;
  }
}

TEST(JsonCodecSealTest, UnsealTakesAnOptionalShareString) {
  absl::StatusOr<SecretBytes> share = DecodeUnseal(R"({"share":"kw1-1-AAAA"})");
  ASSERT_TRUE(share.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(share->data()),
                        share->size()),
            "kw1-1-AAAA");
  EXPECT_TRUE(DecodeUnseal("")->empty());
  EXPECT_TRUE(DecodeUnseal("{}")->empty());
  EXPECT_TRUE(DecodeUnseal(R"({"share":null})")->empty());
  EXPECT_FALSE(DecodeUnseal(R"({"share":1})").ok());
  EXPECT_FALSE(DecodeUnseal(R"(["kw1-1-AAAA"])").ok());
  EXPECT_FALSE(DecodeUnseal(R"({"share":"a","share":"b"})").ok());
}

TEST(JsonCodecSealTest, StatusNamesShamirFieldsOnlyForShamir) {
  service::SealStatus s;
  s.type = seal::SealType::kShamir;
  s.initialized = true;
  s.sealed = true;
  s.key_id = "k";
  s.shares = 5;
  s.threshold = 3;
  s.progress = 1;
  EXPECT_EQ(EncodeSealStatus(s),
            R"({"type":"shamir","initialized":true,"sealed":true,"keyId":"k",)"
            R"("shares":5,"threshold":3,"progress":1})");
  s.type = seal::SealType::kPkcs11;
  s.sealed = false;
  EXPECT_EQ(EncodeSealStatus(s),
            R"({"type":"pkcs11","initialized":true,"sealed":false,"keyId":"k"})");
  service::SealInitResult init;
  init.shares = {"kw1-1-a", "kw1-2-b"};
  init.threshold = 2;
  init.key_id = "k";
  EXPECT_EQ(EncodeSealInit(init),
            R"({"shares":["kw1-1-a","kw1-2-b"],"threshold":2,"keyId":"k"})");
}

TEST(JsonCodecSealTest, ShamirRekeyShowsItsSharesOnceAndItsVerification) {
  absl::StatusOr<service::RekeyOptions> o =
      DecodeRekey(R"({"shares":4,"threshold":2,"batchSize":10})");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->shares, 4);
  EXPECT_EQ(o->threshold, 2);
  EXPECT_EQ(o->batch_size, 10);
  EXPECT_FALSE(DecodeRekey("{}")->shares.has_value());
  EXPECT_EQ(FieldOf(DecodeRekey(R"({"shares":0})").status()), "shares");
  EXPECT_EQ(FieldOf(DecodeRekey(R"({"threshold":256})").status()),
            "threshold");
  EXPECT_FALSE(DecodeRekey(R"({"shares":"5"})").ok());

  service::RekeyResult r;
  r.status.type = seal::SealType::kShamir;
  r.status.initialized = true;
  r.status.sealed = false;
  r.status.key_id = "k";
  r.status.shares = 3;
  r.status.threshold = 2;
  r.status.rekey_in_progress = true;
  r.status.rekey_to = "n";
  r.status.rekey_remaining = 7;
  r.status.rekey_verified = false;
  r.status.rekey_verify_progress = 1;
  r.status.rekey_shares = 4;
  r.status.rekey_threshold = 2;
  const std::string status =
      R"({"type":"shamir","initialized":true,"sealed":false,"keyId":"k",)"
      R"("shares":3,"threshold":2,"progress":0,"rekey":{"toKeyId":"n",)"
      R"("remaining":7,"verified":false,"shares":4,"threshold":2,)"
      R"("verifyProgress":1}})";
  EXPECT_EQ(EncodeRekeyResult(r), status) << "no shares: the status";
  r.shares = {"kw1-1-a", "kw1-2-b", "kw1-3-c", "kw1-4-d"};
  r.threshold = 2;
  r.key_id = "n";
  EXPECT_EQ(EncodeRekeyResult(r),
            StrCat(R"({"shares":["kw1-1-a","kw1-2-b","kw1-3-c","kw1-4-d"],)"
                   R"("threshold":2,"keyId":"n","seal":)",
                   status, "}"));
}

}  // namespace
}  // namespace keywarden::api::keyprotect
