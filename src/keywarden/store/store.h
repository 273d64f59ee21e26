#ifndef KEYWARDEN_STORE_STORE_H_
#define KEYWARDEN_STORE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/keys/key.h"

namespace keywarden::store {

// Fields a key list can be sorted by (keyprotect-api.md §3.3).
enum class SortField {
  kId,
  kState,
  kExtractable,
  kImported,
  kCreationDate,
  kLastUpdateDate,
  kLastRotateDate,
  kDeletionDate,
  kExpirationDate,
};

struct SortKey {
  SortField field = SortField::kId;
  bool descending = false;
};

// KeyQuery selects keys of one instance. Empty `states` means every state.
// Results are ordered by `sort` then by id, so paging is stable.
struct KeyQuery {
  std::string instance_id;
  std::vector<keys::KeyState> states;
  std::optional<bool> extractable;
  std::optional<std::string> key_ring_id;
  // When non-empty, only keys in one of these rings (in addition to
  // key_ring_id): what a caller with ring-scoped grants may list.
  std::vector<std::string> key_ring_ids;
  std::vector<SortKey> sort;
  int64_t limit = 200;
  int64_t offset = 0;
};

// A key ring other than `default`, which every instance has implicitly and
// no store records (keyprotect-api.md §9).
struct KeyRing {
  std::string instance_id;
  std::string id;
  absl::Time creation_time;
  std::string created_by;
};

// A second name for one key, unique in its instance and compared byte for
// byte (keyprotect-api.md §10).
struct KeyAlias {
  std::string instance_id;
  std::string alias;
  std::string key_id;
  absl::Time creation_time;
  std::string created_by;
};

// Store is the durable home of instances and keys. Every mutating call is one
// transaction that is durable when it returns OK (nothing acknowledged is
// lost on kill -9 or power loss). Reads see every mutation that returned.
// Implementations are thread-safe.
//
// Errors: NotFound for a missing record, AlreadyExists for a duplicate id,
// FailedPrecondition when an update's expected state does not hold,
// Unavailable/Internal for database failures.
class Store {
 public:
  virtual ~Store() = default;

  // Records the instance if it is new. Idempotent.
  virtual absl::Status EnsureInstance(std::string_view instance_id) = 0;

  // Inserts a new key with all its versions and its `aliases` (each
  // recorded with the key's creation time and creator). AlreadyExists if the
  // key id or one of the aliases is taken in the instance.
  virtual absl::Status CreateKey(const keys::Key& key) = 0;

  // Replaces the key's mutable fields and appends any versions that are not
  // yet stored, atomically. Versions already stored are never rewritten.
  // Fails with FailedPrecondition if the stored `last_update_time` differs
  // from `expected_last_update` (optimistic concurrency).
  virtual absl::Status UpdateKey(const keys::Key& key,
                                 absl::Time expected_last_update) = 0;

  // The key with all its versions and its aliases (in byte order), or
  // NotFound. UpdateKey never changes aliases.
  virtual absl::StatusOr<keys::Key> GetKey(std::string_view instance_id,
                                           std::string_view key_id) = 0;

  // Keys matching `query`, page applied. Each key carries only its primary
  // version (lists show no more), without sealed material, and all its
  // aliases.
  virtual absl::StatusOr<std::vector<keys::Key>> ListKeys(
      const KeyQuery& query) = 0;

  // Number of keys matching `query`, ignoring its limit, offset and sort.
  virtual absl::StatusOr<int64_t> CountKeys(const KeyQuery& query) = 0;

  // Ids (instance, key) of keys in state Active or Suspended whose
  // expiration time is at or before `now`: the expiry sweep's work list.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListExpiredKeys(absl::Time now, int64_t limit) = 0;

  // --- Key rings (keyprotect-api.md §9) ---------------------------------
  // Records a ring (not `default`). AlreadyExists if the instance has it;
  // ResourceExhausted if the instance already records `max_rings` rings.
  // Records the instance implicitly, as CreateKey does.
  virtual absl::Status CreateKeyRing(const KeyRing& ring,
                                     int64_t max_rings) = 0;
  // The ring, or NotFound (also for `default`, which is never stored).
  virtual absl::StatusOr<KeyRing> GetKeyRing(std::string_view instance_id,
                                             std::string_view ring_id) = 0;
  // The instance's recorded rings in id order.
  virtual absl::StatusOr<std::vector<KeyRing>> ListKeyRings(
      std::string_view instance_id) = 0;
  // Removes a ring that holds no key. With `move_destroyed`, a ring whose
  // keys are all Destroyed is removed too and those keys move to `default`
  // in the same transaction, their last_update_time set to
  // max(`now`, previous + 1 µs) so that a concurrent UpdateKey of a moved
  // key fails its optimistic check. Returns the ids of moved keys.
  // NotFound for an unknown ring; FailedPrecondition if a key in it is not
  // Destroyed, or any key is in it and `move_destroyed` is false.
  virtual absl::StatusOr<std::vector<std::string>> DeleteKeyRing(
      std::string_view instance_id, std::string_view ring_id,
      bool move_destroyed, absl::Time now) = 0;

  // --- Key aliases (keyprotect-api.md §10) ------------------------------
  // Records an alias of an existing key. NotFound if the key does not
  // exist; AlreadyExists if the alias is taken in the instance (by any key);
  // ResourceExhausted if the key already has `max_per_key` aliases.
  virtual absl::Status CreateKeyAlias(const KeyAlias& alias,
                                      int64_t max_per_key) = 0;
  // Removes `alias` of key `key_id`; NotFound if that key has no such alias.
  virtual absl::Status DeleteKeyAlias(std::string_view instance_id,
                                      std::string_view key_id,
                                      std::string_view alias) = 0;
  // The alias record (and so the key id) `alias` names, or NotFound.
  virtual absl::StatusOr<KeyAlias> GetKeyAlias(std::string_view instance_id,
                                               std::string_view alias) = 0;

  // Small named values owned by the server (e.g. the admin token hash).
  virtual absl::StatusOr<std::optional<std::string>> GetMeta(
      std::string_view name) = 0;
  // Sets `name` to `value` only if it is unset; returns false if it was set.
  virtual absl::StatusOr<bool> PutMetaIfAbsent(std::string_view name,
                                               std::string_view value) = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_STORE_H_
