#ifndef KEYWARDEN_SERVICE_INSTANCE_POLICIES_H_
#define KEYWARDEN_SERVICE_INSTANCE_POLICIES_H_

#include <atomic>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/clock.h"
#include "keywarden/keys/policy.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/types.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// InstancePolicyManager runs PUT/GET /instance/policies and GET
// /instance/allowed_ip_port (keyprotect-api.md §7.2, §7.3): it validates a
// policy body by Key Protect's rules, stores it with its audit record in
// one transaction, and then refreshes the InstancePolicyIndex the request
// path reads. Instance policies never change existing keys; the key manager
// reads them when it creates a key. Manager role on the whole instance.
// Thread-safe.
class InstancePolicyManager {
 public:
  InstancePolicyManager(store::Store* store, InstancePolicyIndex* index,
                        const AccessControl* access, const Clock* clock);

  // Loads every instance's policies into the index, in place of what it
  // held (at start, and when another node changed some).
  absl::Status Load();

  absl::Status Put(const RequestContext& ctx,
                   const PutInstancePoliciesRequest& req);
  // The stored policies, all or the one selected (empty when unset).
  absl::StatusOr<std::vector<keys::InstancePolicy>> Get(
      const RequestContext& ctx,
      std::optional<keys::InstancePolicyType> selected);
  // The port to use with an enabled allowedIP policy, or nullopt when the
  // instance has none.
  absl::StatusOr<std::optional<int>> AllowedIpPort(const RequestContext& ctx);

  // The port the server listens on, known once it is bound.
  void set_endpoint_port(int port) { endpoint_port_ = port; }

 private:
  absl::StatusOr<iam::Reach> AuthorizeInstance(const RequestContext& ctx) const;

  store::Store* store_;
  InstancePolicyIndex* index_;
  const AccessControl* access_;
  const Clock* clock_;
  std::atomic<int> endpoint_port_{0};
  // Orders write-then-refresh so the index never goes back to an older
  // state than the store holds.
  absl::Mutex write_mu_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_INSTANCE_POLICIES_H_
