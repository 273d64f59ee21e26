#ifndef KEYWARDEN_STORE_VALIDATION_H_
#define KEYWARDEN_STORE_VALIDATION_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// Input rules shared by every Store implementation, so that the fake and the
// real stores reject exactly the same calls (the conformance suite checks
// this). They guard the store's own invariants only; business rules (name
// length, tag characters, state transitions) belong to keys/ and service/.

// A key can be written if it names its instance and id, has a known state,
// and has at least one version, each with a non-empty id unique in the key.
// Its policies name their ids (a rotation interval within
// keys::kMin/kMaxRotationIntervalMonths, which the due-rotation query
// relies on), and the deletion authorization is all or nothing: an
// authorizer exactly when an expiration.
absl::Status ValidateKeyForWrite(const keys::Key& key);

// An update's side effects: a known registration rule, a valid event spec
// and audit record when given.
absl::Status ValidateKeyUpdate(const KeyUpdate& update);

// A ring needs its instance and an id other than `default`.
absl::Status ValidateKeyRing(const KeyRing& ring);

// An alias needs its instance, key id and a non-empty alias.
absl::Status ValidateKeyAlias(const KeyAlias& alias);

// A query needs an instance, known states and a non-negative page; a
// search a term and a field; a time clause a known field and operator, and
// a value unless it is `none` (kEq).
absl::Status ValidateQuery(const KeyQuery& query);

// A work-list or page size.
absl::Status ValidateLimit(int64_t limit);

// A token names its instance and id, and 0 <= remaining <= max, max >= 1.
absl::Status ValidateImportToken(const ImportToken& token);

// A policy names its instance and a known type; a rotation interval lies
// within keys::kMin/kMaxRotationIntervalMonths, a network is known. A call
// names at least one policy and each (instance, type) once.
absl::Status ValidateInstancePolicies(
    std::span<const keys::InstancePolicy> policies);

// The policy as stores keep it: times at microseconds and the attributes
// of other types at their defaults (only the type's attributes are stored),
// so every store returns the same value.
keys::InstancePolicy NormalizedInstancePolicy(const keys::InstancePolicy& p);

// A registration names its instance, key, CRN and service, and has
// revision >= 1.
absl::Status ValidateRegistration(const keys::Registration& registration);

// A registration query needs an instance and a non-negative page.
absl::Status ValidateRegistrationQuery(const RegistrationQuery& query);

// An event spec (KeyUpdate.event) has a known type and key state.
absl::Status ValidateEventSpec(const keys::EventSpec& spec);

// An acknowledgement names the event and the acknowledging service.
absl::Status ValidateEventAck(const keys::EventAck& ack);

// A lease names itself and its holder and lasts a positive time.
absl::Status ValidateLease(std::string_view name, std::string_view holder,
                           absl::Duration ttl);

// Stores keep times at microsecond precision (the SQLite encoding); the
// in-memory store truncates the same way so both return identical values.
// Rounds toward the past, as absl::ToUnixMicros does.
inline absl::Time TruncateToMicros(absl::Time t) {
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_VALIDATION_H_
