#ifndef KEYWARDEN_SERVICE_TYPES_H_
#define KEYWARDEN_SERVICE_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/search.h"
#include "keywarden/store/store.h"

// Typed requests and results of the key operations. Transports decode into
// these and encode from them; nothing here knows JSON, base64 or HTTP: key
// material, DEKs and WDEKs are bytes.
namespace keywarden::service {

// A field the transport decoded from its wire form (base64 text, a TTLV
// byte string): the bytes, or the transport's error for that field. The
// service reports a decoding error where it validates the field, so the
// order of checks (authorization, the key's state, then the input) is the
// same whatever the protocol.
template <typename T>
using Decoded = absl::StatusOr<T>;

// A key policy as a request sets it (keyprotect-api.md §7.1, §3.2).
struct RotationPolicyInput {
  bool enabled = false;
  std::optional<int> interval_months;  // omitted: keep the current one
};

struct CreateKeyRequest {
  std::string name;
  std::optional<std::string> description;
  std::vector<std::string> tags;
  std::optional<absl::Time> expiration_time;
  bool extractable = true;  // Key Protect's default when omitted
  std::optional<Decoded<SecretBytes>> payload;  // material to import
  std::vector<std::string> aliases;              // recorded with the key
  // Secure import (keyprotect-api.md §8): `payload` is then the RSA-OAEP
  // ciphertext of the material under the instance's import token.
  std::optional<Decoded<SecretBytes>> encrypted_nonce;
  std::optional<Decoded<SecretBytes>> iv;
  std::optional<std::string> encryption_algorithm;
  // POST /keys_with_policy_overrides: these replace the instance's
  // policies for the new key (keyprotect-api.md §3.2).
  bool with_policy_overrides = false;
  std::optional<RotationPolicyInput> rotation;
  std::optional<bool> dual_auth_delete;
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
  // The raw `search` and `filter` parameters (keyprotect-api.md §3.3),
  // parsed by the service so their errors come from one place.
  std::optional<std::string> search;
  std::optional<std::string> filter;
};

struct ListKeysResult {
  std::vector<KeyResult> keys;
  std::optional<keys::KeySearch> search;  // echoed as metadata.searchQuery
  // The search space was too large, so only a direct id/alias lookup ran.
  bool incomplete_search = false;
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
  std::optional<Decoded<SecretBytes>> plaintext;  // absent: generate 32 bytes
  std::vector<std::string> aad;
};

struct WrapResult {
  std::vector<uint8_t> ciphertext;  // the WDEK (docs/formats/wdek.md)
  std::optional<SecretBytes> plaintext;  // set when the DEK was generated
  VersionInfo key_version;
};

struct UnwrapRequest {
  std::optional<Decoded<std::vector<uint8_t>>> ciphertext;  // a WDEK
  std::vector<std::string> aad;
};

struct UnwrapResult {
  SecretBytes plaintext;
  VersionInfo key_version;
  // Set when the WDEK was made by an older version: the same DEK wrapped by
  // the primary version.
  std::optional<std::vector<uint8_t>> rewrapped_ciphertext;
  std::optional<VersionInfo> rewrapped_key_version;
};

struct RewrapResult {
  std::vector<uint8_t> ciphertext;
  VersionInfo key_version;  // the version that made the input
  VersionInfo rewrapped_key_version;
};

struct RotateRequest {
  std::optional<Decoded<SecretBytes>> payload;  // new material (imported keys)
  std::optional<Decoded<SecretBytes>> encrypted_nonce;
  std::optional<Decoded<SecretBytes>> iv;
  std::optional<std::string> encryption_algorithm;
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

// --- Key policies (keyprotect-api.md §7.1) ----------------------------------

enum class KeyPolicyType { kRotation, kDualAuthDelete };

// PUT /keys/{id}/policies: each policy the body names, once.
struct PutKeyPoliciesRequest {
  std::optional<KeyPolicyType> selected;  // ?policy=
  std::optional<RotationPolicyInput> rotation;
  std::optional<bool> dual_auth_delete;
};

// The policies a GET shows or a PUT set, with their bookkeeping.
struct KeyPoliciesResult {
  std::string key_id;
  std::optional<keys::RotationPolicy> rotation;
  std::optional<keys::DualAuthPolicy> dual_auth;
};

// --- Import tokens (keyprotect-api.md §8) ----------------------------------

struct CreateImportTokenRequest {
  std::optional<int64_t> expiration_seconds;  // 300..86400, default 600
  std::optional<int64_t> max_retrievals;      // 1..500, default 1
};

struct ImportTokenResult {
  absl::Time creation_time;
  absl::Time expiration_time;
  int64_t max_retrievals = 0;
  int64_t remaining_retrievals = 0;
  std::string id;
  // Only for GET: the PEM public key and the nonce.
  std::optional<std::string> public_key_pem;
  std::optional<std::vector<uint8_t>> nonce;
};

// --- Instance policies (keyprotect-api.md §7.2) ----------------------------

// One resource of PUT /instance/policies as decoded: which attributes the
// body carried (the codec already refused unknown fields).
struct InstancePolicyInput {
  keys::InstancePolicyType type = keys::InstancePolicyType::kDualAuthDelete;
  bool enabled = false;
  bool has_attributes = false;
  std::optional<int64_t> interval_month;
  std::optional<std::string> allowed_network;
  std::optional<std::vector<std::string>> allowed_ip;
  std::optional<bool> create_root_key;
  std::optional<bool> create_standard_key;
  std::optional<bool> import_root_key;
  std::optional<bool> import_standard_key;
  std::optional<bool> enforce_token;
};

struct PutInstancePoliciesRequest {
  std::optional<keys::InstancePolicyType> selected;  // ?policy=
  std::vector<InstancePolicyInput> policies;
};

// --- Registrations and events (keyprotect-api.md §11, §12) -----------------

// POST (create), PUT (replace) or PATCH (merge) of one registration; for
// PATCH only the fields present change.
struct RegistrationInput {
  std::optional<std::string> description;
  std::optional<std::string> registration_metadata;
  std::optional<bool> prevent_key_deletion;
  std::optional<std::string> key_version_id;
};

enum class RegistrationWrite { kCreate, kReplace, kMerge };

struct WriteRegistrationRequest {
  RegistrationWrite mode = RegistrationWrite::kCreate;
  std::string resource_crn;  // as the path gave it, percent-decoded once
  RegistrationInput input;
  std::optional<std::string> if_match;  // the If-Match header
};

// A registration as shown, with the name and version creation time of its
// key and whether the caller may see registrationMetadata.
struct RegistrationResult {
  keys::Registration registration;
  std::string key_name;
  std::optional<absl::Time> key_version_creation_time;
  bool show_metadata = false;
  std::string etag;
};

struct ListRegistrationsRequest {
  std::optional<std::string> key_id;  // GET /keys/{id}/registrations
  int64_t limit = 200;
  int64_t offset = 0;
  bool total_count = false;
  std::optional<bool> prevent_key_deletion;
  std::optional<std::string> crn_query;  // urlEncodedResourceCRNQuery
};

struct ListRegistrationsResult {
  std::vector<RegistrationResult> registrations;
  std::optional<int64_t> total;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_TYPES_H_
