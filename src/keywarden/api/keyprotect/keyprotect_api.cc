// The Key Protect API's request path: match the operation table
// (keyprotect_routes.cc), do what the row's flags ask in one fixed order
// (?action= selection, authentication, the instance header), run its
// handler, then count and log the request under the row's operation name.
#include "keywarden/api/keyprotect/keyprotect_api.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <string_view>

#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "keywarden/api/http/server.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"

namespace keywarden::api::keyprotect {

using http::CurrentPeerAddress;
namespace {

std::optional<Method> MethodOf(beast_http::verb verb) {
  switch (verb) {
    case beast_http::verb::get:
      return Method::kGet;
    case beast_http::verb::head:
      return Method::kHead;
    case beast_http::verb::post:
      return Method::kPost;
    case beast_http::verb::put:
      return Method::kPut;
    case beast_http::verb::patch:
      return Method::kPatch;
    case beast_http::verb::delete_:
      return Method::kDelete;
    case beast_http::verb::options:
      return Method::kOptions;
    default:
      return std::nullopt;
  }
}

// A correlation id for requests that bring none: UUID-shaped, unique per
// process (a random 64-bit prefix drawn once) and per request (a counter),
// without a CSPRNG call per request. It identifies, it does not protect.
std::string NewCorrelationId() {
  static const uint64_t prefix = [] {
    uint64_t p;
    crypto::RandomBytes({reinterpret_cast<uint8_t*>(&p), sizeof p});
    return p;
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  // 8-4-4-4-12: the prefix fills the first 16 hex digits, the counter the
  // last 16 (version and variant nibbles set as in a v4 UUID).
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      id[pos++] = kHex[(v >> (4 * i)) & 0xf];
    }
  };
  put(prefix, 12);
  put(4, 1);
  put(prefix >> 48, 3);
  put(8, 1);
  put(n, 15);
  return id;
}

// A client's correlation id is echoed and logged, so only a plain token is
// taken as is; anything else (quotes, control characters, >128 bytes) is
// replaced so it cannot forge log lines or headers.
bool IsPlainToken(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

// Whether `path` (raw, undecoded) has the shape of `pattern`: literal
// segments equal, a {capture} any non-empty segment, one trailing '/'
// allowed as the router allows it.
bool PathFits(std::string_view path, std::string_view pattern) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() != '/' || path.front() != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    size_t p = pattern.find('/');
    size_t q = path.find('/');
    std::string_view want = pattern.substr(0, p);
    std::string_view got = path.substr(0, q);
    bool capture = want.size() >= 2 && want.front() == '{';
    if (capture ? got.empty() : want != got) return false;
    pattern.remove_prefix(want.size());
    path.remove_prefix(got.size());
  }
  return pattern.empty() && path.empty();
}

}  // namespace

Prefer ParsePrefer(std::string_view value) {
  std::string v = absl::AsciiStrToLower(AbslView(value));
  if (v.find("return=minimal") != std::string::npos) {
    return Prefer::kMinimal;
  }
  if (v.find("return=representation") != std::string::npos) {
    return Prefer::kRepresentation;
  }
  return Prefer::kUnspecified;
}

absl::Status BadParam(std::string_view name, std::string_view must_be) {
  return Error(Reason::kBadBody,
               StrCat("The param `", name, "` must be: ", must_be), name);
}

absl::StatusOr<std::optional<int64_t>> IntParam(const QueryParams& q,
                                                std::string_view name) {
  std::optional<std::string_view> v = q.Get(name);
  if (!v) return std::nullopt;
  int64_t n;
  if (!absl::SimpleAtoi(AbslView(*v), &n)) return BadParam(name, "an integer");
  return n;
}

absl::StatusOr<std::optional<bool>> BoolParam(const QueryParams& q,
                                              std::string_view name) {
  std::optional<std::string_view> v = q.Get(name);
  if (!v) return std::nullopt;
  if (absl::EqualsIgnoreCase(AbslView(*v), "true")) return true;
  if (absl::EqualsIgnoreCase(AbslView(*v), "false")) return false;
  return BadParam(name, "true or false");
}

KeyProtectApi::KeyProtectApi(ApiServices services, ApiOptions options)
    : services_(services), options_(std::move(options)) {
  // The table is a constant: a mistake in it is a programming error that
  // every test run would hit, so it aborts here.
  auto fatal = [](std::string_view what) {
    spdlog::critical("operation table: {}", what);
    std::abort();
  };
  std::span<const Operation> rows = Operations();
  // The metrics' operation labels: each name once, in table order, then
  // the one for requests that reach no operation.
  std::vector<std::string> names;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Operation& row = rows[i];
    auto same_place = [&](const Operation& other) {
      return other.method == row.method && other.pattern == row.pattern;
    };
    bool registered = false;
    for (size_t j = 0; j < i; ++j) {
      if (rows[j].name == row.name && rows[j].failure != row.failure) {
        fatal(StrCat(row.name, " has two failure texts"));
      }
      // Rows selected by ?action= share one router entry, the first's.
      registered = registered ||
                   (same_place(rows[j]) && row.Has(kSelectedByAction) &&
                    rows[j].Has(kSelectedByAction));
    }
    if (row.name != kUnknownOperation &&
        std::find(names.begin(), names.end(), row.name) == names.end()) {
      names.emplace_back(row.name);
    }
    if (registered || (row.Has(kTestClockOnly) && !options_.test_clock)) {
      continue;
    }
    if (row.Has(kSelectedByAction) && row.action.empty()) {
      fatal(StrCat(row.pattern, ": a row selected by ?action= needs one"));
    }
    absl::Status added =
        router_.Add(row.method, row.pattern, static_cast<int>(i));
    if (!added.ok()) fatal(added.ToString());
  }
  names.emplace_back(kUnknownOperation);
  metric_unknown_ = static_cast<int>(names.size()) - 1;
  for (const Operation& row : rows) {
    metric_of_row_.push_back(static_cast<int>(
        std::find(names.begin(), names.end(), row.name) - names.begin()));
  }
  metrics_ = std::make_unique<HttpMetrics>(std::move(names));
  if (options_.access_log) access_log_ = std::make_unique<AccessLog>();
}

KeyProtectApi::~KeyProtectApi() = default;

void KeyProtectApi::Handle(const BeastRequest& request,
                           BeastResponse& response) {
  auto start = std::chrono::steady_clock::now();
  Call call(request, response, services_, options_);
  response.version(request.version());
  response.keep_alive(request.keep_alive());

  std::string_view correlation = call.headers.correlation_id;
  call.ctx.correlation_id = IsPlainToken(correlation)
                                ? std::string(correlation)
                                : NewCorrelationId();

  std::optional<Method> method = MethodOf(request.method());
  std::string_view target(request.target().data(), request.target().size());
  if (!method) {
    call.Fail(Error(Reason::kMethodNotAllowed, "Method Not Allowed"));
  } else {
    call.method = *method;
    router_.Match(*method, target, call.match);
    switch (call.match.result) {
      case RouteMatch::Result::kMatched:
        Dispatch(call);
        break;
      case RouteMatch::Result::kMethodNotAllowed:
        call.Fail(Error(Reason::kMethodNotAllowed,
                        StrCat("Method Not Allowed: this path accepts ",
                                     call.match.AllowHeader())));
        response.set(beast_http::field::allow, call.match.AllowHeader());
        break;
      case RouteMatch::Result::kBadRequest:
        call.Fail(Error(Reason::kBadBody,
                        "Bad Request: the request target is malformed"));
        break;
      case RouteMatch::Result::kNotFound:
        call.Fail(Error(Reason::kNotFound,
                        "Not Found: The requested resource could not be "
                        "found"));
        break;
    }
  }
  response.set("correlation-id", call.ctx.correlation_id);
  if (call.method == Method::kHead) {
    // HEAD carries the headers of the GET without its body.
    response.body().clear();
  }

  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  int status = static_cast<int>(response.result_int());
  int metric = MetricIndex(call);
  metrics_->RecordRequest(metric, status, seconds);
  if (services_.policy_index != nullptr && !call.ctx.instance_id.empty() &&
      services_.policy_index->MetricsEnabled(call.ctx.instance_id)) {
    // The instance's metrics policy (keyprotect-api.md §7.2).
    metrics_->RecordInstanceRequest(call.ctx.instance_id, metric, status);
  }
  if (options_.access_log) {
    // Who did what to which key: ids only, never headers or bodies, which
    // carry tokens and key material (FormatAccessEvent has no field for
    // them).
    AccessEvent event;
    event.correlation_id = call.ctx.correlation_id;
    event.method = MethodName(call.method);
    event.op = call.OpName();
    event.principal = call.ctx.principal.id;
    event.instance = call.ctx.instance_id;
    if (call.match.result == RouteMatch::Result::kMatched &&
        Operations()[call.match.route_id].Has(kNamesKey)) {
      event.key = call.KeyId();
    }
    event.remote = CurrentPeerAddress();
    event.status = status;
    event.duration_us = static_cast<int64_t>(seconds * 1e6);
    access_log_->Write(FormatAccessEvent(event));
  }
}

bool KeyProtectApi::IsBlocking(const BeastRequest& request) {
  std::optional<Method> method = MethodOf(request.method());
  if (!method) return false;
  std::string_view target(request.target().data(), request.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  for (const Operation& row : Operations()) {
    if (row.Has(kBlocking) && row.method == *method &&
        PathFits(path, row.pattern)) {
      return true;
    }
  }
  return false;
}

void KeyProtectApi::TransportError(int http_status, BeastResponse& response) {
  Reason reason = http_status == 413 ? Reason::kPayloadTooLarge
                                     : Reason::kBadRequest;
  std::string_view message =
      http_status == 413   ? "Payload Too Large: the request body is too large"
      : http_status == 431 ? "Request Header Fields Too Large"
                           : "Bad Request: the request could not be parsed";
  const WireReason& info = WireReasonOf(reason);
  auto status = static_cast<beast_http::status>(http_status);
  std::string error_msg(beast_http::obsolete_reason(status));
  error_msg += ": The request could not be completed.";
  response.result(status);
  response.set(beast_http::field::content_type, "application/json");
  response.body() =
      EncodeError(error_msg, info.code, message, http_status, nullptr);
}

void KeyProtectApi::ServeMetrics(const BeastRequest& request,
                                 BeastResponse& response) {
  std::string_view target(request.target().data(), request.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  if (path != "/metrics") {
    response.result(beast_http::status::not_found);
    return;
  }
  if (request.method() != beast_http::verb::get &&
      request.method() != beast_http::verb::head) {
    response.result(beast_http::status::method_not_allowed);
    response.set(beast_http::field::allow, "GET, HEAD");
    return;
  }
  response.result(beast_http::status::ok);
  response.set(beast_http::field::content_type,
               std::string(HttpMetrics::kContentType));
  if (request.method() == beast_http::verb::get) {
    response.body() = metrics_->RenderPrometheusText();
  }
}

absl::Status Unavailable(std::string_view what) {
  return Error(Reason::kNotImplemented,
               StrCat("Not Implemented: ", what, " is not configured"));
}

int KeyProtectApi::MetricIndex(const Call& call) const {
  if (call.operation == nullptr) return metric_unknown_;
  return metric_of_row_[call.operation - Operations().data()];
}

namespace {

// The deprecated `?action=` form: the row of the group (the rows sharing
// the matched row's method and pattern) whose action the query names.
// Null after replying the failure.
const Operation* SelectByAction(Call& call, size_t first) {
  std::span<const Operation> rows = Operations();
  const Operation& matched = rows[first];
  auto in_group = [&](const Operation& row) {
    return row.Has(kSelectedByAction) && row.method == matched.method &&
           row.pattern == matched.pattern;
  };
  std::optional<std::string_view> action = call.Query().Get("action");
  if (!action) {
    // The list names each operation once, by its first action name.
    std::string names;
    for (size_t i = first; i < rows.size(); ++i) {
      if (!in_group(rows[i])) continue;
      bool alias = false;
      for (size_t j = first; j < i; ++j) {
        alias = alias || (in_group(rows[j]) && rows[j].name == rows[i].name);
      }
      if (alias) continue;
      if (!names.empty()) names += ", ";
      names += rows[i].action;
    }
    call.Fail(BadParam("action", StrCat("one of ", names)));
    return nullptr;
  }
  for (size_t i = first; i < rows.size(); ++i) {
    if (in_group(rows[i]) && rows[i].action == *action) return &rows[i];
  }
  call.Fail(Error(Reason::kNotFound, StrCat("Not Found: there is no key action `",
                                            *action, "`")));
  return nullptr;
}

}  // namespace

void KeyProtectApi::Dispatch(Call& call) {
  const Operation* op = &Operations()[call.match.route_id];
  if (op->Has(kSelectedByAction)) {
    // Until an action is chosen, failures name no operation.
    op = SelectByAction(call, call.match.route_id);
    if (op == nullptr) return;
  }
  call.operation = op;
  call.ctx.source_address = std::string(CurrentPeerAddress());
  if (!op->Has(kWhileSealed) && services_.seal != nullptr &&
      services_.seal->sealed()) {
    call.Fail(Error(Reason::kUnavailable,
                    "Service Unavailable: the service is sealed; an operator "
                    "must unseal it (keywarden operator unseal)"));
    return;
  }

  if (op->Has(kAuth)) {
    absl::StatusOr<iam::Principal> principal =
        services_.authenticator->Authenticate(
            CredentialOf(call.headers.authorization));
    if (!principal.ok()) {
      std::string why = StrCat(op->name, ": ",
                               WireReasonOf(ReasonOf(principal.status())).code);
      service::AuthFailureLog* failures = services_.auth_failures;
      if (failures == nullptr) {
        services_.identity->RecordAuthFailure(call.ctx, why);
        call.Fail(principal.status());
        return;
      }
      // Throttled after the check, not before: a valid token from the same
      // address (a NAT, a proxy) keeps working while a neighbour fails.
      std::optional<absl::Duration> wait =
          failures->RetryAfter(call.ctx.source_address);
      failures->Record(call.ctx, wait ? StrCat(why, " (throttled)") : why);
      if (wait) {
        call.Fail(Error(Reason::kTooManyRequests,
                        "Too Many Requests: too many failed authentications "
                        "from this address; wait and try again"));
        call.res.set(beast_http::field::retry_after,
                     std::to_string(std::max<int64_t>(
                         1, absl::ToInt64Seconds(
                                absl::Ceil(*wait, absl::Seconds(1))))));
        return;
      }
      call.Fail(principal.status());
      return;
    }
    call.ctx.principal = *std::move(principal);
  }

  if (op->Has(kInstance)) {
    std::string_view instance = call.headers.instance;
    if (!IsUuid(instance)) {
      call.Fail(Error(Reason::kBadRequest,
                      "Bad Request: the Bluemix-Instance header must name a "
                      "key service instance by its UUID"));
      return;
    }
    call.ctx.instance_id = absl::AsciiStrToLower(AbslView(instance));
    std::string_view ring = call.headers.key_ring;
    if (!ring.empty()) call.ctx.key_ring_id = std::string(ring);
  }

  op->handler(call);
}

}  // namespace keywarden::api::keyprotect
