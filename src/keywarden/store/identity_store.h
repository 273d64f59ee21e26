#ifndef KEYWARDEN_STORE_IDENTITY_STORE_H_
#define KEYWARDEN_STORE_IDENTITY_STORE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/iam/identity.h"

namespace keywarden::store {

// IdentityStore is the durable home of principals, API keys, instances,
// access policies, service authorizations, token signing keys and the audit
// log (records in iam/identity.h). Every mutation takes the audit record
// that describes it and writes both in one transaction: a change without
// its audit record, or the reverse, never becomes durable. The store
// assigns the record's `seq` (gap-free, increasing) and hash chain
// (`prev_hash`, `hash`; docs/formats/audit.md). Durable when OK returns.
//
// The service keeps an in-memory copy of everything except audit (loaded
// with the List* calls at start and updated after each mutation), so reads
// here are not on the request path. Thread-safe.
//
// Errors: NotFound for a missing id, AlreadyExists for a duplicate id (or a
// duplicate API key prefix), FailedPrecondition for a rule below,
// InvalidArgument for malformed records, Unavailable/Internal/DataLoss for
// database failures.
class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  virtual absl::Status CreatePrincipal(const iam::PrincipalRecord& principal,
                                       const iam::AuditRecord& audit) = 0;
  // Also deletes the principal's API keys and access policies, and the
  // authorizations whose source is this service id.
  virtual absl::Status DeletePrincipal(std::string_view id,
                                       const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::PrincipalRecord>>
  ListPrincipals() = 0;

  // FailedPrecondition if the principal does not exist.
  virtual absl::Status CreateApiKey(const iam::ApiKeyRecord& key,
                                    const iam::AuditRecord& audit) = 0;
  virtual absl::Status DeleteApiKey(std::string_view id,
                                    const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::ApiKeyRecord>> ListApiKeys() = 0;

  // The instance rows that Store::EnsureInstance created before instances
  // had names are listed with an empty name.
  virtual absl::Status CreateInstance(const iam::InstanceRecord& instance,
                                      const iam::AuditRecord& audit) = 0;
  // FailedPrecondition while any key (in any state) belongs to it; also
  // deletes the policies and authorizations scoped to it.
  virtual absl::Status DeleteInstance(std::string_view id,
                                      const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::InstanceRecord>> ListInstances() = 0;

  // FailedPrecondition if the principal or the instance does not exist.
  virtual absl::Status CreatePolicy(const iam::AccessPolicyRecord& policy,
                                    const iam::AuditRecord& audit) = 0;
  virtual absl::Status DeletePolicy(std::string_view id,
                                    const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::AccessPolicyRecord>>
  ListPolicies() = 0;

  // FailedPrecondition if the target instance (or the source service id,
  // when given) does not exist.
  virtual absl::Status CreateAuthorization(
      const iam::ServiceAuthorizationRecord& authorization,
      const iam::AuditRecord& audit) = 0;
  virtual absl::Status DeleteAuthorization(std::string_view id,
                                           const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
  ListAuthorizations() = 0;

  // Sets (or replaces) a service id's webhook. FailedPrecondition if the
  // principal does not exist or is not a service id. Deleting the principal
  // deletes its webhook.
  virtual absl::Status PutWebhook(const iam::WebhookRecord& webhook,
                                  const iam::AuditRecord& audit) = 0;
  // NotFound if the service id has none.
  virtual absl::Status DeleteWebhook(std::string_view principal_id,
                                     const iam::AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::vector<iam::WebhookRecord>> ListWebhooks() = 0;

  virtual absl::Status PutSigningKey(const iam::SigningKeyRecord& key) = 0;
  virtual absl::Status DeleteSigningKey(std::string_view kid) = 0;
  virtual absl::StatusOr<std::vector<iam::SigningKeyRecord>>
  ListSigningKeys() = 0;

  // An audit record of an event that changes nothing (an authentication
  // failure); its own transaction.
  virtual absl::Status AppendAudit(const iam::AuditRecord& audit) = 0;
  // Records with seq > `after_seq`, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<iam::AuditRecord>> ListAudit(
      int64_t after_seq, int64_t limit) = 0;
  // Recomputes the hash chain over the whole log; DataLoss naming the first
  // bad seq if a record was changed, removed or reordered.
  virtual absl::Status VerifyAuditChain() = 0;
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_IDENTITY_STORE_H_
