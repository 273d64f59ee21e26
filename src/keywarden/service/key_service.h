#ifndef KEYWARDEN_SERVICE_KEY_SERVICE_H_
#define KEYWARDEN_SERVICE_KEY_SERVICE_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/types.h"

namespace keywarden::service {

// The key operations of the core, split by concern: the data plane (wrap,
// unwrap, rewrap) is DataPlane (data_plane.h); KeyLifecycle is a key's life
// from creation to purge, with its policies; KeyRings holds key rings and
// aliases. Every method authorizes first, then applies the domain rules,
// and returns a domain error (Error(), common/errors.h) that each transport
// maps in one place. `key_id` is a key id in any case, or one of the key's
// aliases (case-sensitive). Thread-safe.
class KeyLifecycle {
 public:
  virtual ~KeyLifecycle() = default;

  virtual absl::StatusOr<KeyResult> CreateKey(const RequestContext& ctx,
                                              const CreateKeyRequest& req) = 0;
  // With payload for standard keys (GET /keys/{id}).
  virtual absl::StatusOr<KeyResult> GetKey(const RequestContext& ctx,
                                           std::string_view key_id) = 0;
  virtual absl::StatusOr<KeyResult> GetKeyMetadata(const RequestContext& ctx,
                                                   std::string_view key_id) = 0;
  virtual absl::StatusOr<ListKeysResult> ListKeys(
      const RequestContext& ctx, const ListKeysRequest& req) = 0;
  // Number of keys `req` would list, ignoring limit/offset (HEAD /keys).
  virtual absl::StatusOr<int64_t> CountKeys(const RequestContext& ctx,
                                            const ListKeysRequest& req) = 0;
  virtual absl::StatusOr<ListVersionsResult> ListVersions(
      const RequestContext& ctx, std::string_view key_id,
      const ListVersionsRequest& req) = 0;

  virtual absl::StatusOr<KeyResult> Rotate(const RequestContext& ctx,
                                           std::string_view key_id,
                                           const RotateRequest& req) = 0;
  virtual absl::StatusOr<KeyResult> Enable(const RequestContext& ctx,
                                           std::string_view key_id) = 0;
  virtual absl::StatusOr<KeyResult> Disable(const RequestContext& ctx,
                                            std::string_view key_id) = 0;
  virtual absl::StatusOr<KeyResult> DeleteKey(const RequestContext& ctx,
                                              std::string_view key_id,
                                              const DeleteKeyRequest& req) = 0;
  virtual absl::StatusOr<KeyResult> RestoreKey(const RequestContext& ctx,
                                               std::string_view key_id) = 0;
  // Moves the key to another ring (keyprotect-api.md §3.5).
  virtual absl::StatusOr<KeyResult> PatchKey(const RequestContext& ctx,
                                             std::string_view key_id,
                                             const PatchKeyRequest& req) = 0;

  // Removes a destroyed key for good, 4 h after its deletion, with the
  // KeyPurge role (keyprotect-api.md §3.7); returns the key as it was.
  virtual absl::StatusOr<KeyResult> PurgeKey(const RequestContext& ctx,
                                             std::string_view key_id) = 0;
  // Dual-authorization deletion (keyprotect-api.md §14).
  virtual absl::Status SetKeyForDeletion(const RequestContext& ctx,
                                         std::string_view key_id) = 0;
  virtual absl::Status UnsetKeyForDeletion(const RequestContext& ctx,
                                           std::string_view key_id) = 0;
  // Re-notifies the services registered on the key (keyprotect-api.md §4.9).
  virtual absl::Status SyncKey(const RequestContext& ctx,
                               std::string_view key_id) = 0;

  // Key policies (keyprotect-api.md §7.1).
  virtual absl::StatusOr<KeyPoliciesResult> GetKeyPolicies(
      const RequestContext& ctx, std::string_view key_id,
      std::optional<KeyPolicyType> selected) = 0;
  virtual absl::StatusOr<KeyPoliciesResult> PutKeyPolicies(
      const RequestContext& ctx, std::string_view key_id,
      const PutKeyPoliciesRequest& req) = 0;
};

// Key rings (keyprotect-api.md §9) and key aliases (§10).
class KeyRings {
 public:
  virtual ~KeyRings() = default;

  virtual absl::Status CreateKeyRing(const RequestContext& ctx,
                                     std::string_view ring_id) = 0;
  virtual absl::StatusOr<ListKeyRingsResult> ListKeyRings(
      const RequestContext& ctx, const ListKeyRingsRequest& req) = 0;
  virtual absl::Status DeleteKeyRing(const RequestContext& ctx,
                                     std::string_view ring_id, bool force) = 0;

  virtual absl::StatusOr<store::KeyAlias> CreateKeyAlias(
      const RequestContext& ctx, std::string_view key_id,
      std::string_view alias) = 0;
  virtual absl::Status DeleteKeyAlias(const RequestContext& ctx,
                                      std::string_view key_id,
                                      std::string_view alias) = 0;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KEY_SERVICE_H_
