// The /admin/v1 routes of the Key Protect API (docs/admin-api.md): decode,
// call IdentityManager, encode. No rules live here.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/service/identity_manager.h"

namespace keywarden::api::keyprotect {

void KeyProtectApi::DispatchAdmin(Call& call) {
  auto route = static_cast<Route>(call.match.route_id);
  const QueryParams& query = call.match.query;
  const service::RequestContext& ctx = call.ctx;
  service::IdentityManager& id = *identity_;
  auto param = [&](std::string_view name) -> std::optional<std::string> {
    std::optional<std::string_view> v = query.Get(name);
    if (!v) return std::nullopt;
    return std::string(*v);
  };
  auto done = [&](const absl::Status& s) {
    if (!s.ok()) return call.Fail(s);
    call.Reply(beast_http::status::no_content);
  };
  // Replies `status` with `encode(*result)`, or the failure.
  auto reply = [&](const auto& result, beast_http::status status,
                   auto encode) {
    if (!result.ok()) return call.Fail(result.status());
    call.Reply(status, encode(*result));
  };
  std::string path_id(call.match.params.Get("id").value_or(""));
  constexpr auto kCreated = beast_http::status::created;
  constexpr auto kOk = beast_http::status::ok;

  switch (route) {
    case kRouteAdminUsers:
    case kRouteAdminServiceIds: {
      absl::StatusOr<CreatePrincipalBody> body =
          DecodeCreatePrincipal(call.Body());
      if (!body.ok()) return call.Fail(body.status());
      iam::PrincipalKind kind = route == kRouteAdminUsers
                                    ? iam::PrincipalKind::kUser
                                    : iam::PrincipalKind::kServiceId;
      return reply(id.CreatePrincipal(ctx, kind, body->name,
                                      body->service_type, body->admin),
                   kCreated, EncodePrincipal);
    }
    case kRouteAdminPrincipals: {
      std::optional<iam::PrincipalKind> kind;
      if (auto k = param("kind")) {
        kind = iam::PrincipalKindFromCode(*k);
        if (!kind) {
          return call.Fail(Error(Reason::kBadRequest,
                                 "Bad Request: `kind` must be user or "
                                 "service_id",
                                 "kind"));
        }
      }
      return reply(id.ListPrincipals(ctx, kind), kOk, EncodePrincipals);
    }
    case kRouteAdminPrincipal:
      return done(id.DeletePrincipal(ctx, path_id));
    case kRouteAdminApiKeys:
      if (call.method == Method::kGet) {
        return reply(id.ListApiKeys(ctx, param("principalId")), kOk,
                     EncodeApiKeys);
      } else {
        absl::StatusOr<CreateApiKeyBody> body = DecodeCreateApiKey(call.Body());
        if (!body.ok()) return call.Fail(body.status());
        return reply(id.CreateApiKey(ctx, body->principal_id, body->name),
                     kCreated, EncodeNewApiKey);
      }
    case kRouteAdminApiKey:
      return done(id.DeleteApiKey(ctx, path_id));
    case kRouteAdminInstances:
      if (call.method == Method::kGet) {
        return reply(id.ListInstances(ctx), kOk, EncodeInstances);
      } else {
        absl::StatusOr<std::string> name = DecodeCreateInstance(call.Body());
        if (!name.ok()) return call.Fail(name.status());
        return reply(id.CreateInstance(ctx, *name), kCreated, EncodeInstance);
      }
    case kRouteAdminInstance:
      return done(id.DeleteInstance(ctx, path_id));
    case kRouteAdminPolicies:
      if (call.method == Method::kGet) {
        return reply(
            id.ListPolicies(ctx, param("instanceId"), param("principalId")),
            kOk, EncodePolicies);
      } else {
        absl::StatusOr<service::PolicyRequest> body =
            DecodeCreatePolicy(call.Body());
        if (!body.ok()) return call.Fail(body.status());
        return reply(id.CreatePolicy(ctx, *std::move(body)), kCreated,
                     EncodePolicy);
      }
    case kRouteAdminPolicy:
      return done(id.DeletePolicy(ctx, path_id));
    case kRouteAdminAuthorizations:
      if (call.method == Method::kGet) {
        return reply(id.ListAuthorizations(ctx, param("instanceId")), kOk,
                     EncodeAuthorizations);
      } else {
        absl::StatusOr<service::AuthorizationRequest> body =
            DecodeCreateAuthorization(call.Body());
        if (!body.ok()) return call.Fail(body.status());
        return reply(id.CreateAuthorization(ctx, *std::move(body)), kCreated,
                     EncodeAuthorization);
      }
    case kRouteAdminAuthorization:
      return done(id.DeleteAuthorization(ctx, path_id));
    case kRouteAdminBootstrapToken:
      return done(id.RevokeBootstrapToken(ctx));
    case kRouteAdminAudit: {
      absl::StatusOr<std::optional<int64_t>> after = IntParam(query, "after");
      if (!after.ok()) return call.Fail(after.status());
      absl::StatusOr<std::optional<int64_t>> limit = IntParam(query, "limit");
      if (!limit.ok()) return call.Fail(limit.status());
      return reply(id.ListAudit(ctx, after->value_or(0), limit->value_or(100)),
                   kOk, EncodeAudit);
    }
    case kRouteAdminWebhook: {
      service::WebhookRegistry* webhooks = services_.webhooks;
      if (webhooks == nullptr) {
        return call.Fail(Error(Reason::kNotImplemented,
                               "Not Implemented: webhooks are not configured"));
      }
      if (call.method == Method::kGet) {
        return reply(webhooks->Get(ctx, path_id), kOk, EncodeWebhook);
      }
      if (call.method == Method::kDelete) {
        return done(webhooks->Delete(ctx, path_id));
      }
      absl::StatusOr<WebhookBody> body = DecodeWebhook(call.Body());
      if (!body.ok()) return call.Fail(body.status());
      return reply(webhooks->Put(ctx, path_id, body->url, body->secret), kOk,
                   EncodeWebhook);
    }
    default:
      return call.Fail(absl::InternalError("admin route without a handler"));
  }
}

}  // namespace keywarden::api::keyprotect
