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

namespace keywarden::store {

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

  // Ends a rekey to `key_id` in one transaction, only if no sealed row is
  // under another key: sets meta `seal_name` to `seal_record` and deletes
  // meta `rekey_name` if it equals `rekey_record`. Returns false, changing
  // nothing, when rows remain or the rekey record is not `rekey_record`.
  virtual absl::StatusOr<bool> FinishRekey(std::string_view key_id,
                                           std::string_view seal_name,
                                           std::string_view seal_record,
                                           std::string_view rekey_name,
                                           std::string_view rekey_record) = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_RESEAL_STORE_H_
