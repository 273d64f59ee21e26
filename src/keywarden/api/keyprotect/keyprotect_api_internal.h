#ifndef KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_
#define KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_

// Internal to the Key Protect API (keyprotect_api.cc, keyprotect_routes.cc
// and the *_handlers.cc files): the operation table's row type, the
// per-request Call and the parameter helpers the handler files share. Not
// for other modules.

#include <cstdint>
#include <optional>
#include <span>
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

struct Call;
using Handler = void (*)(Call& call);

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

// What a row of the operation table asks of the dispatcher before its
// handler runs (KeyProtectApi::Dispatch, keyprotect_api.cc).
enum OperationFlag : uint32_t {
  // A bearer token is checked first; its failure names the operation.
  kAuth = 1u << 0,
  // The Bluemix-Instance header must hold a UUID (then X-Kms-Key-Ring is
  // read too): the routes of one key service instance.
  kInstance = 1u << 1,
  // The handler runs long (RSA-4096 generation, name resolution): the
  // transport runs it off its I/O threads (KeyProtectApi::IsBlocking).
  kBlocking = 1u << 2,
  // The path's {id} is a key (an id or an alias), for the access log.
  kNamesKey = 1u << 3,
  // Registered only in test-clock mode (ApiOptions::test_clock).
  kTestClockOnly = 1u << 4,
  // One of several rows on the same method and pattern, told apart by the
  // `?action=` query parameter, which must equal the row's `action`: the
  // deprecated `POST /keys/{id}?action=wrap` form (keyprotect-api.md
  // §4.1). Resolved before authentication; a missing action is a 400 and an
  // unknown one a 404, both under the "unknown" operation.
  kSelectedByAction = 1u << 5,
  // Served while the master key is sealed (health, readiness, the seal
  // endpoints, unknown actions); every other row answers 503 first, before
  // its token is checked.
  kWhileSealed = 1u << 6,
};

// One row per API operation: the only place a route is declared. The
// metrics label set, the router and the access log's key field are derived
// from it. Several rows may share a name (one operation on two paths); they
// then share the failure text too (checked at construction).
struct Operation {
  Method method;
  std::string_view pattern;
  std::string_view name;     // metrics label and access-log op
  std::string_view failure;  // errorMsg text after the HTTP reason phrase
  Handler handler;
  uint32_t flags = 0;
  std::string_view action = {};  // with kSelectedByAction: its ?action=

  bool Has(OperationFlag flag) const { return (flags & flag) != 0; }
};

// The table, in keyprotect_routes.cc.
std::span<const Operation> Operations();

// The operation of a request that reached no row (404, 405, 400, an unknown
// action): its metrics label and failure text.
inline constexpr std::string_view kUnknownOperation = "unknown";
inline constexpr std::string_view kUnknownFailure =
    "The request could not be completed";

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

// The `Prefer` header (keyprotect-api.md §1.5): a Key Protect header, so
// the service never sees it; handlers turn it into what they render.
enum class Prefer { kUnspecified, kMinimal, kRepresentation };
Prefer ParsePrefer(std::string_view value);

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

// Per-request state shared by the dispatcher and the handler. The services
// and options belong to the KeyProtectApi and outlive the call.
struct Call {
  Call(const BeastRequest& request, BeastResponse& response,
       const ApiServices& api_services, const ApiOptions& api_options)
      : req(request),
        res(response),
        headers(request),
        services(api_services),
        options(api_options) {}

  const BeastRequest& req;
  BeastResponse& res;
  ApiHeaders headers;
  const ApiServices& services;
  const ApiOptions& options;
  RouteMatch match;
  Method method = Method::kGet;
  // The operation chosen; null until a row is chosen (the "unknown" one).
  const Operation* operation = nullptr;
  service::RequestContext ctx;

  std::string_view OpName() const {
    return operation ? operation->name : kUnknownOperation;
  }
  std::string_view OpFailure() const {
    return operation ? operation->failure : kUnknownFailure;
  }
  const QueryParams& Query() const { return match.query; }
  std::string_view Param(std::string_view name) const {
    return match.params.Get(name).value_or(std::string_view());
  }
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
    std::string message = WireMessage(status);
    if (reason == Reason::kInternal || reason == Reason::kNone) {
      // The cause stays in the server log; the client gets the correlation
      // id to quote.
      spdlog::error("{{\"msg\":\"internal error\",\"correlation_id\":\"{}\","
                    "\"op\":\"{}\",\"status\":\"{}\"}}",
                    ctx.correlation_id, OpName(),
                    status.ToString());
      message = StrCat("Internal error; quote correlation id ",
                             ctx.correlation_id);
    }
    auto http_status = static_cast<beast_http::status>(info.http_status);
    std::string_view phrase = beast_http::obsolete_reason(http_status);
    std::string error_msg =
        StrCat(phrase, ": ", OpFailure(),
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

// A service that ApiServices leaves null answers its routes 501.
absl::Status Unavailable(std::string_view what);

// The handlers the operation table names, one file per resource. Each
// decodes, calls the service and encodes; no rules live here. They run after
// the dispatcher has done what the row's flags ask.
namespace handlers {
// health_handlers.cc: operational endpoints.
void Healthz(Call& call);
void Readyz(Call& call);
// seal_handlers.cc: GET /admin/v1/seal, POST /admin/v1/seal/{action}.
void GetSealStatus(Call& call);
void SealAction(Call& call);
void AdvanceTestClock(Call& call);
// identity_handlers.cc: token issuing.
void IssueToken(Call& call);
// keys_handlers.cc: key lifecycle.
void ListKeys(Call& call);
void CountKeys(Call& call);
void CreateKey(Call& call);
void CreateKeyWithPolicyOverrides(Call& call);
void GetKey(Call& call);
void GetKeyMetadata(Call& call);
void DeleteKey(Call& call);
void RestoreKey(Call& call);
void ListKeyVersions(Call& call);
void RotateKey(Call& call);
void EnableKey(Call& call);
void DisableKey(Call& call);
void SetKeyForDeletion(Call& call);
void UnsetKeyForDeletion(Call& call);
void SyncKey(Call& call);
void PurgeKey(Call& call);
void PatchKey(Call& call);
void NoSuchKeyAction(Call& call);
// data_plane_handlers.cc: wrap, unwrap, rewrap.
void WrapKey(Call& call);
void UnwrapKey(Call& call);
void RewrapKey(Call& call);
// key_rings_handlers.cc: key rings and aliases.
void CreateKeyAlias(Call& call);
void DeleteKeyAlias(Call& call);
void CreateKeyRing(Call& call);
void ListKeyRings(Call& call);
void CreateKmipAdapter(Call& call);
void ListKmipAdapters(Call& call);
void GetKmipAdapter(Call& call);
void DeleteKmipAdapter(Call& call);
void CreateKmipCertificate(Call& call);
void ListKmipCertificates(Call& call);
void GetKmipCertificate(Call& call);
void DeleteKmipCertificate(Call& call);
void ListKmipObjects(Call& call);
void GetKmipObject(Call& call);
void DeleteKmipObject(Call& call);
void DeleteKeyRing(Call& call);
// policies_handlers.cc: key and instance policies.
void GetKeyPolicies(Call& call);
void PutKeyPolicies(Call& call);
void GetInstancePolicies(Call& call);
void PutInstancePolicies(Call& call);
void GetAllowedIpPort(Call& call);
// import_token_handlers.cc: secure import.
void CreateImportToken(Call& call);
void GetImportToken(Call& call);
// registrations_handlers.cc: registrations and event acknowledgements.
void ListKeyRegistrations(Call& call);
void ListAllRegistrations(Call& call);
void DeactivateRegistrations(Call& call);
void WriteRegistration(Call& call);
void DeleteRegistration(Call& call);
void AcknowledgeEvents(Call& call);
// admin_handlers.cc: /admin/v1 (docs/admin-api.md).
void CreateUser(Call& call);
void CreateServiceId(Call& call);
void ListPrincipals(Call& call);
void DeletePrincipal(Call& call);
void CreateApiKey(Call& call);
void ListApiKeys(Call& call);
void DeleteApiKey(Call& call);
void CreateInstance(Call& call);
void ListInstances(Call& call);
void DeleteInstance(Call& call);
void CreatePolicy(Call& call);
void ListPolicies(Call& call);
void DeletePolicy(Call& call);
void CreateAuthorization(Call& call);
void ListAuthorizations(Call& call);
void DeleteAuthorization(Call& call);
void RevokeBootstrapToken(Call& call);
void ListAudit(Call& call);
void PutWebhook(Call& call);
void GetWebhook(Call& call);
void DeleteWebhook(Call& call);
}  // namespace handlers

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_INTERNAL_H_
