#include "keywarden/service/identity_manager.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/iam/api_key.h"
#include "keywarden/service/audit.h"

namespace keywarden::service {
namespace {

using iam::PrincipalKind;

constexpr size_t kMaxNameLength = 100;
constexpr std::string_view kBootstrapRevokedMeta = "admin_token_revoked";

absl::Status Forbidden() {
  return Error(Reason::kForbidden,
               "Forbidden: Your access token is not authorized to access this "
               "resource");
}

absl::Status BadRequest(std::string_view message,
                        std::optional<std::string_view> field = std::nullopt) {
  return Error(Reason::kBadRequest, StrCat("Bad Request: ", message), field);
}

absl::Status NotFound(std::string_view what, std::string_view id) {
  return Error(Reason::kNotFound,
               StrCat("Not Found: ", what, " `", id, "` does not exist"));
}

absl::Status ValidateName(std::string_view name, std::string_view field) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return BadRequest(StrCat("`", field, "` must be 1 to ", kMaxNameLength,
                             " characters"),
                      field);
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return BadRequest(StrCat("`", field, "` must not contain control "
                               "characters"),
                        field);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceType(std::string_view type) {
  if (type.size() > 64) return BadRequest("`serviceType` is too long");
  for (unsigned char c : type) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return BadRequest(
          "`serviceType` must be lower-case letters, digits and '-'",
          "serviceType");
    }
  }
  return absl::OkStatus();
}

std::string FormatRfc3339Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

IdentityManager::IdentityManager(store::IdentityStore* store,
                                 store::Store* meta, iam::AccessIndex* access,
                                 BootstrapToken* bootstrap, const Clock* clock)
    : store_(store),
      meta_(meta),
      access_(access),
      bootstrap_(bootstrap),
      clock_(clock) {}

IdentityManager::~IdentityManager() = default;

iam::AuditRecord IdentityManager::Audit(const RequestContext& ctx,
                                        std::string action, std::string target,
                                        std::string details) const {
  return MakeAudit(ctx, clock_->Now(), std::move(action), std::move(target),
                   std::move(details));
}

absl::Status IdentityManager::Start(const iam::TokenHash& bootstrap_token_hash,
                                    std::optional<std::string> admin_api_key) {
  KW_ASSIGN_OR_RETURN(std::optional<std::string> revoked,
                      meta_->GetMeta(kBootstrapRevokedMeta));
  bootstrap_->Set(bootstrap_token_hash, revoked.has_value());
  KW_RETURN_IF_ERROR(LoadInto(*access_));

  RequestContext system;
  system.principal = {"system", true};
  system.correlation_id = "startup";
  if (!access_->FindPrincipal(kAdminUserId).has_value()) {
    iam::PrincipalRecord admin;
    admin.id = std::string(kAdminUserId);
    admin.kind = PrincipalKind::kUser;
    admin.name = "admin";
    admin.admin = true;
    admin.creation_time = clock_->Now();
    admin.created_by = "system";
    KW_RETURN_IF_ERROR(store_->CreatePrincipal(
        admin, Audit(system, "iam.principal.create",
                     StrCat("principal:", kAdminUserId),
                     "first administrator")));
    access_->PutPrincipal(admin);
  }
  if (admin_api_key.has_value() && !admin_api_key->empty()) {
    bool has_key = false;
    for (const auto& k : access_->ApiKeys()) {
      if (k.principal_id == kAdminUserId) has_key = true;
    }
    if (!has_key) {
      if (admin_api_key->size() < 32) {
        return absl::InvalidArgumentError(
            "KEYWARDEN_ADMIN_APIKEY must be at least 32 characters");
      }
      iam::ParsedApiKey parsed = iam::ParseAnyApiKey(*admin_api_key);
      iam::ApiKeyRecord key;
      key.id = NewUuid();
      key.principal_id = std::string(kAdminUserId);
      key.name = "bootstrap";
      key.prefix = parsed.prefix;
      key.secret_hash = parsed.hash;
      key.creation_time = clock_->Now();
      key.created_by = "system";
      KW_RETURN_IF_ERROR(store_->CreateApiKey(
          key, Audit(system, "iam.apikey.create", StrCat("apikey:", key.id),
                     "from KEYWARDEN_ADMIN_APIKEY")));
      access_->PutApiKey(key);
    }
  }
  return absl::OkStatus();
}

absl::Status IdentityManager::LoadInto(iam::AccessIndex& index) {
  KW_ASSIGN_OR_RETURN(auto principals, store_->ListPrincipals());
  for (auto& p : principals) index.PutPrincipal(std::move(p));
  KW_ASSIGN_OR_RETURN(auto keys, store_->ListApiKeys());
  for (auto& k : keys) index.PutApiKey(std::move(k));
  KW_ASSIGN_OR_RETURN(auto instances, store_->ListInstances());
  for (auto& i : instances) index.PutInstance(std::move(i));
  KW_ASSIGN_OR_RETURN(auto policies, store_->ListPolicies());
  for (auto& p : policies) index.PutPolicy(std::move(p));
  KW_ASSIGN_OR_RETURN(auto authorizations, store_->ListAuthorizations());
  for (auto& a : authorizations) index.PutAuthorization(std::move(a));
  return absl::OkStatus();
}

absl::Status IdentityManager::Reload() {
  // Revocation only ever goes one way.
  KW_ASSIGN_OR_RETURN(std::optional<std::string> revoked,
                      meta_->GetMeta(kBootstrapRevokedMeta));
  if (revoked.has_value()) {
    bootstrap_->Revoke();
  }
  // A local change bumps the generation after its commit: a reload that
  // overlapped one reads again rather than put back what it replaced.
  for (int attempt = 0;; ++attempt) {
    const uint64_t before = access_->generation();
    iam::AccessIndex fresh;
    KW_RETURN_IF_ERROR(LoadInto(fresh));
    if (access_->ReplaceIfUnchanged(before, fresh)) return absl::OkStatus();
    if (attempt == 8) {
      return absl::AbortedError("identity reload kept racing local changes");
    }
  }
}

void IdentityManager::RecordAuthFailure(const RequestContext& ctx,
                                        std::string_view why) {
  iam::AuditRecord r = Audit(ctx, "auth.failure", "", std::string(why));
  r.outcome = iam::AuditOutcome::kFailure;
  (void)store_->AppendAudit(r);
}

absl::Status IdentityManager::RequireAdmin(const RequestContext& ctx) const {
  return ctx.principal.is_admin ? absl::OkStatus() : Forbidden();
}

absl::Status IdentityManager::RequireGrantor(
    const RequestContext& ctx, const iam::Scope& scope,
    std::span<const iam::Role> roles) const {
  if (ctx.principal.is_admin) {
    return access_->InstanceExists(scope.instance_id) ? absl::OkStatus()
                                                      : Forbidden();
  }
  // A ring grant covers the keys in the ring: a key scope needs the key's
  // ring (none when the key does not exist, so only instance and key grants
  // cover it then).
  std::string key_ring;
  if (scope.key_id.has_value()) {
    absl::StatusOr<keys::Key> key =
        meta_->GetKey(scope.instance_id, *scope.key_id);
    if (key.ok()) key_ring = key->key_ring_id;
  }
  const std::vector<iam::Role> held =
      access_->PolicyRolesOn(ctx.principal, scope, key_ring);
  auto holds = [&](auto pred) {
    return std::any_of(held.begin(), held.end(), pred);
  };
  if (!holds([](iam::Role h) {
        return iam::RoleAllows(h, iam::Operation::kManageGrants);
      })) {
    return Forbidden();
  }
  for (iam::Role wanted : roles) {
    if (wanted == iam::Role::kKeyPurge ||
        !holds([&](iam::Role h) { return iam::RoleImplies(h, wanted); })) {
      return Forbidden();
    }
  }
  return absl::OkStatus();
}

bool IdentityManager::ManagesIn(const RequestContext& ctx,
                                std::string_view instance_id) const {
  if (ctx.principal.is_admin) return access_->InstanceExists(instance_id);
  return !access_
              ->ReachOf(ctx.principal, iam::Operation::kManageGrants,
                        instance_id)
              .None();
}

absl::StatusOr<iam::PrincipalRecord> IdentityManager::CreatePrincipal(
    const RequestContext& ctx, PrincipalKind kind, std::string name,
    std::string service_type, bool admin) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  if (kind == PrincipalKind::kUser && !service_type.empty()) {
    return BadRequest("users have no `serviceType`", "serviceType");
  }
  KW_RETURN_IF_ERROR(ValidateServiceType(service_type));
  iam::PrincipalRecord p;
  p.id = StrCat(kind == PrincipalKind::kUser ? "user-" : "serviceid-",
                NewUuid());
  p.kind = kind;
  p.name = std::move(name);
  p.service_type = std::move(service_type);
  p.admin = admin;
  p.creation_time = clock_->Now();
  p.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreatePrincipal(
      p, Audit(ctx, "iam.principal.create", StrCat("principal:", p.id),
               StrCat(iam::PrincipalKindCode(kind), admin ? " admin" : ""))));
  access_->PutPrincipal(p);
  return p;
}

absl::StatusOr<std::vector<iam::PrincipalRecord>>
IdentityManager::ListPrincipals(const RequestContext& ctx,
                                std::optional<PrincipalKind> kind) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  std::vector<iam::PrincipalRecord> all = access_->Principals();
  if (kind.has_value()) {
    std::erase_if(all, [&](const auto& p) { return p.kind != *kind; });
  }
  return all;
}

absl::Status IdentityManager::DeletePrincipal(const RequestContext& ctx,
                                              std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->FindPrincipal(id).has_value()) {
    return NotFound("principal", id);
  }
  if (id == kAdminUserId) {
    return Error(Reason::kBadRequest,
                 "Bad Request: the first administrator cannot be deleted");
  }
  KW_RETURN_IF_ERROR(store_->DeletePrincipal(
      id, Audit(ctx, "iam.principal.delete", StrCat("principal:", id))));
  access_->RemovePrincipal(id);
  return absl::OkStatus();
}

absl::StatusOr<NewApiKey> IdentityManager::CreateApiKey(
    const RequestContext& ctx, std::string principal_id, std::string name) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  if (!access_->FindPrincipal(principal_id).has_value()) {
    return NotFound("principal", principal_id);
  }
  iam::GeneratedApiKey generated = iam::GenerateApiKey();
  NewApiKey result;
  iam::ApiKeyRecord& key = result.record;
  key.id = NewUuid();
  key.principal_id = std::move(principal_id);
  key.name = std::move(name);
  key.prefix = generated.prefix;
  key.secret_hash = generated.hash;
  key.creation_time = clock_->Now();
  key.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreateApiKey(
      key, Audit(ctx, "iam.apikey.create", StrCat("apikey:", key.id),
                 StrCat("for ", key.principal_id, ", prefix ", key.prefix))));
  access_->PutApiKey(key);
  result.secret = std::move(generated.text);
  return result;
}

absl::StatusOr<std::vector<iam::ApiKeyRecord>> IdentityManager::ListApiKeys(
    const RequestContext& ctx, std::optional<std::string> principal_id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  std::vector<iam::ApiKeyRecord> all = access_->ApiKeys();
  if (principal_id.has_value()) {
    std::erase_if(all,
                  [&](const auto& k) { return k.principal_id != *principal_id; });
  }
  return all;
}

absl::Status IdentityManager::DeleteApiKey(const RequestContext& ctx,
                                           std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->ApiKeyExists(id)) return NotFound("API key", id);
  KW_RETURN_IF_ERROR(store_->DeleteApiKey(
      id, Audit(ctx, "iam.apikey.delete", StrCat("apikey:", id))));
  access_->RemoveApiKey(id);
  return absl::OkStatus();
}

absl::StatusOr<iam::InstanceRecord> IdentityManager::CreateInstance(
    const RequestContext& ctx, std::string name) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  iam::InstanceRecord instance{NewUuid(), std::move(name), clock_->Now(),
                               ctx.principal.id};
  KW_RETURN_IF_ERROR(store_->CreateInstance(
      instance, Audit(ctx, "iam.instance.create",
                      StrCat("instance:", instance.id))));
  access_->PutInstance(instance);
  return instance;
}

absl::StatusOr<std::vector<iam::InstanceRecord>> IdentityManager::ListInstances(
    const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  return access_->Instances();
}

absl::Status IdentityManager::DeleteInstance(const RequestContext& ctx,
                                             std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->InstanceExists(id)) return NotFound("instance", id);
  absl::Status deleted = store_->DeleteInstance(
      id, Audit(ctx, "iam.instance.delete", StrCat("instance:", id)));
  if (absl::IsFailedPrecondition(deleted)) {
    return Error(Reason::kInstanceNotEmpty,
                 "Conflict: the instance still holds keys; delete and purge "
                 "them first");
  }
  KW_RETURN_IF_ERROR(deleted);
  access_->RemoveInstance(id);
  return absl::OkStatus();
}

absl::Status IdentityManager::ValidateScope(const iam::Scope& scope) const {
  if (!access_->InstanceExists(scope.instance_id)) {
    return NotFound("instance", scope.instance_id);
  }
  if (scope.key_ring_id.has_value() && scope.key_id.has_value()) {
    return BadRequest("give `keyRingId` or `keyId`, not both");
  }
  if (scope.key_id.has_value() && !IsUuid(*scope.key_id)) {
    return BadRequest("`keyId` must be a key id (UUID)", "keyId");
  }
  if (scope.key_ring_id.has_value()) {
    KW_RETURN_IF_ERROR(ValidateName(*scope.key_ring_id, "keyRingId"));
  }
  return absl::OkStatus();
}

absl::StatusOr<iam::AccessPolicyRecord> IdentityManager::CreatePolicy(
    const RequestContext& ctx, PolicyRequest req) {
  if (req.scope.key_id.has_value()) {
    req.scope.key_id = absl::AsciiStrToLower(AbslView(*req.scope.key_id));
  }
  req.scope.instance_id = absl::AsciiStrToLower(AbslView(req.scope.instance_id));
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.scope, {}));
  KW_RETURN_IF_ERROR(ValidateScope(req.scope));
  if (!access_->FindPrincipal(req.principal_id).has_value()) {
    return NotFound("principal", req.principal_id);
  }
  iam::AccessPolicyRecord p;
  if (req.roles.empty()) return BadRequest("`roles` must not be empty", "roles");
  for (const std::string& name : req.roles) {
    std::optional<iam::Role> role = iam::RoleFromName(name);
    if (!role.has_value()) {
      return BadRequest(StrCat("unknown role `", name, "`"), "roles");
    }
    if (std::find(p.roles.begin(), p.roles.end(), *role) == p.roles.end()) {
      p.roles.push_back(*role);
    }
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.scope, p.roles));
  p.id = NewUuid();
  p.principal_id = std::move(req.principal_id);
  p.scope = std::move(req.scope);
  p.creation_time = clock_->Now();
  p.created_by = ctx.principal.id;
  std::string roles;
  for (iam::Role r : p.roles) StrAppend(&roles, roles.empty() ? "" : ",", iam::RoleName(r));
  KW_RETURN_IF_ERROR(store_->CreatePolicy(
      p, Audit(ctx, "iam.policy.create", StrCat("policy:", p.id),
               StrCat(roles, " for ", p.principal_id, " on instance ",
                      p.scope.instance_id))));
  access_->PutPolicy(p);
  return p;
}

bool IdentityManager::ManagesAnyInstance(const RequestContext& ctx) const {
  if (ctx.principal.is_admin) return true;
  for (const iam::InstanceRecord& i : access_->Instances()) {
    if (ManagesIn(ctx, i.id)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<iam::AccessPolicyRecord>>
IdentityManager::ListPolicies(const RequestContext& ctx,
                              std::optional<std::string> instance_id,
                              std::optional<std::string> principal_id) {
  // Only administrators and Managers read grants; anyone else is refused
  // outright rather than shown an empty list.
  if (!ManagesAnyInstance(ctx)) return Forbidden();
  std::vector<iam::AccessPolicyRecord> all = access_->Policies();
  std::erase_if(all, [&](const iam::AccessPolicyRecord& p) {
    return (instance_id && p.scope.instance_id != *instance_id) ||
           (principal_id && p.principal_id != *principal_id) ||
           !RequireGrantor(ctx, p.scope, {}).ok();
  });
  if (all.empty() && !ctx.principal.is_admin && instance_id &&
      !ManagesIn(ctx, *instance_id)) {
    return Forbidden();
  }
  return all;
}

absl::Status IdentityManager::DeletePolicy(const RequestContext& ctx,
                                           std::string_view id) {
  std::optional<iam::AccessPolicyRecord> found;
  for (const auto& p : access_->Policies()) {
    if (p.id == id) found = p;
  }
  if (!found.has_value()) {
    return ctx.principal.is_admin ? NotFound("policy", id) : Forbidden();
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, found->scope, {}));
  KW_RETURN_IF_ERROR(store_->DeletePolicy(
      id, Audit(ctx, "iam.policy.delete", StrCat("policy:", id))));
  access_->RemovePolicy(id);
  return absl::OkStatus();
}

absl::StatusOr<iam::ServiceAuthorizationRecord>
IdentityManager::CreateAuthorization(const RequestContext& ctx,
                                     AuthorizationRequest req) {
  if (req.target.key_id.has_value()) {
    req.target.key_id = absl::AsciiStrToLower(AbslView(*req.target.key_id));
  }
  req.target.instance_id =
      absl::AsciiStrToLower(AbslView(req.target.instance_id));
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.target, {}));
  KW_RETURN_IF_ERROR(ValidateScope(req.target));
  if (req.source_service_id.empty() == req.source_service_type.empty()) {
    return BadRequest(
        "give exactly one of `sourceServiceId` and `sourceServiceType`");
  }
  if (!req.source_service_id.empty()) {
    std::optional<iam::PrincipalRecord> source =
        access_->FindPrincipal(req.source_service_id);
    if (!source.has_value() || source->kind != PrincipalKind::kServiceId) {
      return NotFound("service id", req.source_service_id);
    }
  } else {
    KW_RETURN_IF_ERROR(ValidateServiceType(req.source_service_type));
  }
  iam::ServiceAuthorizationRecord a;
  a.role = iam::Role::kReader;
  if (req.role.has_value()) {
    std::optional<iam::Role> role = iam::RoleFromName(*req.role);
    if (!role.has_value()) {
      return BadRequest(StrCat("unknown role `", *req.role, "`"), "role");
    }
    a.role = *role;
  }
  const iam::Role role = a.role;
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.target, {&role, 1}));
  a.id = NewUuid();
  a.source_service_id = std::move(req.source_service_id);
  a.source_service_type = std::move(req.source_service_type);
  a.target = std::move(req.target);
  a.creation_time = clock_->Now();
  a.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreateAuthorization(
      a, Audit(ctx, "iam.authorization.create", StrCat("authorization:", a.id),
               StrCat(iam::RoleName(a.role), " for ",
                      a.source_service_id.empty()
                          ? StrCat("service type ", a.source_service_type)
                          : a.source_service_id,
                      " on instance ", a.target.instance_id))));
  access_->PutAuthorization(a);
  return a;
}

absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
IdentityManager::ListAuthorizations(const RequestContext& ctx,
                                    std::optional<std::string> instance_id) {
  if (!ManagesAnyInstance(ctx)) return Forbidden();
  std::vector<iam::ServiceAuthorizationRecord> all = access_->Authorizations();
  std::erase_if(all, [&](const iam::ServiceAuthorizationRecord& a) {
    return (instance_id && a.target.instance_id != *instance_id) ||
           !RequireGrantor(ctx, a.target, {}).ok();
  });
  if (all.empty() && !ctx.principal.is_admin && instance_id &&
      !ManagesIn(ctx, *instance_id)) {
    return Forbidden();
  }
  return all;
}

absl::Status IdentityManager::DeleteAuthorization(const RequestContext& ctx,
                                                  std::string_view id) {
  std::optional<iam::ServiceAuthorizationRecord> found;
  for (const auto& a : access_->Authorizations()) {
    if (a.id == id) found = a;
  }
  if (!found.has_value()) {
    return ctx.principal.is_admin ? NotFound("authorization", id) : Forbidden();
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, found->target, {}));
  KW_RETURN_IF_ERROR(store_->DeleteAuthorization(
      id, Audit(ctx, "iam.authorization.delete", StrCat("authorization:", id))));
  access_->RemoveAuthorization(id);
  return absl::OkStatus();
}

absl::Status IdentityManager::RevokeBootstrapToken(const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  bool admin_with_key = false;
  for (const iam::ApiKeyRecord& k : access_->ApiKeys()) {
    std::optional<iam::PrincipalRecord> p = access_->FindPrincipal(k.principal_id);
    if (p.has_value() && p->admin) admin_with_key = true;
  }
  if (!admin_with_key) {
    return Error(Reason::kConflict,
                 "Conflict: no administrator holds an API key; create one "
                 "before revoking the bootstrap token");
  }
  // Durable first: once this returns, a restart keeps the token revoked.
  KW_RETURN_IF_ERROR(
      meta_->PutMetaIfAbsent(kBootstrapRevokedMeta, FormatRfc3339Utc(clock_->Now()))
          .status());
  bootstrap_->Revoke();
  (void)store_->AppendAudit(
      Audit(ctx, "iam.bootstrap_token.revoke", "bootstrap-token"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::AuditRecord>> IdentityManager::ListAudit(
    const RequestContext& ctx, int64_t after_seq, int64_t limit) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (limit < 1 || limit > 1000) {
    return BadRequest("`limit` must be 1 to 1000", "limit");
  }
  return store_->ListAudit(after_seq, limit);
}

}  // namespace keywarden::service
