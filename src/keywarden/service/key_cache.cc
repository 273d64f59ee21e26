#include "keywarden/service/key_cache.h"
#include "keywarden/common/strings.h"

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace keywarden::service {

const CachedVersion* CachedKey::VersionById(
    std::string_view version_id) const {
  // Newest first: the primary version is the last, and wrap asks for it.
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->id == version_id) return &*it;
  }
  return nullptr;
}

const CachedVersion* CachedKey::VersionByFingerprint(
    std::span<const uint8_t> fingerprint) const {
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->wdek_key.Matches(fingerprint)) return &*it;
  }
  return nullptr;
}

KeyCache::KeyCache(size_t capacity)
    : capacity_per_shard_(std::max<size_t>(1, capacity / kShards)) {}

KeyCache::CacheKey::CacheKey(std::string_view instance_id,
                             std::string_view key_id) {
  size_ = instance_id.size() + 1 + key_id.size();
  char* out = inline_;
  if (size_ > sizeof(inline_)) {
    heap_.resize(size_);
    out = heap_.data();
  }
  std::memcpy(out, instance_id.data(), instance_id.size());
  out[instance_id.size()] = '/';
  std::memcpy(out + instance_id.size() + 1, key_id.data(), key_id.size());
  data_ = out;
}

KeyCache::Shard& KeyCache::ShardFor(absl::string_view cache_key) const {
  return shards_[absl::HashOf(cache_key) % kShards];
}

std::shared_ptr<const CachedKey> KeyCache::Find(std::string_view instance_id,
                                                std::string_view key_id) const {
  CacheKey k(instance_id, key_id);
  Shard& shard = ShardFor(k.view());
  absl::ReaderMutexLock lock(&shard.mu);
  auto it = shard.map.find(k.view());
  return it == shard.map.end() ? nullptr : it->second;
}

uint64_t KeyCache::Generation(std::string_view instance_id,
                              std::string_view key_id) const {
  CacheKey k(instance_id, key_id);
  Shard& shard = ShardFor(k.view());
  absl::ReaderMutexLock lock(&shard.mu);
  return shard.erasures;
}

void KeyCache::Insert(std::shared_ptr<const CachedKey> entry,
                      uint64_t generation) {
  CacheKey k(entry->key.instance_id, entry->key.id);
  Shard& shard = ShardFor(k.view());
  absl::MutexLock lock(&shard.mu);
  if (shard.erasures != generation) return;  // a mutation raced the load
  if (shard.map.size() >= capacity_per_shard_ && !shard.map.contains(k.view())) {
    // Full: drop an arbitrary entry. Hot keys come back on their next use.
    shard.map.erase(shard.map.begin());
  }
  shard.map.insert_or_assign(std::string(k.view()), std::move(entry));
}

void KeyCache::Erase(std::string_view instance_id, std::string_view key_id) {
  CacheKey k(instance_id, key_id);
  Shard& shard = ShardFor(k.view());
  absl::MutexLock lock(&shard.mu);
  ++shard.erasures;
  shard.map.erase(k.view());
}

void KeyCache::Clear() {
  for (Shard& shard : shards_) {
    absl::flat_hash_map<std::string, std::shared_ptr<const CachedKey>> dropped;
    {
      absl::MutexLock lock(&shard.mu);
      ++shard.erasures;  // a load in flight must not put its entry back
      dropped.swap(shard.map);
    }
    // Entries (and their material) are wiped here, outside the lock, or
    // when the last request still using one finishes.
  }
}

size_t KeyCache::Size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    absl::ReaderMutexLock lock(&shard.mu);
    n += shard.map.size();
  }
  return n;
}

}  // namespace keywarden::service
