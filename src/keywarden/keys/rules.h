#ifndef KEYWARDEN_KEYS_RULES_H_
#define KEYWARDEN_KEYS_RULES_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"

// The Key Protect rules a key obeys: field limits (keyprotect-api.md §16),
// the state × action table (§5) and the timers (§5 "Server-side time
// rules"). Pure functions of their arguments; the service applies them.
namespace keywarden::keys {

inline constexpr size_t kMinNameLength = 2;
inline constexpr size_t kMaxNameLength = 90;
inline constexpr size_t kMinDescriptionLength = 2;
inline constexpr size_t kMaxDescriptionLength = 240;
inline constexpr size_t kMaxTags = 30;
inline constexpr size_t kMaxTagLength = 30;
inline constexpr size_t kMaxStandardPayload = 7500;
inline constexpr size_t kGeneratedRootKeySize = 32;
inline constexpr size_t kGeneratedStandardKeySize = 32;
inline constexpr size_t kGeneratedDekSize = 32;
inline constexpr int64_t kDefaultListLimit = 200;
inline constexpr int64_t kMaxListLimit = 5000;

// The timers users see. Defaults are Key Protect's; all are configurable so
// end-to-end tests can shorten them.
struct Timers {
  absl::Duration state_change_cooldown = absl::Seconds(30);
  absl::Duration rotation_interval = absl::Hours(1);
  absl::Duration restore_window = absl::Hours(24 * 30);
  absl::Duration purge_delay = absl::Hours(4);
  absl::Duration auto_purge_after = absl::Hours(24 * 90);
  // How long a setKeyForDeletion approval stays valid (§14).
  absl::Duration dual_auth_window = absl::Hours(24 * 7);
  // sync is refused this soon after the key's last lifecycle action (§4.9).
  absl::Duration sync_interval = absl::Hours(1);
};

enum class Action {
  kRead,  // get, metadata, versions
  kWrap,
  kUnwrap,
  kRewrap,
  kRotate,
  kEnable,
  kDisable,
  kDelete,
  kRestore,
  kSetForDeletion,  // and unset (dual authorization, §14)
  kPurge,
};

// The state a client sees at `now`: an Active or Suspended key whose
// expiration time has passed is Deactivated even before the sweep persists
// it.
KeyState EffectiveState(const Key& key, absl::Time now);

// OK if `action` is allowed in `state`; otherwise the Key Protect error
// (KEY_DELETED_ERR for deleting a destroyed key, KEY_ACTION_INVALID_STATE_ERR
// for the rest).
absl::Status CheckStateAllows(Action action, KeyState state);

// Field validation; errors are BAD_BODY_ERR naming the field.
absl::Status ValidateName(std::string_view name);
absl::Status ValidateDescription(std::string_view description);
absl::Status ValidateTags(std::span<const std::string> tags);

// Whether `s` is `min`..`max` characters from [A-Za-z0-9_-]: the alphabet
// of aliases (§10) and key ring ids (§9).
bool IsIdentifierText(std::string_view s, size_t min, size_t max);

// Root key material must be 128, 192 or 256 bits.
bool IsValidRootKeySize(size_t bytes);

// Time-rule checks; REQ_TOO_EARLY_ERR / KEY_ROTATION_NOT_PERMITTED /
// KEY_RESTORE_EXPIRED as Key Protect answers them.
absl::Status CheckStateChangeCooldown(const Key& key, absl::Time now,
                                      const Timers& timers);
absl::Status CheckRotationAllowed(const Key& key, absl::Time now,
                                  const Timers& timers);
absl::Status CheckRestoreAllowed(const Key& key, absl::Time now,
                                 const Timers& timers);
// Purge waits `purge_delay` after deletion (REQ_TOO_EARLY_ERR).
absl::Status CheckPurgeAllowed(const Key& key, absl::Time now,
                               const Timers& timers);
// sync waits `sync_interval` after the key's last lifecycle action:
// creation, rotation, a state change or the previous sync.
absl::Status CheckSyncAllowed(const Key& key, absl::Time now,
                              const Timers& timers);

// When the key's rotation policy next rotates it: interval_months x 30
// days after its last rotation, or after its creation before the first.
// nullopt without an enabled rotation policy.
std::optional<absl::Time> NextAutomaticRotation(const Key& key);

// Whether a dual-auth key holds a deletion approval that is still valid at
// `now`.
bool DeletionAuthorizationValid(const Key& key, absl::Time now);

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_RULES_H_
