// The token endpoint of the Key Protect API (keyprotect-api.md §1.2): the
// credential is in the body, so the route needs no bearer token.
#include <algorithm>
#include <string>

#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/api/keyprotect/token_form.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/service/token_issuer.h"

namespace keywarden::api::keyprotect::handlers {

void IssueToken(Call& call) {
  service::TokenIssuer* tokens = call.services.tokens;
  absl::StatusOr<service::TokenGrant> grant =
      [&]() -> absl::StatusOr<service::TokenGrant> {
    // A throttled address is told to wait before its body is read,
    // whatever the body holds.
    KW_RETURN_IF_ERROR(tokens->AdmitSource(call.ctx));
    KW_ASSIGN_OR_RETURN(service::TokenRequest req,
                        DecodeTokenForm(call.Body()));
    return tokens->IssueToken(call.ctx, req);
  }();
  if (!grant.ok()) {
    if (auto wait = service::TokenIssuer::RetryAfterOf(grant.status())) {
      call.Fail(grant.status());
      call.res.set(beast_http::field::retry_after,
                   std::to_string(std::max<int64_t>(
                       1, absl::ToInt64Seconds(
                              absl::Ceil(*wait, absl::Seconds(1))))));
      return;
    }
    return call.Fail(grant.status());
  }
  call.Reply(beast_http::status::ok, EncodeTokenGrant(*grant));
}

}  // namespace keywarden::api::keyprotect::handlers
