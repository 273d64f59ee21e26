#ifndef KEYWARDEN_SERVICE_TOKEN_ISSUER_H_
#define KEYWARDEN_SERVICE_TOKEN_ISSUER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/throttle.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/signing_keys.h"
#include "keywarden/store/identity_store.h"

namespace keywarden::service {

// A request for an access token in exchange for an API key. The transport
// decodes it (the Key Protect API from the IAM token form,
// api/keyprotect/token_form.h) and checks what its wire form requires.
struct TokenRequest {
  SecretBytes api_key;  // the whole API key text
};

// An access token and when it expires.
struct TokenGrant {
  std::string access_token;
  absl::Time expiration;
  int64_t expires_in = 0;  // seconds: the token lifetime
};

// TokenIssuer exchanges API keys for access tokens: it checks the key
// against the AccessIndex (by its public prefix, then its hash in constant
// time), throttles failures per key prefix and per source address
// (docs/admin-api.md: 429 with the wait), audits failures, and signs an
// ES256 JWT with the SigningKeySet's current key. Checking tokens is
// TokenAuthenticator's; administering API keys is IdentityManager's.
//
// Thread-safe. `store` (for audit records), `access`, `signing_keys` and
// `clock` outlive it.
class TokenIssuer {
 public:
  TokenIssuer(store::IdentityStore* store, const iam::AccessIndex* access,
              SigningKeySet* signing_keys, const Clock* clock,
              TokenOptions options);
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  // Refuses (kTooManyRequests) a source address that has failed too often,
  // before its request is read. IssueToken checks it too; a transport calls
  // this first so that a throttled address is told to wait whatever it
  // sends.
  absl::Status AdmitSource(const RequestContext& ctx) const;

  // A token for the API key in `req`. kBadRequest for an empty key,
  // kUnauthorized for an unknown or revoked one, kTooManyRequests (with the
  // wait, see RetryAfterOf) while its prefix or the source is throttled.
  absl::StatusOr<TokenGrant> IssueToken(const RequestContext& ctx,
                                        const TokenRequest& req);

  // The wait a throttled caller was told, for Retry-After.
  static std::optional<absl::Duration> RetryAfterOf(const absl::Status& s);

 private:
  store::IdentityStore* store_;
  const iam::AccessIndex* access_;
  SigningKeySet* signing_keys_;
  const Clock* clock_;
  const absl::Duration token_lifetime_;

  iam::FailureThrottle prefix_throttle_;
  iam::FailureThrottle address_throttle_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_TOKEN_ISSUER_H_
