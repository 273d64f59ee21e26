#ifndef KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_H_
#define KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "keywarden/api/http/access_log.h"
#include "keywarden/api/http/metrics.h"
#include "keywarden/api/http/router.h"
#include "keywarden/common/clock.h"
#include "keywarden/service/auth_failures.h"
#include "keywarden/service/data_plane.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/service/import_tokens.h"
#include "keywarden/service/instance_policies.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/key_service.h"
#include "keywarden/service/kmip_adapters.h"
#include "keywarden/service/registrations.h"
#include "keywarden/service/seal_service.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/service/token_issuer.h"
#include "keywarden/service/webhooks.h"

namespace keywarden::api::keyprotect {

// The HTTP transport's vocabulary, which the Key Protect API speaks.
using http::AccessEvent;
using http::AccessLog;
using http::FormatAccessEvent;
using http::HttpMetrics;
using http::Method;
using http::MethodName;
using http::ParseMethod;
using http::PercentDecode;
using http::QueryParams;
using http::RouteMatch;
using http::Router;

using BeastRequest =
    boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse =
    boost::beast::http::response<boost::beast::http::string_body>;

struct ApiOptions {
  std::string crn_prefix = "crn:v1:keywarden:private:kms:local:a/local:";
  bool access_log = true;
  // When set, POST /_test/clock/advance moves this clock (test-clock mode).
  OffsetClock* test_clock = nullptr;
  // Run after the test clock moves, so expiry is persisted at once.
  std::function<void()> after_clock_advance;
  // /readyz answers 200 only while this returns true.
  std::function<bool()> ready;
};

// The services the API calls; all outlive it. `data_plane`, `keys`, `rings`,
// `identity`, `authenticator` and `tokens` are required; a null optional
// one answers its routes 501.
struct ApiServices {
  service::DataPlane* data_plane = nullptr;
  service::KeyLifecycle* keys = nullptr;
  service::KeyRings* rings = nullptr;
  service::IdentityManager* identity = nullptr;
  // Checks the bearer token of every authenticated route: the data plane's
  // hot path (a final class, so the call is direct).
  const service::TokenAuthenticator* authenticator = nullptr;
  // POST /identity/token.
  service::TokenIssuer* tokens = nullptr;
  service::ImportTokenManager* import_tokens = nullptr;
  service::InstancePolicyManager* instance_policies = nullptr;
  service::RegistrationManager* registrations = nullptr;
  service::WebhookRegistry* webhooks = nullptr;
  // KMIP adapters (keyprotect-api.md §13).
  service::KmipAdapters* kmip = nullptr;
  // Which instances have their metrics policy enabled.
  const service::InstancePolicyIndex* policy_index = nullptr;
  // Failed bearer checks: aggregated audit records and a per-address
  // throttle. Null: one audit record per failure through `identity`.
  service::AuthFailureLog* auth_failures = nullptr;
  // While it is sealed, every route but health, readiness and the seal
  // endpoints answers 503. Null: never sealed (tests).
  service::SealService* seal = nullptr;
};

struct Call;  // keyprotect_api_internal.h

// KeyProtectApi is the Key Protect v2 REST API over the service: one route
// table, one codec, one error mapping. Handle() is a plain function from a
// request to a response (no socket code), called concurrently from every
// I/O thread. The routes are one table, a row per operation
// (keyprotect_routes.cc); the router is built from it in the constructor.
// Thread-safe.
class KeyProtectApi {
 public:
  KeyProtectApi(ApiServices services, ApiOptions options);
  ~KeyProtectApi();

  void Handle(const BeastRequest& request, BeastResponse& response);

  // GET /metrics (Prometheus text) and nothing else: the handler of the
  // separate metrics listener (--metrics-listen). The API listener does not
  // serve /metrics, because the text names instance ids and operations.
  void ServeMetrics(const BeastRequest& request, BeastResponse& response);

  // Whether the request runs long enough (RSA-4096 key generation for
  // POST /import_token, name resolution for PUT .../webhook) that the
  // transport must run it off its I/O threads: the table's kBlocking rows.
  // Cheap: it looks at the method and the raw path only, without decoding.
  static bool IsBlocking(const BeastRequest& request);

  // The Key Protect error envelope for a failure the transport detects
  // before a handler runs (413 body too large, 431 headers too large, 400
  // unparsable request).
  void TransportError(int http_status, BeastResponse& response);

  HttpMetrics& metrics() { return *metrics_; }

 private:
  // Runs the matched row: ?action= selection, authentication, the instance
  // header, then its handler, in that order.
  void Dispatch(Call& call);
  // The metrics index of an operation (kUnknownOperation for null).
  int MetricIndex(const Call& call) const;

  ApiServices services_;
  ApiOptions options_;
  Router router_;
  // Per row of Operations(): its index in the metrics' operation labels.
  std::vector<int> metric_of_row_;
  int metric_unknown_ = 0;
  std::unique_ptr<HttpMetrics> metrics_;
  std::unique_ptr<AccessLog> access_log_;  // when options_.access_log
};

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_KEYPROTECT_API_H_
