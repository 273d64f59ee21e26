#ifndef KEYWARDEN_STORE_VALIDATION_H_
#define KEYWARDEN_STORE_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// Input rules shared by every Store implementation, so that the fake and the
// real stores reject exactly the same calls (the conformance suite checks
// this). They guard the store's own invariants only; business rules (name
// length, tag characters, state transitions) belong to keys/ and service/.

// A key can be written if it names its instance and id, has a known state,
// and has at least one version, each with a non-empty id unique in the key.
absl::Status ValidateKeyForWrite(const keys::Key& key);

// A ring needs its instance and an id other than `default`.
absl::Status ValidateKeyRing(const KeyRing& ring);

// An alias needs its instance, key id and a non-empty alias.
absl::Status ValidateKeyAlias(const KeyAlias& alias);

// A query needs an instance, known states and a non-negative page.
absl::Status ValidateQuery(const KeyQuery& query);

// Stores keep times at microsecond precision (the SQLite encoding); the
// in-memory store truncates the same way so both return identical values.
// Rounds toward the past, as absl::ToUnixMicros does.
inline absl::Time TruncateToMicros(absl::Time t) {
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_VALIDATION_H_
