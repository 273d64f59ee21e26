#include "keywarden/api/http/webhook_sink.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "keywarden/api/http/json_codec.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/hmac.h"
#include "keywarden/net/http_client.h"

namespace keywarden::api::http {
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

}  // namespace

absl::Status CheckWebhookUrl(std::string_view url) {
  absl::StatusOr<net::Endpoint> endpoint = net::ParseEndpoint(std::string(url));
  if (!endpoint.ok()) {
    return Error(Reason::kBadRequest,
                 StrCat("Bad Request: `url` must be an http or https URL: ",
                        endpoint.status().message()),
                 "url");
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
  net::HttpOptions http_options;
  http_options.timeout = absl::ToChronoMilliseconds(options_.timeout);
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

}  // namespace keywarden::api::http
