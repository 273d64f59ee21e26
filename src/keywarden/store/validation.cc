#include "keywarden/store/validation.h"

#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "keywarden/store/identity_validation.h"

namespace keywarden::store {

namespace {

bool IsKnownState(keys::KeyState state) {
  return keys::KeyStateFromInt(static_cast<int>(state)).has_value();
}

bool IsValidInterval(int months) {
  return months >= keys::kMinRotationIntervalMonths &&
         months <= keys::kMaxRotationIntervalMonths;
}

absl::Status ValidatePolicyMeta(const keys::PolicyMeta& meta,
                                std::string_view what) {
  if (meta.id.empty()) {
    return absl::InvalidArgumentError(std::string(what) + " policy has no id");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateKeyForWrite(const keys::Key& key) {
  if (key.instance_id.empty()) {
    return absl::InvalidArgumentError("key has no instance id");
  }
  if (key.id.empty()) return absl::InvalidArgumentError("key has no id");
  if (!IsKnownState(key.state)) {
    return absl::InvalidArgumentError("key has an unknown state");
  }
  if (key.versions.empty()) {
    return absl::InvalidArgumentError("key has no versions");
  }
  std::set<std::string_view> seen;
  for (const keys::KeyVersion& v : key.versions) {
    if (v.id.empty()) {
      return absl::InvalidArgumentError("key version has no id");
    }
    if (!seen.insert(v.id).second) {
      return absl::InvalidArgumentError("key has a duplicate version id");
    }
  }
  std::set<std::string_view> aliases;
  for (const std::string& a : key.aliases) {
    if (a.empty()) return absl::InvalidArgumentError("key has an empty alias");
    if (!aliases.insert(a).second) {
      return absl::InvalidArgumentError("key has a duplicate alias");
    }
  }
  if (key.rotation_policy.has_value()) {
    if (absl::Status s =
            ValidatePolicyMeta(key.rotation_policy->meta, "rotation");
        !s.ok()) {
      return s;
    }
    if (!IsValidInterval(key.rotation_policy->interval_months)) {
      return absl::InvalidArgumentError(
          "rotation policy interval is out of range");
    }
  }
  if (key.dual_auth_policy.has_value()) {
    if (absl::Status s =
            ValidatePolicyMeta(key.dual_auth_policy->meta, "dual-auth");
        !s.ok()) {
      return s;
    }
  }
  if (key.deletion_authorized_by.empty() ==
      key.deletion_authorization_expiration.has_value()) {
    return absl::InvalidArgumentError(
        "key deletion authorization needs both its authorizer and its "
        "expiration, or neither");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyUpdate(const KeyUpdate& update) {
  switch (update.registrations) {
    case RegistrationRule::kKeep:
    case RegistrationRule::kRefuseIfAny:
    case RegistrationRule::kRefuseIfPrevented:
      break;
    default:
      return absl::InvalidArgumentError("unknown registration rule");
  }
  if (update.event.has_value()) {
    if (absl::Status s = ValidateEventSpec(*update.event); !s.ok()) return s;
  }
  if (update.audit.has_value()) return ValidateAuditRecord(*update.audit);
  return absl::OkStatus();
}

absl::Status ValidateKeyRing(const KeyRing& ring) {
  if (ring.instance_id.empty()) {
    return absl::InvalidArgumentError("key ring has no instance id");
  }
  if (ring.id.empty()) return absl::InvalidArgumentError("key ring has no id");
  if (ring.id == "default") {
    return absl::InvalidArgumentError("key ring `default` is never stored");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeyAlias(const KeyAlias& alias) {
  if (alias.instance_id.empty() || alias.key_id.empty() ||
      alias.alias.empty()) {
    return absl::InvalidArgumentError(
        "key alias needs an instance id, a key id and an alias");
  }
  return absl::OkStatus();
}

absl::Status ValidateQuery(const KeyQuery& query) {
  if (query.instance_id.empty()) {
    return absl::InvalidArgumentError("query has no instance id");
  }
  if (query.limit < 0 || query.offset < 0) {
    return absl::InvalidArgumentError("query limit and offset must be >= 0");
  }
  for (keys::KeyState s : query.states) {
    if (!IsKnownState(s)) {
      return absl::InvalidArgumentError("query has an unknown state");
    }
  }
  if (query.search.has_value()) {
    if (query.search->term.empty()) {
      return absl::InvalidArgumentError("query search has no term");
    }
    if (!query.search->in_name && !query.search->in_aliases) {
      return absl::InvalidArgumentError("query search has no field");
    }
  }
  for (const keys::TimeClause& c : query.time_clauses) {
    if (static_cast<int>(c.field) < 0 ||
        c.field > keys::DateField::kLastUpdateDate ||
        static_cast<int>(c.op) < 0 || c.op > keys::CompareOp::kGte) {
      return absl::InvalidArgumentError(
          "query time clause has an unknown field or operator");
    }
    if (!c.value.has_value() && c.op != keys::CompareOp::kEq) {
      return absl::InvalidArgumentError(
          "query time clause `none` takes no operator");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLimit(int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("limit must be >= 0");
  return absl::OkStatus();
}

absl::Status ValidateImportToken(const ImportToken& token) {
  if (token.instance_id.empty() || token.id.empty()) {
    return absl::InvalidArgumentError(
        "import token needs an instance id and an id");
  }
  if (token.max_retrievals < 1 || token.remaining_retrievals < 0 ||
      token.remaining_retrievals > token.max_retrievals) {
    return absl::InvalidArgumentError(
        "import token retrievals must satisfy 0 <= remaining <= max, "
        "max >= 1");
  }
  return absl::OkStatus();
}

absl::Status ValidateInstancePolicies(
    std::span<const keys::InstancePolicy> policies) {
  if (policies.empty()) {
    return absl::InvalidArgumentError("no instance policy to store");
  }
  std::set<std::pair<std::string_view, int>> seen;
  for (const keys::InstancePolicy& p : policies) {
    if (p.instance_id.empty()) {
      return absl::InvalidArgumentError("instance policy has no instance id");
    }
    if (keys::InstancePolicyTypeName(p.type).empty()) {
      return absl::InvalidArgumentError("instance policy has an unknown type");
    }
    if (!seen.emplace(p.instance_id, static_cast<int>(p.type)).second) {
      return absl::InvalidArgumentError(
          "instance policy type is given twice for one instance");
    }
    if (p.type == keys::InstancePolicyType::kRotation &&
        !IsValidInterval(p.rotation_interval_months)) {
      return absl::InvalidArgumentError(
          "instance rotation policy interval is out of range");
    }
    if (p.type == keys::InstancePolicyType::kAllowedNetwork &&
        keys::AllowedNetworkName(p.allowed_network).empty()) {
      return absl::InvalidArgumentError(
          "instance policy has an unknown allowed network");
    }
  }
  return absl::OkStatus();
}

keys::InstancePolicy NormalizedInstancePolicy(const keys::InstancePolicy& p) {
  const keys::InstancePolicy defaults;
  keys::InstancePolicy out = p;
  using T = keys::InstancePolicyType;
  if (p.type != T::kRotation) {
    out.rotation_interval_months = defaults.rotation_interval_months;
  }
  if (p.type != T::kAllowedNetwork) {
    out.allowed_network = defaults.allowed_network;
  }
  if (p.type != T::kAllowedIp) out.allowed_ips.clear();
  if (p.type != T::kKeyCreateImportAccess) {
    out.key_create_import_access = defaults.key_create_import_access;
  }
  out.creation_time = TruncateToMicros(p.creation_time);
  out.last_update_time = TruncateToMicros(p.last_update_time);
  return out;
}

absl::Status ValidateRegistration(const keys::Registration& registration) {
  if (registration.instance_id.empty() || registration.key_id.empty() ||
      registration.resource_crn.empty() || registration.service_id.empty()) {
    return absl::InvalidArgumentError(
        "registration needs an instance id, a key id, a CRN and a service id");
  }
  if (registration.revision < 1) {
    return absl::InvalidArgumentError("registration revision must be >= 1");
  }
  return absl::OkStatus();
}

absl::Status ValidateRegistrationQuery(const RegistrationQuery& query) {
  if (query.instance_id.empty()) {
    return absl::InvalidArgumentError("query has no instance id");
  }
  if (query.limit < 0 || query.offset < 0) {
    return absl::InvalidArgumentError("query limit and offset must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateEventSpec(const keys::EventSpec& spec) {
  if (keys::KeyEventTypeName(spec.type).empty()) {
    return absl::InvalidArgumentError("event has an unknown type");
  }
  if (!IsKnownState(spec.key_state)) {
    return absl::InvalidArgumentError("event has an unknown key state");
  }
  return absl::OkStatus();
}

absl::Status ValidateEventAck(const keys::EventAck& ack) {
  if (ack.event_id.empty() || ack.service_id.empty()) {
    return absl::InvalidArgumentError(
        "event acknowledgement needs an event id and a service id");
  }
  return absl::OkStatus();
}

absl::Status ValidateLease(std::string_view name, std::string_view holder,
                           absl::Duration ttl) {
  if (name.empty() || holder.empty()) {
    return absl::InvalidArgumentError("lease needs a name and a holder");
  }
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease time to live must be positive");
  }
  return absl::OkStatus();
}

}  // namespace keywarden::store
