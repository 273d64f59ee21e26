#ifndef KEYWARDEN_STORE_SQL_SQL_STORE_H_
#define KEYWARDEN_STORE_SQL_SQL_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/store/change_feed.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/kmip_store.h"
#include "keywarden/store/reseal_store.h"
#include "keywarden/store/sql/sql_connection.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// SqlStore is the Store and IdentityStore of the SQL backends, written once
// for every dialect (sql_connection.h): SqliteStore (the embedded default)
// and PostgresStore (shared by many nodes) derive from it and add only how
// they open their connections and what their database needs around a
// write. Every rule of store.h and identity_store.h (registration rules,
// event fan-out, delete cascades, acknowledgement rewraps, the audit chain)
// is here, once. The schema is docs/formats/storage-schema.md.
//
// Concurrency: all writes go through one write connection. Each mutation
// runs inside a transaction (the dialect's BeginWrite makes it exclusive:
// BEGIN IMMEDIATE on SQLite, a transaction-scoped advisory lock on
// PostgreSQL, so writers of every node are serialised as on one file) and
// returns only after its commit is durable. Mutations that arrive while a
// commit is in progress are group-committed: the next leader runs them in
// one transaction, each inside its own SAVEPOINT so that one failing
// mutation (a duplicate id, a stale update) is undone alone, then pays one
// durable commit for all of them. Every caller still sees only its own
// mutation's outcome, and is acknowledged only after the shared commit.
// Reads use a small pool of read connections, which never wait behind a
// commit. A read sees every commit that returned before it started.
//
// Identity mutations and their audit records go through the same writer
// and group commit, each mutation and its audit record inside one
// SAVEPOINT of one transaction, so they become durable together or not at
// all. The audit record's seq and hash chain are computed there from the
// last stored record.
//
// Thread-safe.
class SqlStore : public Store,
                 public IdentityStore,
                 public KmipStore,
                 public ResealStore {
 public:
  struct Options {
    // Read connections in the pool; reads beyond this many wait.
    int read_connections = 4;
    // Most mutations one group commit may carry; bounds the latency a
    // burst adds to its first members.
    int max_group_commit = 64;
  };

  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  absl::Status EnsureInstance(std::string_view instance_id) override;
  using Store::CreateKey;
  absl::Status CreateKey(const keys::Key& key,
                         const std::optional<iam::AuditRecord>& audit) override;
  using Store::UpdateKey;
  absl::Status UpdateKey(const keys::Key& key, absl::Time expected_last_update,
                         const KeyUpdate& update) override;
  // Overwrites the key's sealed material before deleting its rows, then
  // lets the dialect shred what it can (AfterPurge; docs/operations.md
  // "Deleted material").
  absl::Status PurgeKey(std::string_view instance_id, std::string_view key_id,
                        absl::Time expected_last_update,
                        const iam::AuditRecord& audit) override;
  absl::StatusOr<keys::Key> GetKey(std::string_view instance_id,
                                   std::string_view key_id) override;
  absl::StatusOr<std::vector<keys::Key>> ListKeys(
      const KeyQuery& query) override;
  absl::StatusOr<int64_t> CountKeys(const KeyQuery& query) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListExpiredKeys(absl::Time now, int64_t limit) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListKeysDueForRotation(absl::Time now, int64_t limit) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListKeysDeletedBefore(absl::Time deleted_before, int64_t limit) override;
  absl::Status CreateKeyRing(const KeyRing& ring, int64_t max_rings,
                             const iam::AuditRecord& audit) override;
  absl::StatusOr<KeyRing> GetKeyRing(std::string_view instance_id,
                                     std::string_view ring_id) override;
  absl::StatusOr<std::vector<KeyRing>> ListKeyRings(
      std::string_view instance_id) override;
  absl::StatusOr<std::vector<std::string>> DeleteKeyRing(
      std::string_view instance_id, std::string_view ring_id,
      bool move_destroyed, absl::Time now,
      const iam::AuditRecord& audit) override;
  absl::Status CreateKeyAlias(const KeyAlias& alias, int64_t max_per_key,
                              const iam::AuditRecord& audit) override;
  absl::Status DeleteKeyAlias(std::string_view instance_id,
                              std::string_view key_id,
                              std::string_view alias,
                              const iam::AuditRecord& audit) override;
  absl::StatusOr<KeyAlias> GetKeyAlias(std::string_view instance_id,
                                       std::string_view alias) override;

  // Import tokens, instance policies, registrations, events and leases
  // (sql_lifecycle.cc).
  absl::Status PutImportToken(const ImportToken& token,
                              const iam::AuditRecord& audit) override;
  absl::StatusOr<ImportToken> GetImportToken(
      std::string_view instance_id) override;
  absl::StatusOr<ImportToken> RetrieveImportToken(std::string_view instance_id,
                                                  absl::Time now) override;
  absl::Status PutInstancePolicies(
      std::span<const keys::InstancePolicy> policies,
      const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<keys::InstancePolicy>> ListInstancePolicies(
      std::string_view instance_id) override;
  absl::StatusOr<std::vector<keys::InstancePolicy>> ListAllInstancePolicies()
      override;
  absl::Status CreateRegistration(
      const keys::Registration& registration,
      const iam::AuditRecord& audit) override;
  absl::Status UpdateRegistration(const keys::Registration& registration,
                                  int64_t expected_revision,
                                  const iam::AuditRecord& audit) override;
  absl::StatusOr<keys::Registration> GetRegistration(
      std::string_view instance_id, std::string_view key_id,
      std::string_view resource_crn) override;
  absl::Status DeleteRegistration(std::string_view instance_id,
                                  std::string_view key_id,
                                  std::string_view resource_crn,
                                  const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<keys::Registration>> ListRegistrations(
      const RegistrationQuery& query) override;
  absl::StatusOr<int64_t> CountRegistrations(
      const RegistrationQuery& query) override;
  absl::StatusOr<std::vector<keys::KeyEvent>> ListDueEvents(
      absl::Time now, int64_t limit) override;
  absl::StatusOr<std::optional<absl::Time>> NextEventDue() override;
  absl::StatusOr<keys::KeyEvent> GetEvent(std::string_view event_id) override;
  absl::Status RecordEventAttempt(std::string_view event_id, absl::Time at,
                                  bool delivered, absl::Time next_attempt,
                                  std::string_view error) override;
  absl::StatusOr<keys::KeyEvent> AcknowledgeEvent(const keys::EventAck& ack,
                                                  absl::Time now) override;
  absl::Status ReleaseLease(std::string_view name,
                            std::string_view holder) override;
  absl::StatusOr<bool> TryAcquireLease(std::string_view name,
                                       std::string_view holder, absl::Time now,
                                       absl::Duration ttl) override;

  absl::StatusOr<std::optional<std::string>> GetMeta(
      std::string_view name) override;
  absl::StatusOr<bool> PutMetaIfAbsent(std::string_view name,
                                       std::string_view value) override;

  // IdentityStore (sql_identity_store.cc).
  absl::Status CreatePrincipal(const iam::PrincipalRecord& principal,
                               const iam::AuditRecord& audit) override;
  absl::Status DeletePrincipal(std::string_view id,
                               const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::PrincipalRecord>> ListPrincipals() override;
  absl::Status CreateApiKey(const iam::ApiKeyRecord& key,
                            const iam::AuditRecord& audit) override;
  absl::Status DeleteApiKey(std::string_view id,
                            const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::ApiKeyRecord>> ListApiKeys() override;
  absl::Status CreateInstance(const iam::InstanceRecord& instance,
                              const iam::AuditRecord& audit) override;
  absl::Status DeleteInstance(std::string_view id,
                              const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::InstanceRecord>> ListInstances() override;
  absl::Status CreatePolicy(const iam::AccessPolicyRecord& policy,
                            const iam::AuditRecord& audit) override;
  absl::Status DeletePolicy(std::string_view id,
                            const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::AccessPolicyRecord>> ListPolicies() override;
  absl::Status CreateAuthorization(
      const iam::ServiceAuthorizationRecord& authorization,
      const iam::AuditRecord& audit) override;
  absl::Status DeleteAuthorization(std::string_view id,
                                   const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
  ListAuthorizations() override;
  absl::Status PutWebhook(const iam::WebhookRecord& webhook,
                          const iam::AuditRecord& audit) override;
  absl::Status DeleteWebhook(std::string_view principal_id,
                             const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::WebhookRecord>> ListWebhooks() override;
  absl::Status PutSigningKey(const iam::SigningKeyRecord& key) override;
  absl::Status DeleteSigningKey(std::string_view kid) override;
  absl::StatusOr<std::vector<iam::SigningKeyRecord>> ListSigningKeys() override;
  absl::Status AppendAudit(const iam::AuditRecord& audit) override;
  absl::StatusOr<std::vector<iam::AuditRecord>> ListAudit(
      int64_t after_seq, int64_t limit) override;
  absl::Status VerifyAuditChain() override;

  // KmipStore (sql_kmip_store.cc).
  absl::Status CreateKmipAdapter(const KmipAdapter& adapter,
                                 int64_t max_adapters,
                                 const iam::AuditRecord& audit) override;
  absl::StatusOr<KmipAdapter> GetKmipAdapter(
      std::string_view instance_id, std::string_view id_or_name) override;
  absl::StatusOr<std::vector<KmipAdapter>> ListKmipAdapters(
      std::string_view instance_id, std::string_view crk_id, int64_t limit,
      int64_t offset) override;
  absl::StatusOr<int64_t> CountKmipAdapters(std::string_view instance_id,
                                            std::string_view crk_id) override;
  absl::Status DeleteKmipAdapter(std::string_view instance_id,
                                 std::string_view adapter_id,
                                 const iam::AuditRecord& audit) override;
  absl::Status CreateKmipCertificate(const KmipCertificate& certificate,
                                     int64_t max_certificates,
                                     const iam::AuditRecord& audit) override;
  absl::StatusOr<KmipCertificate> GetKmipCertificate(
      std::string_view instance_id, std::string_view adapter_id,
      std::string_view id_or_name) override;
  absl::StatusOr<KmipCertificate> FindKmipCertificate(
      std::string_view fingerprint) override;
  absl::StatusOr<std::vector<KmipCertificate>> ListKmipCertificates(
      std::string_view instance_id, std::string_view adapter_id,
      int64_t limit, int64_t offset) override;
  absl::StatusOr<int64_t> CountKmipCertificates(
      std::string_view instance_id, std::string_view adapter_id) override;
  absl::Status DeleteKmipCertificate(std::string_view instance_id,
                                     std::string_view adapter_id,
                                     std::string_view id,
                                     const iam::AuditRecord& audit) override;
  absl::Status CreateKmipObject(
      const KmipObject& object,
      const std::optional<iam::AuditRecord>& audit) override;
  absl::StatusOr<KmipObject> GetKmipObject(std::string_view instance_id,
                                           std::string_view adapter_id,
                                           std::string_view id) override;
  absl::Status UpdateKmipObject(
      const KmipObject& object,
      const std::optional<iam::AuditRecord>& audit) override;
  absl::StatusOr<std::vector<KmipObject>> ListKmipObjects(
      const KmipObjectQuery& query) override;
  absl::StatusOr<int64_t> CountKmipObjects(
      const KmipObjectQuery& query) override;

  // ResealStore (sql_reseal.cc).
  absl::StatusOr<std::vector<SealedRow>> ListSealedRows(
      std::string_view not_under, int64_t limit) override;
  absl::StatusOr<int64_t> CountSealedRows(std::string_view not_under) override;
  absl::StatusOr<int64_t> ResealRows(std::span<const Resealed> rows) override;
  absl::StatusOr<bool> SwapMeta(
      std::string_view name, const std::optional<std::string>& expected,
      const std::optional<std::string>& value) override;
  absl::StatusOr<bool> StartRekey(std::string_view rekey_name,
                                  std::string_view rekey_record,
                                  std::string_view from, std::string_view to,
                                  const iam::AuditRecord& audit) override;
  absl::StatusOr<bool> FinishRekey(std::string_view key_id,
                                   std::string_view seal_name,
                                   std::string_view seal_record,
                                   std::string_view rekey_name,
                                   std::string_view rekey_record,
                                   const std::optional<iam::AuditRecord>& audit)
      override;

  // Counters of the write path, for /metrics and tests.
  struct WriteStats {
    int64_t commits = 0;    // transactions committed
    int64_t mutations = 0;  // mutations they carried (>= commits)
    int64_t queued = 0;     // mutations waiting or committing right now
    // SQLite: a purge whose WAL truncation a reader blocked; retried after
    // the next commit (docs/formats/storage-schema.md "Purge").
    bool wal_shred_pending = false;
  };
  WriteStats write_stats() ABSL_LOCKS_EXCLUDED(queue_mu_);

  // Starts hearing about the changes other nodes commit to a shared
  // database (change_feed.h): the listener is called for each, on a thread
  // of the store, from now until the store is destroyed. Changes committed
  // after Open and before this call are reported as one Change::All(), so
  // caches loaded after Open miss nothing. A store with no other writer
  // (SQLite) never calls it. A lost session (PostgreSQL) drops every cache
  // (Change::All) at each poll until it is back, so a node that cannot hear
  // the others fails closed.
  virtual absl::Status StartChangeFeed(ChangeFeedOptions options);
  // Calls the listener and the feed-state callback no more (waits for a
  // call in progress): before what they touch (caches, the logger) is
  // destroyed.
  void StopChangeListener() ABSL_LOCKS_EXCLUDED(listener_mu_);

 protected:
  // Takes the migrated connections; `readers` is not empty.
  SqlStore(std::unique_ptr<sql_internal::Connection> writer,
           std::vector<std::unique_ptr<sql_internal::Connection>> readers,
           int max_group_commit);

  // Starts the transaction of one group commit on the write connection,
  // exclusive against every other writer of the database.
  virtual absl::Status BeginWrite(sql_internal::Connection& db) = 0;
  // Runs after a group committed, with the writer still held.
  virtual void AfterCommitLocked(sql_internal::Connection& db) {}
  // Runs after a purge committed, with the writer held.
  virtual void AfterPurgeLocked(sql_internal::Connection& db) {}
  // For write_stats().
  virtual bool ShredPending() const { return false; }
  // Runs inside a group's transaction just before COMMIT, with the changes
  // its successful mutations made (none is never passed): a shared
  // database records them so that other nodes hear of them when the
  // transaction commits, and not otherwise. A failure aborts the group.
  virtual absl::Status PublishChangesLocked(sql_internal::Connection& db,
                                            std::span<const Change> changes) {
    return absl::OkStatus();
  }
  // What the dialect's feed heard from another node: forgets what the
  // store itself caches, then tells the listener.
  void OnRemoteChange(const Change& change) ABSL_LOCKS_EXCLUDED(instances_mu_);

  // Runs `body` on the write connection, outside any group commit.
  void WithWriter(absl::FunctionRef<void(sql_internal::Connection&)> body)
      ABSL_LOCKS_EXCLUDED(write_mu_);

  // Closes the read connections (before the writer, e.g. so SQLite can
  // checkpoint at close). Reads must not be running or start afterwards.
  void CloseReaders() ABSL_LOCKS_EXCLUDED(pool_mu_);

 private:
  struct PendingWrite;

  // Runs `body` as one durable mutation on the write connection (see the
  // class comment): its changes commit if it returns OK and are undone if
  // it fails; returns its status, or the commit's failure.
  // `change` says what other nodes must forget when it commits; nullopt
  // for a write that changes nothing a node caches (audit, leases, event
  // delivery state). The default, Change::All(), is always correct.
  absl::Status WriteTransaction(
      absl::FunctionRef<absl::Status(sql_internal::Connection&)> body,
      std::optional<Change> change = Change::All())
      ABSL_LOCKS_EXCLUDED(queue_mu_, write_mu_);

  // Runs `batch` in one transaction and fills in each member's result.
  void CommitGroup(const std::vector<PendingWrite*>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Runs `body` with a read connection borrowed from the pool.
  template <typename Body>
  auto WithReader(Body&& body) ABSL_LOCKS_EXCLUDED(pool_mu_);
  // WithReader for code outside sql_store.cc (the template is defined
  // there): one read, one statement at a time.
  absl::Status Read(
      absl::FunctionRef<absl::Status(sql_internal::Connection&)> body)
      ABSL_LOCKS_EXCLUDED(pool_mu_);

  // A mutation of IdentityStore: validates `audit`, then runs `body` and
  // appends `audit` to the log in the same SAVEPOINT of WriteTransaction.
  absl::Status AuditedWrite(
      const iam::AuditRecord& audit,
      absl::FunctionRef<absl::Status(sql_internal::Connection&)> body,
      std::optional<Change> change = Change::All());

  const int max_group_commit_;
  // The writer's and every reader's dialect.
  const sql_internal::Dialect dialect_;

  // Mutations waiting to commit, oldest first. The front one's thread is the
  // leader: it commits a group from the front, then pops and wakes it.
  absl::Mutex queue_mu_;
  std::deque<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);

  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> mutations_{0};

  // Held by the leader while it uses the write connection.
  absl::Mutex write_mu_;
  std::unique_ptr<sql_internal::Connection> writer_ ABSL_GUARDED_BY(write_mu_);

  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<sql_internal::Connection>> readers_
      ABSL_GUARDED_BY(pool_mu_);
  std::vector<sql_internal::Connection*> idle_readers_
      ABSL_GUARDED_BY(pool_mu_);

  // Instances known to be stored, so EnsureInstance (run per request) needs
  // no write for an instance already seen. DeleteInstance erases its entry
  // after its commit; a change another node made to identity (which may
  // have deleted an instance) clears the whole set.
  absl::Mutex instances_mu_;
  absl::flat_hash_set<std::string> known_instances_
      ABSL_GUARDED_BY(instances_mu_);

  absl::Mutex listener_mu_;
  ChangeListener listener_ ABSL_GUARDED_BY(listener_mu_);
  // Set by StartChangeFeed, cleared by StopChangeListener.
  std::function<void(const absl::Status&)> on_feed_state_
      ABSL_GUARDED_BY(listener_mu_);

 protected:
  // For the dialect's feed: tells StartChangeFeed's on_state that the feed
  // was lost (`state` not OK) or is back, unless StopChangeListener ran.
  void ReportFeedState(const absl::Status& state)
      ABSL_LOCKS_EXCLUDED(listener_mu_);
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_SQL_SQL_STORE_H_
