#ifndef KEYWARDEN_IAM_JWT_H_
#define KEYWARDEN_IAM_JWT_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/secret_bytes.h"

// Access tokens: JWTs (RFC 7519) in JWS compact serialisation (RFC 7515
// §7.1) signed with ES256 (RFC 7518 §3.4: ECDSA on P-256 with SHA-256, the
// signature the 64-byte big-endian R || S). The token contract is
// docs/admin-api.md "Tokens".

namespace keywarden::iam {

// The issuer every token names and every verifier expects (RFC 7519 §4.1.1).
inline constexpr std::string_view kTokenIssuer = "keywarden";

// The claims of an access token. Times travel as NumericDate (RFC 7519 §2),
// whole seconds since the epoch; finer parts are dropped when signing.
struct TokenClaims {
  std::string issuer;        // iss
  std::string subject;       // sub: the principal id
  std::string jwt_id;        // jti
  std::string api_key_id;    // akid: the API key the token was issued for
  std::string kind;          // kind: "user" / "service_id"
  std::string service_type;  // service_type: service ids; omitted when empty
  absl::Time issued_at;      // iat
  absl::Time not_before;     // nbf
  absl::Time expires_at;     // exp
};

// A P-256 private key that signs tokens, named by `kid` (RFC 7515 §4.1.4).
// Immutable once made; copies share the key. Thread-safe.
class SigningKey {
 public:
  // A fresh key from OpenSSL's CSPRNG.
  static absl::StatusOr<SigningKey> Generate(std::string kid);
  // A key from its PKCS#8 PrivateKeyInfo DER (RFC 5208, RFC 5915); anything
  // but a P-256 EC key, or trailing bytes, is InvalidArgument.
  static absl::StatusOr<SigningKey> FromPkcs8Der(std::string kid,
                                                 std::span<const uint8_t> der);

  // The private key as PKCS#8 DER, to be sealed by the master key.
  SecretBytes Pkcs8Der() const;
  // The public key as SubjectPublicKeyInfo DER (RFC 5480), for
  // TokenVerifier::AddKey.
  std::vector<uint8_t> PublicKeyDer() const;
  const std::string& kid() const { return kid_; }

  // The compact JWS of `claims` with header {"alg":"ES256","typ":"JWT",
  // "kid":kid()}. InvalidArgument if a required claim is empty, a time is
  // before the epoch or after year 9999, or the token would be longer than
  // TokenVerifier::kMaxTokenSize.
  absl::StatusOr<std::string> Sign(const TokenClaims& claims) const;

 private:
  SigningKey(std::string kid, std::shared_ptr<EVP_PKEY> key)
      : kid_(std::move(kid)), key_(std::move(key)) {}

  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;  // never null
};

// Checks access tokens against a set of public keys by kid. Keys are added
// and removed at runtime for rotation: a retired key stays until the last
// token it signed has expired. Thread-safe; Verify takes a shared lock only
// to look the key up.
//
// Errors: a bearer value that is not a JWT at all (not three segments, or a
// header that is not base64url JSON) is Reason::kBearerSubExtraction; any
// other rejection is Reason::kUnauthorized. Messages never carry the token
// or any part of it.
class TokenVerifier {
 public:
  // The longest token Verify reads; ours are about 500 bytes.
  static constexpr size_t kMaxTokenSize = 8192;

  // Adds or replaces the key `kid`. InvalidArgument unless `public_key_der`
  // is a P-256 SubjectPublicKeyInfo.
  absl::Status AddKey(std::string_view kid,
                      std::span<const uint8_t> public_key_der);
  // Forgets `kid`; tokens it signed stop verifying. No-op if absent.
  void RemoveKey(std::string_view kid);

  // The claims of `token` if it is an ES256 JWS by a known key, its issuer
  // is kTokenIssuer, and now is inside [nbf - leeway, exp + leeway)
  // (RFC 7519 §4.1.4, §4.1.5).
  absl::StatusOr<TokenClaims> Verify(
      std::string_view token, absl::Time now,
      absl::Duration leeway = absl::Seconds(30)) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<EVP_PKEY>> keys_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_JWT_H_
