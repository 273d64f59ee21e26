#ifndef KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_
#define KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_

#include <atomic>
#include <cstring>
#include <span>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/iam/jwt.h"
#include "keywarden/iam/throttle.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/request_context.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

struct IdentityOptions {
  absl::Duration token_lifetime = absl::Hours(1);
  // A signing key signs for this long, then a new one takes over; the old
  // one verifies until its last token expires.
  absl::Duration signing_key_lifetime = absl::Hours(24 * 30);
  size_t token_cache_capacity = 100000;
};

// What POST /identity/token answers.
struct TokenGrant {
  std::string access_token;
  absl::Time expiration;
  int64_t expires_in = 0;
};

struct NewApiKey {
  iam::ApiKeyRecord record;
  std::string secret;  // the whole API key text; shown once
};

struct PolicyRequest {
  std::string principal_id;
  iam::Scope scope;
  std::vector<std::string> roles;
};

struct AuthorizationRequest {
  std::string source_service_id;
  std::string source_service_type;
  iam::Scope target;
  std::optional<std::string> role;  // default Reader
};

// IdentityManager owns identity and access: it authenticates every request
// (bootstrap token or a JWT it issued, verified once and then cached by
// hash), issues tokens for API keys, and runs the admin API. Every change
// is written to the IdentityStore with its audit record in one transaction
// and then applied to the AccessIndex, which KeyManager consults; so a
// revoked API key, principal, policy or authorization stops working on the
// next request. Thread-safe.
class IdentityManager final : public iam::Authenticator {
 public:
  // `meta` keeps whether the bootstrap token was revoked (the same database
  // as `store` in the server).
  IdentityManager(store::IdentityStore* store, store::Store* meta,
                  iam::AccessIndex* access, const seal::MasterKey* master_key,
                  const Clock* clock, IdentityOptions options);
  ~IdentityManager() override;

  // Loads every record into the index, prepares the signing keys and makes
  // sure the first administrator `user-admin` exists. `admin_api_key`
  // (KEYWARDEN_ADMIN_APIKEY) becomes that user's API key if it has none.
  absl::Status Start(const iam::TokenHash& bootstrap_token_hash,
                     std::optional<std::string> admin_api_key);

  // Forgets the unsealed signing key (the server was sealed); the next
  // token issued unseals it again from the store.
  void DropSigningKey();

  // Another node changed identity records in the shared store: reloads
  // every principal, API key, instance, policy and authorization and the
  // bootstrap token's revocation, replacing the index in one step (so
  // cached tokens are resolved again). A change this node applies while
  // the reload reads makes it read again, so it never undoes one.
  absl::Status Reload();
  // Another node added or retired signing keys: the verifier learns their
  // public keys, so tokens that node issues verify here.
  absl::Status ReloadSigningKeys();

  // iam::Authenticator:
  // A bearer token: the bootstrap token or a JWT this service issued.
  // Client certificates and Unix peers name no principal here (KMIP binds
  // certificates to adapters, not to principals): Unauthorized.
  absl::StatusOr<iam::Principal> Authenticate(
      const iam::Credential& credential) const override;

  // POST /identity/token with its form body. Throttles failures per API key
  // prefix and per source address (429 with the wait in the status).
  absl::StatusOr<TokenGrant> IssueToken(const RequestContext& ctx,
                                        std::string_view form_body);
  // The wait a throttled caller was told, for Retry-After.
  static std::optional<absl::Duration> RetryAfterOf(const absl::Status& s);

  // Records a failed authentication of `ctx` (no principal) in the audit.
  void RecordAuthFailure(const RequestContext& ctx, std::string_view why);

  absl::StatusOr<iam::PrincipalRecord> CreatePrincipal(
      const RequestContext& ctx, iam::PrincipalKind kind, std::string name,
      std::string service_type, bool admin);
  absl::StatusOr<std::vector<iam::PrincipalRecord>> ListPrincipals(
      const RequestContext& ctx, std::optional<iam::PrincipalKind> kind);
  absl::Status DeletePrincipal(const RequestContext& ctx, std::string_view id);

  absl::StatusOr<NewApiKey> CreateApiKey(const RequestContext& ctx,
                                         std::string principal_id,
                                         std::string name);
  absl::StatusOr<std::vector<iam::ApiKeyRecord>> ListApiKeys(
      const RequestContext& ctx, std::optional<std::string> principal_id);
  absl::Status DeleteApiKey(const RequestContext& ctx, std::string_view id);

  absl::StatusOr<iam::InstanceRecord> CreateInstance(const RequestContext& ctx,
                                                     std::string name);
  absl::StatusOr<std::vector<iam::InstanceRecord>> ListInstances(
      const RequestContext& ctx);
  absl::Status DeleteInstance(const RequestContext& ctx, std::string_view id);

  absl::StatusOr<iam::AccessPolicyRecord> CreatePolicy(
      const RequestContext& ctx, PolicyRequest req);
  absl::StatusOr<std::vector<iam::AccessPolicyRecord>> ListPolicies(
      const RequestContext& ctx, std::optional<std::string> instance_id,
      std::optional<std::string> principal_id);
  absl::Status DeletePolicy(const RequestContext& ctx, std::string_view id);

  absl::StatusOr<iam::ServiceAuthorizationRecord> CreateAuthorization(
      const RequestContext& ctx, AuthorizationRequest req);
  absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
  ListAuthorizations(const RequestContext& ctx,
                     std::optional<std::string> instance_id);
  absl::Status DeleteAuthorization(const RequestContext& ctx,
                                   std::string_view id);

  // Retires the bootstrap admin token for good (DELETE
  // /admin/v1/bootstrap_token). Refused (409) while no administrator holds
  // an API key, which would leave the deployment without an administrator.
  absl::Status RevokeBootstrapToken(const RequestContext& ctx);

  absl::StatusOr<std::vector<iam::AuditRecord>> ListAudit(
      const RequestContext& ctx, int64_t after_seq, int64_t limit);

  static constexpr std::string_view kAdminUserId = "user-admin";

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

  // Puts every stored identity record into `index`.
  absl::Status LoadInto(iam::AccessIndex& index);
  absl::Status RequireAdmin(const RequestContext& ctx) const;
  // Who may manage grants (docs/admin-api.md): administrators anything in
  // an existing instance; anyone else only inside the scopes where an access
  // policy makes it Manager, and only roles it holds there itself, never
  // KeyPurge. Service authorizations never count.
  absl::Status RequireGrantor(const RequestContext& ctx,
                              const iam::Scope& scope,
                              std::span<const iam::Role> roles) const;
  // Whether the caller manages grants anywhere in `instance_id`.
  bool ManagesIn(const RequestContext& ctx, std::string_view instance_id) const;
  bool ManagesAnyInstance(const RequestContext& ctx) const;
  iam::AuditRecord Audit(const RequestContext& ctx, std::string action,
                         std::string target, std::string details = {}) const;
  absl::Status ValidateScope(const iam::Scope& scope) const;
  // The signing key to use now, rotating it when its time is up.
  absl::StatusOr<std::shared_ptr<const iam::SigningKey>> CurrentSigningKey();
  // Loads the verification keys and unseals the current signing key,
  // creating one if none is current.
  absl::Status LoadSigningKeys(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(signing_mu_);
  absl::Status CreateSigningKey(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(signing_mu_);
  std::optional<iam::Principal> LastTokenOfThisThread(
      std::string_view token) const;
  void RememberTokenOfThisThread(std::string_view token, uint64_t generation,
                                 absl::Time expires_at,
                                 const iam::Principal& p) const;
  absl::StatusOr<iam::Principal> AuthenticateJwt(std::string_view token,
                                                 const iam::TokenHash& hash) const;

  store::IdentityStore* store_;
  store::Store* meta_;
  iam::AccessIndex* access_;
  const seal::MasterKey* master_key_;
  const Clock* clock_;
  IdentityOptions options_;
  iam::TokenHash bootstrap_token_hash_{};
  std::atomic<bool> bootstrap_revoked_{false};

  iam::TokenVerifier verifier_;
  absl::Mutex signing_mu_;
  std::shared_ptr<const iam::SigningKey> signing_key_
      ABSL_GUARDED_BY(signing_mu_);
  absl::Time signing_key_retire_ ABSL_GUARDED_BY(signing_mu_);

  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<iam::TokenHash, CachedToken, TokenHashHasher>
      token_cache_ ABSL_GUARDED_BY(cache_mu_);

  iam::FailureThrottle prefix_throttle_;
  iam::FailureThrottle address_throttle_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_
