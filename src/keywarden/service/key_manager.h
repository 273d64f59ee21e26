#ifndef KEYWARDEN_SERVICE_KEY_MANAGER_H_
#define KEYWARDEN_SERVICE_KEY_MANAGER_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/access.h"
#include "keywarden/keys/rules.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/import_tokens.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/data_plane.h"
#include "keywarden/service/key_service.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

struct KeyManagerOptions {
  keys::Timers timers;
};

// What KeyManager works with; everything outlives it.
struct KeyManagerDeps {
  store::Store* store = nullptr;
  const seal::MasterKey* master_key = nullptr;
  const AccessControl* access = nullptr;
  // Instance policies applied at key creation; null: none.
  const InstancePolicyIndex* instance_policies = nullptr;
  // Secure import (import tokens); null: secure import is refused.
  ImportTokenManager* import_tokens = nullptr;
  const Clock* clock = nullptr;
  // Told of every stored change to a key, so it drops the cached key.
  DataPlaneService* data_plane = nullptr;
  // Called after a change that made lifecycle events (the dispatcher
  // delivers them at once instead of at its next poll).
  std::function<void()> on_events;
};

// KeyManager implements KeyLifecycle and KeyRings over a Store and the
// master key. Every mutation loads the key from the store under a per-key
// lock, writes it back in one transaction (with the lifecycle event for
// its registered services and its audit record, where it has them), and
// then tells the data plane to drop its cached copy. Key rings and aliases
// are in key_rings.cc; deletion, purge, dual authorization, sync, key
// policies and the background jobs in key_lifecycle.cc. Thread-safe.
class KeyManager final : public KeyLifecycle, public KeyRings {
 public:
  KeyManager(KeyManagerDeps deps, KeyManagerOptions options);

  // keywarden::service::KeyLifecycle:
  absl::StatusOr<KeyResult> CreateKey(const RequestContext& ctx,
                                      const CreateKeyRequest& req) override;
  absl::StatusOr<KeyResult> GetKey(const RequestContext& ctx,
                                   std::string_view key_id) override;
  absl::StatusOr<KeyResult> GetKeyMetadata(const RequestContext& ctx,
                                           std::string_view key_id) override;
  absl::StatusOr<ListKeysResult> ListKeys(const RequestContext& ctx,
                                          const ListKeysRequest& req) override;
  absl::StatusOr<int64_t> CountKeys(const RequestContext& ctx,
                                    const ListKeysRequest& req) override;
  absl::StatusOr<ListVersionsResult> ListVersions(
      const RequestContext& ctx, std::string_view key_id,
      const ListVersionsRequest& req) override;
  absl::StatusOr<KeyResult> Rotate(const RequestContext& ctx,
                                   std::string_view key_id,
                                   const RotateRequest& req) override;
  absl::StatusOr<KeyResult> Enable(const RequestContext& ctx,
                                   std::string_view key_id) override;
  absl::StatusOr<KeyResult> Disable(const RequestContext& ctx,
                                    std::string_view key_id) override;
  absl::StatusOr<KeyResult> DeleteKey(const RequestContext& ctx,
                                      std::string_view key_id,
                                      const DeleteKeyRequest& req) override;
  absl::StatusOr<KeyResult> RestoreKey(const RequestContext& ctx,
                                       std::string_view key_id) override;
  absl::StatusOr<KeyResult> PatchKey(const RequestContext& ctx,
                                     std::string_view key_id,
                                     const PatchKeyRequest& req) override;
  absl::StatusOr<KeyResult> PurgeKey(const RequestContext& ctx,
                                     std::string_view key_id) override;
  absl::Status SetKeyForDeletion(const RequestContext& ctx,
                                 std::string_view key_id) override;
  absl::Status UnsetKeyForDeletion(const RequestContext& ctx,
                                   std::string_view key_id) override;
  absl::Status SyncKey(const RequestContext& ctx,
                       std::string_view key_id) override;
  absl::StatusOr<KeyPoliciesResult> GetKeyPolicies(
      const RequestContext& ctx, std::string_view key_id,
      std::optional<KeyPolicyType> selected) override;
  absl::StatusOr<KeyPoliciesResult> PutKeyPolicies(
      const RequestContext& ctx, std::string_view key_id,
      const PutKeyPoliciesRequest& req) override;

  // keywarden::service::KeyRings:
  absl::Status CreateKeyRing(const RequestContext& ctx,
                             std::string_view ring_id) override;
  absl::StatusOr<ListKeyRingsResult> ListKeyRings(
      const RequestContext& ctx, const ListKeyRingsRequest& req) override;
  absl::Status DeleteKeyRing(const RequestContext& ctx,
                             std::string_view ring_id, bool force) override;
  absl::StatusOr<store::KeyAlias> CreateKeyAlias(
      const RequestContext& ctx, std::string_view key_id,
      std::string_view alias) override;
  absl::Status DeleteKeyAlias(const RequestContext& ctx,
                              std::string_view key_id,
                              std::string_view alias) override;

  // Background work (LifecycleJobs runs these; each returns how many keys
  // it changed and acts as the service itself, not as a caller).
  // Persists Deactivated for keys whose expiration time has passed, so that
  // state filters on lists see them.
  absl::StatusOr<int> SweepExpiredKeys();
  // Rotates the keys whose rotation policy is due (keyprotect-api.md §7.1).
  absl::StatusOr<int> RotateDueKeys();
  // Purges keys deleted longer than `auto_purge_after` ago (§3.7).
  absl::StatusOr<int> PurgeDueKeys();


 private:
  // Applies the change to the key loaded under its lock; may fill in the
  // side effects of the store write (event, audit, registration rule).
  using Mutation = std::function<absl::Status(keys::Key&, absl::Time now,
                                              store::KeyUpdate& update)>;

  // Loads the key under its lock, checks `reach` covers it, applies
  // `mutate`, stores it and drops the cache entry. Returns the stored record.
  absl::StatusOr<keys::Key> MutateKey(const RequestContext& ctx,
                                      const iam::Reach& reach,
                                      std::string_view key_id,
                                      const Mutation& mutate);
  absl::StatusOr<keys::KeyVersion> SealVersion(std::string_view instance_id,
                                               std::string_view key_id,
                                               std::string version_id,
                                               absl::Time now,
                                               const SecretBytes& material);
  KeyResult Present(keys::Key key, absl::Time now) const;
  absl::StatusOr<KeyResult> SetEnabled(const RequestContext& ctx,
                                       std::string_view key_id, bool enable);
  // setKeyForDeletion (`approve`) and unsetKeyForDeletion.
  absl::Status SetDeletionApproval(const RequestContext& ctx,
                                   std::string_view key_id, bool approve);
  // The material a create or rotate supplies (plain or secure import), or
  // nullopt when none was given. Checks the instance's
  // keyCreateImportAccess policy for `root`/`standard` imports.
  struct SuppliedMaterial {
    SecretBytes bytes;
    bool via_token = false;
  };
  absl::StatusOr<std::optional<SuppliedMaterial>> ReadMaterial(
      const RequestContext& ctx, bool root,
      const std::optional<Decoded<SecretBytes>>& payload,
      const std::optional<Decoded<SecretBytes>>& encrypted_nonce,
      const std::optional<Decoded<SecretBytes>>& iv,
      const std::optional<std::string>& encryption_algorithm);
  // The new version of a rotation: generated, or imported material.
  absl::Status AddVersion(keys::Key& key, absl::Time now,
                          const std::optional<SuppliedMaterial>& supplied);
  // Whether `key` has registrations; PREV_KEY_DEL_ERR / PROTECTED_RESOURCE_ERR
  // for a delete (with `force`) that they forbid.
  absl::Status CheckRegistrationsAllowDelete(const keys::Key& key, bool force);
  // The rotation of the automatic job, as the service itself.
  absl::Status RotateForPolicy(std::string_view instance_id,
                               std::string_view key_id);
  // Whether `ring_id` exists in the request's instance (`default` always).
  absl::StatusOr<bool> RingExists(const RequestContext& ctx,
                                  std::string_view ring_id);
  absl::Mutex& LockFor(std::string_view instance_id, std::string_view key_id);

  store::Store* store_;
  const seal::MasterKey* master_key_;
  const AccessControl* access_;
  const InstancePolicyIndex* instance_policies_;
  ImportTokenManager* import_tokens_;
  const Clock* clock_;
  std::function<void()> on_events_;
  DataPlaneService* data_plane_;
  KeyManagerOptions options_;
  std::array<absl::Mutex, 64> key_locks_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KEY_MANAGER_H_
