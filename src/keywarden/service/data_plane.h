#ifndef KEYWARDEN_SERVICE_DATA_PLANE_H_
#define KEYWARDEN_SERVICE_DATA_PLANE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/access.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/rules.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/key_cache.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/types.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// DataPlane is what integrating services call on a root key, in bytes:
// wrap, unwrap and rewrap of data encryption keys (keyprotect-api.md §4).
// Every method authorizes first, then checks the key's state, and fails
// with a domain error (common/errors.h) that the transport maps. `key_id`
// is a key id in any case, or one of the key's aliases. Thread-safe.
class DataPlane {
 public:
  virtual ~DataPlane() = default;

  virtual absl::StatusOr<WrapResult> Wrap(const RequestContext& ctx,
                                          std::string_view key_id,
                                          const WrapRequest& req) = 0;
  virtual absl::StatusOr<UnwrapResult> Unwrap(const RequestContext& ctx,
                                              std::string_view key_id,
                                              const UnwrapRequest& req) = 0;
  virtual absl::StatusOr<RewrapResult> Rewrap(const RequestContext& ctx,
                                              std::string_view key_id,
                                              const UnwrapRequest& req) = 0;
};

// Sealing under a root key for an in-process protocol service whose objects
// a root key protects (the KMIP adapters, keyprotect-api.md §13): the same
// wrap and unwrap as the data plane's, so the root key's state governs the
// objects (disabled: they cannot be opened; destroyed or purged: they are
// gone). No IAM check: the caller was bound to the key by a management call
// that was authorized. Failures are the data plane's (key not found, the
// state's KEY_ACTION_INVALID_STATE_ERR, one UNPROCESSABLE_CIPHERTEXT_ERR).
// Thread-safe.
class RootKeySealer {
 public:
  virtual ~RootKeySealer() = default;
  virtual absl::StatusOr<std::vector<uint8_t>> SealUnderRootKey(
      std::string_view instance_id, std::string_view key_id,
      std::span<const uint8_t> material, std::span<const std::string> aad) = 0;
  virtual absl::StatusOr<SecretBytes> OpenUnderRootKey(
      std::string_view instance_id, std::string_view key_id,
      std::span<const uint8_t> sealed, std::span<const std::string> aad) = 0;
  // OK when OpenUnderRootKey could open with the key now (it exists, is a
  // root key, and its state allows unwrap); otherwise the error it would
  // fail with. For a caller that keeps what it opened (KmipCache) and must
  // stop using it as soon as the key would refuse.
  virtual absl::Status CheckRootKey(std::string_view instance_id,
                                    std::string_view key_id) = 0;
};

// What DataPlaneService works with; everything outlives it.
struct DataPlaneDeps {
  store::Store* store = nullptr;
  const seal::MasterKey* master_key = nullptr;
  const AccessControl* access = nullptr;
  const Clock* clock = nullptr;
};

// DataPlaneService serves the data plane from a KeyCache of unsealed root
// keys, so a wrap touches no database. It owns the cache: whoever changes a
// key (KeyManager, and later another node's change notice) calls
// Invalidate() after the change is stored. Thread-safe.
class DataPlaneService final : public DataPlane, public RootKeySealer {
 public:
  DataPlaneService(DataPlaneDeps deps, size_t cache_capacity);

  // keywarden::service::DataPlane:
  absl::StatusOr<WrapResult> Wrap(const RequestContext& ctx,
                                  std::string_view key_id,
                                  const WrapRequest& req) override;
  absl::StatusOr<UnwrapResult> Unwrap(const RequestContext& ctx,
                                      std::string_view key_id,
                                      const UnwrapRequest& req) override;
  absl::StatusOr<RewrapResult> Rewrap(const RequestContext& ctx,
                                      std::string_view key_id,
                                      const UnwrapRequest& req) override;

  // keywarden::service::RootKeySealer:
  absl::StatusOr<std::vector<uint8_t>> SealUnderRootKey(
      std::string_view instance_id, std::string_view key_id,
      std::span<const uint8_t> material,
      std::span<const std::string> aad) override;
  absl::StatusOr<SecretBytes> OpenUnderRootKey(
      std::string_view instance_id, std::string_view key_id,
      std::span<const uint8_t> sealed,
      std::span<const std::string> aad) override;
  absl::Status CheckRootKey(std::string_view instance_id,
                            std::string_view key_id) override;

  // Drops the cached key (its material is wiped when the last request
  // using it finishes).
  void Invalidate(std::string_view instance_id, std::string_view key_id);
  size_t CacheSize() const { return cache_.Size(); }
  // Drops every cached key and its unsealed material (on seal).
  void DropCache() { cache_.Clear(); }

 private:
  // The cached key, loading and unsealing it on a miss.
  absl::StatusOr<std::shared_ptr<const CachedKey>> LoadCached(
      const RequestContext& ctx, const iam::Reach& reach,
      std::string_view key_id);
  // The shared start of wrap, unwrap and rewrap: authorize `op`, bound the
  // aad, load the cached root key and check its state allows `action`.
  absl::StatusOr<std::shared_ptr<const CachedKey>> LoadForUse(
      const RequestContext& ctx, std::string_view key_id, iam::Operation op,
      keys::Action action, std::span<const std::string> aad);
  // Unseals `key` into a cache entry and inserts it.
  absl::StatusOr<std::shared_ptr<const CachedKey>> CacheKey(
      keys::Key key, uint64_t generation);
  // The cached root key `key_id` (an id) of `instance_id`, usable for
  // `action`, without an IAM check (RootKeySealer).
  absl::StatusOr<std::shared_ptr<const CachedKey>> LoadTrusted(
      std::string_view instance_id, std::string_view key_id,
      keys::Action action);
  absl::StatusOr<std::vector<uint8_t>> WrapWithPrimary(
      const CachedKey& cached, std::span<const uint8_t> dek,
      std::span<const std::string> aad);
  struct Opened {
    SecretBytes dek;
    const keys::KeyVersion* version;
  };
  // Opens a client's WDEK; every failure is the same kUnprocessableCiphertext.
  absl::StatusOr<Opened> OpenWdek(
      const CachedKey& cached,
      const std::optional<Decoded<std::vector<uint8_t>>>& ciphertext,
      std::span<const std::string> aad);

  store::Store* store_;
  const seal::MasterKey* master_key_;
  const AccessControl* access_;
  const Clock* clock_;
  KeyCache cache_;
};

// The material of `version` of `key`, unsealed with `master_key`; DataLoss
// when it fails its integrity check (corruption or tampering).
absl::StatusOr<SecretBytes> UnsealVersion(const seal::MasterKey& master_key,
                                          const keys::Key& key,
                                          const keys::KeyVersion& version);

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_DATA_PLANE_H_
