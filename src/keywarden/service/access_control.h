#ifndef KEYWARDEN_SERVICE_ACCESS_CONTROL_H_
#define KEYWARDEN_SERVICE_ACCESS_CONTROL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/iam/access.h"
#include "keywarden/keys/key.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/request_context.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// AccessControl answers, for every key-service operation, whether and where
// the caller may act, and finds the key a path names. It is shared by the
// managers of keys, import tokens, instance policies and registrations so
// that one rule decides who may do what (keyprotect-api.md §15):
//
//  - the roles of the caller's access policies and service authorizations
//    (iam::AccessIndex), checked before any lookup so the answer does not
//    depend on whether a key exists;
//  - the instance's allowedIP and allowedNetwork policies (§7.2), which
//    apply to every caller except service-to-service calls (a target that a
//    service authorization covers) and deployment administrators (who can thus always repair a policy that locks the
//    instance's own users out).
//
// Thread-safe; everything it points to outlives it.
class AccessControl {
 public:
  // `network` may be null (no instance network rules).
  AccessControl(store::Store* store, const iam::AccessIndex* access,
                const InstancePolicyIndex* network);

  // Where the caller may perform `op` in the request's instance:
  // FORBIDDEN_ERR when nowhere, UNAUTHORIZED_ERR when the instance's network
  // policy refuses the caller's address.
  absl::StatusOr<iam::Reach> Authorize(const RequestContext& ctx,
                                       iam::Operation op) const;

  // The key id a path names: a key id in any case, or an alias of a key in
  // the request's instance (looked up on every call, so a deleted alias
  // stops resolving at once; key ids cost no lookup).
  absl::StatusOr<std::string> ResolveKeyId(const RequestContext& ctx,
                                           const iam::Reach& reach,
                                           std::string_view key_id) const;
  // The caller's grant covers the key, and the key is in the ring the
  // request's X-Kms-Key-Ring names, if any (else the key is not found).
  absl::Status CheckCovers(const RequestContext& ctx, const iam::Reach& reach,
                           const keys::Key& key) const;
  // Resolves, loads and checks the key in one step.
  absl::StatusOr<keys::Key> LoadKey(const RequestContext& ctx,
                                    const iam::Reach& reach,
                                    std::string_view key_id) const;

  // For an operation service authorizations never grant (delete, purge):
  // RESOURCE_OWNER_ERR when the caller is a service with an authorization
  // (of any role) covering the key while none of its policies allowing `op`
  // covers it
  // (§15.2: services do not delete what they were only authorized to use).
  // OK otherwise, the ordinary checks then decide.
  absl::Status RefuseServiceDeletion(const RequestContext& ctx,
                                     iam::Operation op,
                                     std::string_view key_id) const;

  // The one answer for "no access".
  static absl::Status NoAccess();
  // What a service gets for a key it may use but not delete.
  static absl::Status ResourceOwner();
  // The answer for a key id that names nothing: 404 for a caller who may
  // see the whole instance, NoAccess() for anyone else.
  static absl::Status Missing(const iam::Reach& reach);

  const iam::AccessIndex& index() const { return *access_; }

 private:
  store::Store* store_;
  const iam::AccessIndex* access_;
  const InstancePolicyIndex* network_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_ACCESS_CONTROL_H_
