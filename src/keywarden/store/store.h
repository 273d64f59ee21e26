#ifndef KEYWARDEN_STORE_STORE_H_
#define KEYWARDEN_STORE_STORE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/search.h"

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
  // `search` (name/alias match) and date clauses of `filter`
  // (keyprotect-api.md §3.3), with keys/search.h's semantics.
  std::optional<keys::KeySearch> search;
  std::vector<keys::TimeClause> time_clauses;
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

// An instance's import token (keyprotect-api.md §8): an RSA key pair whose
// private key is sealed by the master key like key material (AAD: see
// docs/formats/material.md), and the nonce a secure import must prove it
// knows. One per instance; a new one replaces the old.
struct ImportToken {
  std::string instance_id;
  std::string id;  // UUID
  absl::Time creation_time;
  absl::Time expiration_time;
  int64_t max_retrievals = 1;
  int64_t remaining_retrievals = 1;
  std::vector<uint8_t> nonce;  // 12 bytes
  std::string public_key_pem;
  std::string master_key_id;
  std::vector<uint8_t> sealed_private_key;
  std::string created_by;
};

// What an UpdateKey does to the key's registrations, checked and applied in
// its transaction (keyprotect-api.md §3.6).
enum class RegistrationRule {
  kKeep,
  // FailedPrecondition if the key has any registration.
  kRefuseIfAny,
  // FailedPrecondition if a registration has prevent_key_deletion. The
  // registrations stay: a deleted key's services hear of its restore, and
  // purge or the services themselves remove them.
  kRefuseIfPrevented,
};

// The side effects an UpdateKey carries in the same transaction.
struct KeyUpdate {
  RegistrationRule registrations = RegistrationRule::kKeep;
  // When set, one KeyEvent per service with a registration of the key
  // (before `registrations` applies), carrying that service's CRNs, with a
  // fresh UUID, attempts 0 and next_attempt_time = event->time.
  std::optional<keys::EventSpec> event;
  // When set, appended to the audit log (identity_store.h's chain) in the
  // same transaction.
  std::optional<iam::AuditRecord> audit;
};

// Selects registrations of one instance, ordered by key id then CRN.
struct RegistrationQuery {
  std::string instance_id;
  std::optional<std::string> key_id;
  std::optional<std::string> service_id;  // only this service's
  std::optional<bool> prevent_key_deletion;
  std::optional<keys::CrnPattern> crn;
  // Keys in this ring only (X-Kms-Key-Ring), and, when non-empty, keys in
  // one of these rings (a caller with ring-scoped grants).
  std::optional<std::string> key_ring_id;
  std::vector<std::string> key_ring_ids;
  int64_t limit = 200;
  int64_t offset = 0;
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
  // recorded with the key's creation time and creator), and appends `audit`
  // when set, in one transaction. AlreadyExists if the key id or one of the
  // aliases is taken in the instance.
  virtual absl::Status CreateKey(
      const keys::Key& key, const std::optional<iam::AuditRecord>& audit) = 0;
  absl::Status CreateKey(const keys::Key& key) {
    return CreateKey(key, std::nullopt);
  }

  // Replaces the key's mutable fields (its policies, dual-auth and sync
  // fields included) and appends any versions that are not yet stored,
  // atomically, with the side effects of `update`. Versions already stored
  // are never rewritten. Fails with FailedPrecondition if the stored
  // `last_update_time` differs from `expected_last_update` (optimistic
  // concurrency) or the registration rule does not hold; then nothing
  // changes.
  virtual absl::Status UpdateKey(const keys::Key& key,
                                 absl::Time expected_last_update,
                                 const KeyUpdate& update) = 0;
  absl::Status UpdateKey(const keys::Key& key,
                         absl::Time expected_last_update) {
    return UpdateKey(key, expected_last_update, KeyUpdate());
  }

  // Removes the key for good (keyprotect-api.md §3.7): its row, every
  // version's sealed material, its aliases, policies and registrations, in
  // one transaction, and overwrites what the database file held of them
  // (crypto-shredding; docs/operations.md says what backups keep).
  // Events already made for the key stay. NotFound if absent;
  // FailedPrecondition if it is not Destroyed or its last_update_time is not
  // `expected_last_update`.
  virtual absl::Status PurgeKey(std::string_view instance_id,
                                std::string_view key_id,
                                absl::Time expected_last_update,
                                const iam::AuditRecord& audit) = 0;

  // The key with all its versions, policies and aliases (in byte order),
  // or NotFound. UpdateKey never changes aliases.
  virtual absl::StatusOr<keys::Key> GetKey(std::string_view instance_id,
                                           std::string_view key_id) = 0;

  // Keys matching `query`, page applied. Each key carries only its primary
  // version (lists show no more), without sealed material, and all its
  // aliases and policies.
  virtual absl::StatusOr<std::vector<keys::Key>> ListKeys(
      const KeyQuery& query) = 0;

  // Number of keys matching `query`, ignoring its limit, offset and sort.
  virtual absl::StatusOr<int64_t> CountKeys(const KeyQuery& query) = 0;

  // Ids (instance, key) of keys in state Active or Suspended whose
  // expiration time is at or before `now`: the expiry sweep's work list.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListExpiredKeys(absl::Time now, int64_t limit) = 0;

  // Ids (instance, key) of Active root keys, not imported, with an enabled
  // rotation policy whose next rotation (the last rotation, or creation,
  // plus interval_months × keys::kRotationMonth) is at or before `now`,
  // soonest first: the automatic-rotation job's work list.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListKeysDueForRotation(absl::Time now, int64_t limit) = 0;

  // Ids (instance, key) of Destroyed keys deleted at or before
  // `deleted_before`, oldest deletion first: the automatic purge's list.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListKeysDeletedBefore(absl::Time deleted_before, int64_t limit) = 0;

  // --- Key rings (keyprotect-api.md §9) ---------------------------------
  // Every mutation below appends its `audit` record in the transaction that
  // makes the change; a mutation that fails writes neither.
  //
  // Records a ring (not `default`). AlreadyExists if the instance has it;
  // ResourceExhausted if the instance already records `max_rings` rings.
  // Records the instance implicitly, as CreateKey does.
  virtual absl::Status CreateKeyRing(const KeyRing& ring, int64_t max_rings,
                                     const iam::AuditRecord& audit) = 0;
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
      bool move_destroyed, absl::Time now,
      const iam::AuditRecord& audit) = 0;

  // --- Key aliases (keyprotect-api.md §10) ------------------------------
  // Records an alias of an existing key. NotFound if the key does not
  // exist; AlreadyExists if the alias is taken in the instance (by any key);
  // ResourceExhausted if the key already has `max_per_key` aliases.
  virtual absl::Status CreateKeyAlias(const KeyAlias& alias,
                                      int64_t max_per_key,
                                      const iam::AuditRecord& audit) = 0;
  // Removes `alias` of key `key_id`; NotFound if that key has no such alias.
  virtual absl::Status DeleteKeyAlias(std::string_view instance_id,
                                      std::string_view key_id,
                                      std::string_view alias,
                                      const iam::AuditRecord& audit) = 0;
  // The alias record (and so the key id) `alias` names, or NotFound.
  virtual absl::StatusOr<KeyAlias> GetKeyAlias(std::string_view instance_id,
                                               std::string_view alias) = 0;

  // --- Import tokens (keyprotect-api.md §8) -----------------------------
  // Stores `token` as its instance's token, replacing any previous one.
  virtual absl::Status PutImportToken(const ImportToken& token,
                                      const iam::AuditRecord& audit) = 0;
  // The instance's token, or NotFound.
  virtual absl::StatusOr<ImportToken> GetImportToken(
      std::string_view instance_id) = 0;
  // One retrieval (GET /import_token): if the token exists, has not expired
  // at `now` and has retrievals left, decrements remaining_retrievals and
  // returns the token as stored afterwards, in one transaction. NotFound
  // without a token; FailedPrecondition when expired or exhausted (nothing
  // changes).
  virtual absl::StatusOr<ImportToken> RetrieveImportToken(
      std::string_view instance_id, absl::Time now) = 0;

  // --- Instance policies (keyprotect-api.md §7.2) -----------------------
  // Upserts each policy by (instance, type), all in one transaction with
  // `audit`; the instance is recorded implicitly. Policies of other types
  // are kept.
  virtual absl::Status PutInstancePolicies(
      std::span<const keys::InstancePolicy> policies,
      const iam::AuditRecord& audit) = 0;
  // The instance's stored policies, in InstancePolicyType order.
  virtual absl::StatusOr<std::vector<keys::InstancePolicy>>
  ListInstancePolicies(std::string_view instance_id) = 0;
  // Every instance's policies (ordered by instance, then type): the
  // service loads them into memory at start.
  virtual absl::StatusOr<std::vector<keys::InstancePolicy>>
  ListAllInstancePolicies() = 0;

  // --- Registrations (keyprotect-api.md §11) ----------------------------
  // Inserts a registration. NotFound if the key does not exist;
  // FailedPrecondition if it is not an Active root key (checked in the
  // transaction); AlreadyExists if the key has one for that CRN.
  virtual absl::Status CreateRegistration(
      const keys::Registration& registration,
      const iam::AuditRecord& audit) = 0;
  // Replaces the stored registration with the same (instance, key, CRN),
  // which must have revision `expected_revision` (FailedPrecondition
  // otherwise; NotFound if absent). `registration.revision` must be
  // expected_revision + 1. Identity and creation fields are not changed.
  virtual absl::Status UpdateRegistration(
      const keys::Registration& registration, int64_t expected_revision,
      const iam::AuditRecord& audit) = 0;
  // NotFound if absent.
  virtual absl::StatusOr<keys::Registration> GetRegistration(
      std::string_view instance_id, std::string_view key_id,
      std::string_view resource_crn) = 0;
  virtual absl::Status DeleteRegistration(std::string_view instance_id,
                                          std::string_view key_id,
                                          std::string_view resource_crn,
                                          const iam::AuditRecord& audit) = 0;
  // Registrations matching `query`, page applied.
  virtual absl::StatusOr<std::vector<keys::Registration>> ListRegistrations(
      const RegistrationQuery& query) = 0;
  // Number matching `query`, ignoring limit and offset.
  virtual absl::StatusOr<int64_t> CountRegistrations(
      const RegistrationQuery& query) = 0;

  // --- Lifecycle events (keyprotect-api.md §12) --------------------------
  // Events not acknowledged whose next_attempt_time is at or before `now`,
  // oldest next_attempt_time first.
  virtual absl::StatusOr<std::vector<keys::KeyEvent>> ListDueEvents(
      absl::Time now, int64_t limit) = 0;
  // The earliest next_attempt_time of an unacknowledged event, if any: how
  // long the dispatcher may sleep.
  virtual absl::StatusOr<std::optional<absl::Time>> NextEventDue() = 0;
  // The event, or NotFound.
  virtual absl::StatusOr<keys::KeyEvent> GetEvent(
      std::string_view event_id) = 0;
  // Records one delivery attempt of an unacknowledged event: attempts + 1,
  // last_attempt_time = `at`, next_attempt_time = `next_attempt`,
  // last_error = `error`, and delivered_time = `at` if `delivered` and not
  // yet set. NotFound if absent; an acknowledged event is left unchanged
  // (OK).
  virtual absl::Status RecordEventAttempt(std::string_view event_id,
                                          absl::Time at, bool delivered,
                                          absl::Time next_attempt,
                                          std::string_view error) = 0;
  // Acknowledges an event of `ack.service_id` in one transaction: sets
  // acknowledged_time (= `now`) and adopter_key_state; then, if
  // `ack.rewrapped_key_version_id` is set, that service's registrations of
  // the event's key take it as key_version_id (revision + 1); if
  // `ack.delete_registrations`, they are removed. NotFound if there is no
  // such event for that service. Acknowledging twice is OK and changes
  // nothing the second time. Returns the event as stored.
  virtual absl::StatusOr<keys::KeyEvent> AcknowledgeEvent(
      const keys::EventAck& ack, absl::Time now) = 0;

  // --- Background jobs ---------------------------------------------------
  // Takes or renews the lease `name` for `holder` until `now` + `ttl` if it
  // is free, expired, or already held by `holder`; returns whether
  // `holder` holds it. Several nodes sharing one database run a job only
  // while they hold its lease.
  virtual absl::StatusOr<bool> TryAcquireLease(std::string_view name,
                                               std::string_view holder,
                                               absl::Time now,
                                               absl::Duration ttl) = 0;
  // Gives the lease up if `holder` holds it (a node that stops cleanly), so
  // another may take it at once; OK and nothing changes otherwise.
  virtual absl::Status ReleaseLease(std::string_view name,
                                    std::string_view holder) = 0;

  // Small named values owned by the server (e.g. the admin token hash).
  virtual absl::StatusOr<std::optional<std::string>> GetMeta(
      std::string_view name) = 0;
  // Sets `name` to `value` only if it is unset; returns false if it was set.
  virtual absl::StatusOr<bool> PutMetaIfAbsent(std::string_view name,
                                               std::string_view value) = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_STORE_H_
