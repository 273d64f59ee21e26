#ifndef KEYWARDEN_SERVICE_WEBHOOKS_H_
#define KEYWARDEN_SERVICE_WEBHOOKS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/identity.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/request_context.h"
#include "keywarden/store/identity_store.h"

namespace keywarden::service {

// Where and how to deliver one service's events.
struct WebhookTarget {
  std::string url;
  SecretBytes secret;  // HMAC-SHA256 key of the signature header
};

// A webhook as the admin API shows it; `secret` only in the answer that
// generated it (shown once).
struct WebhookInfo {
  std::string principal_id;
  std::string url;
  absl::Time creation_time;
  std::string created_by;
  std::optional<std::string> secret;
};

// WebhookRegistry keeps each service id's webhook (admin API
// /admin/v1/service_ids/{id}/webhook): the URL lifecycle events are POSTed
// to and the secret that signs them, sealed by the master key in the
// identity store (with an audit record) and held sealed in memory; the
// event dispatcher unseals a secret per delivery. Administrators only.
// Thread-safe.
class WebhookRegistry {
 public:
  WebhookRegistry(store::IdentityStore* store, const iam::AccessIndex* access,
                  const seal::MasterKey* master_key, const Clock* clock);

  // Loads every webhook in place of what it held (at start, and when
  // another node changed one).
  absl::Status Load();

  // Sets the webhook of service id `principal_id`. `url` must pass the URL
  // check (set_url_check; the transport's rules for schemes and
  // destinations), which runs only for an administrator and an existing
  // service id. Without `secret`, a 256-bit secret is generated and returned
  // once; a given secret must be 16 to 256 bytes.
  absl::StatusOr<WebhookInfo> Put(const RequestContext& ctx,
                                  std::string_view principal_id,
                                  std::string url,
                                  std::optional<std::string> secret);
  absl::StatusOr<WebhookInfo> Get(const RequestContext& ctx,
                                  std::string_view principal_id) const;
  absl::Status Delete(const RequestContext& ctx, std::string_view principal_id);

  // The delivery target of a service id, or nullopt when it has none (or
  // was deleted).
  absl::StatusOr<std::optional<WebhookTarget>> TargetFor(
      std::string_view service_id) const;

  // Called after every change (the dispatcher retries waiting events).
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }
  // Decides whether a URL may be registered (it may resolve the name, so
  // Put blocks for as long). Unset: any URL of at most 2048 characters.
  void set_url_check(std::function<absl::Status(std::string_view url)> f) {
    url_check_ = std::move(f);
  }

 private:
  store::IdentityStore* store_;
  const iam::AccessIndex* access_;
  const seal::MasterKey* master_key_;
  const Clock* clock_;
  std::function<void()> on_change_;
  std::function<absl::Status(std::string_view url)> url_check_;
  // Orders each change's store write and map update against Load, so a
  // reload never puts back what a change just replaced.
  absl::Mutex write_mu_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, iam::WebhookRecord> webhooks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_WEBHOOKS_H_
