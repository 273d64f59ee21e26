#include "keywarden/service/instance_policy_index.h"

#include <utility>

#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::service {
namespace {

using keys::InstancePolicyType;

bool Restricts(const InstanceSettings& s) {
  return s.ip_restricted || s.private_only;
}

bool Meters(const InstanceSettings& s) {
  return s.Enabled(InstancePolicyType::kMetrics) != nullptr;
}

absl::Status Refused() {
  return Error(Reason::kUnauthorized,
               "Unauthorized: The user does not have access to the specified "
               "resource from this network address");
}

}  // namespace

InstancePolicyIndex::InstancePolicyIndex(std::vector<Cidr> private_networks)
    : private_networks_(std::move(private_networks)) {}

void InstancePolicyIndex::Put(std::string_view instance_id,
                              std::vector<keys::InstancePolicy> policies) {
  auto settings = std::make_shared<InstanceSettings>();
  for (keys::InstancePolicy& p : policies) {
    settings->policies[static_cast<int>(p.type)] = std::move(p);
  }
  if (const keys::InstancePolicy* ip =
          settings->Enabled(InstancePolicyType::kAllowedIp)) {
    settings->ip_restricted = true;
    for (const std::string& text : ip->allowed_ips) {
      // Stored blocks were validated when set; one that no longer parses
      // admits nobody rather than everybody.
      if (absl::StatusOr<Cidr> block = Cidr::Parse(text); block.ok()) {
        settings->allowed_blocks.push_back(*block);
      }
    }
  }
  if (const keys::InstancePolicy* net =
          settings->Enabled(InstancePolicyType::kAllowedNetwork)) {
    settings->private_only =
        net->allowed_network == keys::AllowedNetwork::kPrivateOnly;
  }
  absl::MutexLock lock(&mu_);
  auto& slot = settings_[AbslView(instance_id)];
  if (slot != nullptr) {
    restricted_ -= Restricts(*slot);
    metered_ -= Meters(*slot);
  }
  restricted_ += Restricts(*settings);
  metered_ += Meters(*settings);
  slot = std::move(settings);
}

void InstancePolicyIndex::Remove(std::string_view instance_id) {
  absl::MutexLock lock(&mu_);
  auto it = settings_.find(AbslView(instance_id));
  if (it == settings_.end()) return;
  restricted_ -= Restricts(*it->second);
  metered_ -= Meters(*it->second);
  settings_.erase(it);
}

std::vector<std::string> InstancePolicyIndex::Instances() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(settings_.size());
  for (const auto& [id, settings] : settings_) out.push_back(id);
  return out;
}

std::shared_ptr<const InstanceSettings> InstancePolicyIndex::Get(
    std::string_view instance_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = settings_.find(AbslView(instance_id));
  return it == settings_.end() ? nullptr : it->second;
}

absl::Status InstancePolicyIndex::Admit(std::string_view instance_id,
                                        std::string_view address) const {
  if (restricted_.load(std::memory_order_acquire) == 0) return absl::OkStatus();
  std::shared_ptr<const InstanceSettings> s = Get(instance_id);
  if (s == nullptr || !Restricts(*s)) return absl::OkStatus();
  std::optional<IpAddress> ip = ParseIpAddress(address);
  if (!ip.has_value()) return Refused();
  if (s->private_only && !AnyContains(private_networks_, *ip)) {
    return Refused();
  }
  if (s->ip_restricted && !AnyContains(s->allowed_blocks, *ip)) {
    return Refused();
  }
  return absl::OkStatus();
}

bool InstancePolicyIndex::MetricsEnabled(std::string_view instance_id) const {
  if (metered_.load(std::memory_order_acquire) == 0) return false;
  std::shared_ptr<const InstanceSettings> s = Get(instance_id);
  return s != nullptr && Meters(*s);
}

}  // namespace keywarden::service
