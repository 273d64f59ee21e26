// The seal routes (docs/admin-api.md, "Seal") and the sealed gate of every
// other route: decode, call SealService, encode. Who may call what is the
// service's rule (seal_service.h); here a bearer token is optional, since
// an unseal with a share needs none (no token can be issued while sealed).
#include <string>
#include <string_view>

#include "keywarden/api/http/server.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/service/seal_service.h"

namespace keywarden::api::keyprotect::handlers {

namespace {

absl::Status NoSeal() {
  return Error(Reason::kNotImplemented,
               "Not Implemented: this server has no seal");
}

}  // namespace

void GetSealStatus(Call& call) {
  service::SealService* seals = call.services.seal;
  if (seals == nullptr) return call.Fail(NoSeal());
  call.Reply(beast_http::status::ok, EncodeSealStatus(seals->Status()));
}

void SealAction(Call& call) {
  service::SealService* seals = call.services.seal;
  if (seals == nullptr) return call.Fail(NoSeal());
  constexpr auto kOk = beast_http::status::ok;
  service::IdentityManager* identity = call.services.identity;
  service::AuthFailureLog* failures = call.services.auth_failures;
  if (failures != nullptr) {
    // Refused shares and tokens count as failed authentications of the
    // address (operations.md, "Abuse resistance").
    if (std::optional<absl::Duration> wait =
            failures->RetryAfter(call.ctx.source_address)) {
      call.Fail(Error(Reason::kTooManyRequests,
                      "Too Many Requests: too many failed attempts from this "
                      "address; wait and try again"));
      call.res.set(beast_http::field::retry_after,
                   std::to_string(std::max<int64_t>(
                       1, absl::ToInt64Seconds(
                              absl::Ceil(*wait, absl::Seconds(1))))));
      return;
    }
  }
  auto record_failure = [&](std::string_view why) {
    if (failures != nullptr) {
      failures->Record(call.ctx, StrCat("admin_seal: ", why));
    } else {
      identity->RecordAuthFailure(call.ctx, StrCat("admin_seal: ", why));
    }
  };
  if (!call.headers.authorization.empty()) {
    absl::StatusOr<iam::Principal> principal =
        call.services.authenticator->Authenticate(
            CredentialOf(call.headers.authorization));
    if (!principal.ok()) {
      record_failure(WireReasonOf(ReasonOf(principal.status())).code);
      return call.Fail(principal.status());
    }
    call.ctx.principal = *std::move(principal);
  }
  const std::string_view action =
      call.match.params.Get("action").value_or(std::string_view());
  if (action == "init") {
    absl::StatusOr<SealInitRequest> req = DecodeSealInit(call.Body());
    if (!req.ok()) return call.Fail(req.status());
    absl::StatusOr<service::SealInitResult> result =
        seals->Init(call.ctx, req->shares, req->threshold);
    if (!result.ok()) return call.Fail(result.status());
    std::string body = EncodeSealInit(*result);
    for (std::string& share : result->shares) WipeString(share);
    call.res.set(beast_http::field::cache_control, "no-store");
    call.Reply(kOk, std::move(body));
    return;
  }
  // A share, {"share":"kw1-…"}: of the current set (unseal) or of a
  // rekey's new set (rekey-verify). A refused share counts as a failed
  // authentication of the address.
  auto submit_share = [&](auto submit, std::string_view refused) {
    absl::StatusOr<SecretBytes> share = DecodeUnseal(call.Body());
    if (!share.ok()) return call.Fail(share.status());
    absl::StatusOr<service::SealStatus> status = submit(
        std::string_view(reinterpret_cast<const char*>(share->data()),
                         share->size()));
    if (!status.ok()) {
      const Reason reason = ReasonOf(status.status());
      if (!share->empty() &&
          (reason == Reason::kBadBody || reason == Reason::kConflict)) {
        record_failure(refused);
      }
      return call.Fail(status.status());
    }
    call.Reply(kOk, EncodeSealStatus(*status));
  };
  if (action == "unseal") {
    return submit_share(
        [&](std::string_view share) { return seals->Unseal(call.ctx, share); },
        "share refused");
  }
  if (action == "seal") {
    absl::StatusOr<service::SealStatus> status = seals->Seal(call.ctx);
    if (!status.ok()) return call.Fail(status.status());
    call.Reply(kOk, EncodeSealStatus(*status));
    return;
  }
  if (action == "rekey") {
    absl::StatusOr<service::RekeyOptions> options = DecodeRekey(call.Body());
    if (!options.ok()) return call.Fail(options.status());
    absl::StatusOr<service::RekeyResult> result =
        seals->Rekey(call.ctx, *options);
    if (!result.ok()) return call.Fail(result.status());
    std::string body = EncodeRekeyResult(*result);
    if (!result->shares.empty()) {
      for (std::string& share : result->shares) WipeString(share);
      call.res.set(beast_http::field::cache_control, "no-store");
    }
    call.Reply(beast_http::status::accepted, std::move(body));
    return;
  }
  if (action == "rekey-verify") {
    return submit_share(
        [&](std::string_view share) {
          return seals->VerifyRekey(call.ctx, share);
        },
        "rekey share refused");
  }
  if (action == "rekey-cancel") {
    absl::StatusOr<service::SealStatus> status = seals->CancelRekey(call.ctx);
    if (!status.ok()) return call.Fail(status.status());
    call.Reply(kOk, EncodeSealStatus(*status));
    return;
  }
  call.Fail(Error(Reason::kNotFound,
                  StrCat("Not Found: there is no seal action `", action,
                         "` (init, unseal, seal, rekey, rekey-verify, "
                         "rekey-cancel)")));
}

}  // namespace keywarden::api::keyprotect::handlers
