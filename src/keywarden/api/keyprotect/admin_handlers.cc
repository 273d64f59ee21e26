// The /admin/v1 routes of the Key Protect API (docs/admin-api.md): decode,
// call IdentityManager, encode. No rules live here.
#include <optional>
#include <string>

#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/service/identity_manager.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

constexpr auto kCreated = beast_http::status::created;
constexpr auto kOk = beast_http::status::ok;

service::IdentityManager& Identity(const Call& call) {
  return *call.services.identity;
}

std::optional<std::string> QueryString(const Call& call,
                                       std::string_view name) {
  std::optional<std::string_view> v = call.Query().Get(name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::string PathId(const Call& call) { return std::string(call.Param("id")); }

void Done(Call& call, const absl::Status& s) {
  if (!s.ok()) return call.Fail(s);
  call.Reply(beast_http::status::no_content);
}

// Replies `status` with `encode(*result)`, or the failure.
template <typename Result, typename Encode>
void Reply(Call& call, const Result& result, beast_http::status status,
           Encode encode) {
  if (!result.ok()) return call.Fail(result.status());
  call.Reply(status, encode(*result));
}

void CreatePrincipalOf(Call& call, iam::PrincipalKind kind) {
  absl::StatusOr<CreatePrincipalBody> body = DecodeCreatePrincipal(call.Body());
  if (!body.ok()) return call.Fail(body.status());
  Reply(call,
        Identity(call).CreatePrincipal(call.ctx, kind, body->name,
                                       body->service_type, body->admin),
        kCreated, EncodePrincipal);
}

// The webhook registry, or null after replying 501.
service::WebhookRegistry* Webhooks(Call& call) {
  service::WebhookRegistry* webhooks = call.services.webhooks;
  if (webhooks == nullptr) {
    call.Fail(Error(Reason::kNotImplemented,
                    "Not Implemented: webhooks are not configured"));
  }
  return webhooks;
}

}  // namespace

void CreateUser(Call& call) {
  CreatePrincipalOf(call, iam::PrincipalKind::kUser);
}

void CreateServiceId(Call& call) {
  CreatePrincipalOf(call, iam::PrincipalKind::kServiceId);
}

void ListPrincipals(Call& call) {
  std::optional<iam::PrincipalKind> kind;
  if (auto k = QueryString(call, "kind")) {
    kind = iam::PrincipalKindFromCode(*k);
    if (!kind) {
      return call.Fail(Error(Reason::kBadRequest,
                             "Bad Request: `kind` must be user or service_id",
                             "kind"));
    }
  }
  Reply(call, Identity(call).ListPrincipals(call.ctx, kind), kOk,
        EncodePrincipals);
}

void DeletePrincipal(Call& call) {
  Done(call, Identity(call).DeletePrincipal(call.ctx, PathId(call)));
}

void CreateApiKey(Call& call) {
  absl::StatusOr<CreateApiKeyBody> body = DecodeCreateApiKey(call.Body());
  if (!body.ok()) return call.Fail(body.status());
  Reply(call,
        Identity(call).CreateApiKey(call.ctx, body->principal_id, body->name),
        kCreated, EncodeNewApiKey);
}

void ListApiKeys(Call& call) {
  Reply(call,
        Identity(call).ListApiKeys(call.ctx,
                                   QueryString(call, "principalId")),
        kOk, EncodeApiKeys);
}

void DeleteApiKey(Call& call) {
  Done(call, Identity(call).DeleteApiKey(call.ctx, PathId(call)));
}

void CreateInstance(Call& call) {
  absl::StatusOr<std::string> name = DecodeCreateInstance(call.Body());
  if (!name.ok()) return call.Fail(name.status());
  Reply(call, Identity(call).CreateInstance(call.ctx, *name), kCreated,
        EncodeInstance);
}

void ListInstances(Call& call) {
  Reply(call, Identity(call).ListInstances(call.ctx), kOk, EncodeInstances);
}

void DeleteInstance(Call& call) {
  Done(call, Identity(call).DeleteInstance(call.ctx, PathId(call)));
}

void CreatePolicy(Call& call) {
  absl::StatusOr<service::PolicyRequest> body =
      DecodeCreatePolicy(call.Body());
  if (!body.ok()) return call.Fail(body.status());
  Reply(call, Identity(call).CreatePolicy(call.ctx, *std::move(body)),
        kCreated, EncodePolicy);
}

void ListPolicies(Call& call) {
  Reply(call,
        Identity(call).ListPolicies(call.ctx, QueryString(call, "instanceId"),
                                    QueryString(call, "principalId")),
        kOk, EncodePolicies);
}

void DeletePolicy(Call& call) {
  Done(call, Identity(call).DeletePolicy(call.ctx, PathId(call)));
}

void CreateAuthorization(Call& call) {
  absl::StatusOr<service::AuthorizationRequest> body =
      DecodeCreateAuthorization(call.Body());
  if (!body.ok()) return call.Fail(body.status());
  Reply(call, Identity(call).CreateAuthorization(call.ctx, *std::move(body)),
        kCreated, EncodeAuthorization);
}

void ListAuthorizations(Call& call) {
  Reply(call,
        Identity(call).ListAuthorizations(call.ctx,
                                          QueryString(call, "instanceId")),
        kOk, EncodeAuthorizations);
}

void DeleteAuthorization(Call& call) {
  Done(call, Identity(call).DeleteAuthorization(call.ctx, PathId(call)));
}

void RevokeBootstrapToken(Call& call) {
  Done(call, Identity(call).RevokeBootstrapToken(call.ctx));
}

void ListAudit(Call& call) {
  absl::StatusOr<std::optional<int64_t>> after = IntParam(call.Query(), "after");
  if (!after.ok()) return call.Fail(after.status());
  absl::StatusOr<std::optional<int64_t>> limit = IntParam(call.Query(), "limit");
  if (!limit.ok()) return call.Fail(limit.status());
  Reply(call,
        Identity(call).ListAudit(call.ctx, after->value_or(0),
                                 limit->value_or(100)),
        kOk, EncodeAudit);
}

void PutWebhook(Call& call) {
  service::WebhookRegistry* webhooks = Webhooks(call);
  if (webhooks == nullptr) return;
  absl::StatusOr<WebhookBody> body = DecodeWebhook(call.Body());
  if (!body.ok()) return call.Fail(body.status());
  Reply(call, webhooks->Put(call.ctx, PathId(call), body->url, body->secret),
        kOk, EncodeWebhook);
}

void GetWebhook(Call& call) {
  service::WebhookRegistry* webhooks = Webhooks(call);
  if (webhooks == nullptr) return;
  Reply(call, webhooks->Get(call.ctx, PathId(call)), kOk, EncodeWebhook);
}

void DeleteWebhook(Call& call) {
  service::WebhookRegistry* webhooks = Webhooks(call);
  if (webhooks == nullptr) return;
  Done(call, webhooks->Delete(call.ctx, PathId(call)));
}

}  // namespace keywarden::api::keyprotect::handlers
