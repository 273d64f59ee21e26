#ifndef KEYWARDEN_STORE_RESEAL_STORE_H_
#define KEYWARDEN_STORE_RESEAL_STORE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "keywarden/iam/identity.h"

namespace keywarden::store {

// Meta `master_keys` (docs/formats/material.md §4): the master key ids a
// sealed row may name, comma-separated; written only by StartRekey
// (`from,to`) and FinishRekey (`to`). Absent (a database never rekeyed):
// any id. Every write of a sealed row checks it inside its own write
// transaction, which the writers' lock (PostgreSQL's advisory lock,
// SQLite's BEGIN IMMEDIATE) orders against FinishRekey, so no row can
// commit under a key a finished rekey retired.
inline constexpr std::string_view kMasterKeysMetaName = "master_keys";

// What the write of a sealed row answers when its master key id is not in
// meta `master_keys`: a rekey (on another node) retired it. Unavailable,
// so a caller that does not handle it answers 503; IsRetiredMasterKeyError
// tells it apart from an outage.
inline absl::Status RetiredMasterKeyError() {
  absl::Status s = absl::UnavailableError(
      "store: the row is sealed under a master key that a rekey retired");
  s.SetPayload("keywarden.store/retired-master-key", absl::Cord("1"));
  return s;
}
inline bool IsRetiredMasterKeyError(const absl::Status& s) {
  return s.GetPayload("keywarden.store/retired-master-key").has_value();
}

// The kinds of row that hold a secret sealed by the master key
// (docs/formats/material.md §1), each with its own AAD.
enum class SealedKind {
  kKeyMaterial,    // key_versions.sealed_material
  kImportToken,    // import_tokens.sealed_private_key
  kWebhookSecret,  // webhooks.sealed_secret
  kSigningKey,     // signing_keys.sealed_private_key
};

// One sealed secret as a rekey sees it: which row, the master key id it
// records, and the sealed bytes.
struct SealedRow {
  SealedKind kind = SealedKind::kKeyMaterial;
  // The row's identity, in the order its AAD names it: key material
  // (instance, key, version); import token (instance, token id); webhook
  // (service id); signing key (kid).
  std::vector<std::string> ids;
  std::string master_key_id;
  std::vector<uint8_t> sealed;
};

// A row re-sealed: `row` as it was read, and what replaces its secret.
struct Resealed {
  SealedRow row;
  std::string master_key_id;
  std::vector<uint8_t> sealed;
};

// ResealStore is what a master-key rekey needs from the store
// (docs/operations.md, "Rekey the master key"): find the sealed rows not
// yet under the new key, replace their secrets in batches, and keep the
// rekey's record beside the seal record in the meta table. Apart from
// Store so that the key and identity paths do not carry it. Thread-safe.
class ResealStore {
 public:
  virtual ~ResealStore() = default;

  // Up to `limit` sealed rows whose master key id is not `key_id`, in a
  // stable order (a batch of the rekey to `key_id`).
  virtual absl::StatusOr<std::vector<SealedRow>> ListSealedRows(
      std::string_view not_under, int64_t limit) = 0;
  // How many sealed rows are not under `key_id`.
  virtual absl::StatusOr<int64_t> CountSealedRows(
      std::string_view not_under) = 0;

  // In one transaction: each row that still holds exactly the `row.sealed`
  // it was read with, under `row.master_key_id`, gets `sealed` and
  // `master_key_id`; a row changed or deleted meanwhile is left alone (the
  // next batch finds it again if it still needs it). Returns how many rows
  // were replaced. Idempotent: a batch applied twice changes nothing the
  // second time.
  virtual absl::StatusOr<int64_t> ResealRows(
      std::span<const Resealed> rows) = 0;

  // Replaces meta `name` by `value` (or deletes it when `value` is
  // nullopt) if it currently equals `expected` (nullopt: absent), in one
  // transaction. Returns false, changing nothing, if it does not.
  virtual absl::StatusOr<bool> SwapMeta(
      std::string_view name, const std::optional<std::string>& expected,
      const std::optional<std::string>& value) = 0;

  // Starts a rekey from master key `from` to `to` in one transaction: if
  // meta `rekey_name` is absent, sets it to `rekey_record`, meta
  // `master_keys` to `from,to`, and appends `audit`. Returns false,
  // changing nothing, if a rekey record is already there (another node
  // started one).
  virtual absl::StatusOr<bool> StartRekey(std::string_view rekey_name,
                                          std::string_view rekey_record,
                                          std::string_view from,
                                          std::string_view to,
                                          const iam::AuditRecord& audit) = 0;

  // Ends a rekey to `key_id` in one transaction, only if no sealed row is
  // under another key: sets meta `seal_name` to `seal_record`, meta
  // `master_keys` to `key_id`, deletes meta `rekey_name` if it equals
  // `rekey_record`, and appends `audit` when given. Returns false,
  // changing nothing, when rows remain or the rekey record is not
  // `rekey_record`.
  virtual absl::StatusOr<bool> FinishRekey(
      std::string_view key_id, std::string_view seal_name,
      std::string_view seal_record, std::string_view rekey_name,
      std::string_view rekey_record,
      const std::optional<iam::AuditRecord>& audit) = 0;

  // An audit record of its own (a rekey resumed); identity_store.h's.
  virtual absl::Status AppendAudit(const iam::AuditRecord& audit) = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_RESEAL_STORE_H_
