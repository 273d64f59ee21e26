#ifndef KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
#define KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// InMemoryStore is a Store and an IdentityStore kept in process memory, for
// unit tests of the layers above. It is a working fake, not a mock: it
// follows every rule of store.h and identity_store.h exactly as SqliteStore
// does (checked by the shared conformance suites), including microsecond
// time precision, implicit instance creation by CreateKey, the cascades and
// the audit hash chain. A mutation and its audit record change the state
// under one lock, so both happen or neither does. Nothing is durable.
// Thread-safe (one mutex).
class InMemoryStore final : public Store, public IdentityStore {
 public:
  InMemoryStore() = default;
  InMemoryStore(const InMemoryStore&) = delete;
  InMemoryStore& operator=(const InMemoryStore&) = delete;

  absl::Status EnsureInstance(std::string_view instance_id) override;
  using Store::CreateKey;
  absl::Status CreateKey(const keys::Key& key,
                         const std::optional<iam::AuditRecord>& audit) override;
  using Store::UpdateKey;
  absl::Status UpdateKey(const keys::Key& key, absl::Time expected_last_update,
                         const KeyUpdate& update) override;
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
  // (memory_lifecycle.cc).
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

  // IdentityStore.
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

 private:
  // (instance id, key id); ordered so one instance's keys are contiguous
  // and in id order, like the SQLite primary key.
  using KeyRef = std::pair<std::string, std::string>;

  // (instance id, key id, resource CRN): one instance's registrations are
  // contiguous and in (key, CRN) order, like the SQLite primary key.
  using RegistrationRef = std::tuple<std::string, std::string, std::string>;

  struct Lease {
    std::string holder;
    absl::Time expires;
  };

  // Keys of `query.instance_id` that pass its filters, in id order.
  std::vector<const keys::Key*> Matching(const KeyQuery& query) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Registrations matching `query`, in (key, CRN) order.
  std::vector<const keys::Registration*> MatchingRegistrations(
      const RegistrationQuery& query) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Records `instance_id` (unnamed) unless it is known, as SQLite's
  // implicit inserts do.
  void RecordInstanceLocked(const std::string& instance_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Appends `audit` to the log with the next seq and chain hash. Called
  // last in a mutation, once nothing can fail but the hash itself.
  absl::Status AppendAuditLocked(const iam::AuditRecord& audit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Instances by id; those from EnsureInstance/CreateKey have only an id.
  absl::btree_map<std::string, iam::InstanceRecord> instances_
      ABSL_GUARDED_BY(mu_);
  absl::btree_map<KeyRef, keys::Key> keys_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, std::string> meta_ ABSL_GUARDED_BY(mu_);
  // (instance id, ring id).
  absl::btree_map<KeyRef, KeyRing> rings_ ABSL_GUARDED_BY(mu_);
  // (instance id, alias). Each key in keys_ also lists its aliases, sorted.
  absl::btree_map<KeyRef, KeyAlias> aliases_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<RegistrationRef, keys::Registration> registrations_
      ABSL_GUARDED_BY(mu_);
  // By event id; events outlive their key's purge.
  absl::btree_map<std::string, keys::KeyEvent> events_ ABSL_GUARDED_BY(mu_);
  // By instance id.
  absl::btree_map<std::string, ImportToken> import_tokens_ ABSL_GUARDED_BY(mu_);
  // By (instance id, type): the type order store.h lists them in.
  absl::btree_map<std::pair<std::string, keys::InstancePolicyType>,
                  keys::InstancePolicy>
      instance_policies_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);
  // By principal id.
  absl::btree_map<std::string, iam::WebhookRecord> webhooks_
      ABSL_GUARDED_BY(mu_);

  absl::btree_map<std::string, iam::PrincipalRecord> principals_
      ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, iam::ApiKeyRecord> api_keys_
      ABSL_GUARDED_BY(mu_);
  absl::btree_set<std::string> api_key_prefixes_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, iam::AccessPolicyRecord> policies_
      ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, iam::ServiceAuthorizationRecord> authorizations_
      ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string, iam::SigningKeyRecord> signing_keys_
      ABSL_GUARDED_BY(mu_);
  std::vector<iam::AuditRecord> audit_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
