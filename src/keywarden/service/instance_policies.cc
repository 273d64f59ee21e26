#include "keywarden/service/instance_policies.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"

#include "keywarden/common/cidr.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/fields.h"

namespace keywarden::service {
namespace {

using keys::InstancePolicy;
using keys::InstancePolicyType;

// A field a type does not take, reported as Go's strict decoder words it
// (keyprotect-api.md §7.2: `json: unknown field "attributes"`).
absl::Status UnknownField(std::string_view name) {
  return Error(Reason::kBadBody,
               StrCat("Invalid body data was passed: json: unknown field \"",
                      name, "\""),
               name);
}

absl::Status AttributesMustBeAbsent(const InstancePolicyInput& in) {
  if (!in.has_attributes) return absl::OkStatus();
  return BadField("attributes",
                  StrCat("absent when the ",
                         keys::InstancePolicyTypeName(in.type),
                         " policy is disabled"));
}

// Applies one validated input to `p` (whose attributes start at their
// defaults): keyprotect-api.md §7.2's table, row by row.
absl::Status Apply(const InstancePolicyInput& in, InstancePolicy& p) {
  p.enabled = in.enabled;
  switch (in.type) {
    case InstancePolicyType::kDualAuthDelete:
    case InstancePolicyType::kMetrics:
      if (in.has_attributes) return UnknownField("attributes");
      return absl::OkStatus();
    case InstancePolicyType::kRotation:
      if (!in.enabled) return AttributesMustBeAbsent(in);
      if (!in.interval_month.has_value()) {
        return BadField("interval_month",
                        "present (1 to 12) when rotation is enabled");
      }
      if (*in.interval_month < keys::kMinRotationIntervalMonths ||
          *in.interval_month > keys::kMaxRotationIntervalMonths) {
        return BadField("interval_month", "an integer from 1 to 12");
      }
      p.rotation_interval_months = static_cast<int>(*in.interval_month);
      return absl::OkStatus();
    case InstancePolicyType::kAllowedNetwork: {
      // Required to enable; the Go client also sends them to disable
      // ("legacy reasons"), the Node SDK does not: both are taken.
      if (!in.allowed_network.has_value()) {
        if (!in.enabled) return absl::OkStatus();
        return BadField("allowed_network",
                        "present: public-and-private or private-only");
      }
      std::optional<keys::AllowedNetwork> network =
          keys::AllowedNetworkFromName(*in.allowed_network);
      if (!network.has_value()) {
        return BadField("allowed_network",
                        "public-and-private or private-only");
      }
      p.allowed_network = *network;
      return absl::OkStatus();
    }
    case InstancePolicyType::kAllowedIp: {
      if (!in.enabled) return AttributesMustBeAbsent(in);
      if (!in.allowed_ip.has_value() || in.allowed_ip->empty() ||
          in.allowed_ip->size() > keys::kMaxAllowedIps) {
        return BadField("allowed_ip",
                        StrCat("a list of 1 to ", keys::kMaxAllowedIps,
                               " IPv4 or IPv6 CIDR blocks"));
      }
      for (const std::string& text : *in.allowed_ip) {
        absl::StatusOr<Cidr> block = Cidr::Parse(text);
        if (!block.ok()) {
          return BadField("allowed_ip",
                          StrCat("CIDR blocks such as 10.0.0.0/8; `",
                                 text.substr(0, 64),
                                 "` is not one: ", block.status().message()));
        }
        p.allowed_ips.push_back(block->ToString());
      }
      return absl::OkStatus();
    }
    case InstancePolicyType::kKeyCreateImportAccess: {
      if (!in.enabled) return AttributesMustBeAbsent(in);
      // Omitted attributes take their defaults (§7.2).
      keys::KeyCreateImportAccess& a = p.key_create_import_access;
      a.create_root_key = in.create_root_key.value_or(true);
      a.create_standard_key = in.create_standard_key.value_or(true);
      a.import_root_key = in.import_root_key.value_or(true);
      a.import_standard_key = in.import_standard_key.value_or(true);
      a.enforce_token = in.enforce_token.value_or(false);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

std::string Summary(std::span<const InstancePolicy> policies) {
  std::string out;
  for (const InstancePolicy& p : policies) {
    if (!out.empty()) out += ", ";
    StrAppend(&out, keys::InstancePolicyTypeName(p.type), "=",
              p.enabled ? "enabled" : "disabled");
  }
  return out;
}

}  // namespace

InstancePolicyManager::InstancePolicyManager(store::Store* store,
                                             InstancePolicyIndex* index,
                                             const AccessControl* access,
                                             const Clock* clock)
    : store_(store), index_(index), access_(access), clock_(clock) {}

absl::Status InstancePolicyManager::Load() {
  // After a local write's refresh, never between its write and refresh.
  absl::MutexLock lock(&write_mu_);
  KW_ASSIGN_OR_RETURN(std::vector<InstancePolicy> all,
                      store_->ListAllInstancePolicies());
  absl::flat_hash_set<std::string> loaded;
  std::vector<InstancePolicy> one;
  for (size_t i = 0; i < all.size(); ++i) {
    one.push_back(std::move(all[i]));
    if (i + 1 == all.size() || all[i + 1].instance_id != one.back().instance_id) {
      std::string instance = one.back().instance_id;
      index_->Put(instance, std::move(one));
      loaded.insert(std::move(instance));
      one.clear();
    }
  }
  for (const std::string& instance : index_->Instances()) {
    if (!loaded.contains(instance)) index_->Remove(instance);
  }
  return absl::OkStatus();
}

absl::StatusOr<iam::Reach> InstancePolicyManager::AuthorizeInstance(
    const RequestContext& ctx) const {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kPolicies));
  // Instance policies belong to the whole instance: a grant on a ring or a
  // key does not reach them.
  if (!reach.whole_instance) return AccessControl::NoAccess();
  return reach;
}

absl::Status InstancePolicyManager::Put(const RequestContext& ctx,
                                        const PutInstancePoliciesRequest& req) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx).status());
  if (req.policies.empty()) {
    return DomainError(Reason::kBadBody, "the collection holds no policy",
                       "resources");
  }
  if (req.selected.has_value()) {
    if (req.policies.size() != 1) {
      return DomainError(Reason::kNumCollectionResource,
                         "send one resource with ?policy=");
    }
    if (req.policies[0].type != *req.selected) {
      return DomainError(Reason::kBodyQueryParamMismatch,
                   StrCat("?policy=",
                          keys::InstancePolicyTypeName(*req.selected),
                          " needs a resource of that policy_type"));
    }
  }
  for (size_t i = 0; i < req.policies.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (req.policies[i].type == req.policies[j].type) {
        return Error(Reason::kNumCollectionResource,
                     StrCat("Only a single instance policy of each type may "
                            "be set per request; ",
                            keys::InstancePolicyTypeName(req.policies[i].type),
                            " appears twice"));
      }
    }
  }

  absl::MutexLock lock(&write_mu_);
  std::shared_ptr<const InstanceSettings> current = index_->Get(ctx.instance_id);
  absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(clock_->Now()));
  std::vector<InstancePolicy> updated;
  for (const InstancePolicyInput& in : req.policies) {
    InstancePolicy p;
    p.instance_id = ctx.instance_id;
    p.type = in.type;
    KW_RETURN_IF_ERROR(Apply(in, p));
    const InstancePolicy* old = current ? current->Get(in.type) : nullptr;
    p.creation_time = old ? old->creation_time : now;
    p.created_by = old ? old->created_by : ctx.principal.id;
    p.last_update_time = now;
    p.updated_by = ctx.principal.id;
    updated.push_back(std::move(p));
  }
  KW_RETURN_IF_ERROR(store_->PutInstancePolicies(
      updated, MakeAudit(ctx, now, "kms.instancepolicies.write",
                         StrCat("instance:", ctx.instance_id),
                         Summary(updated))));
  KW_ASSIGN_OR_RETURN(std::vector<InstancePolicy> stored,
                      store_->ListInstancePolicies(ctx.instance_id));
  index_->Put(ctx.instance_id, std::move(stored));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<InstancePolicy>> InstancePolicyManager::Get(
    const RequestContext& ctx, std::optional<InstancePolicyType> selected) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx).status());
  std::vector<InstancePolicy> out;
  std::shared_ptr<const InstanceSettings> s = index_->Get(ctx.instance_id);
  if (s == nullptr) return out;
  for (const auto& p : s->policies) {
    if (p.has_value() && (!selected.has_value() || p->type == *selected)) {
      out.push_back(*p);
    }
  }
  return out;
}

absl::StatusOr<std::optional<int>> InstancePolicyManager::AllowedIpPort(
    const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx).status());
  std::shared_ptr<const InstanceSettings> s = index_->Get(ctx.instance_id);
  if (s == nullptr || !s->ip_restricted) return std::optional<int>();
  // Keywarden has one listener: callers inside the allowed blocks use it.
  return std::optional<int>(endpoint_port_.load());
}

}  // namespace keywarden::service
