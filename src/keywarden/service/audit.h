#ifndef KEYWARDEN_SERVICE_AUDIT_H_
#define KEYWARDEN_SERVICE_AUDIT_H_

#include <string>

#include "absl/time/time.h"
#include "keywarden/iam/identity.h"
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

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_AUDIT_H_
