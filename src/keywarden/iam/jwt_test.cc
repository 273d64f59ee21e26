#include "keywarden/iam/jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/iam/jwt_json.h"

namespace keywarden::iam {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::vector<uint8_t> Unhex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> B64u(std::string_view text) {
  auto bytes = crypto::Base64UrlDecode(text);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

std::string Enc(std::string_view s) { return crypto::Base64UrlEncode(Bytes(s)); }

std::vector<std::string> Split(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

TokenClaims ValidClaims() {
  TokenClaims claims;
  claims.issuer = "keywarden";
  claims.subject = "user-0b5c3ad2-6b0e-4f1e-9a59-9c4d1f0a6e11";
  claims.jwt_id = "jti-1";
  claims.api_key_id = "ak-1";
  claims.kind = "user";
  claims.issued_at = kNow;
  claims.not_before = kNow;
  claims.expires_at = kNow + absl::Hours(1);
  return claims;
}

// The claims of ValidClaims() as JSON text, to forge variants of.
std::string ValidPayloadJson() {
  return R"({"iss":"keywarden","sub":"user-1","iat":1767225600,)"
         R"("nbf":1767225600,"exp":1767229200,"jti":"j","akid":"a",)"
         R"("kind":"user"})";
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey PrivateKeyOf(const SigningKey& key) {
  const SecretBytes der = key.Pkcs8Der();
  const unsigned char* p = der.data();
  return Pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
}

Pkey PublicKeyOf(std::span<const uint8_t> spki) {
  const unsigned char* p = spki.data();
  return Pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
}

// ECDSA P-256/SHA-256 over `input` with OpenSSL, converted to R || S here
// (independently of jwt.cc) so that forged headers and payloads can carry
// a signature that is valid for our key.
std::vector<uint8_t> RawEs256(EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr,
                                  key, nullptr),
            1);
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, Bytes(input).data(),
                           input.size()),
            1);
  std::vector<uint8_t> der(len);
  EXPECT_EQ(EVP_DigestSign(ctx, der.data(), &len, Bytes(input).data(),
                           input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  const unsigned char* p = der.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  std::vector<uint8_t> raw(64);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

// Verifies a JOSE R || S signature with OpenSSL directly.
bool OpenSslVerifiesJose(EVP_PKEY* key, std::string_view input,
                         std::span<const uint8_t> raw) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr),
                 BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr, key,
                              nullptr) == 1 &&
      EVP_DigestVerify(ctx, der, der_len, Bytes(input).data(), input.size()) ==
          1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SigningKey::Generate("k1");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<SigningKey>(*std::move(key));
    ASSERT_TRUE(verifier_.AddKey("k1", key_->PublicKeyDer()).ok());
    private_key_ = PrivateKeyOf(*key_);
    ASSERT_NE(private_key_, nullptr);
  }

  std::string SignValid() {
    auto token = key_->Sign(ValidClaims());
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  // A token with exactly this header and payload JSON, validly signed with
  // key_ (the attacks below are about what the verifier accepts, not about
  // the signature).
  std::string SignRaw(std::string_view header_json,
                      std::string_view payload_json) {
    const std::string input = Enc(header_json) + "." + Enc(payload_json);
    return input + "." +
           crypto::Base64UrlEncode(RawEs256(private_key_.get(), input));
  }
  std::string SignPayload(std::string_view payload_json) {
    return SignRaw(R"({"alg":"ES256","typ":"JWT","kid":"k1"})", payload_json);
  }

  Reason ReasonOfVerify(std::string_view token) {
    auto claims = verifier_.Verify(token, kNow);
    return claims.ok() ? Reason::kNone : ReasonOf(claims.status());
  }

  std::unique_ptr<SigningKey> key_;
  Pkey private_key_;
  TokenVerifier verifier_;
};

TEST_F(JwtTest, SignThenVerifyRoundTripsEveryClaim) {
  TokenClaims claims = ValidClaims();
  claims.kind = "service_id";
  claims.service_type = "object-storage";
  claims.issued_at = kNow - absl::Seconds(5);
  auto token = key_->Sign(claims);
  ASSERT_TRUE(token.ok()) << token.status();
  auto got = verifier_.Verify(*token, kNow);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->issuer, claims.issuer);
  EXPECT_EQ(got->subject, claims.subject);
  EXPECT_EQ(got->jwt_id, claims.jwt_id);
  EXPECT_EQ(got->api_key_id, claims.api_key_id);
  EXPECT_EQ(got->kind, claims.kind);
  EXPECT_EQ(got->service_type, claims.service_type);
  EXPECT_EQ(got->issued_at, claims.issued_at);
  EXPECT_EQ(got->not_before, claims.not_before);
  EXPECT_EQ(got->expires_at, claims.expires_at);
}

TEST_F(JwtTest, SignWritesTheDocumentedHeaderAndClaims) {
  const std::vector<std::string> parts = Split(SignValid());
  ASSERT_EQ(parts.size(), 3u);
  const std::vector<uint8_t> header = B64u(parts[0]);
  EXPECT_EQ(std::string(header.begin(), header.end()),
            R"({"alg":"ES256","typ":"JWT","kid":"k1"})");
  const std::vector<uint8_t> payload = B64u(parts[1]);
  auto object = jwt_json::Parse(std::string(payload.begin(), payload.end()));
  ASSERT_TRUE(object.ok());
  for (const char* name :
       {"iss", "sub", "iat", "nbf", "exp", "jti", "akid", "kind"}) {
    EXPECT_NE(object->Find(name), nullptr) << name;
  }
  // A user has no service type: the claim is left out.
  EXPECT_EQ(object->Find("service_type"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*object->Find("exp")), 1767229200);
  EXPECT_EQ(B64u(parts[2]).size(), 64u);
}

// RFC 7515 §5.2 / RFC 7518 §3.4: our signature, converted from R || S to
// DER by the test, verifies with OpenSSL over the signing input.
TEST_F(JwtTest, SignatureVerifiesWithOpenSslDirectly) {
  const std::string token = SignValid();
  const std::vector<std::string> parts = Split(token);
  Pkey pub = PublicKeyOf(key_->PublicKeyDer());
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(OpenSslVerifiesJose(pub.get(), parts[0] + "." + parts[1],
                                  B64u(parts[2])));
  EXPECT_FALSE(OpenSslVerifiesJose(pub.get(), parts[0] + "." + parts[0],
                                   B64u(parts[2])));
}

// RFC 7515 Appendix A.3: the example key and JWS.
constexpr char kA3X[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr char kA3Y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr char kA3D[] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
constexpr char kA3SigningInput[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr char kA3Signature[] =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

// SubjectPublicKeyInfo of a P-256 point (RFC 5480): fixed prefix, 04||X||Y.
std::vector<uint8_t> A3Spki() {
  std::vector<uint8_t> der = Unhex(
      "3059301306072a8648ce3d020106082a8648ce3d030107034200"
      "04");
  for (const char* c : {kA3X, kA3Y}) {
    const std::vector<uint8_t> v = B64u(c);
    der.insert(der.end(), v.begin(), v.end());
  }
  return der;
}

TEST(JwtRfc7515Test, AppendixA3SignatureVerifiesWithOpenSsl) {
  Pkey pub = PublicKeyOf(A3Spki());
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(OpenSslVerifiesJose(pub.get(), kA3SigningInput,
                                  B64u(kA3Signature)));
}

TEST(JwtRfc7515Test, AppendixA3KeyImportsSignsAndVerifies) {
  // PKCS#8 PrivateKeyInfo (RFC 5208) holding an ECPrivateKey (RFC 5915)
  // with the scalar d and the public key ([1] BIT STRING).
  std::vector<uint8_t> pkcs8 = Unhex(
      "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b020101"
      "0420");
  const std::vector<uint8_t> d = B64u(kA3D);
  pkcs8.insert(pkcs8.end(), d.begin(), d.end());
  const std::vector<uint8_t> tail = Unhex("a144034200");
  pkcs8.insert(pkcs8.end(), tail.begin(), tail.end());
  const std::vector<uint8_t> spki = A3Spki();
  pkcs8.insert(pkcs8.end(), spki.end() - 65, spki.end());

  auto key = SigningKey::FromPkcs8Der("rfc7515-a3", pkcs8);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->PublicKeyDer(), spki);
  TokenVerifier verifier;
  ASSERT_TRUE(verifier.AddKey("rfc7515-a3", spki).ok());
  auto token = key->Sign(ValidClaims());
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verifier.Verify(*token, kNow).ok());

  // The same scalar with a public key that does not match is refused.
  pkcs8[pkcs8.size() - 1] ^= 0x01;
  EXPECT_FALSE(SigningKey::FromPkcs8Der("rfc7515-a3", pkcs8).ok());
}

TEST_F(JwtTest, Pkcs8RoundTripKeepsTheKey) {
  const SecretBytes der = key_->Pkcs8Der();
  auto restored = SigningKey::FromPkcs8Der("k1", der.span());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->kid(), "k1");
  EXPECT_EQ(restored->PublicKeyDer(), key_->PublicKeyDer());
  EXPECT_TRUE(restored->Pkcs8Der() == der);
  auto token = restored->Sign(ValidClaims());
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verifier_.Verify(*token, kNow).ok());
}

TEST_F(JwtTest, FromPkcs8DerRejectsBadInput) {
  const SecretBytes der = key_->Pkcs8Der();
  std::vector<uint8_t> bytes(der.span().begin(), der.span().end());
  EXPECT_FALSE(SigningKey::FromPkcs8Der("k", {}).ok());
  EXPECT_FALSE(SigningKey::FromPkcs8Der("", bytes).ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_FALSE(
        SigningKey::FromPkcs8Der("k", std::span(bytes).first(len)).ok())
        << len;
  }
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(SigningKey::FromPkcs8Der("k", trailing).ok());
  // A public key is not a private key.
  EXPECT_FALSE(SigningKey::FromPkcs8Der("k", key_->PublicKeyDer()).ok());
  // Other curves and key types.
  for (const char* curve : {"P-384", "P-521"}) {
    Pkey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    ASSERT_NE(other, nullptr);
    unsigned char* p8 = nullptr;
    PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(other.get());
    const int len = i2d_PKCS8_PRIV_KEY_INFO(info, &p8);
    PKCS8_PRIV_KEY_INFO_free(info);
    auto status = SigningKey::FromPkcs8Der(
        "k", std::span<const uint8_t>(p8, static_cast<size_t>(len)));
    EXPECT_EQ(status.status().code(), absl::StatusCode::kInvalidArgument);
    OPENSSL_free(p8);
  }
}

TEST_F(JwtTest, GenerateRejectsEmptyKid) {
  EXPECT_FALSE(SigningKey::Generate("").ok());
}

TEST_F(JwtTest, GeneratedKeysDiffer) {
  auto other = SigningKey::Generate("k1");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->PublicKeyDer(), key_->PublicKeyDer());
  // Same kid, other key: its tokens fail against k1's public key.
  auto token = other->Sign(ValidClaims());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(ReasonOfVerify(*token), Reason::kUnauthorized);
}

TEST_F(JwtTest, SignRejectsIncompleteClaimsAndOutOfRangeTimes) {
  TokenClaims claims = ValidClaims();
  claims.subject.clear();
  EXPECT_EQ(key_->Sign(claims).status().code(),
            absl::StatusCode::kInvalidArgument);
  claims = ValidClaims();
  claims.expires_at = absl::InfiniteFuture();
  EXPECT_FALSE(key_->Sign(claims).ok());
  claims = ValidClaims();
  claims.issued_at = absl::UnixEpoch() - absl::Seconds(1);
  EXPECT_FALSE(key_->Sign(claims).ok());
  claims = ValidClaims();
  claims.subject = std::string(TokenVerifier::kMaxTokenSize, 'u');
  EXPECT_EQ(key_->Sign(claims).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(JwtTest, AddKeyRejectsAnythingButP256Spki) {
  TokenVerifier v;
  EXPECT_FALSE(v.AddKey("x", {}).ok());
  EXPECT_FALSE(v.AddKey("", key_->PublicKeyDer()).ok());
  std::vector<uint8_t> spki = key_->PublicKeyDer();
  EXPECT_FALSE(v.AddKey("x", std::span(spki).first(spki.size() - 1)).ok());
  spki.push_back(0);
  EXPECT_FALSE(v.AddKey("x", spki).ok());
  Pkey p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(p384.get(), &der);
  EXPECT_FALSE(
      v.AddKey("x", std::span<const uint8_t>(der, static_cast<size_t>(len)))
          .ok());
  OPENSSL_free(der);
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  der = nullptr;
  const int ed_len = i2d_PUBKEY(ed.get(), &der);
  EXPECT_FALSE(
      v.AddKey("x", std::span<const uint8_t>(der, static_cast<size_t>(ed_len)))
          .ok());
  OPENSSL_free(der);
}

// --- Attacks: each must fail, with the reason the API contract gives. ---

// RFC 8725 §2.1: "alg":"none" with an empty signature.
TEST_F(JwtTest, RejectsAlgNoneWithEmptySignature) {
  for (const char* header : {R"({"alg":"none","typ":"JWT","kid":"k1"})",
                             R"({"alg":"none"})", R"({"alg":"None","kid":"k1"})",
                             R"({"alg":"NONE","kid":"k1"})"}) {
    const std::string token = Enc(header) + "." + Enc(ValidPayloadJson()) + ".";
    EXPECT_EQ(ReasonOfVerify(token), Reason::kUnauthorized) << header;
  }
}

// RFC 8725 §2.1: the public key used as an HMAC secret ("key confusion").
TEST_F(JwtTest, RejectsHs256SignedWithThePublicKeyBytes) {
  const std::vector<uint8_t> pub = key_->PublicKeyDer();
  const std::string input =
      Enc(R"({"alg":"HS256","typ":"JWT","kid":"k1"})") + "." +
      Enc(ValidPayloadJson());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), pub.data(), static_cast<int>(pub.size()),
                 Bytes(input).data(), input.size(), mac, &mac_len),
            nullptr);
  const std::string token =
      input + "." + crypto::Base64UrlEncode(std::span(mac, mac_len));
  EXPECT_EQ(ReasonOfVerify(token), Reason::kUnauthorized);
}

// A valid ES256 signature under a header claiming another algorithm.
TEST_F(JwtTest, RejectsOtherAlgorithmsEvenWithAValidSignature) {
  for (const char* header : {
           R"({"alg":"ES384","typ":"JWT","kid":"k1"})",
           R"({"alg":"ES512","typ":"JWT","kid":"k1"})",
           R"({"alg":"RS256","typ":"JWT","kid":"k1"})",
           R"({"alg":"es256","typ":"JWT","kid":"k1"})",
           R"({"alg":"ES256 ","typ":"JWT","kid":"k1"})",
           R"({"alg":256,"typ":"JWT","kid":"k1"})",
           R"({"alg":true,"typ":"JWT","kid":"k1"})",
       }) {
    EXPECT_EQ(ReasonOfVerify(SignRaw(header, ValidPayloadJson())),
              Reason::kUnauthorized)
        << header;
  }
}

TEST_F(JwtTest, RejectsMissingAlg) {
  EXPECT_EQ(ReasonOfVerify(SignRaw(R"({"typ":"JWT","kid":"k1"})",
                                   ValidPayloadJson())),
            Reason::kUnauthorized);
}

TEST_F(JwtTest, AcceptsAHandSignedTokenOfTheSameShape) {
  // Control for the forgeries: SignRaw makes good tokens when nothing is
  // wrong, and "typ" may be left out (RFC 7519 §5.1).
  EXPECT_EQ(ReasonOfVerify(SignPayload(ValidPayloadJson())), Reason::kNone);
  EXPECT_EQ(ReasonOfVerify(SignRaw(R"({"alg":"ES256","kid":"k1"})",
                                   ValidPayloadJson())),
            Reason::kNone);
}

TEST_F(JwtTest, RejectsTypOtherThanJwt) {
  for (const char* header : {R"({"alg":"ES256","typ":"JWS","kid":"k1"})",
                             R"({"alg":"ES256","typ":"jwt","kid":"k1"})",
                             R"({"alg":"ES256","typ":"","kid":"k1"})",
                             R"({"alg":"ES256","typ":1,"kid":"k1"})"}) {
    EXPECT_EQ(ReasonOfVerify(SignRaw(header, ValidPayloadJson())),
              Reason::kUnauthorized)
        << header;
  }
}

TEST_F(JwtTest, RejectsCriticalHeaderExtensions) {
  EXPECT_EQ(ReasonOfVerify(SignRaw(
                R"({"alg":"ES256","typ":"JWT","kid":"k1","crit":"exp"})",
                ValidPayloadJson())),
            Reason::kUnauthorized);
}

TEST_F(JwtTest, RejectsUnknownOrMissingKid) {
  for (const char* header : {R"({"alg":"ES256","typ":"JWT","kid":"k2"})",
                             R"({"alg":"ES256","typ":"JWT","kid":""})",
                             R"({"alg":"ES256","typ":"JWT","kid":"K1"})",
                             R"({"alg":"ES256","typ":"JWT","kid":1})",
                             R"({"alg":"ES256","typ":"JWT"})"}) {
    EXPECT_EQ(ReasonOfVerify(SignRaw(header, ValidPayloadJson())),
              Reason::kUnauthorized)
        << header;
  }
}

TEST_F(JwtTest, RejectsDuplicateHeaderParameters) {
  // A parser that kept the first "alg" would see ES256; one that kept the
  // last would see none. Neither: the header is not accepted JSON.
  const std::string token =
      SignRaw(R"({"alg":"ES256","alg":"none","typ":"JWT","kid":"k1"})",
              ValidPayloadJson());
  EXPECT_NE(ReasonOfVerify(token), Reason::kNone);
}

TEST_F(JwtTest, RejectsExpiredTokenAtTheLeewayBoundary) {
  const absl::Duration leeway = absl::Seconds(30);
  TokenClaims claims = ValidClaims();
  claims.issued_at = claims.not_before = kNow - absl::Hours(2);
  // exp <= now - leeway is expired (RFC 7519 §4.1.4).
  claims.expires_at = kNow - leeway;
  auto token = key_->Sign(claims);
  ASSERT_TRUE(token.ok());
  auto result = verifier_.Verify(*token, kNow, leeway);
  EXPECT_EQ(ReasonOf(result.status()), Reason::kUnauthorized);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("expired"));
  claims.expires_at = kNow - leeway + absl::Seconds(1);
  token = key_->Sign(claims);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verifier_.Verify(*token, kNow, leeway).ok());
  EXPECT_FALSE(verifier_.Verify(*token, kNow, absl::ZeroDuration()).ok());
}

TEST_F(JwtTest, RejectsTokenNotYetValidBeyondLeeway) {
  const absl::Duration leeway = absl::Seconds(30);
  TokenClaims claims = ValidClaims();
  claims.not_before = kNow + leeway + absl::Seconds(1);
  auto token = key_->Sign(claims);
  ASSERT_TRUE(token.ok());
  auto result = verifier_.Verify(*token, kNow, leeway);
  EXPECT_EQ(ReasonOf(result.status()), Reason::kUnauthorized);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("not yet"));
  claims.not_before = kNow + leeway;
  token = key_->Sign(claims);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(verifier_.Verify(*token, kNow, leeway).ok());
  // A negative leeway counts as none.
  EXPECT_FALSE(verifier_.Verify(*token, kNow, -absl::Hours(1)).ok());
}

TEST_F(JwtTest, RejectsWrongIssuer) {
  TokenClaims claims = ValidClaims();
  for (const char* issuer : {"keywarden2", "Keywarden", "https://iam.cloud.ibm.com"}) {
    claims.issuer = issuer;
    auto token = key_->Sign(claims);
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(ReasonOfVerify(*token), Reason::kUnauthorized) << issuer;
  }
}

TEST_F(JwtTest, RejectsEveryTamperedPayloadByte) {
  const std::string token = SignValid();
  const size_t start = token.find('.') + 1;
  const size_t end = token.rfind('.');
  for (size_t i = start; i < end; ++i) {
    for (const char replacement : {'A', 'x', '-', '_'}) {
      std::string tampered = token;
      if (tampered[i] == replacement) continue;
      tampered[i] = replacement;
      EXPECT_EQ(ReasonOfVerify(tampered), Reason::kUnauthorized) << i;
    }
    std::string flipped = token;
    flipped[i] ^= 0x01;
    EXPECT_EQ(ReasonOfVerify(flipped), Reason::kUnauthorized) << i;
  }
}

TEST_F(JwtTest, RejectsEveryTamperedSignatureByte) {
  const std::string token = SignValid();
  const size_t dot = token.rfind('.');
  const std::vector<uint8_t> sig = B64u(token.substr(dot + 1));
  for (size_t i = 0; i < sig.size(); ++i) {
    for (const uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = sig;
      bad[i] ^= mask;
      const std::string tampered =
          token.substr(0, dot + 1) + crypto::Base64UrlEncode(bad);
      EXPECT_EQ(ReasonOfVerify(tampered), Reason::kUnauthorized) << i;
    }
  }
  // And every character of the encoded segment.
  for (size_t i = dot + 1; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] ^= 0x01;
    EXPECT_EQ(ReasonOfVerify(tampered), Reason::kUnauthorized) << i;
  }
}

TEST_F(JwtTest, RejectsEveryTamperedHeaderByte) {
  const std::string token = SignValid();
  for (size_t i = 0; i < token.find('.'); ++i) {
    std::string tampered = token;
    tampered[i] ^= 0x01;
    EXPECT_THAT(ReasonOfVerify(tampered),
                AnyOf(Reason::kUnauthorized, Reason::kBearerSubExtraction))
        << i;
  }
}

TEST_F(JwtTest, RejectsMalformedSignatures) {
  const std::string token = SignValid();
  const std::string input = token.substr(0, token.rfind('.'));
  const std::vector<uint8_t> sig = B64u(token.substr(token.rfind('.') + 1));
  std::vector<std::vector<uint8_t>> bad = {
      {},
      std::vector<uint8_t>(64, 0),  // r = s = 0
      std::vector<uint8_t>(64, 0xff),
      std::vector<uint8_t>(sig.begin(), sig.end() - 1),
  };
  std::vector<uint8_t> longer = sig;
  longer.push_back(0);
  bad.push_back(longer);
  // The same signature in DER (as OpenSSL emits it) is not the JOSE form.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit_ex(ctx, nullptr, "SHA256", nullptr, nullptr,
                        private_key_.get(), nullptr);
  EVP_DigestSign(ctx, nullptr, &len, Bytes(input).data(), input.size());
  std::vector<uint8_t> der(len);
  EVP_DigestSign(ctx, der.data(), &len, Bytes(input).data(), input.size());
  EVP_MD_CTX_free(ctx);
  der.resize(len);
  bad.push_back(der);
  for (const auto& b : bad) {
    EXPECT_EQ(ReasonOfVerify(input + "." + crypto::Base64UrlEncode(b)),
              Reason::kUnauthorized)
        << b.size();
  }
}

TEST_F(JwtTest, RejectsEveryTruncation) {
  const std::string token = SignValid();
  for (size_t len = 0; len < token.size(); ++len) {
    EXPECT_NE(ReasonOfVerify(token.substr(0, len)), Reason::kNone) << len;
  }
}

TEST_F(JwtTest, NotThreeSegmentsIsNotAJwt) {
  const std::string token = SignValid();
  const std::vector<std::string> p = Split(token);
  for (const std::string& bad : {
           std::string(""), std::string("."), std::string(".."),
           std::string("..."), std::string("abc"), p[0] + "." + p[1],
           token + "." + p[2], token + ".", "." + token, token + "..x.y",
           std::string("Bearer ") + token,
       }) {
    EXPECT_EQ(ReasonOfVerify(bad), Reason::kBearerSubExtraction) << bad.size();
  }
}

TEST_F(JwtTest, PaddingCharactersAreRejected) {
  const std::vector<std::string> p = Split(SignValid());
  EXPECT_EQ(ReasonOfVerify(p[0] + "=." + p[1] + "." + p[2]),
            Reason::kBearerSubExtraction);
  EXPECT_EQ(ReasonOfVerify(p[0] + "." + p[1] + "=." + p[2]),
            Reason::kUnauthorized);
  EXPECT_EQ(ReasonOfVerify(p[0] + "." + p[1] + "." + p[2] + "=="),
            Reason::kUnauthorized);
  // Standard-alphabet base64 of the same header is not base64url.
  std::vector<uint8_t> header = B64u(p[0]);
  std::string standard = p[0];
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (standard != p[0]) {
    EXPECT_EQ(ReasonOfVerify(standard + "." + p[1] + "." + p[2]),
              Reason::kBearerSubExtraction);
  }
}

TEST_F(JwtTest, NonJsonHeaderIsNotAJwt) {
  const std::string rest = "." + Enc(ValidPayloadJson()) + ".AAAA";
  for (const char* header : {"not json", "", "[]", "\"ES256\"", "null",
                             R"({"alg":"ES256")", R"({"alg":"ES256"}x)",
                             R"({"alg":{"nested":"ES256"}})"}) {
    EXPECT_EQ(ReasonOfVerify(Enc(header) + rest), Reason::kBearerSubExtraction)
        << header;
  }
  // Bytes that are not base64url at all.
  EXPECT_EQ(ReasonOfVerify("e$J." + Enc(ValidPayloadJson()) + ".AAAA"),
            Reason::kBearerSubExtraction);
}

TEST_F(JwtTest, RejectsMalformedOrMistypedClaims) {
  const std::string valid = ValidPayloadJson();
  for (const std::string& payload : {
           std::string("not json"),
           std::string("[]"),
           std::string("{}"),
           std::string(R"({"iss":"keywarden"})"),
           // Wrong types.
           std::string(R"({"iss":"keywarden","sub":1,"iat":1767225600,)"
                       R"("nbf":1767225600,"exp":1767229200,"jti":"j",)"
                       R"("akid":"a","kind":"user"})"),
           std::string(R"({"iss":"keywarden","sub":"u","iat":1767225600,)"
                       R"("nbf":1767225600,"exp":"1767229200","jti":"j",)"
                       R"("akid":"a","kind":"user"})"),
           std::string(R"({"iss":"keywarden","sub":"u","iat":1767225600,)"
                       R"("nbf":true,"exp":1767229200,"jti":"j",)"
                       R"("akid":"a","kind":"user"})"),
           std::string(R"({"iss":"keywarden","sub":"u","iat":1767225600,)"
                       R"("nbf":1767225600,"exp":1767229200,"jti":"j",)"
                       R"("akid":"a","kind":"user","service_type":false})"),
           // Duplicate claim: one parser's iss is not another's.
           std::string(R"({"iss":"keywarden","iss":"evil","sub":"u",)"
                       R"("iat":1767225600,"nbf":1767225600,)"
                       R"("exp":1767229200,"jti":"j","akid":"a",)"
                       R"("kind":"user"})"),
           // Nested values and trailing garbage.
           std::string(R"({"iss":"keywarden","sub":"u","iat":1767225600,)"
                       R"("nbf":1767225600,"exp":1767229200,"jti":"j",)"
                       R"("akid":"a","kind":"user","aud":["x"]})"),
           valid + "x",
           valid + "{}",
       }) {
    EXPECT_EQ(ReasonOfVerify(SignPayload(payload)), Reason::kUnauthorized)
        << payload;
  }
}

TEST_F(JwtTest, RejectsEachMissingRequiredClaim) {
  for (const char* name :
       {"iss", "sub", "iat", "nbf", "exp", "jti", "akid", "kind"}) {
    auto object = jwt_json::Parse(ValidPayloadJson());
    ASSERT_TRUE(object.ok());
    jwt_json::Object without;
    for (const auto& [n, v] : object->members()) {
      if (n != name) without.Set(n, v);
    }
    EXPECT_EQ(ReasonOfVerify(SignPayload(jwt_json::Serialize(without))),
              Reason::kUnauthorized)
        << name;
  }
}

TEST_F(JwtTest, RejectsHugeNegativeAndFractionalTimes) {
  for (const char* exp : {"1e30", "100000000000000000000000000000",
                          "9223372036854775807", "253402300800",
                          "-1", "1767229200.5", "1.7672292E9"}) {
    const std::string payload =
        std::string(R"({"iss":"keywarden","sub":"u","iat":1767225600,)") +
        R"("nbf":1767225600,"exp":)" + exp +
        R"(,"jti":"j","akid":"a","kind":"user"})";
    EXPECT_EQ(ReasonOfVerify(SignPayload(payload)), Reason::kUnauthorized)
        << exp;
  }
}

TEST_F(JwtTest, RejectsOversizedTokenWithoutParsingIt) {
  const std::string token = SignValid();
  const std::string huge =
      token + std::string(TokenVerifier::kMaxTokenSize, 'A');
  EXPECT_EQ(ReasonOfVerify(huge), Reason::kUnauthorized);
}

TEST_F(JwtTest, ErrorMessagesNeverQuoteTheToken) {
  const std::string token = SignValid();
  const std::vector<std::string> p = Split(token);
  std::vector<std::string> bad = {
      token.substr(0, token.size() - 2), p[0] + "." + p[1],
      token + "x",
      SignRaw(R"({"alg":"ES256","typ":"JWT","kid":"secret-kid"})",
              ValidPayloadJson()),
  };
  for (const std::string& b : bad) {
    auto result = verifier_.Verify(b, kNow);
    ASSERT_FALSE(result.ok());
    const std::string message(result.status().message());
    for (const std::string& part : Split(b)) {
      if (part.size() >= 4) {
        EXPECT_THAT(message, Not(HasSubstr(part)));
      }
    }
    EXPECT_THAT(message, Not(HasSubstr("secret-kid")));
  }
}

TEST_F(JwtTest, RotationOldKeyVerifiesUntilRemoved) {
  const std::string old_token = SignValid();
  auto next = SigningKey::Generate("k2");
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(verifier_.AddKey("k2", next->PublicKeyDer()).ok());
  auto new_token = next->Sign(ValidClaims());
  ASSERT_TRUE(new_token.ok());
  EXPECT_TRUE(verifier_.Verify(old_token, kNow).ok());
  EXPECT_TRUE(verifier_.Verify(*new_token, kNow).ok());

  verifier_.RemoveKey("k1");
  EXPECT_EQ(ReasonOfVerify(old_token), Reason::kUnauthorized);
  EXPECT_TRUE(verifier_.Verify(*new_token, kNow).ok());
  verifier_.RemoveKey("k1");  // no-op
  verifier_.RemoveKey("k2");
  EXPECT_EQ(ReasonOfVerify(*new_token), Reason::kUnauthorized);
}

TEST_F(JwtTest, ReplacingAKidDropsTheOldKey) {
  const std::string old_token = SignValid();
  auto other = SigningKey::Generate("k1");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(verifier_.AddKey("k1", other->PublicKeyDer()).ok());
  EXPECT_EQ(ReasonOfVerify(old_token), Reason::kUnauthorized);
}

TEST_F(JwtTest, ConcurrentVerifyAndRotation) {
  const std::string token = SignValid();
  auto other = SigningKey::Generate("k2");
  ASSERT_TRUE(other.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!verifier_.Verify(token, kNow).ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(verifier_.AddKey("k2", other->PublicKeyDer()).ok());
    verifier_.RemoveKey("k2");
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace keywarden::iam
