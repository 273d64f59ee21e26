#include "keywarden/keys/rules.h"

#include <algorithm>
#include "keywarden/common/strings.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "keywarden/common/errors.h"
#include "keywarden/keys/policy.h"

namespace keywarden::keys {

KeyState EffectiveState(const Key& key, absl::Time now) {
  if ((key.state == KeyState::kActive || key.state == KeyState::kSuspended) &&
      key.expiration_time.has_value() && *key.expiration_time <= now) {
    return KeyState::kDeactivated;
  }
  return key.state;
}

absl::Status CheckStateAllows(Action action, KeyState state) {
  bool allowed = false;
  switch (action) {
    case Action::kRead:
      allowed = true;
      break;
    case Action::kWrap:
    case Action::kDisable:
      allowed = state == KeyState::kActive;
      break;
    case Action::kUnwrap:
    case Action::kRewrap:
    case Action::kRotate:
      allowed = state == KeyState::kActive || state == KeyState::kDeactivated;
      break;
    case Action::kEnable:
      allowed = state == KeyState::kSuspended;
      break;
    case Action::kDelete:
      if (state == KeyState::kDestroyed) {
        return DomainError(Reason::kKeyDeleted, "the key is already deleted");
      }
      allowed = true;
      break;
    case Action::kRestore:
    case Action::kPurge:
      allowed = state == KeyState::kDestroyed;
      break;
    case Action::kSetForDeletion:
      allowed = state == KeyState::kActive;
      break;
  }
  if (allowed) return absl::OkStatus();
  return DomainError(Reason::kKeyActionInvalidState,
                     StrCat("the action is not allowed for a key in state ",
                            static_cast<int>(state)));
}

absl::Status ValidateName(std::string_view name) {
  if (name.size() < kMinNameLength || name.size() > kMaxNameLength) {
    return FieldError(Reason::kBadBody, {"name"},
                      absl::StrFormat("%d to %d characters long",
                                      kMinNameLength, kMaxNameLength));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return FieldError(Reason::kBadBody, {"name"},
                        "free of control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDescription(std::string_view description) {
  if (description.size() < kMinDescriptionLength ||
      description.size() > kMaxDescriptionLength) {
    return FieldError(Reason::kBadBody, {"description"},
                      absl::StrFormat("%d to %d characters long",
                                      kMinDescriptionLength,
                                      kMaxDescriptionLength));
  }
  return absl::OkStatus();
}

absl::Status ValidateTags(std::span<const std::string> tags) {
  if (tags.size() > kMaxTags) {
    return FieldError(Reason::kBadBody, {"tags"},
                      absl::StrFormat("at most %d tags", kMaxTags));
  }
  for (const std::string& tag : tags) {
    if (tag.size() > kMaxTagLength) {
      return FieldError(Reason::kBadBody, {"tags"},
                        absl::StrFormat("tags of at most %d characters",
                                        kMaxTagLength));
    }
    if (tag.find_first_of("<>,:&|") != std::string::npos) {
      return FieldError(Reason::kBadBody, {"tags"},
                        "free of the characters < > , : & |");
    }
  }
  return absl::OkStatus();
}

bool IsIdentifierText(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (unsigned char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsValidRootKeySize(size_t bytes) {
  return bytes == 16 || bytes == 24 || bytes == 32;
}

absl::Status CheckStateChangeCooldown(const Key& key, absl::Time now,
                                      const Timers& timers) {
  if (now - key.last_state_change_time < timers.state_change_cooldown) {
    return DomainError(Reason::kRequestTooEarly, "");
  }
  return absl::OkStatus();
}

absl::Status CheckRotationAllowed(const Key& key, absl::Time now,
                                  const Timers& timers) {
  // Creation does not count as a rotation: Key Protect lets a new key be
  // rotated at once (its SDK's own integration test does so).
  if (key.last_rotate_time.has_value() &&
      now - *key.last_rotate_time < timers.rotation_interval) {
    return DomainError(Reason::kKeyRotationNotPermitted,
                       "a root key rotates at most once an hour");
  }
  return absl::OkStatus();
}

absl::Status CheckRestoreAllowed(const Key& key, absl::Time now,
                                 const Timers& timers) {
  absl::Time deleted = key.deletion_time.value_or(key.last_state_change_time);
  if (now - deleted > timers.restore_window) {
    return DomainError(Reason::kKeyRestoreExpired,
                       "the key was deleted more than 30 days ago");
  }
  if (now - deleted < timers.state_change_cooldown) {
    return DomainError(Reason::kRequestTooEarly, "");
  }
  if (key.expiration_time.has_value() && *key.expiration_time <= now) {
    return Error(Reason::kKeyExpired,
                 StrCat("The key expired on ",
                              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                               *key.expiration_time,
                                               absl::UTCTimeZone()),
                              ": Key could not be restored"));
  }
  return absl::OkStatus();
}

absl::Status CheckPurgeAllowed(const Key& key, absl::Time now,
                               const Timers& timers) {
  absl::Time deleted = key.deletion_time.value_or(key.last_state_change_time);
  if (now - deleted < timers.purge_delay) {
    return DomainError(Reason::kRequestTooEarly,
                 StrCat("a key can be purged from ",
                        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                         deleted + timers.purge_delay,
                                         absl::UTCTimeZone()),
                        ", 4 hours after its deletion"));
  }
  return absl::OkStatus();
}

absl::Status CheckSyncAllowed(const Key& key, absl::Time now,
                              const Timers& timers) {
  absl::Time last = std::max(key.creation_time, key.last_state_change_time);
  if (key.last_rotate_time) last = std::max(last, *key.last_rotate_time);
  if (key.last_sync_time) last = std::max(last, *key.last_sync_time);
  if (now - last < timers.sync_interval) {
    return DomainError(Reason::kRequestTooEarly,
                       "Please wait and try again; a key is synced at most "
                       "once an hour after its last lifecycle action");
  }
  return absl::OkStatus();
}

std::optional<absl::Time> NextAutomaticRotation(const Key& key) {
  if (!key.rotation_policy.has_value() || !key.rotation_policy->enabled) {
    return std::nullopt;
  }
  absl::Time base = key.last_rotate_time.value_or(key.creation_time);
  return base + key.rotation_policy->interval_months * kRotationMonth;
}

bool DeletionAuthorizationValid(const Key& key, absl::Time now) {
  return !key.deletion_authorized_by.empty() &&
         key.deletion_authorization_expiration.has_value() &&
         now < *key.deletion_authorization_expiration;
}

}  // namespace keywarden::keys
