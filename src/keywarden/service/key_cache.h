#ifndef KEYWARDEN_SERVICE_KEY_CACHE_H_
#define KEYWARDEN_SERVICE_KEY_CACHE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/keys/key.h"

namespace keywarden::service {

// One root-key version ready for the data plane, built from its unsealed
// material once, when the key enters the cache: the AEAD of v1 WDEKs (the
// material itself as key) and the v2 derivation state with the material's
// fingerprint (keys::WdekKey), so no request hashes or keys anything
// per version.
struct CachedVersion {
  std::string id;
  crypto::AesGcm kek;
  keys::WdekKey wdek_key;
};

// A key ready for the data plane: its record (versions without sealed
// material) and, for root keys, one CachedVersion per version, oldest
// first. A destroyed key is cached without versions: its material is not
// unsealed for a request that must fail anyway. Immutable once built;
// shared between threads.
struct CachedKey {
  keys::Key key;
  std::vector<CachedVersion> versions;

  const CachedVersion* VersionById(std::string_view version_id) const;
  // The version whose material has `fingerprint` (a v2 WDEK's header), or
  // nullptr. A linear scan, newest first: keys have few versions and most
  // WDEKs come from the newest.
  const CachedVersion* VersionByFingerprint(
      std::span<const uint8_t> fingerprint) const;
};

// KeyCache keeps recently used keys so that wrap, unwrap and rewrap touch no
// database. Entries are dropped on every mutation of their key (Erase) and
// when the cache is full; dropped material is wiped by SecretBytes.
//
// A load races with a concurrent mutation: a reader may fetch the record
// before a mutation commits and insert it after the mutation erased the
// entry. Each shard counts its erasures, and Insert() takes the count seen
// before the load; if an erasure happened since, the stale record is not
// inserted. Thread-safe.
class KeyCache {
 public:
  explicit KeyCache(size_t capacity);

  std::shared_ptr<const CachedKey> Find(std::string_view instance_id,
                                        std::string_view key_id) const;
  // The erasure count to pass to Insert() for a load that starts now.
  uint64_t Generation(std::string_view instance_id,
                      std::string_view key_id) const;
  void Insert(std::shared_ptr<const CachedKey> entry, uint64_t generation);
  void Erase(std::string_view instance_id, std::string_view key_id);
  // Drops every entry, as if each were erased (the server was sealed).
  void Clear();
  size_t Size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<const CachedKey>> map
        ABSL_GUARDED_BY(mu);
    uint64_t erasures ABSL_GUARDED_BY(mu) = 0;
  };
  // "instance/key" built in a caller's stack buffer: lookups on the wrap
  // path allocate nothing.
  class CacheKey {
   public:
    CacheKey(std::string_view instance_id, std::string_view key_id);
    absl::string_view view() const { return {data_, size_}; }

   private:
    char inline_[96];
    std::string heap_;  // only for ids longer than UUIDs
    const char* data_;
    size_t size_;
  };
  Shard& ShardFor(absl::string_view cache_key) const;

  size_t capacity_per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_KEY_CACHE_H_
