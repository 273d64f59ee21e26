#ifndef KEYWARDEN_SERVICE_AUDIT_H_
#define KEYWARDEN_SERVICE_AUDIT_H_

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "keywarden/common/strings.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/service/request_context.h"

namespace keywarden::service {

// The audit record of a successful change made for `ctx` at `now`
// (docs/formats/audit.md): who, from where, which correlation id. Never
// put key material, tokens or secrets in `target` or `details`.
inline iam::AuditRecord MakeAudit(const RequestContext& ctx, absl::Time now,
                                  std::string action, std::string target,
                                  std::string details = {}) {
  iam::AuditRecord r;
  r.time = now;
  r.actor = ctx.principal.id.empty() ? "anonymous" : ctx.principal.id;
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = iam::AuditOutcome::kSuccess;
  r.correlation_id = ctx.correlation_id;
  r.source_address = ctx.source_address;
  r.details = std::move(details);
  return r;
}

// How audit details write a time: RFC 3339, UTC, whole seconds.
inline std::string AuditTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// How audit records name a key and a key ring.
inline std::string KeyTarget(const keys::Key& key) {
  return StrCat("instance:", key.instance_id, "/key:", key.id);
}
inline std::string RingTarget(std::string_view instance_id,
                              std::string_view ring_id) {
  return StrCat("instance:", instance_id, "/keyring:", ring_id);
}

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_AUDIT_H_
