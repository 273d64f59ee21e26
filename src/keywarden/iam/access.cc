#include "keywarden/iam/access.h"

#include <algorithm>
#include <array>

#include "keywarden/common/strings.h"

namespace keywarden::iam {
namespace {

using Op = Operation;

// keyprotect-api.md §15.1, one row per role: the operations it allows.
// Reader < ReaderPlus < Writer < Manager are additive in Key Protect; the
// rows spell every operation out so the table reads like the document.
constexpr Op kReaderOps[] = {Op::kListKeys,      Op::kGetKeyMetadata,
                             Op::kWrap,          Op::kUnwrap,
                             Op::kRewrap,        Op::kListKeyRings,
                             Op::kListRegistrations};
constexpr Op kReaderPlusOps[] = {
    Op::kListKeys,     Op::kGetKeyMetadata, Op::kGetKeyPayload,
    Op::kWrap,         Op::kUnwrap,         Op::kRewrap,
    Op::kListKeyRings, Op::kListRegistrations};
constexpr Op kWriterOps[] = {
    Op::kListKeys,       Op::kGetKeyMetadata,    Op::kGetKeyPayload,
    Op::kWrap,           Op::kUnwrap,            Op::kRewrap,
    Op::kListKeyRings,   Op::kListRegistrations, Op::kCreateKey,
    Op::kRotate,         Op::kSetKeyForDeletion, Op::kSync,
    Op::kCreateKeyRing,  Op::kImportToken};
constexpr Op kManagerOps[] = {
    Op::kListKeys,       Op::kGetKeyMetadata,    Op::kGetKeyPayload,
    Op::kWrap,           Op::kUnwrap,            Op::kRewrap,
    Op::kListKeyRings,   Op::kListRegistrations, Op::kCreateKey,
    Op::kRotate,         Op::kSetKeyForDeletion, Op::kSync,
    Op::kCreateKeyRing,  Op::kImportToken,       Op::kEnableDisable,
    Op::kDeleteKey,      Op::kRestoreKey,        Op::kPatchKey,
    Op::kDeleteKeyRing,  Op::kPolicies,          Op::kKmip};
constexpr Op kKeyPurgeOps[] = {Op::kPurgeKey};
constexpr Op kKmipAdapterManagerOps[] = {Op::kListKeys, Op::kListKeyRings,
                                         Op::kKmip};

template <size_t N>
bool Contains(const Op (&ops)[N], Op op) {
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

// Whether a grant of `scope` reaches a request in `instance_id`, and how.
void AddScope(const Scope& scope, Reach& reach) {
  if (scope.key_id.has_value()) {
    reach.keys.push_back(*scope.key_id);
  } else if (scope.key_ring_id.has_value()) {
    reach.key_rings.push_back(*scope.key_ring_id);
  } else {
    reach.whole_instance = true;
  }
}

}  // namespace

std::string_view OperationName(Operation op) {
  static constexpr std::array<std::string_view,
                              static_cast<size_t>(Operation::kCount)>
      kNames = {"list_keys",       "create_key",       "get_key_payload",
                "get_key_metadata", "wrap",            "unwrap",
                "rewrap",          "rotate",           "enable_disable",
                "set_key_for_deletion", "delete_key",  "restore_key",
                "patch_key",       "sync",             "purge_key",
                "create_key_ring", "list_key_rings",   "delete_key_ring",
                "policies",        "import_token",     "list_registrations",
                "kmip"};
  return kNames[static_cast<size_t>(op)];
}

bool RoleAllows(Role role, Operation op) {
  switch (role) {
    case Role::kReader:
      return Contains(kReaderOps, op);
    case Role::kReaderPlus:
      return Contains(kReaderPlusOps, op);
    case Role::kWriter:
      return Contains(kWriterOps, op);
    case Role::kManager:
      return Contains(kManagerOps, op);
    case Role::kKeyPurge:
      return Contains(kKeyPurgeOps, op);
    case Role::kKmipAdapterManager:
      return Contains(kKmipAdapterManagerOps, op);
  }
  return false;
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

bool Reach::Covers(std::string_view key_ring_id,
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

bool Reach::ListsRing(std::string_view key_ring_id) const {
  if (whole_instance) return true;
  for (const std::string& r : key_rings) {
    if (r == key_ring_id) return true;
  }
  return false;
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
  bool through_policy = false;
  if (auto ids = policy_ids_.find(principal.id); ids != policy_ids_.end()) {
    for (const std::string& pid : ids->second) {
      auto it = policies_.find(pid);
      if (it == policies_.end()) continue;
      const AccessPolicyRecord& p = it->second;
      if (p.scope.instance_id != instance_id) continue;
      for (Role role : p.roles) {
        if (RoleAllows(role, op)) {
          AddScope(p.scope, reach);
          through_policy = true;
          break;
        }
      }
    }
  }
  bool through_authorization = false;
  if (principal.is_service) {
    for (const auto& [id, a] : authorizations_) {
      if (a.target.instance_id != instance_id) continue;
      bool source_matches =
          (!a.source_service_id.empty() && a.source_service_id == principal.id) ||
          (!a.source_service_type.empty() &&
           a.source_service_type == principal.service_type);
      if (source_matches && RoleAllows(a.role, op)) {
        AddScope(a.target, reach);
        through_authorization = true;
      }
    }
  }
  reach.service_only = through_authorization && !through_policy;
  return reach;
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
