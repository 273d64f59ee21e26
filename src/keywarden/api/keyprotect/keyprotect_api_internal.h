#ifndef KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_
#define KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_

// Internal to the Key Protect API (http_api.cc, admin_handlers.cc): the
// route and operation enums, the per-request Call and the parameter helpers
// the handler files share. Not for other modules.

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "keywarden/api/keyprotect/keyprotect_api.h"
#include "keywarden/api/keyprotect/error_map.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/http/router.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/iam/credential.h"

namespace keywarden::api::keyprotect {
namespace beast_http = boost::beast::http;

// The credential of an Authorization header: RFC 6750 §2.1, "Bearer" in
// any case, one space, then the token. Anything else presents nothing.
inline iam::Credential CredentialOf(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !absl::StartsWithIgnoreCase(AbslView(authorization), AbslView(kScheme))) {
    return std::monostate{};
  }
  return iam::BearerToken{authorization.substr(kScheme.size())};
}


// Routes: what the router matches. Actions share a route and are told apart
// by their name, so the table holds one row per path shape.
enum Route : int {
  kRouteHealthz,
  kRouteReadyz,
  kRouteMetrics,
  kRouteClockAdvance,
  kRouteKeys,          // GET list, HEAD count, POST create
  kRouteKey,           // GET, DELETE, POST ?action= (deprecated)
  kRouteKeyMetadata,
  kRouteKeyRestore,
  kRouteKeyVersions,
  kRouteKeyAction,     // POST /keys/{id}/actions/{action}
  kRouteKeyAlias,      // POST, DELETE /keys/{id}/aliases/{alias}
  kRouteKeyRings,      // GET list
  kRouteKeyRing,       // POST create, DELETE
  kRouteKeysWithPolicyOverrides,  // POST
  kRouteKeyPurge,                 // DELETE
  kRouteKeyPolicies,              // GET, PUT
  // Routes DispatchLifecycle answers, kRouteInstancePolicies..kRouteEventAck.
  kRouteInstancePolicies,         // GET, PUT
  kRouteAllowedIpPort,            // GET
  kRouteImportToken,              // GET, POST
  kRouteKeyRegistrations,         // GET list, POST ?action=deactivate
  kRouteAllRegistrations,         // GET list
  kRouteRegistration,             // POST, PUT, PATCH, DELETE
  kRouteEventAck,                 // POST
  kRouteToken,
  kRouteAdminUsers,
  kRouteAdminServiceIds,
  kRouteAdminPrincipals,
  kRouteAdminPrincipal,
  kRouteAdminApiKeys,
  kRouteAdminApiKey,
  kRouteAdminInstances,
  kRouteAdminInstance,
  kRouteAdminPolicies,
  kRouteAdminPolicy,
  kRouteAdminAuthorizations,
  kRouteAdminAuthorization,
  kRouteAdminBootstrapToken,
  kRouteAdminAudit,
  kRouteAdminWebhook,  // PUT, GET, DELETE
  kRouteAdminSeal,        // GET status (seal_handlers.cc)
  kRouteAdminSealAction,  // POST init, unseal, seal
};

// Operations: what metrics and error messages name. One per API operation.
enum Op : int {
  kOpHealthz,
  kOpReadyz,
  kOpMetrics,
  kOpClockAdvance,
  kOpListKeys,
  kOpCountKeys,
  kOpCreateKey,
  kOpGetKey,
  kOpGetKeyMetadata,
  kOpDeleteKey,
  kOpRestoreKey,
  kOpListVersions,
  kOpWrap,
  kOpUnwrap,
  kOpRewrap,
  kOpRotate,
  kOpEnable,
  kOpDisable,
  kOpPatchKey,
  kOpCreateKeyAlias,
  kOpDeleteKeyAlias,
  kOpCreateKeyRing,
  kOpListKeyRings,
  kOpDeleteKeyRing,
  kOpCreateKeyWithPolicyOverrides,
  kOpPurgeKey,
  kOpSetKeyForDeletion,
  kOpUnsetKeyForDeletion,
  kOpSyncKey,
  kOpGetKeyPolicies,
  kOpPutKeyPolicies,
  kOpGetInstancePolicies,
  kOpPutInstancePolicies,
  kOpAllowedIpPort,
  kOpCreateImportToken,
  kOpGetImportToken,
  kOpListRegistrations,
  kOpCreateRegistration,
  kOpReplaceRegistration,
  kOpUpdateRegistration,
  kOpDeleteRegistration,
  kOpDeactivateRegistrations,
  kOpEventAck,
  kOpIssueToken,
  kOpAdminPrincipals,
  kOpAdminApiKeys,
  kOpAdminInstances,
  kOpAdminPolicies,
  kOpAdminAuthorizations,
  kOpAdminAudit,
  kOpAdminWebhooks,
  kOpAdminSeal,
  kOpUnknown,
  kOpCount,
};

struct OpRow {
  std::string_view metric_name;
  std::string_view failure;  // errorMsg text after the HTTP reason phrase
};

inline constexpr OpRow kOps[kOpCount] = {
    {"healthz", "Health check failed"},
    {"readyz", "Readiness check failed"},
    {"metrics", "Metrics could not be rendered"},
    {"test_clock_advance", "Clock could not be advanced"},
    {"list_keys", "Keys could not be listed"},
    {"count_keys", "Keys could not be counted"},
    {"create_key", "Key could not be created"},
    {"get_key", "Key could not be retrieved"},
    {"get_key_metadata", "Key metadata could not be retrieved"},
    {"delete_key", "Key could not be deleted"},
    {"restore_key", "Key could not be restored"},
    {"list_key_versions", "Key versions could not be listed"},
    {"wrap_key", "Wrap with key could not be performed"},
    {"unwrap_key", "Unwrap with key could not be performed"},
    {"rewrap_key", "Rewrap with key could not be performed"},
    {"rotate_key", "Action could not be performed on key"},
    {"enable_key", "Action could not be performed on key"},
    {"disable_key", "Action could not be performed on key"},
    {"patch_key", "Key could not be updated"},
    {"create_key_alias", "Key alias could not be created"},
    {"delete_key_alias", "Key alias could not be deleted"},
    {"create_key_ring", "Key ring could not be created"},
    {"list_key_rings", "Key rings could not be listed"},
    {"delete_key_ring", "Key ring could not be deleted"},
    {"create_key_with_policy_overrides", "Key could not be created"},
    {"purge_key", "Key could not be purged"},
    {"set_key_for_deletion", "Action could not be performed on key"},
    {"unset_key_for_deletion", "Action could not be performed on key"},
    {"sync_associated_resources", "Action could not be performed on key"},
    {"get_key_policies", "Key policies could not be retrieved"},
    {"put_key_policies", "Key policy could not be set"},
    {"get_instance_policies", "Instance policies could not be retrieved"},
    {"put_instance_policies", "Instance policy could not be created"},
    {"get_allowed_ip_port", "Allowed IP port could not be retrieved"},
    {"post_import_token", "Import Token could not be created"},
    {"get_import_token", "Import Token could not be retrieved"},
    {"list_registrations", "Registrations could not be listed"},
    {"create_registration", "Registration could not be created"},
    {"replace_registration", "Registration could not be replaced"},
    {"update_registration", "Registration could not be updated"},
    {"delete_registration", "Registration could not be deleted"},
    {"deactivate_registrations", "Registrations could not be deactivated"},
    {"event_ack", "Event could not be acknowledged"},
    {"issue_token", "Token could not be issued"},
    {"admin_principals", "Principal request could not be completed"},
    {"admin_api_keys", "API key request could not be completed"},
    {"admin_instances", "Instance request could not be completed"},
    {"admin_policies", "Policy request could not be completed"},
    {"admin_authorizations", "Authorization request could not be completed"},
    {"admin_audit", "Audit records could not be listed"},
    {"admin_webhooks", "Webhook request could not be completed"},
    {"admin_seal", "Seal request could not be completed"},
    {"unknown", "The request could not be completed"},
};

// The table follows the enum: a missed row would shift every name after it.
static_assert(kOps[kOpUnknown].metric_name == "unknown");
static_assert(kOps[kOpEventAck].metric_name == "event_ack");

inline constexpr std::string_view kJson = "application/json";

// The request headers the API reads, found in one pass over the fields.
struct ApiHeaders {
  std::string_view authorization;
  std::string_view instance;
  std::string_view correlation_id;
  std::string_view key_ring;
  std::string_view prefer;
  std::string_view if_match;

  explicit ApiHeaders(const BeastRequest& req) {
    for (const auto& f : req) {
      std::string_view name(f.name_string().data(), f.name_string().size());
      std::string_view value(f.value().data(), f.value().size());
      if (f.name() == beast_http::field::authorization) {
        authorization = value;
      } else if (absl::EqualsIgnoreCase(AbslView(name), "Bluemix-Instance")) {
        instance = value;
      } else if (absl::EqualsIgnoreCase(AbslView(name), "Correlation-Id")) {
        correlation_id = value;
      } else if (absl::EqualsIgnoreCase(AbslView(name), "X-Kms-Key-Ring")) {
        key_ring = value;
      } else if (absl::EqualsIgnoreCase(AbslView(name), "Prefer")) {
        prefer = value;
      } else if (f.name() == beast_http::field::if_match) {
        if_match = value;
      }
    }
  }
};

// The `Prefer` header (keyprotect-api.md §1.5).
service::Prefer ParsePrefer(std::string_view value);

// `must_be` completes "The param `name` must be: …" (BAD_BODY_ERR).
absl::Status BadParam(std::string_view name, std::string_view must_be);
absl::StatusOr<std::optional<int64_t>> IntParam(const QueryParams& q,
                                                std::string_view name);
absl::StatusOr<std::optional<bool>> BoolParam(const QueryParams& q,
                                              std::string_view name);

// Reads `limit`, `offset` and `totalCount` into a list request, keeping its
// defaults for what the query leaves out.
template <typename Request>
absl::Status ReadPaging(const QueryParams& q, Request& req) {
  absl::StatusOr<std::optional<int64_t>> limit = IntParam(q, "limit");
  if (!limit.ok()) return limit.status();
  absl::StatusOr<std::optional<int64_t>> offset = IntParam(q, "offset");
  if (!offset.ok()) return offset.status();
  absl::StatusOr<std::optional<bool>> total = BoolParam(q, "totalCount");
  if (!total.ok()) return total.status();
  if (*limit) req.limit = **limit;
  if (*offset) req.offset = **offset;
  req.total_count = total->value_or(false);
  return absl::OkStatus();
}

// Per-request state shared by the dispatch steps.
struct KeyProtectApi::Call {
  Call(const BeastRequest& request, BeastResponse& response)
      : req(request), res(response), headers(request) {}

  const BeastRequest& req;
  BeastResponse& res;
  ApiHeaders headers;
  RouteMatch match;
  Method method = Method::kGet;
  Op op = kOpUnknown;
  service::RequestContext ctx;

  std::string_view Body() const { return req.body(); }
  std::string_view KeyId() const {
    return match.params.Get("id").value_or(std::string_view());
  }

  void Reply(beast_http::status status, std::string body = {},
             std::string_view content_type = kJson) {
    res.result(status);
    if (!body.empty() || status == beast_http::status::ok ||
        status == beast_http::status::created) {
      res.set(beast_http::field::content_type,
              boost::beast::string_view(content_type.data(),
                                        content_type.size()));
    }
    res.body() = std::move(body);
  }

  void Fail(const absl::Status& status) {
    Reason reason = ReasonOf(status);
    const WireReason& info = WireReasonOf(reason);
    std::string message(status.message());
    if (reason == Reason::kInternal || reason == Reason::kNone) {
      // The cause stays in the server log; the client gets the correlation
      // id to quote.
      spdlog::error("{{\"msg\":\"internal error\",\"correlation_id\":\"{}\","
                    "\"op\":\"{}\",\"status\":\"{}\"}}",
                    ctx.correlation_id, kOps[op].metric_name,
                    status.ToString());
      message = StrCat("Internal error; quote correlation id ",
                             ctx.correlation_id);
    }
    auto http_status = static_cast<beast_http::status>(info.http_status);
    std::string_view phrase = beast_http::obsolete_reason(http_status);
    std::string error_msg =
        StrCat(phrase, ": ", kOps[op].failure,
                     ". Please see `reasons` for more details.");
    std::optional<std::string> field = FieldOf(status);
    res.result(http_status);
    res.set(beast_http::field::content_type, "application/json");
    res.body() = EncodeError(error_msg, info.code, message, info.http_status,
                             field ? &*field : nullptr);
    if (reason == Reason::kTooManyRequests) {
      res.set(beast_http::field::retry_after, "1");
    }
  }
};

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_
