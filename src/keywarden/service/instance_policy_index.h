#ifndef KEYWARDEN_SERVICE_INSTANCE_POLICY_INDEX_H_
#define KEYWARDEN_SERVICE_INSTANCE_POLICY_INDEX_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/cidr.h"
#include "keywarden/keys/policy.h"

namespace keywarden::service {

// The stored policies of one instance and what the request path derives
// from them, as one immutable snapshot.
struct InstanceSettings {
  // Indexed by keys::InstancePolicyType; unset when never stored.
  std::optional<keys::InstancePolicy>
      policies[keys::kInstancePolicyTypeCount];
  // Parsed allowedIP blocks while that policy is enabled (else empty and
  // `ip_restricted` false).
  bool ip_restricted = false;
  std::vector<Cidr> allowed_blocks;
  bool private_only = false;  // allowedNetwork is private-only

  const keys::InstancePolicy* Get(keys::InstancePolicyType type) const {
    const auto& p = policies[static_cast<int>(type)];
    return p.has_value() ? &*p : nullptr;
  }
  // The policy of `type` if it is stored and enabled.
  const keys::InstancePolicy* Enabled(keys::InstancePolicyType type) const {
    const keys::InstancePolicy* p = Get(type);
    return p != nullptr && p->enabled ? p : nullptr;
  }
};

// InstancePolicyIndex keeps every instance's policies in memory (loaded at
// start, replaced after each committed change) so the request path can
// apply allowedIP and allowedNetwork without I/O. With no instance
// restricting its network, Admit costs one atomic load.
// Thread-safe.
class InstancePolicyIndex {
 public:
  // `private_networks`: where a caller counts as coming from a private
  // network (allowedNetwork private-only).
  explicit InstancePolicyIndex(std::vector<Cidr> private_networks);

  // Replaces the snapshot of `instance_id` with `policies` (all of its
  // stored policies).
  void Put(std::string_view instance_id,
           std::vector<keys::InstancePolicy> policies);
  // Forgets an instance (deleted).
  void Remove(std::string_view instance_id);
  // The instances that have a snapshot.
  std::vector<std::string> Instances() const;

  // The instance's snapshot, or null when it has no stored policy.
  std::shared_ptr<const InstanceSettings> Get(
      std::string_view instance_id) const;

  // OK if the instance's network policies let a caller at `address` in;
  // else 401 UNAUTHORIZED_ERR, as Key Protect answers it. An address that
  // does not parse is refused by any restriction.
  absl::Status Admit(std::string_view instance_id,
                     std::string_view address) const;

  // Whether the instance's metrics policy is enabled.
  bool MetricsEnabled(std::string_view instance_id) const;

 private:
  std::vector<Cidr> private_networks_;
  // Instances whose network is restricted or whose metrics are on: the
  // request path skips the lookup while both are zero.
  std::atomic<int> restricted_{0};
  std::atomic<int> metered_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const InstanceSettings>>
      settings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_INSTANCE_POLICY_INDEX_H_
