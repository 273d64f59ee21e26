#include "keywarden/service/webhooks.h"

#include <utility>

#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/sealed_write.h"

namespace keywarden::service {
namespace {

constexpr size_t kGeneratedSecretBytes = 32;
constexpr size_t kMinSecret = 16;
constexpr size_t kMaxSecret = 256;
constexpr size_t kMaxUrl = 2048;

absl::Status Forbidden() {
  return DomainError(Reason::kForbidden,
                     "only administrators manage webhooks");
}

absl::Status NoWebhook(std::string_view id) {
  return DomainError(Reason::kNotFound,
                     StrCat("service id ", id, " has no webhook"));
}

WebhookInfo InfoOf(const iam::WebhookRecord& r) {
  return {r.principal_id, r.url, r.creation_time, r.created_by, std::nullopt};
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

WebhookRegistry::WebhookRegistry(store::IdentityStore* store,
                                 const iam::AccessIndex* access,
                                 const seal::MasterKey* master_key,
                                 const Clock* clock)
    : store_(store), access_(access), master_key_(master_key), clock_(clock) {}

absl::Status WebhookRegistry::Load() {
  absl::MutexLock write(&write_mu_);
  KW_ASSIGN_OR_RETURN(std::vector<iam::WebhookRecord> all,
                      store_->ListWebhooks());
  absl::MutexLock lock(&mu_);
  webhooks_.clear();
  for (iam::WebhookRecord& r : all) {
    std::string id = r.principal_id;
    webhooks_.emplace(std::move(id), std::move(r));
  }
  return absl::OkStatus();
}

absl::StatusOr<WebhookInfo> WebhookRegistry::Put(
    const RequestContext& ctx, std::string_view principal_id, std::string url,
    std::optional<std::string> secret) {
  if (!ctx.principal.is_admin) return Forbidden();
  std::optional<iam::PrincipalRecord> p = access_->FindPrincipal(principal_id);
  if (!p.has_value()) {
    return DomainError(Reason::kNotFound,
                       StrCat("no principal ", principal_id));
  }
  if (p->kind != iam::PrincipalKind::kServiceId) {
    return DomainError(Reason::kBadRequest,
                       "webhooks belong to service ids, not users");
  }
  if (url.empty() || url.size() > kMaxUrl) {
    return DomainError(Reason::kBadRequest,
                       "`url` must be an http or https URL of at most 2048 "
                       "characters");
  }
  if (url_check_) KW_RETURN_IF_ERROR(url_check_(url));
  SecretBytes key;
  bool generated = !secret.has_value();
  if (generated) {
    key = crypto::RandomSecret(kGeneratedSecretBytes);
    secret = crypto::Base64UrlEncode(key.span());
  }
  if (secret->size() < kMinSecret || secret->size() > kMaxSecret) {
    return DomainError(Reason::kBadRequest,
                       "`secret` must be 16 to 256 characters");
  }
  // The HMAC key is the secret's text, as the receiver holds it.
  iam::WebhookRecord r;
  r.principal_id = std::string(principal_id);
  r.url = std::move(url);
  r.creation_time = absl::FromUnixMicros(absl::ToUnixMicros(clock_->Now()));
  r.created_by = ctx.principal.id;
  absl::ReleasableMutexLock write(&write_mu_);
  KW_RETURN_IF_ERROR(WithCurrentMasterKey(*master_key_, [&]() -> absl::Status {
    r.master_key_id = master_key_->id();
    KW_ASSIGN_OR_RETURN(
        r.sealed_secret,
        master_key_->Encrypt(r.master_key_id, Bytes(*secret),
                             keys::WebhookSecretAad(principal_id)));
    return store_->PutWebhook(
        r, MakeAudit(ctx, r.creation_time, "iam.webhook.put",
                     StrCat("principal:", principal_id), StrCat("url ", r.url)));
  }));
  WebhookInfo info = InfoOf(r);
  if (generated) info.secret = std::move(secret);
  {
    absl::MutexLock lock(&mu_);
    webhooks_.insert_or_assign(r.principal_id, std::move(r));
  }
  write.Release();
  if (on_change_) on_change_();
  return info;
}

absl::StatusOr<WebhookInfo> WebhookRegistry::Get(
    const RequestContext& ctx, std::string_view principal_id) const {
  if (!ctx.principal.is_admin) return Forbidden();
  absl::MutexLock lock(&mu_);
  auto it = webhooks_.find(AbslView(principal_id));
  if (it == webhooks_.end() || !access_->FindPrincipal(principal_id)) {
    return NoWebhook(principal_id);
  }
  return InfoOf(it->second);
}

absl::Status WebhookRegistry::Delete(const RequestContext& ctx,
                                     std::string_view principal_id) {
  if (!ctx.principal.is_admin) return Forbidden();
  absl::MutexLock write(&write_mu_);
  absl::Status s = store_->DeleteWebhook(
      principal_id, MakeAudit(ctx, clock_->Now(), "iam.webhook.delete",
                              StrCat("principal:", principal_id)));
  if (absl::IsNotFound(s)) return NoWebhook(principal_id);
  KW_RETURN_IF_ERROR(s);
  absl::MutexLock lock(&mu_);
  webhooks_.erase(AbslView(principal_id));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WebhookTarget>> WebhookRegistry::TargetFor(
    std::string_view service_id) const {
  iam::WebhookRecord r;
  {
    absl::MutexLock lock(&mu_);
    auto it = webhooks_.find(AbslView(service_id));
    if (it == webhooks_.end()) return std::optional<WebhookTarget>();
    r = it->second;
  }
  // A deleted service id's webhook went with it (the store cascades).
  if (!access_->FindPrincipal(service_id)) return std::optional<WebhookTarget>();
  absl::StatusOr<SecretBytes> secret = master_key_->Decrypt(
      r.master_key_id, r.sealed_secret, keys::WebhookSecretAad(r.principal_id));
  if (absl::IsFailedPrecondition(secret.status())) {
    // Sealed under a master key this node no longer holds: a rekey re-sealed
    // the stored row since it was loaded here. Read the row again.
    KW_ASSIGN_OR_RETURN(std::vector<iam::WebhookRecord> all,
                        store_->ListWebhooks());
    for (const iam::WebhookRecord& stored : all) {
      if (stored.principal_id == r.principal_id) r = stored;
    }
    secret = master_key_->Decrypt(r.master_key_id, r.sealed_secret,
                                  keys::WebhookSecretAad(r.principal_id));
  }
  if (seal::IsSealedError(secret.status())) return secret.status();
  if (!secret.ok()) {
    return absl::DataLossError(StrCat("the sealed webhook secret of ",
                                      service_id,
                                      " failed its integrity check"));
  }
  return std::optional<WebhookTarget>(WebhookTarget{r.url, *std::move(secret)});
}

}  // namespace keywarden::service
