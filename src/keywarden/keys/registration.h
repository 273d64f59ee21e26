#ifndef KEYWARDEN_KEYS_REGISTRATION_H_
#define KEYWARDEN_KEYS_REGISTRATION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"

// Registrations (keyprotect-api.md §11) record that a cloud resource of an
// integrated service is protected by a root key; lifecycle events (§12)
// tell the registered services when that key changes. Plain value types and
// the CRN rules; the service applies them.
namespace keywarden::keys {

// A CRN: crn:v1:<cname>:<ctype>:<service>:<location>:<scope>:
// <service-instance>:<resource-type>:<resource>, exactly ten segments split
// on ':' (so no segment contains one).
inline constexpr size_t kCrnSegments = 10;
inline constexpr size_t kMaxCrnLength = 512;

// A registration CRN: ten segments, "crn", "v1", then cname, ctype,
// service, location, scope and service-instance non-empty; resource-type
// and resource may be empty. No '*', no control characters or spaces, at
// most kMaxCrnLength bytes. BAD_BODY_ERR naming `resourceCrn` otherwise.
absl::Status ValidateRegistrationCrn(std::string_view crn);

// A CRN query of GET /keys[/{id}]/registrations: ten segments where a
// segment may be `*` (any value) and the last may end in `*` (prefix
// match). With `for_all_keys`, none of the first eight segments may
// contain `*`.
class CrnPattern {
 public:
  static absl::StatusOr<CrnPattern> Parse(std::string_view text,
                                          bool for_all_keys);
  bool Matches(std::string_view crn) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::array<std::string, kCrnSegments> segments_;  // "*" = any
  bool last_is_prefix_ = false;                     // last segment ended in *
};

// One registration: `resource_crn` of the service `service_id` is protected
// by key `key_id`. Unique per (instance, key, CRN). `revision` starts at 1
// and grows with every update; the ETag is derived from it.
struct Registration {
  std::string instance_id;
  std::string key_id;
  std::string resource_crn;
  std::string service_id;  // principal id of the registering service
  std::string description;
  std::string registration_metadata;  // shown to services only
  bool prevent_key_deletion = false;
  std::string key_version_id;  // the version the resource's DEKs use
  absl::Time creation_time;
  std::string created_by;
  absl::Time last_update_time;
  std::string updated_by;
  int64_t revision = 1;
};

inline constexpr size_t kMaxRegistrationDescription = 240;
inline constexpr size_t kMaxRegistrationMetadata = 4096;

// What happened to a registered root key.
enum class KeyEventType { kRotate, kDisable, kEnable, kDelete, kRestore, kSync };
// "rotate", "disable", "enable", "delete", "restore", "sync".
std::string_view KeyEventTypeName(KeyEventType type);
std::optional<KeyEventType> KeyEventTypeFromName(std::string_view name);

// The facts of one lifecycle change, as the key manager knows them; a
// store fans it out to one KeyEvent per service registered on the key.
struct EventSpec {
  KeyEventType type = KeyEventType::kRotate;
  absl::Time time;
  KeyState key_state = KeyState::kActive;
  std::string key_version_id;           // the primary version after it
  std::string previous_key_version_id;  // rotations: the one before
};

// One event addressed to one service. Persisted in the transaction of the
// change it reports; delivered until acknowledged.
struct KeyEvent {
  std::string id;  // UUID, the eventId of POST /event_ack
  std::string instance_id;
  std::string key_id;
  std::string service_id;  // recipient
  KeyEventType type = KeyEventType::kRotate;
  absl::Time time;
  KeyState key_state = KeyState::kActive;
  std::string key_version_id;
  std::string previous_key_version_id;
  // The recipient's registrations of the key when the event was made.
  std::vector<std::string> resource_crns;

  // Delivery bookkeeping.
  int64_t attempts = 0;
  absl::Time next_attempt_time;  // due when <= now and not acknowledged
  std::optional<absl::Time> last_attempt_time;
  std::optional<absl::Time> delivered_time;  // first 2xx from the webhook
  std::string last_error;  // short, client-safe, for operators
  std::optional<absl::Time> acknowledged_time;
  std::string adopter_key_state;  // as acknowledged
};

// POST /event_ack, typed (keyprotect-api.md §12).
struct EventAck {
  std::string event_id;
  std::string service_id;  // the caller; must be the recipient
  std::string adopter_key_state;
  absl::Time time;  // the caller's timestamp
  // When set, the caller's registrations of the key now use this version.
  std::string rewrapped_key_version_id;
  bool delete_registrations = false;
};

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_REGISTRATION_H_
