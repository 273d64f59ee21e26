#ifndef KEYWARDEN_KEYS_KEY_H_
#define KEYWARDEN_KEYS_KEY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace keywarden::keys {

// Key states as Key Protect numbers them (keyprotect-api.md §5). The numbers
// are the wire values; the database stores them too, since Key Protect
// itself fixes them and will not renumber.
enum class KeyState : int {
  kPreActivation = 0,
  kActive = 1,
  kSuspended = 2,
  kDeactivated = 3,
  kDestroyed = 5,
};

std::optional<KeyState> KeyStateFromInt(int value);

// KeyVersion is one generation of a root key's material (or the single
// payload of a standard key). `sealed_material` is the material encrypted
// under the master key (see docs/formats/material.md); plaintext never sits
// in this struct. Versions are immutable once written.
struct KeyVersion {
  std::string id;  // UUID; the first version's id equals the key id
  absl::Time creation_time;
  std::string master_key_id;
  std::vector<uint8_t> sealed_material;
};

// The bookkeeping every key policy carries (keyprotect-api.md §7.1): a key
// has at most one policy of each type, created the first time it is set
// (by PUT /keys/{id}/policies, or at creation from the instance's policy or
// the create-with-overrides body) and updated in place afterwards.
struct PolicyMeta {
  std::string id;  // UUID; the policy CRN ends in ":policy:<id>"
  absl::Time creation_time;
  std::string created_by;
  absl::Time last_update_time;
  std::string updated_by;
};

// Automatic rotation every `interval_months` × 30 days, counted from the
// last rotation or, before the first one, from the key's creation. Only
// root keys whose material Keywarden generated may have it enabled.
struct RotationPolicy {
  PolicyMeta meta;
  bool enabled = false;
  int interval_months = 1;  // 1..12
};

// Dual-authorization deletion (keyprotect-api.md §14). Once enabled on a key
// it cannot be disabled.
struct DualAuthPolicy {
  PolicyMeta meta;
  bool enabled = false;
};

// Key is the stored record of a root or standard key. Invariants:
// `versions` is non-empty and ordered oldest first, the last one is the
// primary (current) version; standard keys have exactly one version.
// Thread-compatible value type.
struct Key {
  std::string instance_id;
  std::string id;
  std::string name;
  std::string description;
  std::vector<std::string> tags;
  std::string key_ring_id = "default";
  bool extractable = false;  // false: root key, true: standard key
  bool imported = false;
  KeyState state = KeyState::kActive;
  int material_bits = 256;  // size of the current material in bits

  std::optional<absl::Time> expiration_time;
  absl::Time creation_time;
  std::string created_by;
  absl::Time last_update_time;
  // The last enable/disable/restore/delete; the 30 s cool-down runs from it.
  absl::Time last_state_change_time;
  std::optional<absl::Time> last_rotate_time;
  std::optional<absl::Time> deletion_time;
  std::string deleted_by;

  // The last sync action (keyprotect-api.md §4.9); sync is refused within
  // an hour of it or of any other lifecycle action.
  std::optional<absl::Time> last_sync_time;

  std::optional<RotationPolicy> rotation_policy;
  std::optional<DualAuthPolicy> dual_auth_policy;
  // Set by setKeyForDeletion while a dual-auth key awaits its second
  // approval; both empty otherwise. The authorization lapses at
  // `deletion_authorization_expiration` (7 days after it was given).
  std::string deletion_authorized_by;
  std::optional<absl::Time> deletion_authorization_expiration;

  std::vector<KeyVersion> versions;
  // Other names of the key in its instance, in byte order
  // (keyprotect-api.md §10); stored apart from the key record.
  std::vector<std::string> aliases;

  bool IsRoot() const { return !extractable; }
  bool DualAuthEnabled() const {
    return dual_auth_policy.has_value() && dual_auth_policy->enabled;
  }
  const KeyVersion& Primary() const { return versions.back(); }
  // The version with `version_id`, or nullptr.
  const KeyVersion* FindVersion(std::string_view version_id) const;
};

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_KEY_H_
