#include "keywarden/store/memory/memory_store.h"

#include <algorithm>

#include "keywarden/store/validation.h"

namespace keywarden::store {

namespace {

// The stored form of a key: times cut to microseconds, as SQLite keeps them.
keys::Key Normalized(const keys::Key& key) {
  keys::Key k = key;
  auto cut = [](std::optional<absl::Time>& t) {
    if (t.has_value()) *t = TruncateToMicros(*t);
  };
  cut(k.expiration_time);
  k.creation_time = TruncateToMicros(k.creation_time);
  k.last_update_time = TruncateToMicros(k.last_update_time);
  k.last_state_change_time = TruncateToMicros(k.last_state_change_time);
  cut(k.last_rotate_time);
  cut(k.deletion_time);
  for (keys::KeyVersion& v : k.versions) {
    v.creation_time = TruncateToMicros(v.creation_time);
  }
  return k;
}

template <typename T>
int Compare(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Absent dates sort as the smallest value, as NULL does in SQLite.
int CompareOptionalTime(const std::optional<absl::Time>& a,
                        const std::optional<absl::Time>& b) {
  if (!a.has_value() || !b.has_value()) {
    return Compare(a.has_value(), b.has_value());
  }
  return Compare(*a, *b);
}

int CompareBy(SortField field, const keys::Key& a, const keys::Key& b) {
  switch (field) {
    case SortField::kId:
      return a.id.compare(b.id) < 0 ? -1 : (a.id == b.id ? 0 : 1);
    case SortField::kState:
      return Compare(static_cast<int>(a.state), static_cast<int>(b.state));
    case SortField::kExtractable:
      return Compare(a.extractable, b.extractable);
    case SortField::kImported:
      return Compare(a.imported, b.imported);
    case SortField::kCreationDate:
      return Compare(a.creation_time, b.creation_time);
    case SortField::kLastUpdateDate:
      return Compare(a.last_update_time, b.last_update_time);
    case SortField::kLastRotateDate:
      return CompareOptionalTime(a.last_rotate_time, b.last_rotate_time);
    case SortField::kDeletionDate:
      return CompareOptionalTime(a.deletion_time, b.deletion_time);
    case SortField::kExpirationDate:
      return CompareOptionalTime(a.expiration_time, b.expiration_time);
  }
  return 0;
}

// What a list shows of a key: its primary version only, without material.
keys::Key ListView(const keys::Key& key) {
  keys::Key k = key;
  keys::KeyVersion primary = k.versions.back();
  primary.sealed_material.clear();
  k.versions.clear();
  k.versions.push_back(std::move(primary));
  return k;
}

}  // namespace

absl::Status InMemoryStore::EnsureInstance(std::string_view instance_id) {
  if (instance_id.empty()) {
    return absl::InvalidArgumentError("instance id is empty");
  }
  absl::MutexLock lock(&mu_);
  instances_.insert(std::string(instance_id));
  return absl::OkStatus();
}

absl::Status InMemoryStore::CreateKey(const keys::Key& key) {
  if (absl::Status s = ValidateKeyForWrite(key); !s.ok()) return s;
  keys::Key stored = Normalized(key);
  absl::MutexLock lock(&mu_);
  KeyRef ref(key.instance_id, key.id);
  if (keys_.contains(ref)) {
    return absl::AlreadyExistsError("key already exists");
  }
  instances_.insert(key.instance_id);
  keys_.emplace(std::move(ref), std::move(stored));
  return absl::OkStatus();
}

absl::Status InMemoryStore::UpdateKey(const keys::Key& key,
                                      absl::Time expected_last_update) {
  if (absl::Status s = ValidateKeyForWrite(key); !s.ok()) return s;
  keys::Key incoming = Normalized(key);
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(KeyRef(key.instance_id, key.id));
  if (it == keys_.end()) return absl::NotFoundError("key not found");
  keys::Key& stored = it->second;
  if (absl::ToUnixMicros(stored.last_update_time) !=
      absl::ToUnixMicros(expected_last_update)) {
    return absl::FailedPreconditionError("key was changed concurrently");
  }
  // Identity and origin fields (ids, extractable, imported, creation) are
  // fixed at creation; only the mutable fields are replaced.
  stored.name = std::move(incoming.name);
  stored.description = std::move(incoming.description);
  stored.tags = std::move(incoming.tags);
  stored.key_ring_id = std::move(incoming.key_ring_id);
  stored.state = incoming.state;
  stored.material_bits = incoming.material_bits;
  stored.expiration_time = incoming.expiration_time;
  stored.last_update_time = incoming.last_update_time;
  stored.last_state_change_time = incoming.last_state_change_time;
  stored.last_rotate_time = incoming.last_rotate_time;
  stored.deletion_time = incoming.deletion_time;
  stored.deleted_by = std::move(incoming.deleted_by);
  for (keys::KeyVersion& v : incoming.versions) {
    if (stored.FindVersion(v.id) == nullptr) {
      stored.versions.push_back(std::move(v));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<keys::Key> InMemoryStore::GetKey(std::string_view instance_id,
                                                std::string_view key_id) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_.find(KeyRef(instance_id, key_id));
  if (it == keys_.end()) return absl::NotFoundError("key not found");
  return it->second;
}

std::vector<const keys::Key*> InMemoryStore::Matching(
    const KeyQuery& query) const {
  std::vector<const keys::Key*> out;
  for (auto it = keys_.lower_bound(KeyRef(query.instance_id, ""));
       it != keys_.end() && it->first.first == query.instance_id; ++it) {
    const keys::Key& k = it->second;
    if (!query.states.empty() &&
        std::find(query.states.begin(), query.states.end(), k.state) ==
            query.states.end()) {
      continue;
    }
    if (query.extractable.has_value() && k.extractable != *query.extractable) {
      continue;
    }
    if (query.key_ring_id.has_value() && k.key_ring_id != *query.key_ring_id) {
      continue;
    }
    out.push_back(&k);
  }
  return out;
}

absl::StatusOr<std::vector<keys::Key>> InMemoryStore::ListKeys(
    const KeyQuery& query) {
  if (absl::Status s = ValidateQuery(query); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const keys::Key*> matching = Matching(query);
  // `matching` is in id order already, so a stable sort by the requested
  // keys leaves ties in id order: the tie-break store.h promises.
  std::stable_sort(matching.begin(), matching.end(),
                   [&](const keys::Key* a, const keys::Key* b) {
                     for (const SortKey& sk : query.sort) {
                       int c = CompareBy(sk.field, *a, *b);
                       if (c != 0) return sk.descending ? c > 0 : c < 0;
                     }
                     return false;
                   });
  std::vector<keys::Key> out;
  const int64_t size = static_cast<int64_t>(matching.size());
  for (int64_t i = query.offset;
       i < size && static_cast<int64_t>(out.size()) < query.limit; ++i) {
    out.push_back(ListView(*matching[i]));
  }
  return out;
}

absl::StatusOr<int64_t> InMemoryStore::CountKeys(const KeyQuery& query) {
  if (absl::Status s = ValidateQuery(query); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  return static_cast<int64_t>(Matching(query).size());
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
InMemoryStore::ListExpiredKeys(absl::Time now, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("limit must be >= 0");
  const absl::Time cutoff = TruncateToMicros(now);
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const keys::Key*> expired;
  for (const auto& [ref, k] : keys_) {
    if ((k.state == keys::KeyState::kActive ||
         k.state == keys::KeyState::kSuspended) &&
        k.expiration_time.has_value() && *k.expiration_time <= cutoff) {
      expired.push_back(&k);
    }
  }
  // Oldest expiry first, so a bounded sweep makes progress on the most
  // overdue keys; then by (instance, id), which is the map order already.
  std::stable_sort(expired.begin(), expired.end(),
                   [](const keys::Key* a, const keys::Key* b) {
                     return *a->expiration_time < *b->expiration_time;
                   });
  std::vector<std::pair<std::string, std::string>> out;
  for (const keys::Key* k : expired) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.emplace_back(k->instance_id, k->id);
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> InMemoryStore::GetMeta(
    std::string_view name) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = meta_.find(std::string(name));
  if (it == meta_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::StatusOr<bool> InMemoryStore::PutMetaIfAbsent(std::string_view name,
                                                    std::string_view value) {
  if (name.empty()) return absl::InvalidArgumentError("meta name is empty");
  absl::MutexLock lock(&mu_);
  return meta_.emplace(std::string(name), std::string(value)).second;
}

}  // namespace keywarden::store
