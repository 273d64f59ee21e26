#ifndef KEYWARDEN_API_KEYPROTECT_WEBHOOK_SINK_H_
#define KEYWARDEN_API_KEYPROTECT_WEBHOOK_SINK_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keywarden/service/event_dispatcher.h"

namespace keywarden::api::keyprotect {

// Which webhook destinations are allowed (docs/api.md "Lifecycle
// events"). The defaults suit a server on a network with anything worth
// protecting: https only, public addresses only. A closed network relaxes
// them (webhooks.allow_http, webhooks.allow_private); cloud-metadata
// addresses stay refused whatever the setting.
struct WebhookUrlPolicy {
  bool allow_http = false;
  bool allow_private = false;
  // Bounds the name resolution of a registration.
  absl::Duration resolve_timeout = absl::Seconds(5);
};

// Whether `url` is one the sink may deliver to: https:// (or http:// with
// allow_http), a host, an optional port and path, no user info, query or
// fragment, and a host whose every address is allowed by the policy (so it
// resolves the name: blocking, call it off the I/O threads). A 400
// BAD_REQUEST_ERR whose message says which rule the URL breaks.
absl::Status CheckWebhookUrl(std::string_view url,
                             const WebhookUrlPolicy& policy);

struct WebhookSinkOptions {
  std::string crn_prefix;  // as the API shows key CRNs
  absl::Duration timeout = absl::Seconds(10);  // one whole delivery
  absl::Duration ack_timeout = absl::Hours(4);  // shown as acknowledgeBy
  // Checked again on every delivery: the scheme, each address the name
  // resolves to and the address actually connected to, so a name that
  // resolves elsewhere later (DNS rebinding) or a setting narrowed since
  // registration is still refused.
  WebhookUrlPolicy policy;
};

// WebhookSink delivers a lifecycle event as an HTTP POST of its JSON body
// (docs/api.md "Lifecycle events") to the service's webhook, signed with
// the service's secret:
//
//   Keywarden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//                        "<t>.<body>")>
//
// plus Keywarden-Event-Id and Keywarden-Event-Type. Any 2xx answer counts as
// delivered. One delivery at a time per call; https URLs verify the
// receiver's certificate against the system trust store. Thread-compatible
// (the dispatcher calls it from its one thread).
class WebhookSink final : public service::EventSink {
 public:
  explicit WebhookSink(WebhookSinkOptions options);

  Outcome Deliver(const service::WebhookTarget& target,
                  const keys::KeyEvent& event, int64_t attempt,
                  absl::Time now) override;

  // The signature header value for `body` at `now` (for tests and docs).
  static std::string Sign(const SecretBytes& secret, std::string_view body,
                          absl::Time now);

 private:
  WebhookSinkOptions options_;
};

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_WEBHOOK_SINK_H_
