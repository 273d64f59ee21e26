#ifndef KEYWARDEN_IAM_ACCESS_H_
#define KEYWARDEN_IAM_ACCESS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/iam/identity.h"
#include "keywarden/iam/principal.h"

namespace keywarden::iam {

// What a caller asks to do, one value per row of keyprotect-api.md §15.1
// (wrap, unwrap and rewrap share a row there but are kept apart for audit).
// Each value has one row in the operation table of access.cc (its name, the
// roles that allow it and whether service authorizations may grant it); a
// static_assert there keeps the enum and the table in step.
enum class Operation {
  kListKeys,        // GET/HEAD /keys
  kCreateKey,       // POST /keys (and import)
  kGetKeyPayload,   // GET /keys/{id} (standard-key payload)
  kGetKeyMetadata,  // GET /keys/{id}/metadata, versions
  kWrap,
  kUnwrap,
  kRewrap,
  kRotate,
  kEnableDisable,
  kSetKeyForDeletion,  // and unset
  kDeleteKey,
  kRestoreKey,
  kPatchKey,  // move to another key ring
  kSync,
  kPurgeKey,
  kCreateKeyRing,
  kListKeyRings,
  kDeleteKeyRing,
  kPolicies,  // key and instance policies, read and write
  kImportToken,
  kListRegistrations,
  kKmip,
  kCreateAlias,  // POST /keys/{id}/aliases/{alias}
  kDeleteAlias,  // DELETE /keys/{id}/aliases/{alias}
  kManageGrants,  // /admin/v1 access policies and service authorizations
  kCount,
};

std::string_view OperationName(Operation op);

// True if `role` alone allows `op` (§15.1). Roles are additive; KeyPurge
// allows only purge and is never implied by another role.
bool RoleAllows(Role role, Operation op);

// Whether a service authorization with a role that allows `op` may grant
// it. Deleting, restoring, purging and moving keys, deleting key rings and
// managing grants never come through an authorization (§15.2): only access
// policies whose scope covers the target allow them.
bool AuthorizationsMayGrant(Operation op);

// Whether holding `held` includes everything `wanted` allows, so that a
// Manager may hand `wanted` on. No role implies KeyPurge.
bool RoleImplies(Role held, Role wanted);

// A set of grant scopes inside one instance.
struct Scopes {
  bool whole_instance = false;
  std::vector<std::string> key_rings;  // rings granted explicitly
  std::vector<std::string> keys;       // keys granted explicitly

  bool None() const {
    return !whole_instance && key_rings.empty() && keys.empty();
  }
  // Whether a grant covers a key of `key_ring_id` with id `key_id`.
  bool Covers(std::string_view key_ring_id, std::string_view key_id) const;
  // Whether keys of `key_ring_id` are listed (key-level grants never list).
  bool ListsRing(std::string_view key_ring_id) const;
  void Add(const Scope& scope);
};

// Where a principal may perform one operation inside one instance: the
// union of the scopes of every grant (policy or authorization) whose role
// allows the operation, so that a target is allowed exactly when one grant
// covers both it and the operation.
struct Reach : Scopes {
  // The part of the reach that service authorizations give. A call whose
  // target is in it is a service-to-service call, which the instance's
  // network policies do not restrict (§7.2, §15.2).
  Scopes by_authorization;
  // Set by the service layer when the network policies refused the caller's
  // address and only `by_authorization` was kept.
  bool network_refused = false;
};

// AccessIndex is the in-memory copy of every principal, API key, instance,
// access policy and service authorization, kept by the service in step with
// the IdentityStore (loaded at start, updated after each committed change).
// It answers the two questions of the request path without I/O: who is this
// (by principal id or API key prefix) and where may they do this.
// Thread-safe: readers share a lock; updates take it exclusively.
class AccessIndex {
 public:
  AccessIndex();

  void PutPrincipal(PrincipalRecord principal);
  void RemovePrincipal(std::string_view id);  // also its keys and policies
  void PutApiKey(ApiKeyRecord key);
  void RemoveApiKey(std::string_view id);
  void PutInstance(InstanceRecord instance);
  void RemoveInstance(std::string_view id);  // also its grants
  void PutPolicy(AccessPolicyRecord policy);
  void RemovePolicy(std::string_view id);
  void PutAuthorization(ServiceAuthorizationRecord authorization);
  void RemoveAuthorization(std::string_view id);

  // Takes every record of `fresh` in place of this index's, in one step,
  // if this index is still at generation `expected` (nothing was put or
  // removed since the caller read it); else changes nothing and returns
  // false. For a reload from the store that must not undo a change applied
  // while it read (the caller reads `expected`, loads, then calls this and
  // retries on false). `fresh` is left empty.
  bool ReplaceIfUnchanged(uint64_t expected, AccessIndex& fresh);

  std::optional<PrincipalRecord> FindPrincipal(std::string_view id) const;
  std::optional<ApiKeyRecord> FindApiKeyByPrefix(std::string_view prefix) const;
  bool ApiKeyExists(std::string_view id) const;
  bool InstanceExists(std::string_view id) const;

  // The principal a verified token or API key speaks for, or nullopt if it
  // was deleted (tokens of deleted principals stop working at once).
  std::optional<Principal> ResolvePrincipal(std::string_view principal_id) const;

  // Where `principal` may perform `op` in `instance_id`. Empty when the
  // instance does not exist, whatever the principal: an unknown instance
  // answers like one without access.
  Reach ReachOf(const Principal& principal, Operation op,
                std::string_view instance_id) const;

  // Where `principal`'s service authorizations in `instance_id` apply,
  // whatever their role (empty for anyone but a service id).
  Scopes AuthorizedScopes(const Principal& principal,
                          std::string_view instance_id) const;

  // The roles `principal`'s access policies give it on `target` (policies
  // on the instance, on `target_key_ring` or on the target itself; for a key
  // target, `target_key_ring` is the ring the key is in, empty when not
  // known). Service authorizations never count: what a caller may hand on
  // is decided on policies alone. Administrators get nothing here.
  std::vector<Role> PolicyRolesOn(const Principal& principal,
                                  const Scope& target,
                                  std::string_view target_key_ring) const;

  // Changes with every Put/Remove: a result derived from the index (a
  // resolved principal, a Reach) is still valid while this is unchanged.
  // Values are unique across all indexes of the process, so a memo keyed by
  // it cannot mistake a new index for an old one.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  std::vector<PrincipalRecord> Principals() const;
  std::vector<ApiKeyRecord> ApiKeys() const;
  std::vector<InstanceRecord> Instances() const;
  std::vector<AccessPolicyRecord> Policies() const;
  std::vector<ServiceAuthorizationRecord> Authorizations() const;

 private:
  void Bump();

  std::atomic<uint64_t> generation_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, PrincipalRecord> principals_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ApiKeyRecord> api_keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> api_key_by_prefix_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, InstanceRecord> instances_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, AccessPolicyRecord> policies_
      ABSL_GUARDED_BY(mu_);
  // principal id -> ids of its policies.
  absl::flat_hash_map<std::string, std::vector<std::string>> policy_ids_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ServiceAuthorizationRecord> authorizations_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_ACCESS_H_
