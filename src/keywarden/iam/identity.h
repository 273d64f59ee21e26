#ifndef KEYWARDEN_IAM_IDENTITY_H_
#define KEYWARDEN_IAM_IDENTITY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

// The stored records of identity and access (ARCHITECTURE.md §6,
// keyprotect-api.md §15): principals and their API keys, instances
// (tenants), access policies, service-to-service authorizations, token
// signing keys and audit records. Plain value types; the rules live in
// access.h and the service layer.
namespace keywarden::iam {

enum class PrincipalKind {
  kUser,
  kServiceId,
};

// Stable codes for the database and the admin API: "user", "service_id".
std::string_view PrincipalKindCode(PrincipalKind kind);
std::optional<PrincipalKind> PrincipalKindFromCode(std::string_view code);

// Service roles of keyprotect-api.md §15.1. Stored by their names
// ("Reader", …), never by ordinal.
enum class Role {
  kReader,
  kReaderPlus,
  kWriter,
  kManager,
  kKeyPurge,
  kKmipAdapterManager,
};

std::string_view RoleName(Role role);
std::optional<Role> RoleFromName(std::string_view name);

// A user or a service id. `service_type` names what a service id acts for
// (e.g. "object-storage"); authorizations may target every service id of a
// type. `admin` principals manage the deployment (users, service ids, API
// keys, instances) and hold every role on every instance except KeyPurge.
struct PrincipalRecord {
  std::string id;  // "user-<uuid>" / "serviceid-<uuid>", shown as createdBy
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;
  std::string service_type;  // service ids only; may be empty
  bool admin = false;
  absl::Time creation_time;
  std::string created_by;
};

using SecretHash = std::array<uint8_t, 32>;  // SHA-256

// An API key: only the hash of its secret is stored. `prefix` is the public
// first part of the key, shown in listings and used to throttle guessing.
struct ApiKeyRecord {
  std::string id;  // UUID
  std::string principal_id;
  std::string name;
  std::string prefix;
  SecretHash secret_hash{};
  absl::Time creation_time;
  std::string created_by;
};

// A key service instance (tenant); clients name it in Bluemix-Instance.
struct InstanceRecord {
  std::string id;  // lower-case UUID
  std::string name;
  absl::Time creation_time;
  std::string created_by;
};

// Where a grant applies: a whole instance, one key ring of it, or one key.
// At most one of key_ring_id and key_id is set.
struct Scope {
  std::string instance_id;
  std::optional<std::string> key_ring_id;
  std::optional<std::string> key_id;
};

// Roles granted to a principal on a scope.
struct AccessPolicyRecord {
  std::string id;  // UUID
  std::string principal_id;
  Scope scope;
  std::vector<Role> roles;  // non-empty, no duplicates
  absl::Time creation_time;
  std::string created_by;
};

// A service-to-service authorization (the seed's "grant access"): the
// source is one service id, or every service id of `source_service_type`.
// Exactly one of the two source fields is non-empty.
struct ServiceAuthorizationRecord {
  std::string id;  // UUID
  std::string source_service_id;
  std::string source_service_type;
  Scope target;
  Role role = Role::kReader;
  absl::Time creation_time;
  std::string created_by;
};

// A token signing key: the private key is sealed by the master key like key
// material. Tokens name it by `kid`; it signs until `retire_time` and
// verifies until `retire_time` + the token lifetime.
struct SigningKeyRecord {
  std::string kid;
  std::string algorithm;  // "ES256"
  std::vector<uint8_t> sealed_private_key;  // master-key sealed PKCS#8 DER
  std::string master_key_id;
  std::vector<uint8_t> public_key_der;  // SubjectPublicKeyInfo
  absl::Time creation_time;
  absl::Time retire_time;
};

// Where a service id receives lifecycle events of the keys it registered
// (keyprotect-api.md §12): an http(s) URL and the HMAC secret that signs
// each delivery, sealed by the master key (AAD: docs/formats/material.md).
struct WebhookRecord {
  std::string principal_id;  // a service id
  std::string url;
  std::string master_key_id;
  std::vector<uint8_t> sealed_secret;
  absl::Time creation_time;
  std::string created_by;
};

enum class AuditOutcome { kSuccess, kFailure };

// One audit event. Never carries a key, a token or an API key: `target`
// names resources by id and `details` is a short human text.
struct AuditRecord {
  int64_t seq = 0;  // assigned by the store, gap-free
  absl::Time time;
  std::string actor;           // principal id, or "anonymous"
  std::string action;          // e.g. "iam.apikey.create", "auth.failure"
  std::string target;          // e.g. "apikey:<id>", "instance:<id>"
  AuditOutcome outcome = AuditOutcome::kSuccess;
  std::string correlation_id;
  std::string source_address;
  std::string details;
  // SHA-256 over the previous record's hash and this record's canonical
  // encoding (docs/formats/audit.md), so a changed or removed record shows.
  SecretHash prev_hash{};
  SecretHash hash{};
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_IDENTITY_H_
