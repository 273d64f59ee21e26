#include "keywarden/service/kmip_cache.h"

#include <iterator>
#include <utility>

#include "keywarden/common/strings.h"

namespace keywarden::service {

KmipCache::KmipCache(Options options) : options_(options) {}

std::string KmipCache::ObjectKey(std::string_view instance_id,
                                 std::string_view adapter_id,
                                 std::string_view object_id) {
  return StrCat(instance_id, "\n", adapter_id, "\n", object_id);
}

uint64_t KmipCache::Generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

std::optional<KmipCaller> KmipCache::FindCaller(
    std::string_view fingerprint) const {
  absl::MutexLock lock(&mu_);
  auto it = callers_.find(AbslView(fingerprint));
  if (it == callers_.end()) return std::nullopt;
  return it->second;
}

void KmipCache::PutCaller(std::string_view fingerprint, KmipCaller caller,
                          uint64_t generation) {
  if (options_.max_callers == 0) return;
  absl::MutexLock lock(&mu_);
  // Something was dropped since the caller was read: it may be stale.
  if (generation != generation_) return;
  if (callers_.size() >= options_.max_callers &&
      !callers_.contains(AbslView(fingerprint))) {
    callers_.erase(callers_.begin());
  }
  callers_.insert_or_assign(std::string(fingerprint), std::move(caller));
}

std::shared_ptr<const SecretBytes> KmipCache::FindMaterial(
    std::string_view instance_id, std::string_view adapter_id,
    std::string_view object_id, int64_t revision) const {
  const std::string key = ObjectKey(instance_id, adapter_id, object_id);
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end() || it->second.revision != revision) return nullptr;
  return it->second.bytes;
}

void KmipCache::PutMaterial(std::string_view instance_id,
                            std::string_view adapter_id,
                            std::string_view object_id, int64_t revision,
                            std::string_view crk_id,
                            std::shared_ptr<const SecretBytes> material,
                            uint64_t generation) {
  if (options_.max_objects == 0 || material == nullptr) return;
  std::string key = ObjectKey(instance_id, adapter_id, object_id);
  Material entry{revision, std::string(crk_id), std::move(material)};
  std::shared_ptr<const SecretBytes> evicted;  // wiped outside the lock
  absl::MutexLock lock(&mu_);
  if (generation != generation_) return;
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    // Two requests of different revisions raced: keep the newer.
    if (it->second.revision > revision) return;
    evicted = std::move(it->second.bytes);
    it->second = std::move(entry);
    return;
  }
  if (objects_.size() >= options_.max_objects) {
    auto victim = objects_.begin();
    evicted = std::move(victim->second.bytes);
    objects_.erase(victim);
  }
  objects_.emplace(std::move(key), std::move(entry));
}

void KmipCache::DropCallers() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  callers_.clear();
}

void KmipCache::DropObject(std::string_view instance_id,
                           std::string_view adapter_id,
                           std::string_view object_id) {
  const std::string key = ObjectKey(instance_id, adapter_id, object_id);
  std::shared_ptr<const SecretBytes> dropped;
  absl::MutexLock lock(&mu_);
  ++generation_;
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  dropped = std::move(it->second.bytes);
  objects_.erase(it);
}

void KmipCache::DropRootKey(std::string_view instance_id,
                            std::string_view key_id) {
  const std::string prefix = StrCat(instance_id, "\n");
  absl::flat_hash_map<std::string, Material> dropped;
  absl::MutexLock lock(&mu_);
  ++generation_;
  for (auto it = objects_.begin(); it != objects_.end();) {
    auto next = std::next(it);
    if (std::string_view(it->first).starts_with(prefix) &&
        (key_id.empty() || it->second.crk_id == key_id)) {
      dropped.insert(objects_.extract(it));
    }
    it = next;
  }
}

void KmipCache::DropAll() {
  absl::flat_hash_map<std::string, Material> dropped;
  absl::MutexLock lock(&mu_);
  ++generation_;
  callers_.clear();
  dropped.swap(objects_);
}

size_t KmipCache::CallerCount() const {
  absl::MutexLock lock(&mu_);
  return callers_.size();
}

size_t KmipCache::MaterialCount() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace keywarden::service
