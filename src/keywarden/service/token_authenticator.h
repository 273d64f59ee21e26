#ifndef KEYWARDEN_SERVICE_TOKEN_AUTHENTICATOR_H_
#define KEYWARDEN_SERVICE_TOKEN_AUTHENTICATOR_H_

#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/service/signing_keys.h"

namespace keywarden::service {

// The bootstrap administrator token, known by its SHA-256 only, and whether
// it has been retired. IdentityManager sets it at start and revokes it (for
// good: revocation only goes one way); TokenAuthenticator honours it. Set()
// happens before requests are served; the revocation flag is atomic.
class BootstrapToken {
 public:
  // The principal the token authenticates: the first administrator.
  static constexpr std::string_view kPrincipalId = "user-admin";

  void Set(const iam::TokenHash& hash, bool revoked) {
    hash_ = hash;
    revoked_.store(revoked, std::memory_order_release);
  }
  void Revoke() { revoked_.store(true, std::memory_order_release); }
  // Whether `hash` is the token's and it still works. Constant time in the
  // hash.
  bool Accepts(const iam::TokenHash& hash) const;

 private:
  iam::TokenHash hash_{};
  std::atomic<bool> revoked_{false};
};

// TokenAuthenticator checks the bearer token of every authenticated request:
// the bootstrap token, or a JWT signed by one of the SigningKeySet's keys.
// Verified JWTs are cached by hash until they expire, with the principal
// they resolved to at the AccessIndex generation of the check, and each
// thread also keeps the last token it checked; any index change resolves a
// cached token again, so a revoked API key or principal loses its tokens on
// the next request. This is the data plane's hot path: a repeated token
// costs one constant-time comparison (docs/architecture.md "Identity").
//
// Client certificates and Unix peers name no principal here (KMIP binds
// certificates to adapters, not to principals): Unauthorized.
//
// Thread-safe. `bootstrap`, `access`, `signing_keys` and `clock` outlive it.
class TokenAuthenticator final : public iam::Authenticator {
 public:
  TokenAuthenticator(const BootstrapToken* bootstrap,
                     const iam::AccessIndex* access,
                     const SigningKeySet* signing_keys, const Clock* clock,
                     TokenOptions options);
  ~TokenAuthenticator() override;

  absl::StatusOr<iam::Principal> Authenticate(
      const iam::Credential& credential) const override;

 private:
  struct CachedToken {
    std::string principal_id;
    std::string api_key_id;
    absl::Time expires_at;
    // The principal as resolved at index generation `generation`; valid
    // while the index has not changed since (any change re-resolves, so
    // revocation still takes effect on the next request).
    uint64_t generation = 0;
    std::optional<iam::Principal> principal;
  };
  struct TokenHashHasher {
    size_t operator()(const iam::TokenHash& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof v);  // already uniformly distributed
      return v;
    }
  };

  std::optional<iam::Principal> LastTokenOfThisThread(
      std::string_view token) const;
  void RememberTokenOfThisThread(std::string_view token, uint64_t generation,
                                 absl::Time expires_at,
                                 const iam::Principal& p) const;
  absl::StatusOr<iam::Principal> AuthenticateJwt(
      std::string_view token, const iam::TokenHash& hash) const;

  const BootstrapToken* bootstrap_;
  const iam::AccessIndex* access_;
  const SigningKeySet* signing_keys_;
  const Clock* clock_;
  const size_t cache_capacity_;

  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<iam::TokenHash, CachedToken, TokenHashHasher>
      token_cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_TOKEN_AUTHENTICATOR_H_
