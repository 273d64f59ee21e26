#ifndef KEYWARDEN_SERVICE_KEY_MANAGER_INTERNAL_H_
#define KEYWARDEN_SERVICE_KEY_MANAGER_INTERNAL_H_

// Internal to the key services' source files (key_manager.cc: keys;
// key_rings.cc: rings and aliases; key_lifecycle.cc: deletion, purge, dual
// authorization, sync, key policies and the background jobs;
// data_plane.cc). Not for other modules.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/rules.h"
#include "keywarden/service/request_context.h"

namespace keywarden::service::key_manager_internal {

// Limits of keyprotect-api.md §9, §10.
inline constexpr int64_t kMaxKeyRings = 50;  // per instance, `default` included
inline constexpr int64_t kMaxAliasesPerKey = 5;

// Key ring ids: 2-100 characters from [A-Za-z0-9_-] (key_rings.cc).
bool IsValidRingId(std::string_view id);

// An alias given in field `field` ("" for the request path): 2-90
// characters from [A-Za-z0-9_-], not a UUID, not a reserved word
// (key_rings.cc).
absl::Status ValidateAlias(std::string_view alias, std::string_view field);

inline absl::Status RootKeyRequired() {
  return DomainError(Reason::kKeyRootRequired, "");
}

inline absl::Status Conflict(std::string_view what) {
  return DomainError(Reason::kConflict, what);
}

// Bookkeeping of a policy set now by the caller of `ctx`.
inline keys::PolicyMeta NewPolicyMeta(const RequestContext& ctx,
                                      absl::Time now) {
  return {NewUuid(), now, ctx.principal.id, now, ctx.principal.id};
}

// The lifecycle event of a change to `key` at `now`, for its registered
// services (the store fans it out).
inline keys::EventSpec EventOf(keys::KeyEventType type, const keys::Key& key,
                               absl::Time now,
                               std::string previous_version = {}) {
  keys::EventSpec e;
  e.type = type;
  e.time = now;
  e.key_state = keys::EffectiveState(key, now);
  e.key_version_id = key.IsRoot() ? key.Primary().id : std::string();
  e.previous_key_version_id = std::move(previous_version);
  return e;
}

// The context of work the service does on its own (background jobs): the
// audit log names "keywarden" as the actor.
inline RequestContext SystemContext(std::string_view instance_id) {
  RequestContext ctx;
  ctx.instance_id = std::string(instance_id);
  ctx.principal.id = "keywarden";
  ctx.correlation_id = NewUuid();
  return ctx;
}

}  // namespace keywarden::service::key_manager_internal

#endif  // KEYWARDEN_SERVICE_KEY_MANAGER_INTERNAL_H_
