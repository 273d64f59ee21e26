// The operational routes of the Key Protect API: liveness, readiness and,
// in test-clock mode, moving the clock.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {

void Healthz(Call& call) {
  call.Reply(beast_http::status::ok, "{\"status\":\"ok\"}");
}

void Readyz(Call& call) {
  if (call.services.seal != nullptr && call.services.seal->sealed()) {
    return call.Fail(Error(Reason::kUnavailable,
                           "Service Unavailable: the service is sealed"));
  }
  if (call.options.ready && !call.options.ready()) {
    return call.Fail(Error(Reason::kUnavailable,
                           "Service Unavailable: the store is not reachable"));
  }
  call.Reply(beast_http::status::ok, "{\"status\":\"ready\"}");
}

void AdvanceTestClock(Call& call) {
  // Moving time expires keys, passes dual-authorization windows and
  // purges: only an administrator may do it, even in test-clock mode.
  if (!call.ctx.principal.is_admin) {
    return call.Fail(Error(Reason::kForbidden,
                           "Forbidden: only administrators may move the "
                           "test clock"));
  }
  absl::StatusOr<int64_t> seconds = DecodeClockAdvance(call.Body());
  if (!seconds.ok()) return call.Fail(seconds.status());
  call.options.test_clock->Advance(absl::Seconds(*seconds));
  if (call.options.after_clock_advance) call.options.after_clock_advance();
  call.Reply(beast_http::status::no_content);
}

}  // namespace keywarden::api::keyprotect::handlers
