#include "keywarden/iam/jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/iam/jwt_json.h"

namespace keywarden::iam {
namespace {

// RFC 7518 §3.4: an ES256 signature is R and S, each as a 32-byte
// big-endian integer (the P-256 group order is 256 bits).
constexpr size_t kCoordinateSize = 32;
constexpr size_t kJoseSignatureSize = 2 * kCoordinateSize;
constexpr std::string_view kAlgorithm = "ES256";
// The largest NumericDate accepted: 9999-12-31T23:59:59Z. Keeps absl::Time
// arithmetic finite and the claims printable as RFC 3339.
constexpr int64_t kMaxNumericDate = 253402300799;
// DER private keys and SPKIs of P-256 are ~140 and 91 bytes.
constexpr size_t kMaxKeyDerSize = 4096;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct P8Free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const {
    // The ASN.1 callbacks of PKCS8_PRIV_KEY_INFO clear the key octets.
    PKCS8_PRIV_KEY_INFO_free(p);
  }
};

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p) {
  return std::shared_ptr<EVP_PKEY>(p, PkeyFree());
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// True for an EC key on P-256 (secp256r1, RFC 5480 §2.1.1.1).
bool IsP256(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1) return false;
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1) {
    return false;
  }
  const std::string_view group(name, len);
  return group == "prime256v1" || group == "P-256";
}

absl::Status Unauthorized(std::string_view message) {
  return Error(Reason::kUnauthorized, message);
}

absl::Status NotAJwt() {
  return Error(Reason::kBearerSubExtraction, "bearer token is not a JWT");
}

absl::Status ValidateClaimsForSigning(const TokenClaims& claims) {
  const std::pair<std::string_view, const std::string*> required[] = {
      {"issuer", &claims.issuer},       {"subject", &claims.subject},
      {"jwt_id", &claims.jwt_id},       {"api_key_id", &claims.api_key_id},
      {"kind", &claims.kind},
  };
  for (const auto& [name, value] : required) {
    if (value->empty()) {
      return absl::InvalidArgumentError(StrCat("token claim ", name,
                                               " is empty"));
    }
  }
  for (const absl::Time t :
       {claims.issued_at, claims.not_before, claims.expires_at}) {
    if (t < absl::UnixEpoch() || t > absl::FromUnixSeconds(kMaxNumericDate)) {
      return absl::InvalidArgumentError("token time is out of range");
    }
  }
  return absl::OkStatus();
}

// RFC 7515 §3.1 / §5.1: BASE64URL(header) "." BASE64URL(payload).
std::string SigningInput(const jwt_json::Object& header,
                         const jwt_json::Object& payload) {
  return StrCat(crypto::Base64UrlEncode(Bytes(jwt_json::Serialize(header))),
                ".",
                crypto::Base64UrlEncode(Bytes(jwt_json::Serialize(payload))));
}

// RFC 7518 §3.4: the JOSE form of an ECDSA signature is R || S, not the DER
// ECDSA-Sig-Value OpenSSL produces and consumes.
absl::StatusOr<std::vector<uint8_t>> DerToJose(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr || p != der.data() + der.size()) {
    return absl::InternalError("ECDSA signature is not DER");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::vector<uint8_t> out(kJoseSignatureSize);
  if (BN_bn2binpad(r, out.data(), kCoordinateSize) != kCoordinateSize ||
      BN_bn2binpad(s, out.data() + kCoordinateSize, kCoordinateSize) !=
          kCoordinateSize) {
    return absl::InternalError("ECDSA signature does not fit ES256");
  }
  return out;
}

// The DER ECDSA-Sig-Value of a 64-byte JOSE signature, or empty if the
// conversion fails (the caller treats that as a bad signature).
std::vector<uint8_t> JoseToDer(std::span<const uint8_t> jose) {
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (sig == nullptr) return {};
  BIGNUM* r = BN_bin2bn(jose.data(), kCoordinateSize, nullptr);
  BIGNUM* s = BN_bin2bn(jose.data() + kCoordinateSize, kCoordinateSize, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

bool VerifyEs256(EVP_PKEY* key, std::string_view signing_input,
                 std::span<const uint8_t> jose_signature) {
  if (jose_signature.size() != kJoseSignatureSize) return false;
  const std::vector<uint8_t> der = JoseToDer(jose_signature);
  if (der.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr,
                              key, nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(
             ctx.get(), der.data(), der.size(),
             reinterpret_cast<const unsigned char*>(signing_input.data()),
             signing_input.size()) == 1;
}

const std::string* StringMember(const jwt_json::Object& object,
                                std::string_view name) {
  const jwt_json::Value* v = object.Find(name);
  return v == nullptr ? nullptr : std::get_if<std::string>(v);
}

// A NumericDate claim (RFC 7519 §2); integers only, as we issue them.
bool TimeMember(const jwt_json::Object& object, std::string_view name,
                absl::Time* out) {
  const jwt_json::Value* v = object.Find(name);
  const int64_t* n = v == nullptr ? nullptr : std::get_if<int64_t>(v);
  if (n == nullptr || *n < 0 || *n > kMaxNumericDate) return false;
  *out = absl::FromUnixSeconds(*n);
  return true;
}

absl::StatusOr<TokenClaims> ClaimsFromPayload(std::string_view segment) {
  // The payload is authenticated by now, but it is still parsed strictly.
  auto bytes = crypto::Base64UrlDecode(segment);
  if (!bytes.ok()) return Unauthorized("token claims are malformed");
  auto object = jwt_json::Parse(std::string_view(
      reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  if (!object.ok()) return Unauthorized("token claims are malformed");
  TokenClaims claims;
  const std::pair<std::string_view, std::string*> strings[] = {
      {"iss", &claims.issuer},     {"sub", &claims.subject},
      {"jti", &claims.jwt_id},     {"akid", &claims.api_key_id},
      {"kind", &claims.kind},
  };
  for (const auto& [name, field] : strings) {
    const std::string* value = StringMember(*object, name);
    if (value == nullptr || value->empty()) {
      return Unauthorized("token claims are malformed");
    }
    *field = *value;
  }
  if (const jwt_json::Value* v = object->Find("service_type"); v != nullptr) {
    const std::string* s = std::get_if<std::string>(v);
    if (s == nullptr) return Unauthorized("token claims are malformed");
    claims.service_type = *s;
  }
  if (!TimeMember(*object, "iat", &claims.issued_at) ||
      !TimeMember(*object, "nbf", &claims.not_before) ||
      !TimeMember(*object, "exp", &claims.expires_at)) {
    return Unauthorized("token claims are malformed");
  }
  return claims;
}

}  // namespace

absl::StatusOr<SigningKey> SigningKey::Generate(std::string kid) {
  if (kid.empty()) return absl::InvalidArgumentError("kid is empty");
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return absl::InternalError("P-256 key generation failed");
  return SigningKey(std::move(kid), Share(key));
}

absl::StatusOr<SigningKey> SigningKey::FromPkcs8Der(
    std::string kid, std::span<const uint8_t> der) {
  if (kid.empty()) return absl::InvalidArgumentError("kid is empty");
  if (der.empty() || der.size() > kMaxKeyDerSize) {
    return absl::InvalidArgumentError("signing key is not PKCS#8 DER");
  }
  const unsigned char* p = der.data();
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, P8Free> p8(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (p8 == nullptr || p != der.data() + der.size()) {
    return absl::InvalidArgumentError("signing key is not PKCS#8 DER");
  }
  std::shared_ptr<EVP_PKEY> key = Share(EVP_PKCS82PKEY(p8.get()));
  if (!IsP256(key.get())) {
    return absl::InvalidArgumentError("signing key is not a P-256 key");
  }
  // The public point, derived or stored, must match the private scalar.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr);
  const bool consistent =
      check != nullptr && EVP_PKEY_pairwise_check(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!consistent) {
    return absl::InvalidArgumentError("signing key is inconsistent");
  }
  return SigningKey(std::move(kid), std::move(key));
}

SecretBytes SigningKey::Pkcs8Der() const {
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, P8Free> p8(EVP_PKEY2PKCS8(key_.get()));
  const int len = p8 == nullptr ? -1 : i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  // Encoding a valid in-memory key fails only when allocation does.
  if (len <= 0) std::abort();
  SecretBytes out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &p) != len) std::abort();
  return out;
}

std::vector<uint8_t> SigningKey::PublicKeyDer() const {
  const int len = i2d_PUBKEY(key_.get(), nullptr);
  if (len <= 0) std::abort();  // as in Pkcs8Der
  std::vector<uint8_t> out(static_cast<size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(key_.get(), &p) != len) std::abort();
  return out;
}

absl::StatusOr<std::string> SigningKey::Sign(const TokenClaims& claims) const {
  KW_RETURN_IF_ERROR(ValidateClaimsForSigning(claims));
  // RFC 7515 §4.1.1, §4.1.4, §4.1.9 (and RFC 7519 §5.1 for "typ").
  jwt_json::Object header;
  header.Set("alg", std::string(kAlgorithm));
  header.Set("typ", std::string("JWT"));
  header.Set("kid", kid_);
  // RFC 7519 §4.1 registered claims, then ours (docs/admin-api.md).
  jwt_json::Object payload;
  payload.Set("iss", claims.issuer);
  payload.Set("sub", claims.subject);
  payload.Set("iat", absl::ToUnixSeconds(claims.issued_at));
  payload.Set("nbf", absl::ToUnixSeconds(claims.not_before));
  payload.Set("exp", absl::ToUnixSeconds(claims.expires_at));
  payload.Set("jti", claims.jwt_id);
  payload.Set("akid", claims.api_key_id);
  payload.Set("kind", claims.kind);
  if (!claims.service_type.empty()) {
    payload.Set("service_type", claims.service_type);
  }
  std::string token = SigningInput(header, payload);

  // RFC 7518 §3.4: ECDSA P-256 over SHA-256 of the signing input.
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr,
                            key_.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len,
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size()) != 1) {
    return absl::InternalError("ES256 signing failed");
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len,
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size()) != 1) {
    return absl::InternalError("ES256 signing failed");
  }
  der.resize(der_len);
  KW_ASSIGN_OR_RETURN(std::vector<uint8_t> jose, DerToJose(der));
  StrAppend(&token, ".", crypto::Base64UrlEncode(jose));
  // A token no verifier would read is a caller error, not a token.
  if (token.size() > TokenVerifier::kMaxTokenSize) {
    return absl::InvalidArgumentError("token claims are too long");
  }
  return token;
}

absl::Status TokenVerifier::AddKey(std::string_view kid,
                                   std::span<const uint8_t> public_key_der) {
  if (kid.empty()) return absl::InvalidArgumentError("kid is empty");
  if (public_key_der.empty() || public_key_der.size() > kMaxKeyDerSize) {
    return absl::InvalidArgumentError("public key is not SPKI DER");
  }
  const unsigned char* p = public_key_der.data();
  std::shared_ptr<EVP_PKEY> key = Share(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size())));
  if (key == nullptr || p != public_key_der.data() + public_key_der.size()) {
    return absl::InvalidArgumentError("public key is not SPKI DER");
  }
  if (!IsP256(key.get())) {
    return absl::InvalidArgumentError("public key is not a P-256 key");
  }
  absl::MutexLock lock(&mu_);
  keys_[std::string(kid)] = std::move(key);
  return absl::OkStatus();
}

void TokenVerifier::RemoveKey(std::string_view kid) {
  absl::MutexLock lock(&mu_);
  keys_.erase(std::string(kid));
}

absl::StatusOr<TokenClaims> TokenVerifier::Verify(
    std::string_view token, absl::Time now, absl::Duration leeway) const {
  if (token.size() > kMaxTokenSize) return Unauthorized("token is too long");
  // RFC 7515 §7.1: header "." payload "." signature; anything else (a JWE's
  // five parts included) is not a token of ours.
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return NotAJwt();
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return NotAJwt();
  }
  const std::string_view header_segment = token.substr(0, dot1);
  const std::string_view payload_segment =
      token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_segment = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  auto header_bytes = crypto::Base64UrlDecode(header_segment);
  if (!header_bytes.ok()) return NotAJwt();
  auto header = jwt_json::Parse(std::string_view(
      reinterpret_cast<const char*>(header_bytes->data()),
      header_bytes->size()));
  if (!header.ok()) return NotAJwt();

  // RFC 8725 §3.1: the algorithm is fixed by the verifier, never taken from
  // the token; "none", HMAC and other curves are all refused here.
  const std::string* alg = StringMember(*header, "alg");
  if (alg == nullptr || *alg != kAlgorithm) {
    return Unauthorized("token algorithm is not ES256");
  }
  // RFC 7519 §5.1: "typ" is optional; if present it must say JWT.
  if (const jwt_json::Value* typ = header->Find("typ"); typ != nullptr) {
    const std::string* s = std::get_if<std::string>(typ);
    if (s == nullptr || *s != "JWT") return Unauthorized("token type is not JWT");
  }
  // RFC 7515 §4.1.11: we understand no extensions, so "crit" is fatal.
  if (header->Find("crit") != nullptr) {
    return Unauthorized("token has critical header extensions");
  }
  const std::string* kid = StringMember(*header, "kid");
  if (kid == nullptr) return Unauthorized("token names no signing key");

  std::shared_ptr<EVP_PKEY> key;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = keys_.find(*kid);
    if (it != keys_.end()) key = it->second;
  }
  if (key == nullptr) return Unauthorized("token signing key is unknown");

  // RFC 7515 §5.2 steps 5-8: the signature covers the segments as sent.
  auto signature = crypto::Base64UrlDecode(signature_segment);
  if (!signature.ok() || !VerifyEs256(key.get(), signing_input, *signature)) {
    return Unauthorized("token signature is invalid");
  }

  KW_ASSIGN_OR_RETURN(TokenClaims claims, ClaimsFromPayload(payload_segment));
  // RFC 7519 §4.1.1: only our own tokens.
  if (claims.issuer != kTokenIssuer) return Unauthorized("token issuer is wrong");
  if (leeway < absl::ZeroDuration()) leeway = absl::ZeroDuration();
  // RFC 7519 §4.1.4: not accepted on or after exp (allowing for skew).
  if (claims.expires_at <= now - leeway) return Unauthorized("token has expired");
  // RFC 7519 §4.1.5: not accepted before nbf (allowing for skew).
  if (claims.not_before > now + leeway) {
    return Unauthorized("token is not yet valid");
  }
  return claims;
}

}  // namespace keywarden::iam
