#ifndef KEYWARDEN_CLIENT_KEY_PROTECT_H_
#define KEYWARDEN_CLIENT_KEY_PROTECT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/client/transport.h"
#include "keywarden/common/secret_bytes.h"

// Typed calls of the Key Protect v2 API (docs/api.md) for one instance: what
// the CLI and the integrations (KMS plugin, envelope encryption, Clevis pin)
// use, so that none of them builds a request by hand. Byte strings
// (plaintexts, payloads) are SecretBytes here; base64 and JSON stay inside.
namespace keywarden::client {

// Key states as Key Protect numbers them (docs/api.md).
enum class KeyState : int {
  kPreActivation = 0,
  kActive = 1,
  kSuspended = 2,
  kDeactivated = 3,
  kDestroyed = 5,
};

struct Key {
  std::string id;
  std::string name;
  std::string description;
  std::string crn;
  std::string key_ring_id;
  KeyState state = KeyState::kActive;
  bool extractable = false;
  std::string key_version_id;  // the current (primary) version
  std::string creation_date;   // RFC 3339, as the server wrote it
  std::string last_rotate_date;
  std::vector<std::string> aliases;
};

struct KeyVersion {
  std::string id;
  std::string creation_date;
};

struct CreateKeyRequest {
  std::string name;
  std::string description;
  bool extractable = false;           // false: a root key
  std::optional<SecretBytes> payload;  // imported material; none: generated
  std::string key_ring_id;            // "" : the default ring
};

struct ListKeysOptions {
  int limit = 0;  // 0: the server's default (200)
  int offset = 0;
  std::vector<KeyState> states;  // empty: the server's default
};

struct WrapResult {
  std::string ciphertext;      // the WDEK, base64, opaque
  std::string key_version_id;  // the version that wrapped it
  // The DEK the server generated, when Wrap was called without one.
  std::optional<SecretBytes> generated_plaintext;
};

struct UnwrapResult {
  SecretBytes plaintext;
  std::string key_version_id;  // the version that had wrapped it
  // When an older version had wrapped it: the same DEK wrapped under the
  // current version, and that version ("" otherwise).
  std::string rewrapped_ciphertext;
  std::string rewrapped_key_version_id;
};

struct RewrapResult {
  std::string ciphertext;
  std::string key_version_id;
  std::string rewrapped_key_version_id;
};

struct Registration {
  std::string key_id;
  std::string resource_crn;
  std::string description;
  bool prevent_key_deletion = false;
  std::string key_version_id;
  std::string creation_date;
};

struct RegistrationRequest {
  std::string description;  // at most 240 characters
  bool prevent_key_deletion = false;
};

// KeyProtectClient is thread-safe (the Transport is); it holds no state but
// the instance id and a reference to the transport, which must outlive it.
//
// Retries (Transport's RetryPolicy) apply to what can be repeated without
// changing the outcome: reads, wrap/unwrap/rewrap (no state changes on the
// server), registration create and delete (the server answers a repeated
// create with the same fields as the first). Create, rotate, enable,
// disable, delete, restore and purge are never retried.
class KeyProtectClient {
 public:
  KeyProtectClient(Transport& transport, std::string instance_id)
      : transport_(transport), instance_(std::move(instance_id)) {}

  absl::StatusOr<Key> CreateKey(const CreateKeyRequest& request);
  // GET /keys/{id}: the key, and for a standard key its payload.
  absl::StatusOr<Key> GetKey(const std::string& id,
                             SecretBytes* payload = nullptr);
  absl::StatusOr<Key> GetKeyMetadata(const std::string& id);
  absl::StatusOr<std::vector<Key>> ListKeys(const ListKeysOptions& options = {});
  absl::StatusOr<std::vector<KeyVersion>> ListKeyVersions(const std::string& id);
  absl::Status DeleteKey(const std::string& id, bool force = false);
  absl::StatusOr<Key> RestoreKey(const std::string& id);
  absl::Status PurgeKey(const std::string& id);

  // Rotates a root key; `payload` for keys imported in plaintext.
  absl::Status RotateKey(const std::string& id,
                         const SecretBytes* payload = nullptr);
  absl::Status EnableKey(const std::string& id);
  absl::Status DisableKey(const std::string& id);
  absl::Status SetKeyForDeletion(const std::string& id);
  absl::Status UnsetKeyForDeletion(const std::string& id);

  // Wraps `plaintext` (nullptr: the server generates a 32-byte DEK and
  // returns it) with the key's current version, bound to `aad`.
  absl::StatusOr<WrapResult> Wrap(const std::string& key_id,
                                  const SecretBytes* plaintext,
                                  const std::vector<std::string>& aad = {});
  absl::StatusOr<UnwrapResult> Unwrap(const std::string& key_id,
                                      const std::string& ciphertext,
                                      const std::vector<std::string>& aad = {});
  absl::StatusOr<RewrapResult> Rewrap(const std::string& key_id,
                                      const std::string& ciphertext,
                                      const std::vector<std::string>& aad = {});

  // Registrations (services only): the resource `crn` uses the key.
  absl::StatusOr<Registration> CreateRegistration(
      const std::string& key_id, const std::string& crn,
      const RegistrationRequest& request = {});
  absl::Status DeleteRegistration(const std::string& key_id,
                                  const std::string& crn);
  // The registrations of one key, or of every key when `key_id` is "".
  absl::StatusOr<std::vector<Registration>> ListRegistrations(
      const std::string& key_id = "");

  const std::string& instance() const { return instance_; }

 private:
  absl::StatusOr<boost::json::value> Call(std::string_view method,
                                          const std::string& target,
                                          const boost::json::value* body,
                                          Idempotency idempotency,
                                          std::string_view content_type = {},
                                          bool representation = false);
  absl::Status Action(const std::string& id, std::string_view action,
                      const boost::json::value* body = nullptr);

  Transport& transport_;
  const std::string instance_;
};

// The text of a KeyState ("Active", …), for tables and messages.
std::string_view KeyStateName(KeyState state);

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_KEY_PROTECT_H_
