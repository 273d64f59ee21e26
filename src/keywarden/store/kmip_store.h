#ifndef KEYWARDEN_STORE_KMIP_STORE_H_
#define KEYWARDEN_STORE_KMIP_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/iam/identity.h"

namespace keywarden::store {

// A KMIP adapter (keyprotect-api.md §13): binds the KMIP clients whose
// certificates are registered to it to one root key of its instance.
struct KmipAdapter {
  std::string instance_id;
  std::string id;  // v4 UUID
  std::string name;
  std::string description;
  std::string profile;  // "native_1.0"
  std::string crk_id;   // the root key's id (never an alias)
  absl::Time created_at;
  std::string created_by;
  absl::Time updated_at;
  std::string updated_by;
};

// A client certificate of an adapter. `fingerprint` (lower-case hex of the
// SHA-256 of the certificate's DER) is unique across the whole store: a TLS
// peer is mapped to its adapter by it alone.
struct KmipCertificate {
  std::string instance_id;
  std::string adapter_id;
  std::string id;  // v4 UUID
  std::string name;
  std::string pem;
  std::string fingerprint;
  absl::Time created_at;
  std::string created_by;
};

// A KMIP managed object. Codes are KMIP's enumeration values (state 1..6,
// object type, algorithm, key format type), stable by the KMIP standard.
// `attributes` is opaque here (the KMIP layer's encoding); `names` are its
// Name values (UTF-8 as KMIP Text Strings are, without U+0000;
// InvalidArgument otherwise), kept apart for Locate. `sealed_material` is
// the material sealed under the adapter's root key; empty once destroyed.
struct KmipObject {
  std::string instance_id;
  std::string adapter_id;
  std::string id;  // v4 UUID
  int32_t object_type = 0;
  std::optional<int32_t> algorithm;
  std::optional<int32_t> length;
  int32_t key_format = 0;
  int32_t state = 1;
  std::vector<std::string> names;
  std::string attributes;
  std::string sealed_material;
  // Incremented by every update; UpdateKmipObject checks it (optimistic
  // concurrency: a concurrent change fails with Aborted).
  int64_t revision = 1;
  absl::Time created_at;
  std::string created_by_cert_id;
  absl::Time updated_at;
  std::string updated_by_cert_id;
  std::optional<absl::Time> destroyed_at;
  std::string destroyed_by_cert_id;
};

struct KmipObjectQuery {
  std::string instance_id;
  std::string adapter_id;
  std::vector<int32_t> states;  // empty: every state
  std::optional<int32_t> object_type;
  std::optional<int32_t> algorithm;
  std::optional<int32_t> length;
  std::vector<std::string> names;  // every one must be a Name of the object
  // Applied after every filter, names included (Locate's Maximum Items and
  // Offset Items).
  int64_t limit = 100;
  int64_t offset = 0;
};

// KmipStore is the durable home of KMIP adapters, client certificates and
// objects (migration 0005; docs/formats/storage-schema.md). Mutations that
// take an audit record write it in the same transaction; all are durable
// when OK returns. Results are ordered by creation time, then id.
// Thread-safe.
//
// Errors: NotFound for a missing row, AlreadyExists for a duplicate id,
// name or certificate fingerprint, ResourceExhausted over a limit,
// FailedPrecondition for a rule below, Aborted for a stale revision,
// Unavailable/Internal/DataLoss for database failures.
class KmipStore {
 public:
  virtual ~KmipStore() = default;

  // ResourceExhausted when the instance has `max_adapters` already.
  virtual absl::Status CreateKmipAdapter(const KmipAdapter& adapter,
                                         int64_t max_adapters,
                                         const iam::AuditRecord& audit) = 0;
  // By id, or else by name.
  virtual absl::StatusOr<KmipAdapter> GetKmipAdapter(
      std::string_view instance_id, std::string_view id_or_name) = 0;
  // `crk_id` empty: every adapter of the instance.
  virtual absl::StatusOr<std::vector<KmipAdapter>> ListKmipAdapters(
      std::string_view instance_id, std::string_view crk_id, int64_t limit,
      int64_t offset) = 0;
  virtual absl::StatusOr<int64_t> CountKmipAdapters(
      std::string_view instance_id, std::string_view crk_id) = 0;
  // FailedPrecondition while it holds an object that is not destroyed;
  // deletes its certificates and destroyed objects with it.
  virtual absl::Status DeleteKmipAdapter(std::string_view instance_id,
                                         std::string_view adapter_id,
                                         const iam::AuditRecord& audit) = 0;

  // ResourceExhausted when the adapter has `max_certificates` already;
  // NotFound when the adapter does not exist.
  virtual absl::Status CreateKmipCertificate(
      const KmipCertificate& certificate, int64_t max_certificates,
      const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<KmipCertificate> GetKmipCertificate(
      std::string_view instance_id, std::string_view adapter_id,
      std::string_view id_or_name) = 0;
  virtual absl::StatusOr<KmipCertificate> FindKmipCertificate(
      std::string_view fingerprint) = 0;
  virtual absl::StatusOr<std::vector<KmipCertificate>> ListKmipCertificates(
      std::string_view instance_id, std::string_view adapter_id,
      int64_t limit, int64_t offset) = 0;
  virtual absl::StatusOr<int64_t> CountKmipCertificates(
      std::string_view instance_id, std::string_view adapter_id) = 0;
  virtual absl::Status DeleteKmipCertificate(std::string_view instance_id,
                                             std::string_view adapter_id,
                                             std::string_view id,
                                             const iam::AuditRecord& audit) = 0;

  // NotFound when the adapter does not exist.
  virtual absl::Status CreateKmipObject(
      const KmipObject& object, const std::optional<iam::AuditRecord>& audit) = 0;
  virtual absl::StatusOr<KmipObject> GetKmipObject(
      std::string_view instance_id, std::string_view adapter_id,
      std::string_view id) = 0;
  // Replaces every mutable column of the stored object whose revision is
  // `object.revision - 1`; Aborted otherwise (or NotFound).
  virtual absl::Status UpdateKmipObject(
      const KmipObject& object, const std::optional<iam::AuditRecord>& audit) = 0;
  virtual absl::StatusOr<std::vector<KmipObject>> ListKmipObjects(
      const KmipObjectQuery& query) = 0;
  // Ignores limit and offset.
  virtual absl::StatusOr<int64_t> CountKmipObjects(
      const KmipObjectQuery& query) = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_KMIP_STORE_H_
