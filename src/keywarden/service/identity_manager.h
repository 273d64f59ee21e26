#ifndef KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_
#define KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

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

// IdentityManager administers identity and access: principals, API keys,
// instances, access policies, service authorizations, the bootstrap token's
// revocation and the audit log (docs/admin-api.md). Every change is written
// to the IdentityStore with its audit record in one transaction and then
// applied to the AccessIndex, which KeyManager and TokenAuthenticator
// consult; so a revoked API key, principal, policy or authorization stops
// working on the next request. Issuing tokens is TokenIssuer's and checking
// them TokenAuthenticator's. Thread-safe.
class IdentityManager final {
 public:
  // `meta` keeps whether the bootstrap token was revoked (the same database
  // as `store` in the server). `bootstrap` is shared with the
  // TokenAuthenticator, which honours it.
  IdentityManager(store::IdentityStore* store, store::Store* meta,
                  iam::AccessIndex* access, BootstrapToken* bootstrap,
                  const Clock* clock);
  ~IdentityManager();

  // Loads every record into the index, sets the bootstrap token (and
  // whether it was revoked) and makes sure the first administrator
  // `user-admin` exists. `admin_api_key` (KEYWARDEN_ADMIN_APIKEY) becomes
  // that user's API key if it has none.
  absl::Status Start(const iam::TokenHash& bootstrap_token_hash,
                     std::optional<std::string> admin_api_key);

  // Another node changed identity records in the shared store: reloads
  // every principal, API key, instance, policy and authorization and the
  // bootstrap token's revocation, replacing the index in one step (so
  // cached tokens are resolved again). A change this node applies while
  // the reload reads makes it read again, so it never undoes one.
  absl::Status Reload();

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

  static constexpr std::string_view kAdminUserId = BootstrapToken::kPrincipalId;

 private:
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

  store::IdentityStore* store_;
  store::Store* meta_;
  iam::AccessIndex* access_;
  BootstrapToken* bootstrap_;
  const Clock* clock_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_IDENTITY_MANAGER_H_
