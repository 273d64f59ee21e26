#include "keywarden/store/identity_validation.h"

#include <string>
#include <string_view>
#include <vector>

namespace keywarden::store {

namespace {

absl::Status Required(std::string_view value, std::string_view what) {
  if (value.empty()) {
    return absl::InvalidArgumentError(std::string(what) + " is empty");
  }
  return absl::OkStatus();
}

bool KnownRole(iam::Role role) { return !iam::RoleName(role).empty(); }

absl::Status ValidateScope(const iam::Scope& scope) {
  if (absl::Status s = Required(scope.instance_id, "scope instance id");
      !s.ok()) {
    return s;
  }
  if (scope.key_ring_id.has_value() && scope.key_id.has_value()) {
    return absl::InvalidArgumentError("scope names both a key ring and a key");
  }
  // An empty optional string would store as '' and read back as a scope
  // nobody meant; absent is the way to say "whole instance".
  if ((scope.key_ring_id.has_value() && scope.key_ring_id->empty()) ||
      (scope.key_id.has_value() && scope.key_id->empty())) {
    return absl::InvalidArgumentError("scope key ring or key id is empty");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePrincipal(const iam::PrincipalRecord& principal) {
  if (absl::Status s = Required(principal.id, "principal id"); !s.ok()) {
    return s;
  }
  if (iam::PrincipalKindCode(principal.kind).empty()) {
    return absl::InvalidArgumentError("unknown principal kind");
  }
  if (principal.kind == iam::PrincipalKind::kUser &&
      !principal.service_type.empty()) {
    return absl::InvalidArgumentError("a user has no service type");
  }
  return absl::OkStatus();
}

absl::Status ValidateApiKey(const iam::ApiKeyRecord& key) {
  if (absl::Status s = Required(key.id, "api key id"); !s.ok()) return s;
  if (absl::Status s = Required(key.principal_id, "api key principal id");
      !s.ok()) {
    return s;
  }
  return Required(key.prefix, "api key prefix");
}

absl::Status ValidateInstance(const iam::InstanceRecord& instance) {
  return Required(instance.id, "instance id");
}

absl::Status ValidatePolicy(const iam::AccessPolicyRecord& policy) {
  if (absl::Status s = Required(policy.id, "policy id"); !s.ok()) return s;
  if (absl::Status s = Required(policy.principal_id, "policy principal id");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateScope(policy.scope); !s.ok()) return s;
  if (policy.roles.empty()) {
    return absl::InvalidArgumentError("policy grants no role");
  }
  std::vector<bool> seen(8, false);
  for (iam::Role role : policy.roles) {
    if (!KnownRole(role)) return absl::InvalidArgumentError("unknown role");
    size_t i = static_cast<size_t>(role);
    if (seen[i]) return absl::InvalidArgumentError("duplicate role");
    seen[i] = true;
  }
  return absl::OkStatus();
}

absl::Status ValidateAuthorization(
    const iam::ServiceAuthorizationRecord& authorization) {
  if (absl::Status s = Required(authorization.id, "authorization id");
      !s.ok()) {
    return s;
  }
  if (authorization.source_service_id.empty() ==
      authorization.source_service_type.empty()) {
    return absl::InvalidArgumentError(
        "authorization needs exactly one of source service id and type");
  }
  if (absl::Status s = ValidateScope(authorization.target); !s.ok()) return s;
  if (!KnownRole(authorization.role)) {
    return absl::InvalidArgumentError("unknown role");
  }
  return absl::OkStatus();
}

absl::Status ValidateSigningKey(const iam::SigningKeyRecord& key) {
  if (absl::Status s = Required(key.kid, "signing key id"); !s.ok()) return s;
  return Required(key.algorithm, "signing key algorithm");
}

absl::Status ValidateWebhook(const iam::WebhookRecord& webhook) {
  if (absl::Status s = Required(webhook.principal_id, "webhook principal id");
      !s.ok()) {
    return s;
  }
  return Required(webhook.url, "webhook url");
}

absl::Status ValidateAuditRecord(const iam::AuditRecord& audit) {
  if (absl::Status s = Required(audit.actor, "audit actor"); !s.ok()) return s;
  if (absl::Status s = Required(audit.action, "audit action"); !s.ok()) {
    return s;
  }
  if (audit.outcome != iam::AuditOutcome::kSuccess &&
      audit.outcome != iam::AuditOutcome::kFailure) {
    return absl::InvalidArgumentError("unknown audit outcome");
  }
  return absl::OkStatus();
}

}  // namespace keywarden::store
