#include "keywarden/iam/access.h"

#include <algorithm>
#include <array>

#include "keywarden/common/strings.h"

namespace keywarden::iam {
namespace {

using Op = Operation;

constexpr uint8_t Bit(Role r) { return uint8_t{1} << static_cast<int>(r); }
constexpr uint8_t kR = Bit(Role::kReader);
constexpr uint8_t kRP = Bit(Role::kReaderPlus);
constexpr uint8_t kW = Bit(Role::kWriter);
constexpr uint8_t kM = Bit(Role::kManager);
constexpr uint8_t kKP = Bit(Role::kKeyPurge);
constexpr uint8_t kKAM = Bit(Role::kKmipAdapterManager);

// Whether service authorizations may grant an operation (§15.2).
constexpr bool kByAuthorization = true;
constexpr bool kPoliciesOnly = false;

struct OperationRow {
  Op op;
  std::string_view name;  // for logs and audit; stable
  uint8_t roles;          // Bit() of each role that allows it
  bool by_authorization;
};

// keyprotect-api.md §15.1, one row per operation: the one table of names,
// roles and what authorizations may do. Reader < ReaderPlus < Writer <
// Manager are additive in Key Protect; the rows spell every role out so the
// table reads like the document. Alias create is "Writer or Manager" (§10);
// alias delete is unconfirmed there and stays Manager, as documented in
// docs/api.md. Managing grants is the Manager's (docs/admin-api.md).
constexpr OperationRow kOperations[] = {
    {Op::kListKeys, "list_keys", kR | kRP | kW | kM | kKAM, kByAuthorization},
    {Op::kCreateKey, "create_key", kW | kM, kByAuthorization},
    {Op::kGetKeyPayload, "get_key_payload", kRP | kW | kM, kByAuthorization},
    {Op::kGetKeyMetadata, "get_key_metadata", kR | kRP | kW | kM,
     kByAuthorization},
    {Op::kWrap, "wrap", kR | kRP | kW | kM, kByAuthorization},
    {Op::kUnwrap, "unwrap", kR | kRP | kW | kM, kByAuthorization},
    {Op::kRewrap, "rewrap", kR | kRP | kW | kM, kByAuthorization},
    {Op::kRotate, "rotate", kW | kM, kByAuthorization},
    {Op::kEnableDisable, "enable_disable", kM, kByAuthorization},
    {Op::kSetKeyForDeletion, "set_key_for_deletion", kW | kM,
     kByAuthorization},
    {Op::kDeleteKey, "delete_key", kM, kPoliciesOnly},
    {Op::kRestoreKey, "restore_key", kM, kPoliciesOnly},
    {Op::kPatchKey, "patch_key", kM, kPoliciesOnly},
    {Op::kSync, "sync", kW | kM, kByAuthorization},
    {Op::kPurgeKey, "purge_key", kKP, kPoliciesOnly},
    {Op::kCreateKeyRing, "create_key_ring", kW | kM, kByAuthorization},
    {Op::kListKeyRings, "list_key_rings", kR | kRP | kW | kM | kKAM,
     kByAuthorization},
    // Deleting a ring with force moves its Destroyed keys: a deletion and a
    // move, so policies only.
    {Op::kDeleteKeyRing, "delete_key_ring", kM, kPoliciesOnly},
    {Op::kPolicies, "policies", kM, kPoliciesOnly},
    {Op::kImportToken, "import_token", kW | kM, kByAuthorization},
    {Op::kListRegistrations, "list_registrations", kR | kRP | kW | kM,
     kByAuthorization},
    {Op::kKmip, "kmip", kM | kKAM, kByAuthorization},
    {Op::kCreateAlias, "create_alias", kW | kM, kByAuthorization},
    {Op::kDeleteAlias, "delete_alias", kM, kByAuthorization},
    {Op::kManageGrants, "manage_grants", kM, kPoliciesOnly},
};

constexpr bool TableFollowsTheEnum() {
  if (std::size(kOperations) != static_cast<size_t>(Op::kCount)) return false;
  for (size_t i = 0; i < std::size(kOperations); ++i) {
    if (static_cast<size_t>(kOperations[i].op) != i) return false;
  }
  return true;
}
static_assert(TableFollowsTheEnum(),
              "kOperations needs one row per Operation, in enum order");

// An authorization names its source by service id or by service type.
bool AuthorizationIsFor(const ServiceAuthorizationRecord& a,
                        const Principal& principal) {
  return (!a.source_service_id.empty() &&
          a.source_service_id == principal.id) ||
         (!a.source_service_type.empty() &&
          a.source_service_type == principal.service_type);
}

const OperationRow& RowOf(Op op) {
  return kOperations[static_cast<size_t>(op)];
}

}  // namespace

std::string_view OperationName(Operation op) { return RowOf(op).name; }

bool RoleAllows(Role role, Operation op) {
  return (RowOf(op).roles & Bit(role)) != 0;
}

bool AuthorizationsMayGrant(Operation op) {
  return RowOf(op).by_authorization;
}

bool RoleImplies(Role held, Role wanted) {
  if (wanted == Role::kKeyPurge) return held == Role::kKeyPurge;
  for (const OperationRow& row : kOperations) {
    if ((row.roles & Bit(wanted)) != 0 && (row.roles & Bit(held)) == 0) {
      return false;
    }
  }
  return true;
}

void Scopes::Add(const Scope& scope) {
  if (scope.key_id.has_value()) {
    keys.push_back(*scope.key_id);
  } else if (scope.key_ring_id.has_value()) {
    key_rings.push_back(*scope.key_ring_id);
  } else {
    whole_instance = true;
  }
}

namespace {
std::atomic<uint64_t> next_generation{1};
}  // namespace

AccessIndex::AccessIndex()
    : generation_(next_generation.fetch_add(1, std::memory_order_relaxed)) {}

void AccessIndex::Bump() {
  generation_.store(next_generation.fetch_add(1, std::memory_order_relaxed),
                    std::memory_order_release);
}

bool Scopes::Covers(std::string_view key_ring_id,
                   std::string_view key_id) const {
  if (whole_instance) return true;
  for (const std::string& r : key_rings) {
    if (r == key_ring_id) return true;
  }
  for (const std::string& k : keys) {
    if (k == key_id) return true;
  }
  return false;
}

bool Scopes::ListsRing(std::string_view key_ring_id) const {
  if (whole_instance) return true;
  for (const std::string& r : key_rings) {
    if (r == key_ring_id) return true;
  }
  return false;
}

bool AccessIndex::ReplaceIfUnchanged(uint64_t expected, AccessIndex& fresh) {
  if (&fresh == this) return true;
  absl::MutexLock lock(&mu_);
  if (generation_.load(std::memory_order_acquire) != expected) return false;
  absl::MutexLock fresh_lock(&fresh.mu_);
  principals_ = std::move(fresh.principals_);
  api_keys_ = std::move(fresh.api_keys_);
  api_key_by_prefix_ = std::move(fresh.api_key_by_prefix_);
  instances_ = std::move(fresh.instances_);
  policies_ = std::move(fresh.policies_);
  policy_ids_ = std::move(fresh.policy_ids_);
  authorizations_ = std::move(fresh.authorizations_);
  fresh.principals_.clear();
  fresh.api_keys_.clear();
  fresh.api_key_by_prefix_.clear();
  fresh.instances_.clear();
  fresh.policies_.clear();
  fresh.policy_ids_.clear();
  fresh.authorizations_.clear();
  Bump();
  fresh.Bump();
  return true;
}

void AccessIndex::PutPrincipal(PrincipalRecord principal) {
  absl::MutexLock lock(&mu_);
  Bump();
  std::string id = principal.id;
  principals_.insert_or_assign(std::move(id), std::move(principal));
}

void AccessIndex::RemovePrincipal(std::string_view id) {
  absl::MutexLock lock(&mu_);
  Bump();
  principals_.erase(AbslView(id));
  for (auto it = api_keys_.begin(); it != api_keys_.end();) {
    if (it->second.principal_id == id) {
      api_key_by_prefix_.erase(it->second.prefix);
      api_keys_.erase(it++);
    } else {
      ++it;
    }
  }
  if (auto ids = policy_ids_.find(AbslView(id)); ids != policy_ids_.end()) {
    for (const std::string& pid : ids->second) policies_.erase(pid);
    policy_ids_.erase(ids);
  }
  for (auto it = authorizations_.begin(); it != authorizations_.end();) {
    if (it->second.source_service_id == id) {
      authorizations_.erase(it++);
    } else {
      ++it;
    }
  }
}

void AccessIndex::PutApiKey(ApiKeyRecord key) {
  absl::MutexLock lock(&mu_);
  Bump();
  api_key_by_prefix_.insert_or_assign(key.prefix, key.id);
  std::string id = key.id;
  api_keys_.insert_or_assign(std::move(id), std::move(key));
}

void AccessIndex::RemoveApiKey(std::string_view id) {
  absl::MutexLock lock(&mu_);
  Bump();
  auto it = api_keys_.find(AbslView(id));
  if (it == api_keys_.end()) return;
  api_key_by_prefix_.erase(it->second.prefix);
  api_keys_.erase(it);
}

void AccessIndex::PutInstance(InstanceRecord instance) {
  absl::MutexLock lock(&mu_);
  Bump();
  std::string id = instance.id;
  instances_.insert_or_assign(std::move(id), std::move(instance));
}

void AccessIndex::RemoveInstance(std::string_view id) {
  absl::MutexLock lock(&mu_);
  Bump();
  instances_.erase(AbslView(id));
  for (auto it = policies_.begin(); it != policies_.end();) {
    if (it->second.scope.instance_id == id) {
      auto& ids = policy_ids_[it->second.principal_id];
      ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
      policies_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = authorizations_.begin(); it != authorizations_.end();) {
    if (it->second.target.instance_id == id) {
      authorizations_.erase(it++);
    } else {
      ++it;
    }
  }
}

void AccessIndex::PutPolicy(AccessPolicyRecord policy) {
  absl::MutexLock lock(&mu_);
  Bump();
  auto& ids = policy_ids_[policy.principal_id];
  if (std::find(ids.begin(), ids.end(), policy.id) == ids.end()) {
    ids.push_back(policy.id);
  }
  std::string id = policy.id;
  policies_.insert_or_assign(std::move(id), std::move(policy));
}

void AccessIndex::RemovePolicy(std::string_view id) {
  absl::MutexLock lock(&mu_);
  Bump();
  auto it = policies_.find(AbslView(id));
  if (it == policies_.end()) return;
  auto& ids = policy_ids_[it->second.principal_id];
  ids.erase(std::remove(ids.begin(), ids.end(), it->first), ids.end());
  policies_.erase(it);
}

void AccessIndex::PutAuthorization(ServiceAuthorizationRecord authorization) {
  absl::MutexLock lock(&mu_);
  Bump();
  std::string id = authorization.id;
  authorizations_.insert_or_assign(std::move(id), std::move(authorization));
}

void AccessIndex::RemoveAuthorization(std::string_view id) {
  absl::MutexLock lock(&mu_);
  Bump();
  authorizations_.erase(AbslView(id));
}

std::optional<PrincipalRecord> AccessIndex::FindPrincipal(
    std::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = principals_.find(AbslView(id));
  if (it == principals_.end()) return std::nullopt;
  return it->second;
}

std::optional<ApiKeyRecord> AccessIndex::FindApiKeyByPrefix(
    std::string_view prefix) const {
  absl::ReaderMutexLock lock(&mu_);
  auto id = api_key_by_prefix_.find(AbslView(prefix));
  if (id == api_key_by_prefix_.end()) return std::nullopt;
  auto it = api_keys_.find(id->second);
  if (it == api_keys_.end()) return std::nullopt;
  return it->second;
}

bool AccessIndex::ApiKeyExists(std::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  return api_keys_.contains(AbslView(id));
}

bool AccessIndex::InstanceExists(std::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  return instances_.contains(AbslView(id));
}

std::optional<Principal> AccessIndex::ResolvePrincipal(
    std::string_view principal_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = principals_.find(AbslView(principal_id));
  if (it == principals_.end()) return std::nullopt;
  const PrincipalRecord& r = it->second;
  Principal p;
  p.id = r.id;
  p.is_admin = r.admin;
  p.is_service = r.kind == PrincipalKind::kServiceId;
  p.service_type = r.service_type;
  return p;
}

Reach AccessIndex::ReachOf(const Principal& principal, Operation op,
                           std::string_view instance_id) const {
  Reach reach;
  absl::ReaderMutexLock lock(&mu_);
  if (!instances_.contains(AbslView(instance_id))) return reach;
  if (principal.is_admin && op != Operation::kPurgeKey) {
    reach.whole_instance = true;
    return reach;
  }
  if (auto ids = policy_ids_.find(principal.id); ids != policy_ids_.end()) {
    for (const std::string& pid : ids->second) {
      auto it = policies_.find(pid);
      if (it == policies_.end()) continue;
      const AccessPolicyRecord& p = it->second;
      if (p.scope.instance_id != instance_id) continue;
      for (Role role : p.roles) {
        if (RoleAllows(role, op)) {
          reach.Add(p.scope);
          break;
        }
      }
    }
  }
  // An authorization's scope is added only for what authorizations may
  // ever do, so no guard downstream needs to know how a scope was granted.
  if (principal.is_service && AuthorizationsMayGrant(op)) {
    for (const auto& [id, a] : authorizations_) {
      if (a.target.instance_id != instance_id) continue;
      if (AuthorizationIsFor(a, principal) && RoleAllows(a.role, op)) {
        reach.Add(a.target);
        reach.by_authorization.Add(a.target);
      }
    }
  }
  return reach;
}

Scopes AccessIndex::AuthorizedScopes(const Principal& principal,
                                     std::string_view instance_id) const {
  Scopes scopes;
  if (!principal.is_service) return scopes;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, a] : authorizations_) {
    if (a.target.instance_id == instance_id && AuthorizationIsFor(a, principal)) {
      scopes.Add(a.target);
    }
  }
  return scopes;
}

std::vector<Role> AccessIndex::PolicyRolesOn(
    const Principal& principal, const Scope& target,
    std::string_view target_key_ring) const {
  std::vector<Role> roles;
  absl::ReaderMutexLock lock(&mu_);
  auto ids = policy_ids_.find(principal.id);
  if (ids == policy_ids_.end()) return roles;
  for (const std::string& pid : ids->second) {
    auto it = policies_.find(pid);
    if (it == policies_.end()) continue;
    const Scope& s = it->second.scope;
    if (s.instance_id != target.instance_id) continue;
    bool covers;
    if (s.key_id.has_value()) {
      // A key grant covers that key only.
      covers = target.key_id == s.key_id;
    } else if (s.key_ring_id.has_value()) {
      // A ring grant covers the ring and the keys in it.
      covers = target.key_id.has_value()
                   ? !target_key_ring.empty() && *s.key_ring_id == target_key_ring
                   : target.key_ring_id == s.key_ring_id;
    } else {
      covers = true;
    }
    if (!covers) continue;
    for (Role r : it->second.roles) {
      if (std::find(roles.begin(), roles.end(), r) == roles.end()) {
        roles.push_back(r);
      }
    }
  }
  return roles;
}

std::vector<PrincipalRecord> AccessIndex::Principals() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<PrincipalRecord> out;
  for (const auto& [id, r] : principals_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<ApiKeyRecord> AccessIndex::ApiKeys() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ApiKeyRecord> out;
  for (const auto& [id, r] : api_keys_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<InstanceRecord> AccessIndex::Instances() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<InstanceRecord> out;
  for (const auto& [id, r] : instances_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<AccessPolicyRecord> AccessIndex::Policies() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<AccessPolicyRecord> out;
  for (const auto& [id, r] : policies_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<ServiceAuthorizationRecord> AccessIndex::Authorizations() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ServiceAuthorizationRecord> out;
  for (const auto& [id, r] : authorizations_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

}  // namespace keywarden::iam
