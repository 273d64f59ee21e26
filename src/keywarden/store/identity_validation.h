#ifndef KEYWARDEN_STORE_IDENTITY_VALIDATION_H_
#define KEYWARDEN_STORE_IDENTITY_VALIDATION_H_

#include "absl/status/status.h"
#include "keywarden/iam/identity.h"

// Input rules shared by every IdentityStore implementation, so that the fake
// and the real stores reject exactly the same records (InvalidArgument).
// Like validation.h, they guard the store's own invariants (ids present,
// codes known, the shape rules of iam/identity.h); name lengths and who may
// do what belong to the service.
namespace keywarden::store {

absl::Status ValidatePrincipal(const iam::PrincipalRecord& principal);
absl::Status ValidateApiKey(const iam::ApiKeyRecord& key);
absl::Status ValidateInstance(const iam::InstanceRecord& instance);
// Roles non-empty, known and without duplicates; at most one of key ring
// and key in the scope.
absl::Status ValidatePolicy(const iam::AccessPolicyRecord& policy);
// Exactly one of the two source fields; a known role.
absl::Status ValidateAuthorization(
    const iam::ServiceAuthorizationRecord& authorization);
absl::Status ValidateSigningKey(const iam::SigningKeyRecord& key);
// A principal id and a URL.
absl::Status ValidateWebhook(const iam::WebhookRecord& webhook);
// An actor and an action; a known outcome. `seq` and the hashes are the
// store's to assign and are ignored.
absl::Status ValidateAuditRecord(const iam::AuditRecord& audit);

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_IDENTITY_VALIDATION_H_
