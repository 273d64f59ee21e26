// The token endpoint of the Key Protect API (keyprotect-api.md §1.2): the
// credential is in the body, so the route needs no bearer token.
#include <algorithm>
#include <string>

#include "keywarden/api/keyprotect/keyprotect_api_internal.h"
#include "keywarden/service/identity_manager.h"

namespace keywarden::api::keyprotect::handlers {

void IssueToken(Call& call) {
  absl::StatusOr<service::TokenGrant> grant =
      call.services.identity->IssueToken(call.ctx, call.Body());
  if (!grant.ok()) {
    if (auto wait = service::IdentityManager::RetryAfterOf(grant.status())) {
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
