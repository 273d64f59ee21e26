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

// Root key material sealed for the instance's import token
// (keyprotect-api.md §8.2; docs/api.md "Secure import"), all base64: what a
// secure create or rotate sends instead of the plaintext material.
struct SealedKeyMaterial {
  std::string payload;          // RSAES-OAEP-SHA-256 of the material
  std::string encrypted_nonce;  // AES-GCM of the token's nonce, ct || tag
  std::string iv;               // the 12-byte GCM IV
};

struct CreateKeyRequest {
  std::string name;
  std::string description;
  bool extractable = false;           // false: a root key
  std::optional<SecretBytes> payload;  // imported material; none: generated
  // Imported root key material sealed for the import token (SealForImport);
  // exclusive with `payload`.
  std::optional<SealedKeyMaterial> sealed;
  std::string key_ring_id;            // "" : the default ring
  std::vector<std::string> aliases;
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

// A PATCH of a registration: the fields that are set change.
struct RegistrationUpdate {
  std::optional<std::string> description;
  std::optional<bool> prevent_key_deletion;
};

struct ListRegistrationsOptions {
  std::string key_id;     // "": the registrations of every key
  std::string crn_query;  // urlEncodedResourceCRNQuery ("*" segments)
  int limit = 0;          // 0: the server's default (200)
  int offset = 0;
};

struct KeyRing {
  std::string id;
  std::string creation_date;  // "" for `default`
  std::string created_by;
};

struct KeyAlias {
  std::string key_id;
  std::string alias;
  std::string creation_date;
  std::string created_by;
};

struct RotationPolicy {
  bool enabled = false;
  int interval_month = 0;  // 1..12; 0: unset (the server keeps or picks it)
};

// A key's policies (keyprotect-api.md §7.1); nullopt: not set.
struct KeyPolicies {
  std::optional<RotationPolicy> rotation;
  std::optional<bool> dual_auth_delete;
};

struct ImportTokenRequest {
  int expiration_seconds = 0;  // 300..86400; 0: the server's default (600)
  int max_retrievals = 0;      // 1..500; 0: the server's default (1)
};

// The instance's import token. The public key and nonce come only from
// GetImportToken (each call counts a retrieval).
struct ImportToken {
  std::string id;
  std::string creation_date;
  std::string expiration_date;
  int64_t max_retrievals = 0;
  int64_t remaining_retrievals = 0;
  std::string public_key_pem;  // SubjectPublicKeyInfo PEM
  std::vector<uint8_t> nonce;  // 12 bytes, not secret
};

// SealForImport seals root key `material` (16, 24 or 32 bytes) for `token`
// (keyprotect-api.md §8.2): RSAES-OAEP with SHA-256 and MGF1-SHA-256 and no
// label (RFC 8017 §7.1) of the material under the token's public key, and
// AES-GCM (NIST SP 800-38D) of the token's nonce under the material with a
// fresh random 96-bit IV and no AAD. InvalidArgument for a token without a
// public key or nonce, or material of another size.
absl::StatusOr<SealedKeyMaterial> SealForImport(const ImportToken& token,
                                                const SecretBytes& material);

// KeyProtectClient is thread-safe (the Transport is); it holds no state but
// the instance id and a reference to the transport, which must outlive it.
//
// Retries (Transport's RetryPolicy) apply to what can be repeated without
// changing the outcome: reads, wrap/unwrap/rewrap (no state changes on the
// server), registration create, replace, update and delete (the server
// answers a repeated write with the same fields as the first), setting a
// key policy and moving a key to a ring. Create, rotate, enable, disable,
// delete, restore and purge are never retried, nor are ring and alias
// create and delete, nor import tokens (each create replaces the token,
// each get counts a retrieval).
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
  // Rotates a root key imported through the import token.
  absl::Status RotateKey(const std::string& id,
                         const SealedKeyMaterial& sealed);
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
  // PATCH: changes the fields of `update` that are set, keeps the others.
  absl::StatusOr<Registration> UpdateRegistration(
      const std::string& key_id, const std::string& crn,
      const RegistrationUpdate& update);
  // PUT: replaces the registration's fields with `request`.
  absl::StatusOr<Registration> ReplaceRegistration(
      const std::string& key_id, const std::string& crn,
      const RegistrationRequest& request);
  absl::Status DeleteRegistration(const std::string& key_id,
                                  const std::string& crn);
  // The registrations of one key, or of every key when `key_id` is "".
  absl::StatusOr<std::vector<Registration>> ListRegistrations(
      const std::string& key_id = "");
  absl::StatusOr<std::vector<Registration>> ListRegistrations(
      const ListRegistrationsOptions& options);

  // Key rings (keyprotect-api.md §9). `default` is listed first and can be
  // neither created nor deleted.
  absl::Status CreateKeyRing(const std::string& id);
  absl::StatusOr<std::vector<KeyRing>> ListKeyRings();
  // `force`: also a ring that holds only Destroyed keys (they move to
  // `default`).
  absl::Status DeleteKeyRing(const std::string& id, bool force = false);
  // Moves a key to another ring (PATCH /keys/{id}).
  absl::StatusOr<Key> MoveKeyToRing(const std::string& key_id,
                                    const std::string& ring_id);

  // Aliases (keyprotect-api.md §10); an alias names its key wherever an id
  // does.
  absl::StatusOr<KeyAlias> CreateKeyAlias(const std::string& key_id,
                                          const std::string& alias);
  absl::Status DeleteKeyAlias(const std::string& key_id,
                              const std::string& alias);

  // Key policies (keyprotect-api.md §7.1; Manager).
  absl::StatusOr<KeyPolicies> GetKeyPolicies(const std::string& key_id);
  absl::StatusOr<KeyPolicies> SetRotationPolicy(const std::string& key_id,
                                                const RotationPolicy& policy);
  // Enabling is irreversible; the server refuses to disable.
  absl::StatusOr<KeyPolicies> SetDualAuthDeletePolicy(const std::string& key_id,
                                                      bool enabled);

  // Import tokens (keyprotect-api.md §8.1): one per instance, replaced by
  // each create. Get counts a retrieval and returns the public key and nonce.
  absl::StatusOr<ImportToken> CreateImportToken(
      const ImportTokenRequest& request = {});
  absl::StatusOr<ImportToken> GetImportToken();
  // The whole secure import: retrieves the token, seals `material` for it
  // (SealForImport) and creates the root key; only the sealed form leaves
  // this process. `request.payload` and `request.sealed` must be empty.
  absl::StatusOr<Key> ImportKeySecurely(CreateKeyRequest request,
                                        const SecretBytes& material);

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
  // wrap, unwrap and rewrap: the body {field: value, aad}, the call, and
  // the body's secret wiped; the answer's object.
  absl::StatusOr<boost::json::value> DataAction(
      const std::string& key_id, std::string_view action,
      std::string_view field, std::string value,
      const std::vector<std::string>& aad);
  absl::StatusOr<Registration> WriteRegistration(
      std::string_view method, const std::string& key_id,
      const std::string& crn, boost::json::object resource);
  absl::StatusOr<KeyPolicies> PutKeyPolicy(const std::string& key_id,
                                           std::string_view policy,
                                           boost::json::object resource);

  Transport& transport_;
  const std::string instance_;
};

// Base64 (RFC 4648 §4, padded) of secret bytes and back, for callers that
// read or print key material and DEKs (the CLI); "" / InvalidArgument
// "not base64" without echoing the input.
std::string Base64OfSecret(const SecretBytes& bytes);
absl::StatusOr<SecretBytes> SecretFromBase64(std::string_view text);

// The text of a KeyState ("Active", …), for tables and messages.
std::string_view KeyStateName(KeyState state);

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_KEY_PROTECT_H_
