#ifndef KEYWARDEN_SERVICE_TYPES_H_
#define KEYWARDEN_SERVICE_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/keys/key.h"
#include "keywarden/store/store.h"

// Typed requests and results of the key operations. Transports decode into
// these and encode from them; nothing here knows JSON or HTTP. Base64 fields
// arrive as the client's text and are decoded (strictly) by the service, so
// the error names the field and byte position in one place.
namespace keywarden::service {

enum class Prefer { kUnspecified, kMinimal, kRepresentation };

struct CreateKeyRequest {
  std::string name;
  std::optional<std::string> description;
  std::vector<std::string> tags;
  std::optional<absl::Time> expiration_time;
  bool extractable = true;  // Key Protect's default when omitted
  std::optional<std::string> payload;  // base64 material to import
  std::vector<std::string> aliases;     // recorded with the key
  // Secure-import fields (import tokens arrive with the lifecycle issue).
  std::optional<std::string> encrypted_nonce;
  std::optional<std::string> iv;
};

// The deletion timeline of a destroyed key (keyprotect-api.md §5), derived
// from its deletion time and the configured timers.
struct DeletionInfo {
  absl::Time restore_expiration;
  bool restore_allowed = false;
  absl::Time purge_allowed_from;
  bool purge_allowed = false;
  absl::Time purge_scheduled_on;
};

// A key as shown to a client: the stored record with its effective state
// (expiry applied), versions without material and, for GET of a standard
// key, its payload.
struct KeyResult {
  keys::Key key;
  std::optional<DeletionInfo> deletion;  // set for destroyed keys
  std::optional<SecretBytes> payload;
};

struct ListKeysRequest {
  int64_t limit = 200;
  int64_t offset = 0;
  std::vector<keys::KeyState> states;  // empty: 0,1,2,3
  std::optional<bool> extractable;
  std::vector<store::SortKey> sort;
};

struct ListKeysResult {
  std::vector<KeyResult> keys;
};

struct VersionInfo {
  std::string id;
  absl::Time creation_time;
};

struct ListVersionsRequest {
  int64_t limit = 200;
  int64_t offset = 0;
  bool total_count = false;
  bool all_key_states = false;
};

struct ListVersionsResult {
  std::vector<VersionInfo> versions;  // newest first
  std::optional<int64_t> total;
};

struct WrapRequest {
  std::optional<std::string> plaintext;  // base64; absent: generate 32 bytes
  std::vector<std::string> aad;
};

struct WrapResult {
  std::string ciphertext;  // base64 WDEK
  std::optional<SecretBytes> plaintext;  // set when the DEK was generated
  VersionInfo key_version;
};

struct UnwrapRequest {
  std::optional<std::string> ciphertext;  // base64 WDEK
  std::vector<std::string> aad;
};

struct UnwrapResult {
  SecretBytes plaintext;
  VersionInfo key_version;
  // Set when the WDEK was made by an older version: the same DEK wrapped by
  // the primary version.
  std::optional<std::string> rewrapped_ciphertext;
  std::optional<VersionInfo> rewrapped_key_version;
};

struct RewrapResult {
  std::string ciphertext;
  VersionInfo key_version;  // the version that made the input
  VersionInfo rewrapped_key_version;
};

struct RotateRequest {
  std::optional<std::string> payload;  // base64 new material (imported keys)
  std::optional<std::string> encrypted_nonce;
  std::optional<std::string> iv;
};

struct DeleteKeyRequest {
  bool force = false;
};

// PATCH /keys/{id} (keyprotect-api.md §3.5): the only updatable attribute.
struct PatchKeyRequest {
  std::string key_ring_id;
};

struct ListKeyRingsRequest {
  int64_t limit = 100;
  int64_t offset = 0;
  bool total_count = false;
};

struct ListKeyRingsResult {
  // `default` first (only its id set), then the recorded rings in id order.
  std::vector<store::KeyRing> rings;
  std::optional<int64_t> total;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_TYPES_H_
