#ifndef KEYWARDEN_SERVICE_KEY_MANAGER_H_
#define KEYWARDEN_SERVICE_KEY_MANAGER_H_

#include <array>
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
#include "keywarden/service/key_cache.h"
#include "keywarden/service/key_service.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

struct KeyManagerOptions {
  keys::Timers timers;
  size_t cache_capacity = 100000;
};

// KeyManager implements KeyService over a Store, the master key and a
// KeyCache. Reads of the data plane (wrap, unwrap, rewrap) are served from
// the cache; every mutation loads the key from the store under a per-key
// lock, writes it back in one transaction, and then drops the cache entry.
// Thread-safe.
class KeyManager final : public KeyService {
 public:
  // `access` decides who may do what; it outlives the manager.
  KeyManager(store::Store* store, const seal::MasterKey* master_key,
             const iam::AccessIndex* access, const Clock* clock,
             KeyManagerOptions options);

  // keywarden::service::KeyService:
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
  absl::StatusOr<WrapResult> Wrap(const RequestContext& ctx,
                                  std::string_view key_id,
                                  const WrapRequest& req) override;
  absl::StatusOr<UnwrapResult> Unwrap(const RequestContext& ctx,
                                      std::string_view key_id,
                                      const UnwrapRequest& req) override;
  absl::StatusOr<RewrapResult> Rewrap(const RequestContext& ctx,
                                      std::string_view key_id,
                                      const UnwrapRequest& req) override;
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

  // Persists Deactivated for keys whose expiration time has passed, so that
  // state filters on lists see them. Returns how many keys it moved.
  absl::StatusOr<int> SweepExpiredKeys();

  size_t CacheSize() const { return cache_.Size(); }

 private:
  using Mutation = std::function<absl::Status(keys::Key&, absl::Time now)>;

  // Where the caller may perform `op` in the request's instance;
  // FORBIDDEN_ERR when nowhere (before any lookup, so the answer does not
  // depend on whether the key exists).
  absl::StatusOr<iam::Reach> Authorize(const RequestContext& ctx,
                                       iam::Operation op) const;
  // The caller's grant covers the key, and the key is in the ring the
  // request's X-Kms-Key-Ring names, if any (else the key is not found).
  absl::Status CheckCovers(const RequestContext& ctx, const iam::Reach& reach,
                           const keys::Key& key) const;
  // The key id a path names: a key id in any case, or an alias of a key in
  // the request's instance (looked up in the store on every request, so a
  // deleted alias stops resolving at once; key ids cost no lookup).
  absl::StatusOr<std::string> ResolveKeyId(const RequestContext& ctx,
                                           const iam::Reach& reach,
                                           std::string_view key_id);
  // Whether `ring_id` exists in the request's instance (`default` always).
  absl::StatusOr<bool> RingExists(const RequestContext& ctx,
                                  std::string_view ring_id);
  // The answer for a key id that names nothing.
  absl::Status Missing(const iam::Reach& reach) const;
  absl::StatusOr<keys::Key> LoadForRead(const RequestContext& ctx,
                                        const iam::Reach& reach,
                                        std::string_view key_id);
  // The cached key, loading and unsealing it on a miss.
  absl::StatusOr<std::shared_ptr<const CachedKey>> LoadCached(
      const RequestContext& ctx, const iam::Reach& reach,
      std::string_view key_id);
  // The shared start of wrap, unwrap and rewrap: authorize `op`, bound the
  // aad, load the cached root key and check its state allows `action`.
  absl::StatusOr<std::shared_ptr<const CachedKey>> LoadForDataPlane(
      const RequestContext& ctx, std::string_view key_id, iam::Operation op,
      keys::Action action, std::span<const std::string> aad);
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
  absl::StatusOr<SecretBytes> UnsealVersion(const keys::Key& key,
                                            const keys::KeyVersion& version);
  absl::StatusOr<std::string> WrapWithPrimary(const CachedKey& cached,
                                              std::span<const uint8_t> dek,
                                              std::span<const std::string> aad);
  // Decodes and opens a client's WDEK; 400/422 errors as Key Protect.
  struct Opened {
    SecretBytes dek;
    const keys::KeyVersion* version;
  };
  absl::StatusOr<Opened> OpenWdek(const CachedKey& cached,
                                  const std::optional<std::string>& ciphertext,
                                  std::span<const std::string> aad);
  KeyResult Present(keys::Key key, absl::Time now) const;
  absl::StatusOr<KeyResult> SetEnabled(const RequestContext& ctx,
                                       std::string_view key_id, bool enable);
  absl::Mutex& LockFor(std::string_view instance_id, std::string_view key_id);

  store::Store* store_;
  const seal::MasterKey* master_key_;
  const iam::AccessIndex* access_;
  const Clock* clock_;
  KeyManagerOptions options_;
  KeyCache cache_;
  std::array<absl::Mutex, 64> key_locks_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KEY_MANAGER_H_
