#include "keywarden/api/keyprotect/webhook_sink.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/hmac.h"
#include "keywarden/net/address_policy.h"
#include "keywarden/net/http_client.h"

namespace keywarden::api::keyprotect {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// The policy's verdict on one address, as the error a caller sees.
absl::Status CheckAddress(std::string_view ip, const WebhookUrlPolicy& policy) {
  std::string_view why = net::ForbiddenDestination(ip, policy.allow_private);
  if (why.empty()) return absl::OkStatus();
  const bool relaxable =
      why == "loopback" || why == "link-local" || why == "private";
  return absl::PermissionDeniedError(
      StrCat("the webhook address ", ip, why.front() == 'u' ? " is an " : " is a ",
             why, " address",
             relaxable ? " (webhooks.allow_private is off)" : ""));
}

absl::Status CheckScheme(const net::Endpoint& e,
                         const WebhookUrlPolicy& policy) {
  if (e.tls || policy.allow_http) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "webhooks must use https (webhooks.allow_http is off)");
}

}  // namespace

absl::Status CheckWebhookUrl(std::string_view url,
                             const WebhookUrlPolicy& policy) {
  auto bad = [](std::string_view why) {
    return Error(Reason::kBadRequest,
                 StrCat("Bad Request: `url` is not allowed: ", why), "url");
  };
  absl::StatusOr<net::Endpoint> endpoint = net::ParseEndpoint(std::string(url));
  if (!endpoint.ok()) {
    return Error(Reason::kBadRequest,
                 StrCat("Bad Request: `url` must be an https URL: ",
                        endpoint.status().message()),
                 "url");
  }
  if (absl::Status s = CheckScheme(*endpoint, policy); !s.ok()) {
    return bad(StdView(s.message()));
  }
  absl::StatusOr<std::vector<std::string>> ips = net::ResolveAddresses(
      *endpoint, absl::ToChronoMilliseconds(policy.resolve_timeout));
  if (!ips.ok()) return bad(StdView(ips.status().message()));
  for (const std::string& ip : *ips) {
    if (absl::Status s = CheckAddress(ip, policy); !s.ok()) {
      return bad(StdView(s.message()));
    }
  }
  return absl::OkStatus();
}

WebhookSink::WebhookSink(WebhookSinkOptions options)
    : options_(std::move(options)) {}

std::string WebhookSink::Sign(const SecretBytes& secret, std::string_view body,
                              absl::Time now) {
  std::string t = std::to_string(absl::ToUnixSeconds(now));
  std::string signed_text = StrCat(t, ".", body);
  std::array<uint8_t, 32> mac = crypto::HmacSha256(
      secret.span(),
      {reinterpret_cast<const uint8_t*>(signed_text.data()), signed_text.size()});
  return StrCat("t=", t, ",v1=", Hex(mac));
}

service::EventSink::Outcome WebhookSink::Deliver(
    const service::WebhookTarget& target, const keys::KeyEvent& event,
    int64_t attempt, absl::Time now) {
  Outcome outcome;
  absl::StatusOr<net::Endpoint> endpoint = net::ParseEndpoint(target.url);
  if (!endpoint.ok()) {
    outcome.error = "the webhook URL is not valid";
    return outcome;
  }
  net::HttpRequest request;
  request.method = "POST";
  request.target = endpoint->prefix.empty() ? "/" : "";
  request.body = EncodeKeyEvent(event, options_.crn_prefix, attempt,
                                event.time + options_.ack_timeout);
  request.headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", "keywarden-events/1"},
      {"Keywarden-Event-Id", event.id},
      {"Keywarden-Event-Type", std::string(keys::KeyEventTypeName(event.type))},
      {"Keywarden-Signature", Sign(target.secret, request.body, now)},
  };
  if (absl::Status s = CheckScheme(*endpoint, options_.policy); !s.ok()) {
    outcome.error = std::string(s.message());
    outcome.unreachable = true;
    return outcome;
  }
  net::HttpOptions http_options;
  http_options.timeout = absl::ToChronoMilliseconds(options_.timeout);
  http_options.check_address = [policy = options_.policy](std::string_view ip) {
    return CheckAddress(ip, policy);
  };
  http_options.max_body_bytes = 64 << 10;
  absl::StatusOr<net::HttpResponse> response =
      net::Send(*endpoint, request, http_options);
  if (!response.ok()) {
    // The message names the endpoint, never headers or the body.
    outcome.error = std::string(response.status().message()).substr(0, 200);
    outcome.unreachable = true;
    return outcome;
  }
  if (response->status < 200 || response->status > 299) {
    outcome.error = StrCat("the webhook answered HTTP ", response->status);
    return outcome;
  }
  outcome.delivered = true;
  return outcome;
}

}  // namespace keywarden::api::keyprotect
