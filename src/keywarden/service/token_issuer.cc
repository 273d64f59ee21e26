#include "keywarden/service/token_issuer.h"

#include <memory>
#include <string_view>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/iam/api_key.h"
#include "keywarden/iam/jwt.h"
#include "keywarden/service/audit.h"

namespace keywarden::service {
namespace {

constexpr std::string_view kRetryAfterPayload = "keywarden/retry-after-ms";

absl::Status Unauthorized() {
  return Error(Reason::kUnauthorized,
               "Unauthorized: The user does not have access to the specified "
               "resource");
}

absl::Status Throttled(absl::Duration wait) {
  absl::Status s = Error(Reason::kTooManyRequests,
                         "Too Many Requests: Please wait and try again");
  s.SetPayload(AbslView(kRetryAfterPayload),
               absl::Cord(std::to_string(absl::ToInt64Milliseconds(wait))));
  return s;
}

std::string_view TextOf(const SecretBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

TokenIssuer::TokenIssuer(store::IdentityStore* store,
                         const iam::AccessIndex* access,
                         SigningKeySet* signing_keys, const Clock* clock,
                         TokenOptions options)
    : store_(store),
      access_(access),
      signing_keys_(signing_keys),
      clock_(clock),
      token_lifetime_(options.token_lifetime),
      prefix_throttle_(iam::FailureThrottle::ApiKeyPrefixOptions()),
      address_throttle_(iam::FailureThrottle::SourceAddressOptions()) {}

std::optional<absl::Duration> TokenIssuer::RetryAfterOf(const absl::Status& s) {
  auto payload = s.GetPayload(AbslView(kRetryAfterPayload));
  if (!payload.has_value()) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

absl::Status TokenIssuer::AdmitSource(const RequestContext& ctx) const {
  if (auto wait = address_throttle_.RetryAfter(ctx.source_address,
                                               clock_->Now())) {
    return Throttled(*wait);
  }
  return absl::OkStatus();
}

absl::StatusOr<TokenGrant> TokenIssuer::IssueToken(const RequestContext& ctx,
                                                   const TokenRequest& req) {
  absl::Time now = clock_->Now();
  if (auto wait = address_throttle_.RetryAfter(ctx.source_address, now)) {
    return Throttled(*wait);
  }
  if (req.api_key.empty()) {
    return Error(Reason::kBadRequest, "Bad Request: an API key is required");
  }
  iam::ParsedApiKey parsed = iam::ParseAnyApiKey(TextOf(req.api_key));
  if (auto wait = prefix_throttle_.RetryAfter(parsed.prefix, now)) {
    return Throttled(*wait);
  }
  std::optional<iam::ApiKeyRecord> key =
      access_->FindApiKeyByPrefix(parsed.prefix);
  std::optional<iam::PrincipalRecord> principal;
  if (key.has_value() && ConstantTimeEquals(key->secret_hash, parsed.hash)) {
    principal = access_->FindPrincipal(key->principal_id);
  }
  if (!principal.has_value()) {
    prefix_throttle_.RecordFailure(parsed.prefix, now);
    address_throttle_.RecordFailure(ctx.source_address, now);
    // The prefix is public (shown in listings); the secret never is.
    iam::AuditRecord r =
        MakeAudit(ctx, now, "auth.failure", "",
                  StrCat("unknown or revoked API key ", parsed.prefix));
    r.outcome = iam::AuditOutcome::kFailure;
    (void)store_->AppendAudit(r);
    return Unauthorized();
  }

  KW_ASSIGN_OR_RETURN(std::shared_ptr<const iam::SigningKey> signer,
                      signing_keys_->Current());
  iam::TokenClaims claims;
  claims.issuer = std::string(iam::kTokenIssuer);
  claims.subject = principal->id;
  claims.jwt_id = NewUuid();
  claims.api_key_id = key->id;
  claims.kind = std::string(iam::PrincipalKindCode(principal->kind));
  claims.service_type = principal->service_type;
  claims.issued_at = now;
  claims.not_before = now;
  claims.expires_at = now + token_lifetime_;
  KW_ASSIGN_OR_RETURN(std::string token, signer->Sign(claims));
  return TokenGrant{std::move(token), claims.expires_at,
                    absl::ToInt64Seconds(token_lifetime_)};
}

}  // namespace keywarden::service
