#ifndef KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
#define KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/sqlite/sqlite_store.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// InMemoryStore is the Store and IdentityStore of unit tests of the layers
// above: a SqliteStore on a database in a private temporary directory (in
// /dev/shm when there is one, so a commit costs no disk flush), removed
// when the store is destroyed. Being SqliteStore itself, it follows every
// rule of store.h and identity_store.h exactly as the real backends do:
// there is no second copy of the rules to keep in step (it used to be a
// map-based fake that repeated them). Nothing is meant to be durable.
// Construction aborts the process if no temporary database can be made: it
// exists for tests only. Thread-safe.
class InMemoryStore final : public Store, public IdentityStore {
 public:
  InMemoryStore();
  ~InMemoryStore() override;
  InMemoryStore(const InMemoryStore&) = delete;
  InMemoryStore& operator=(const InMemoryStore&) = delete;

  absl::Status EnsureInstance(std::string_view instance_id) override {
    return sqlite_->EnsureInstance(instance_id);
  }
  using Store::CreateKey;
  absl::Status CreateKey(const keys::Key& key, const std::optional<iam::AuditRecord>& audit) override {
    return sqlite_->CreateKey(key, audit);
  }
  using Store::UpdateKey;
  absl::Status UpdateKey(const keys::Key& key, absl::Time expected_last_update, const KeyUpdate& update) override {
    return sqlite_->UpdateKey(key, expected_last_update, update);
  }
  absl::Status PurgeKey(std::string_view instance_id, std::string_view key_id, absl::Time expected_last_update, const iam::AuditRecord& audit) override {
    return sqlite_->PurgeKey(instance_id, key_id, expected_last_update, audit);
  }
  absl::StatusOr<keys::Key> GetKey(std::string_view instance_id, std::string_view key_id) override {
    return sqlite_->GetKey(instance_id, key_id);
  }
  absl::StatusOr<std::vector<keys::Key>> ListKeys(const KeyQuery& query) override {
    return sqlite_->ListKeys(query);
  }
  absl::StatusOr<int64_t> CountKeys(const KeyQuery& query) override {
    return sqlite_->CountKeys(query);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListExpiredKeys(absl::Time now, int64_t limit) override {
    return sqlite_->ListExpiredKeys(now, limit);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListKeysDueForRotation(absl::Time now, int64_t limit) override {
    return sqlite_->ListKeysDueForRotation(now, limit);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListKeysDeletedBefore(absl::Time deleted_before, int64_t limit) override {
    return sqlite_->ListKeysDeletedBefore(deleted_before, limit);
  }
  absl::Status CreateKeyRing(const KeyRing& ring, int64_t max_rings, const iam::AuditRecord& audit) override {
    return sqlite_->CreateKeyRing(ring, max_rings, audit);
  }
  absl::StatusOr<KeyRing> GetKeyRing(std::string_view instance_id, std::string_view ring_id) override {
    return sqlite_->GetKeyRing(instance_id, ring_id);
  }
  absl::StatusOr<std::vector<KeyRing>> ListKeyRings(std::string_view instance_id) override {
    return sqlite_->ListKeyRings(instance_id);
  }
  absl::StatusOr<std::vector<std::string>> DeleteKeyRing(std::string_view instance_id, std::string_view ring_id, bool move_destroyed, absl::Time now, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteKeyRing(instance_id, ring_id, move_destroyed, now, audit);
  }
  absl::Status CreateKeyAlias(const KeyAlias& alias, int64_t max_per_key, const iam::AuditRecord& audit) override {
    return sqlite_->CreateKeyAlias(alias, max_per_key, audit);
  }
  absl::Status DeleteKeyAlias(std::string_view instance_id, std::string_view key_id, std::string_view alias, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteKeyAlias(instance_id, key_id, alias, audit);
  }
  absl::StatusOr<KeyAlias> GetKeyAlias(std::string_view instance_id, std::string_view alias) override {
    return sqlite_->GetKeyAlias(instance_id, alias);
  }
  absl::Status PutImportToken(const ImportToken& token, const iam::AuditRecord& audit) override {
    return sqlite_->PutImportToken(token, audit);
  }
  absl::StatusOr<ImportToken> GetImportToken(std::string_view instance_id) override {
    return sqlite_->GetImportToken(instance_id);
  }
  absl::StatusOr<ImportToken> RetrieveImportToken(std::string_view instance_id, absl::Time now) override {
    return sqlite_->RetrieveImportToken(instance_id, now);
  }
  absl::Status PutInstancePolicies(std::span<const keys::InstancePolicy> policies, const iam::AuditRecord& audit) override {
    return sqlite_->PutInstancePolicies(policies, audit);
  }
  absl::StatusOr<std::vector<keys::InstancePolicy>> ListInstancePolicies(std::string_view instance_id) override {
    return sqlite_->ListInstancePolicies(instance_id);
  }
  absl::StatusOr<std::vector<keys::InstancePolicy>> ListAllInstancePolicies() override {
    return sqlite_->ListAllInstancePolicies();
  }
  absl::Status CreateRegistration(const keys::Registration& registration, const iam::AuditRecord& audit) override {
    return sqlite_->CreateRegistration(registration, audit);
  }
  absl::Status UpdateRegistration(const keys::Registration& registration, int64_t expected_revision, const iam::AuditRecord& audit) override {
    return sqlite_->UpdateRegistration(registration, expected_revision, audit);
  }
  absl::StatusOr<keys::Registration> GetRegistration(std::string_view instance_id, std::string_view key_id, std::string_view resource_crn) override {
    return sqlite_->GetRegistration(instance_id, key_id, resource_crn);
  }
  absl::Status DeleteRegistration(std::string_view instance_id, std::string_view key_id, std::string_view resource_crn, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteRegistration(instance_id, key_id, resource_crn, audit);
  }
  absl::StatusOr<std::vector<keys::Registration>> ListRegistrations(const RegistrationQuery& query) override {
    return sqlite_->ListRegistrations(query);
  }
  absl::StatusOr<int64_t> CountRegistrations(const RegistrationQuery& query) override {
    return sqlite_->CountRegistrations(query);
  }
  absl::StatusOr<std::vector<keys::KeyEvent>> ListDueEvents(absl::Time now, int64_t limit) override {
    return sqlite_->ListDueEvents(now, limit);
  }
  absl::StatusOr<std::optional<absl::Time>> NextEventDue() override {
    return sqlite_->NextEventDue();
  }
  absl::StatusOr<keys::KeyEvent> GetEvent(std::string_view event_id) override {
    return sqlite_->GetEvent(event_id);
  }
  absl::Status RecordEventAttempt(std::string_view event_id, absl::Time at, bool delivered, absl::Time next_attempt, std::string_view error) override {
    return sqlite_->RecordEventAttempt(event_id, at, delivered, next_attempt, error);
  }
  absl::StatusOr<keys::KeyEvent> AcknowledgeEvent(const keys::EventAck& ack, absl::Time now) override {
    return sqlite_->AcknowledgeEvent(ack, now);
  }
  absl::Status ReleaseLease(std::string_view name, std::string_view holder) override {
    return sqlite_->ReleaseLease(name, holder);
  }
  absl::StatusOr<bool> TryAcquireLease(std::string_view name, std::string_view holder, absl::Time now, absl::Duration ttl) override {
    return sqlite_->TryAcquireLease(name, holder, now, ttl);
  }
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view name) override {
    return sqlite_->GetMeta(name);
  }
  absl::StatusOr<bool> PutMetaIfAbsent(std::string_view name, std::string_view value) override {
    return sqlite_->PutMetaIfAbsent(name, value);
  }
  absl::Status CreatePrincipal(const iam::PrincipalRecord& principal, const iam::AuditRecord& audit) override {
    return sqlite_->CreatePrincipal(principal, audit);
  }
  absl::Status DeletePrincipal(std::string_view id, const iam::AuditRecord& audit) override {
    return sqlite_->DeletePrincipal(id, audit);
  }
  absl::StatusOr<std::vector<iam::PrincipalRecord>> ListPrincipals() override {
    return sqlite_->ListPrincipals();
  }
  absl::Status CreateApiKey(const iam::ApiKeyRecord& key, const iam::AuditRecord& audit) override {
    return sqlite_->CreateApiKey(key, audit);
  }
  absl::Status DeleteApiKey(std::string_view id, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteApiKey(id, audit);
  }
  absl::StatusOr<std::vector<iam::ApiKeyRecord>> ListApiKeys() override {
    return sqlite_->ListApiKeys();
  }
  absl::Status CreateInstance(const iam::InstanceRecord& instance, const iam::AuditRecord& audit) override {
    return sqlite_->CreateInstance(instance, audit);
  }
  absl::Status DeleteInstance(std::string_view id, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteInstance(id, audit);
  }
  absl::StatusOr<std::vector<iam::InstanceRecord>> ListInstances() override {
    return sqlite_->ListInstances();
  }
  absl::Status CreatePolicy(const iam::AccessPolicyRecord& policy, const iam::AuditRecord& audit) override {
    return sqlite_->CreatePolicy(policy, audit);
  }
  absl::Status DeletePolicy(std::string_view id, const iam::AuditRecord& audit) override {
    return sqlite_->DeletePolicy(id, audit);
  }
  absl::StatusOr<std::vector<iam::AccessPolicyRecord>> ListPolicies() override {
    return sqlite_->ListPolicies();
  }
  absl::Status CreateAuthorization(const iam::ServiceAuthorizationRecord& authorization, const iam::AuditRecord& audit) override {
    return sqlite_->CreateAuthorization(authorization, audit);
  }
  absl::Status DeleteAuthorization(std::string_view id, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteAuthorization(id, audit);
  }
  absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>> ListAuthorizations() override {
    return sqlite_->ListAuthorizations();
  }
  absl::Status PutWebhook(const iam::WebhookRecord& webhook, const iam::AuditRecord& audit) override {
    return sqlite_->PutWebhook(webhook, audit);
  }
  absl::Status DeleteWebhook(std::string_view principal_id, const iam::AuditRecord& audit) override {
    return sqlite_->DeleteWebhook(principal_id, audit);
  }
  absl::StatusOr<std::vector<iam::WebhookRecord>> ListWebhooks() override {
    return sqlite_->ListWebhooks();
  }
  absl::Status PutSigningKey(const iam::SigningKeyRecord& key) override {
    return sqlite_->PutSigningKey(key);
  }
  absl::Status DeleteSigningKey(std::string_view kid) override {
    return sqlite_->DeleteSigningKey(kid);
  }
  absl::StatusOr<std::vector<iam::SigningKeyRecord>> ListSigningKeys() override {
    return sqlite_->ListSigningKeys();
  }
  absl::Status AppendAudit(const iam::AuditRecord& audit) override {
    return sqlite_->AppendAudit(audit);
  }
  absl::StatusOr<std::vector<iam::AuditRecord>> ListAudit(int64_t after_seq, int64_t limit) override {
    return sqlite_->ListAudit(after_seq, limit);
  }
  absl::Status VerifyAuditChain() override {
    return sqlite_->VerifyAuditChain();
  }
  // The temporary directory holding the database (for tests).
  const std::string& dir() const { return dir_; }

  // The KMIP tables of the same database, for tests of the KMIP adapters.
  KmipStore* kmip() { return sqlite_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<SqliteStore> sqlite_;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_MEMORY_MEMORY_STORE_H_
