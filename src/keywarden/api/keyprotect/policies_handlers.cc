// The policy routes of the Key Protect API: a key's policies (keyprotect-
// api.md §7.1), the instance's (§7.2) and the allowed-IP port. Decode, call
// the service, encode; no rules live here.
#include <optional>
#include <vector>

#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

// `?policy=` of the key policy routes.
absl::StatusOr<std::optional<service::KeyPolicyType>> SelectedKeyPolicy(
    const Call& call) {
  std::optional<std::string_view> p = call.Query().Get("policy");
  if (!p) return std::nullopt;
  if (*p == "rotation") return service::KeyPolicyType::kRotation;
  if (*p == "dualAuthDelete") return service::KeyPolicyType::kDualAuthDelete;
  return BadParam("policy", "rotation or dualAuthDelete");
}

void ReplyKeyPolicies(
    Call& call, const absl::StatusOr<service::KeyPoliciesResult>& policies) {
  if (!policies.ok()) return call.Fail(policies.status());
  call.Reply(beast_http::status::ok,
             EncodeKeyPolicies(*policies, call.options.crn_prefix,
                               call.ctx.instance_id));
}

// `?policy=` of the instance policy routes.
absl::StatusOr<std::optional<keys::InstancePolicyType>> SelectedInstancePolicy(
    const Call& call) {
  std::optional<std::string_view> p = call.Query().Get("policy");
  if (!p) return std::nullopt;
  std::optional<keys::InstancePolicyType> selected =
      keys::InstancePolicyTypeFromName(*p);
  if (!selected) {
    return BadParam("policy",
                    "one of dualAuthDelete, rotation, allowedNetwork, "
                    "allowedIP, keyCreateImportAccess, metrics");
  }
  return selected;
}

}  // namespace

void GetKeyPolicies(Call& call) {
  absl::StatusOr<std::optional<service::KeyPolicyType>> selected =
      SelectedKeyPolicy(call);
  if (!selected.ok()) return call.Fail(selected.status());
  ReplyKeyPolicies(call, call.services.keys->GetKeyPolicies(
                             call.ctx, call.KeyId(), *selected));
}

void PutKeyPolicies(Call& call) {
  absl::StatusOr<std::optional<service::KeyPolicyType>> selected =
      SelectedKeyPolicy(call);
  if (!selected.ok()) return call.Fail(selected.status());
  absl::StatusOr<service::PutKeyPoliciesRequest> req =
      DecodeKeyPolicies(call.Body());
  if (!req.ok()) return call.Fail(req.status());
  req->selected = *selected;
  ReplyKeyPolicies(
      call, call.services.keys->PutKeyPolicies(call.ctx, call.KeyId(), *req));
}

void GetInstancePolicies(Call& call) {
  service::InstancePolicyManager* policies = call.services.instance_policies;
  if (policies == nullptr) return call.Fail(Unavailable("instance policy"));
  absl::StatusOr<std::optional<keys::InstancePolicyType>> selected =
      SelectedInstancePolicy(call);
  if (!selected.ok()) return call.Fail(selected.status());
  absl::StatusOr<std::vector<keys::InstancePolicy>> got =
      policies->Get(call.ctx, *selected);
  if (!got.ok()) return call.Fail(got.status());
  call.Reply(beast_http::status::ok, EncodeInstancePolicies(*got));
}

void PutInstancePolicies(Call& call) {
  service::InstancePolicyManager* policies = call.services.instance_policies;
  if (policies == nullptr) return call.Fail(Unavailable("instance policy"));
  absl::StatusOr<std::optional<keys::InstancePolicyType>> selected =
      SelectedInstancePolicy(call);
  if (!selected.ok()) return call.Fail(selected.status());
  absl::StatusOr<std::vector<service::InstancePolicyInput>> inputs =
      DecodeInstancePolicies(call.Body(), *selected);
  if (!inputs.ok()) return call.Fail(inputs.status());
  service::PutInstancePoliciesRequest req;
  req.selected = *selected;
  req.policies = *std::move(inputs);
  if (absl::Status s = policies->Put(call.ctx, req); !s.ok()) {
    return call.Fail(s);
  }
  call.Reply(beast_http::status::no_content);
}

void GetAllowedIpPort(Call& call) {
  service::InstancePolicyManager* policies = call.services.instance_policies;
  if (policies == nullptr) return call.Fail(Unavailable("instance policy"));
  absl::StatusOr<std::optional<int>> port = policies->AllowedIpPort(call.ctx);
  if (!port.ok()) return call.Fail(port.status());
  call.Reply(beast_http::status::ok, EncodeAllowedIpPort(*port));
}

}  // namespace keywarden::api::keyprotect::handlers
