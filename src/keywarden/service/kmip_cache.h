#ifndef KEYWARDEN_SERVICE_KMIP_CACHE_H_
#define KEYWARDEN_SERVICE_KMIP_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/service/kmip_adapters.h"

namespace keywarden::service {

// KmipCache holds what every KMIP request would otherwise read again
// (docs/performance.md "KMIP"): which adapter a client certificate names,
// and an object's material as opened under the adapter's root key.
//
// It is a hint, never an authority:
// - a caller is dropped (all of them, DropCallers) when a certificate or
//   an adapter is created or deleted, on this node after the store
//   committed and on other nodes when the change feed tells them
//   (store::Change::Kind::kKmip);
// - material is keyed by the object's revision, which every write of the
//   object (state, attributes, destroy) moves, so a request that loaded the
//   object afresh never gets the material of another revision; writes
//   also drop the entry (DropObject) so destroyed material leaves memory;
// - the root key's state is not cached here: KmipAdapters asks the data
//   plane on every hit (RootKeySealer::CheckRootKey), and drops a root
//   key's objects (DropRootKey) when it is refused or changed;
// - on seal, and on a change feed loss, everything goes (DropAll).
// A fill that raced with a drop is refused (the generation moved), so a
// drop is never undone by a read that started before it.
//
// Bounded: at most `max_callers` and `max_objects` entries; a full map
// evicts one entry (no recency order: a simple cap). Material is held in
// SecretBytes (left out of core dumps, wiped when the last user lets go).
// Thread-safe.
class KmipCache {
 public:
  struct Options {
    size_t max_callers = 1024;
    size_t max_objects = 4096;
  };
  explicit KmipCache(Options options);
  KmipCache(const KmipCache&) = delete;
  KmipCache& operator=(const KmipCache&) = delete;

  // ---- callers, by the certificate's SHA-256 (hex)
  // Take Generation() before reading the store, give it to PutCaller.
  uint64_t Generation() const;
  std::optional<KmipCaller> FindCaller(std::string_view fingerprint) const;
  void PutCaller(std::string_view fingerprint, KmipCaller caller,
                 uint64_t generation);

  // ---- opened material of an object at one revision
  std::shared_ptr<const SecretBytes> FindMaterial(std::string_view instance_id,
                                                  std::string_view adapter_id,
                                                  std::string_view object_id,
                                                  int64_t revision) const;
  void PutMaterial(std::string_view instance_id, std::string_view adapter_id,
                   std::string_view object_id, int64_t revision,
                   std::string_view crk_id,
                   std::shared_ptr<const SecretBytes> material,
                   uint64_t generation);

  // ---- invalidation
  // A certificate or adapter was created or deleted.
  void DropCallers();
  // The object was written (any change moves its revision).
  void DropObject(std::string_view instance_id, std::string_view adapter_id,
                  std::string_view object_id);
  // The root key changed (state, versions, deletion): the material opened
  // under it. An empty `key_id` means every root key of the instance.
  void DropRootKey(std::string_view instance_id, std::string_view key_id);
  // Seal, a lost change feed, a change of unknown kind.
  void DropAll();

  size_t CallerCount() const;
  size_t MaterialCount() const;

 private:
  struct Material {
    int64_t revision = 0;
    std::string crk_id;
    std::shared_ptr<const SecretBytes> bytes;
  };
  // instance_id '\n' adapter_id '\n' object_id: ids hold no newline.
  static std::string ObjectKey(std::string_view instance_id,
                               std::string_view adapter_id,
                               std::string_view object_id);

  const Options options_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, KmipCaller> callers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Material> objects_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KMIP_CACHE_H_
