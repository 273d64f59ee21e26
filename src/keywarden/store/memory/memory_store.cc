#include "keywarden/store/memory/memory_store.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "keywarden/common/ids.h"
#include "keywarden/keys/search.h"
#include "keywarden/store/audit_chain.h"
#include "keywarden/store/identity_validation.h"
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
  cut(k.last_sync_time);
  cut(k.deletion_authorization_expiration);
  auto cut_meta = [](keys::PolicyMeta& m) {
    m.creation_time = TruncateToMicros(m.creation_time);
    m.last_update_time = TruncateToMicros(m.last_update_time);
  };
  if (k.rotation_policy.has_value()) cut_meta(k.rotation_policy->meta);
  if (k.dual_auth_policy.has_value()) cut_meta(k.dual_auth_policy->meta);
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

void InMemoryStore::RecordInstanceLocked(const std::string& instance_id) {
  if (instances_.contains(instance_id)) return;
  iam::InstanceRecord record;
  record.id = instance_id;
  record.creation_time = absl::UnixEpoch();
  instances_.emplace(record.id, std::move(record));
}

absl::Status InMemoryStore::EnsureInstance(std::string_view instance_id) {
  if (instance_id.empty()) {
    return absl::InvalidArgumentError("instance id is empty");
  }
  absl::MutexLock lock(&mu_);
  RecordInstanceLocked(std::string(instance_id));
  return absl::OkStatus();
}

absl::Status InMemoryStore::CreateKey(
    const keys::Key& key, const std::optional<iam::AuditRecord>& audit) {
  if (absl::Status s = ValidateKeyForWrite(key); !s.ok()) return s;
  if (audit.has_value()) {
    if (absl::Status s = ValidateAuditRecord(*audit); !s.ok()) return s;
  }
  keys::Key stored = Normalized(key);
  absl::MutexLock lock(&mu_);
  KeyRef ref(key.instance_id, key.id);
  if (keys_.contains(ref)) {
    return absl::AlreadyExistsError("key already exists");
  }
  for (const std::string& alias : stored.aliases) {
    if (aliases_.contains(KeyRef(key.instance_id, alias))) {
      return absl::AlreadyExistsError("alias already exists");
    }
  }
  if (audit.has_value()) {
    if (absl::Status s = AppendAuditLocked(*audit); !s.ok()) return s;
  }
  std::sort(stored.aliases.begin(), stored.aliases.end());
  for (const std::string& alias : stored.aliases) {
    aliases_.emplace(KeyRef(key.instance_id, alias),
                     KeyAlias{key.instance_id, alias, key.id,
                              stored.creation_time, key.created_by});
  }
  RecordInstanceLocked(key.instance_id);
  keys_.emplace(std::move(ref), std::move(stored));
  return absl::OkStatus();
}

absl::Status InMemoryStore::UpdateKey(const keys::Key& key,
                                      absl::Time expected_last_update,
                                      const KeyUpdate& update) {
  if (absl::Status s = ValidateKeyForWrite(key); !s.ok()) return s;
  if (absl::Status s = ValidateKeyUpdate(update); !s.ok()) return s;
  keys::Key incoming = Normalized(key);
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(KeyRef(key.instance_id, key.id));
  if (it == keys_.end()) return absl::NotFoundError("key not found");
  keys::Key& stored = it->second;
  if (absl::ToUnixMicros(stored.last_update_time) !=
      absl::ToUnixMicros(expected_last_update)) {
    return absl::FailedPreconditionError("key was changed concurrently");
  }
  // The key's registrations before this update, in (CRN) order: the rule
  // checks them and the events report them, grouped by service.
  const auto first =
      registrations_.lower_bound(RegistrationRef(key.instance_id, key.id, ""));
  auto last = first;
  bool prevented = false;
  std::map<std::string, std::vector<std::string>> crns_by_service;
  for (; last != registrations_.end() &&
         std::get<0>(last->first) == key.instance_id &&
         std::get<1>(last->first) == key.id;
       ++last) {
    prevented = prevented || last->second.prevent_key_deletion;
    crns_by_service[last->second.service_id].push_back(
        last->second.resource_crn);
  }
  const bool has_registrations = first != last;
  if (update.registrations == RegistrationRule::kRefuseIfAny &&
      has_registrations) {
    return absl::FailedPreconditionError("key has registrations");
  }
  if (update.registrations == RegistrationRule::kRefuseIfPrevented &&
      prevented) {
    return absl::FailedPreconditionError(
        "a registration prevents deleting the key");
  }
  if (update.audit.has_value()) {
    if (absl::Status s = AppendAuditLocked(*update.audit); !s.ok()) return s;
  }
  if (update.event.has_value()) {
    const keys::EventSpec& spec = *update.event;
    for (auto& [service, crns] : crns_by_service) {
      keys::KeyEvent e;
      e.id = NewUuid();
      e.instance_id = key.instance_id;
      e.key_id = key.id;
      e.service_id = service;
      e.type = spec.type;
      e.time = TruncateToMicros(spec.time);
      e.key_state = spec.key_state;
      e.key_version_id = spec.key_version_id;
      e.previous_key_version_id = spec.previous_key_version_id;
      e.resource_crns = std::move(crns);
      e.next_attempt_time = e.time;
      events_.emplace(e.id, std::move(e));
    }
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
  stored.last_sync_time = incoming.last_sync_time;
  stored.rotation_policy = std::move(incoming.rotation_policy);
  stored.dual_auth_policy = std::move(incoming.dual_auth_policy);
  stored.deletion_authorized_by = std::move(incoming.deletion_authorized_by);
  stored.deletion_authorization_expiration =
      incoming.deletion_authorization_expiration;
  for (keys::KeyVersion& v : incoming.versions) {
    if (stored.FindVersion(v.id) == nullptr) {
      stored.versions.push_back(std::move(v));
    }
  }
  return absl::OkStatus();
}

absl::Status InMemoryStore::PurgeKey(std::string_view instance_id,
                                     std::string_view key_id,
                                     absl::Time expected_last_update,
                                     const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(KeyRef(instance_id, key_id));
  if (it == keys_.end()) return absl::NotFoundError("key not found");
  if (it->second.state != keys::KeyState::kDestroyed) {
    return absl::FailedPreconditionError("key is not destroyed");
  }
  if (absl::ToUnixMicros(it->second.last_update_time) !=
      absl::ToUnixMicros(expected_last_update)) {
    return absl::FailedPreconditionError("key was changed concurrently");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  for (const std::string& alias : it->second.aliases) {
    aliases_.erase(KeyRef(it->second.instance_id, alias));
  }
  for (auto r =
           registrations_.lower_bound(RegistrationRef(instance_id, key_id, ""));
       r != registrations_.end() && std::get<0>(r->first) == instance_id &&
       std::get<1>(r->first) == key_id;) {
    r = registrations_.erase(r);
  }
  // Events already made for the key stay (store.h).
  keys_.erase(it);
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
    if (!query.key_ring_ids.empty() &&
        std::find(query.key_ring_ids.begin(), query.key_ring_ids.end(),
                  k.key_ring_id) == query.key_ring_ids.end()) {
      continue;
    }
    // The reference predicates of keys/search.h (SqliteStore translates
    // them into SQL).
    if (!keys::ClausesMatch(query.time_clauses, k)) continue;
    if (query.search.has_value() && !keys::SearchMatches(*query.search, k)) {
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

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
InMemoryStore::ListKeysDueForRotation(absl::Time now, int64_t limit) {
  if (absl::Status s = ValidateLimit(limit); !s.ok()) return s;
  const absl::Time cutoff = TruncateToMicros(now);
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<absl::Time, const keys::Key*>> due;
  for (const auto& [ref, k] : keys_) {
    if (k.state != keys::KeyState::kActive || k.extractable || k.imported ||
        !k.rotation_policy.has_value() || !k.rotation_policy->enabled) {
      continue;
    }
    const absl::Time next =
        k.last_rotate_time.value_or(k.creation_time) +
        k.rotation_policy->interval_months * keys::kRotationMonth;
    if (next <= cutoff) due.emplace_back(next, &k);
  }
  // Soonest first; ties by (instance, id), the map order already.
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [next, k] : due) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.emplace_back(k->instance_id, k->id);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
InMemoryStore::ListKeysDeletedBefore(absl::Time deleted_before, int64_t limit) {
  if (absl::Status s = ValidateLimit(limit); !s.ok()) return s;
  const absl::Time cutoff = TruncateToMicros(deleted_before);
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const keys::Key*> deleted;
  for (const auto& [ref, k] : keys_) {
    if (k.state == keys::KeyState::kDestroyed && k.deletion_time.has_value() &&
        *k.deletion_time <= cutoff) {
      deleted.push_back(&k);
    }
  }
  std::stable_sort(deleted.begin(), deleted.end(),
                   [](const keys::Key* a, const keys::Key* b) {
                     return *a->deletion_time < *b->deletion_time;
                   });
  std::vector<std::pair<std::string, std::string>> out;
  for (const keys::Key* k : deleted) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.emplace_back(k->instance_id, k->id);
  }
  return out;
}

absl::Status InMemoryStore::CreateKeyRing(const KeyRing& ring,
                                          int64_t max_rings,
                                          const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateKeyRing(ring); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  KeyRing stored = ring;
  stored.creation_time = TruncateToMicros(ring.creation_time);
  absl::MutexLock lock(&mu_);
  KeyRef ref(ring.instance_id, ring.id);
  if (rings_.contains(ref)) {
    return absl::AlreadyExistsError("key ring already exists");
  }
  int64_t count = 0;
  for (auto it = rings_.lower_bound(KeyRef(ring.instance_id, ""));
       it != rings_.end() && it->first.first == ring.instance_id; ++it) {
    ++count;
  }
  if (count >= max_rings) {
    return absl::ResourceExhaustedError("too many key rings in the instance");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  RecordInstanceLocked(ring.instance_id);
  rings_.emplace(std::move(ref), std::move(stored));
  return absl::OkStatus();
}

absl::StatusOr<KeyRing> InMemoryStore::GetKeyRing(std::string_view instance_id,
                                                  std::string_view ring_id) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = rings_.find(KeyRef(instance_id, ring_id));
  if (it == rings_.end()) return absl::NotFoundError("key ring not found");
  return it->second;
}

absl::StatusOr<std::vector<KeyRing>> InMemoryStore::ListKeyRings(
    std::string_view instance_id) {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<KeyRing> out;
  for (auto it = rings_.lower_bound(KeyRef(instance_id, ""));
       it != rings_.end() && it->first.first == instance_id; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> InMemoryStore::DeleteKeyRing(
    std::string_view instance_id, std::string_view ring_id,
    bool move_destroyed, absl::Time now, const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto ring = rings_.find(KeyRef(instance_id, ring_id));
  if (ring == rings_.end()) return absl::NotFoundError("key ring not found");
  std::vector<keys::Key*> held;
  for (auto it = keys_.lower_bound(KeyRef(instance_id, ""));
       it != keys_.end() && it->first.first == instance_id; ++it) {
    if (it->second.key_ring_id != ring_id) continue;
    if (it->second.state != keys::KeyState::kDestroyed || !move_destroyed) {
      return absl::FailedPreconditionError("key ring still holds keys");
    }
    held.push_back(&it->second);
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  const absl::Time at = TruncateToMicros(now);
  std::vector<std::string> moved;
  for (keys::Key* k : held) {
    k->key_ring_id = "default";
    k->last_update_time =
        std::max(at, k->last_update_time + absl::Microseconds(1));
    moved.push_back(k->id);
  }
  rings_.erase(ring);
  return moved;
}

absl::Status InMemoryStore::CreateKeyAlias(const KeyAlias& alias,
                                           int64_t max_per_key,
                                           const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateKeyAlias(alias); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  KeyAlias stored = alias;
  stored.creation_time = TruncateToMicros(alias.creation_time);
  absl::MutexLock lock(&mu_);
  auto key = keys_.find(KeyRef(alias.instance_id, alias.key_id));
  if (key == keys_.end()) return absl::NotFoundError("key not found");
  KeyRef ref(alias.instance_id, alias.alias);
  if (aliases_.contains(ref)) {
    return absl::AlreadyExistsError("alias already exists");
  }
  std::vector<std::string>& names = key->second.aliases;
  if (static_cast<int64_t>(names.size()) >= max_per_key) {
    return absl::ResourceExhaustedError("key has too many aliases");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  names.insert(std::upper_bound(names.begin(), names.end(), alias.alias),
               alias.alias);
  aliases_.emplace(std::move(ref), std::move(stored));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteKeyAlias(std::string_view instance_id,
                                           std::string_view key_id,
                                           std::string_view alias,
                                           const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = aliases_.find(KeyRef(instance_id, alias));
  if (it == aliases_.end() || it->second.key_id != key_id) {
    return absl::NotFoundError("alias not found");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  auto key = keys_.find(KeyRef(instance_id, key_id));
  if (key != keys_.end()) {
    std::erase(key->second.aliases, std::string(alias));
  }
  aliases_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<KeyAlias> InMemoryStore::GetKeyAlias(
    std::string_view instance_id, std::string_view alias) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = aliases_.find(KeyRef(instance_id, alias));
  if (it == aliases_.end()) return absl::NotFoundError("alias not found");
  return it->second;
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

// IdentityStore. Each mutation validates, checks every rule, and only then
// changes state and appends its audit record, all under one lock: a failed
// mutation changes nothing and leaves no audit record.

namespace {

// Stored forms: times cut to microseconds, as SQLite keeps them.
template <typename Record>
Record WithMicros(const Record& record) {
  Record r = record;
  r.creation_time = TruncateToMicros(r.creation_time);
  return r;
}

bool InScopeOf(const iam::Scope& scope, const std::string& instance_id) {
  return scope.instance_id == instance_id;
}

}  // namespace

absl::Status InMemoryStore::AppendAuditLocked(const iam::AuditRecord& audit) {
  iam::AuditRecord record = audit;
  record.time = TruncateToMicros(record.time);
  record.seq = audit_.empty() ? 1 : audit_.back().seq + 1;
  record.prev_hash = audit_.empty() ? iam::SecretHash{} : audit_.back().hash;
  absl::StatusOr<iam::SecretHash> hash =
      AuditChainHash(record.prev_hash, record);
  if (!hash.ok()) return hash.status();
  record.hash = *hash;
  audit_.push_back(std::move(record));
  return absl::OkStatus();
}

absl::Status InMemoryStore::CreatePrincipal(
    const iam::PrincipalRecord& principal, const iam::AuditRecord& audit) {
  if (absl::Status s = ValidatePrincipal(principal); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (principals_.contains(principal.id)) {
    return absl::AlreadyExistsError("principal already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  principals_.emplace(principal.id, WithMicros(principal));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeletePrincipal(std::string_view id,
                                            const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  const std::string key(id);
  absl::MutexLock lock(&mu_);
  auto it = principals_.find(key);
  if (it == principals_.end()) {
    return absl::NotFoundError("principal not found");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  principals_.erase(it);
  absl::erase_if(api_keys_, [&](const auto& entry) {
    if (entry.second.principal_id != key) return false;
    api_key_prefixes_.erase(entry.second.prefix);
    return true;
  });
  absl::erase_if(policies_, [&](const auto& entry) {
    return entry.second.principal_id == key;
  });
  absl::erase_if(authorizations_, [&](const auto& entry) {
    return entry.second.source_service_id == key;
  });
  webhooks_.erase(key);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::PrincipalRecord>>
InMemoryStore::ListPrincipals() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::PrincipalRecord> out;
  for (const auto& [id, p] : principals_) out.push_back(p);
  return out;
}

absl::Status InMemoryStore::CreateApiKey(const iam::ApiKeyRecord& key,
                                         const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateApiKey(key); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  // Missing parents before duplicates, in SqliteStore's order.
  if (!principals_.contains(key.principal_id)) {
    return absl::FailedPreconditionError("api key's principal does not exist");
  }
  if (api_keys_.contains(key.id)) {
    return absl::AlreadyExistsError("api key already exists");
  }
  if (api_key_prefixes_.contains(key.prefix)) {
    return absl::AlreadyExistsError("api key prefix already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  api_key_prefixes_.insert(key.prefix);
  api_keys_.emplace(key.id, WithMicros(key));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteApiKey(std::string_view id,
                                         const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = api_keys_.find(std::string(id));
  if (it == api_keys_.end()) return absl::NotFoundError("api key not found");
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  api_key_prefixes_.erase(it->second.prefix);
  api_keys_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::ApiKeyRecord>> InMemoryStore::ListApiKeys() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::ApiKeyRecord> out;
  for (const auto& [id, k] : api_keys_) out.push_back(k);
  return out;
}

absl::Status InMemoryStore::CreateInstance(const iam::InstanceRecord& instance,
                                           const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateInstance(instance); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (instances_.contains(instance.id)) {
    return absl::AlreadyExistsError("instance already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  instances_.emplace(instance.id, WithMicros(instance));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteInstance(std::string_view id,
                                           const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  const std::string key(id);
  absl::MutexLock lock(&mu_);
  auto it = instances_.find(key);
  if (it == instances_.end()) return absl::NotFoundError("instance not found");
  auto first_key = keys_.lower_bound(KeyRef(key, ""));
  if (first_key != keys_.end() && first_key->first.first == key) {
    return absl::FailedPreconditionError("instance still holds keys");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  instances_.erase(it);
  absl::erase_if(rings_,
                 [&](const auto& entry) { return entry.first.first == key; });
  absl::erase_if(policies_, [&](const auto& entry) {
    return InScopeOf(entry.second.scope, key);
  });
  absl::erase_if(authorizations_, [&](const auto& entry) {
    return InScopeOf(entry.second.target, key);
  });
  import_tokens_.erase(key);
  absl::erase_if(instance_policies_,
                 [&](const auto& entry) { return entry.first.first == key; });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::InstanceRecord>>
InMemoryStore::ListInstances() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::InstanceRecord> out;
  for (const auto& [id, i] : instances_) out.push_back(i);
  return out;
}

absl::Status InMemoryStore::CreatePolicy(const iam::AccessPolicyRecord& policy,
                                         const iam::AuditRecord& audit) {
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!principals_.contains(policy.principal_id)) {
    return absl::FailedPreconditionError("policy's principal does not exist");
  }
  if (!instances_.contains(policy.scope.instance_id)) {
    return absl::FailedPreconditionError("policy's instance does not exist");
  }
  if (policies_.contains(policy.id)) {
    return absl::AlreadyExistsError("policy already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  policies_.emplace(policy.id, WithMicros(policy));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeletePolicy(std::string_view id,
                                         const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = policies_.find(std::string(id));
  if (it == policies_.end()) return absl::NotFoundError("policy not found");
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  policies_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::AccessPolicyRecord>>
InMemoryStore::ListPolicies() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::AccessPolicyRecord> out;
  for (const auto& [id, p] : policies_) out.push_back(p);
  return out;
}

absl::Status InMemoryStore::CreateAuthorization(
    const iam::ServiceAuthorizationRecord& authorization,
    const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuthorization(authorization); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!authorization.source_service_id.empty()) {
    auto source = principals_.find(authorization.source_service_id);
    if (source == principals_.end() ||
        source->second.kind != iam::PrincipalKind::kServiceId) {
      return absl::FailedPreconditionError(
          "authorization's source service id does not exist");
    }
  }
  if (!instances_.contains(authorization.target.instance_id)) {
    return absl::FailedPreconditionError(
        "authorization's instance does not exist");
  }
  if (authorizations_.contains(authorization.id)) {
    return absl::AlreadyExistsError("authorization already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  authorizations_.emplace(authorization.id, WithMicros(authorization));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteAuthorization(std::string_view id,
                                                const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = authorizations_.find(std::string(id));
  if (it == authorizations_.end()) {
    return absl::NotFoundError("authorization not found");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  authorizations_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
InMemoryStore::ListAuthorizations() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::ServiceAuthorizationRecord> out;
  for (const auto& [id, a] : authorizations_) out.push_back(a);
  return out;
}

absl::Status InMemoryStore::PutWebhook(const iam::WebhookRecord& webhook,
                                       const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateWebhook(webhook); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto principal = principals_.find(webhook.principal_id);
  if (principal == principals_.end() ||
      principal->second.kind != iam::PrincipalKind::kServiceId) {
    return absl::FailedPreconditionError(
        "webhook's principal is not an existing service id");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  webhooks_.insert_or_assign(webhook.principal_id, WithMicros(webhook));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteWebhook(std::string_view principal_id,
                                          const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = webhooks_.find(std::string(principal_id));
  if (it == webhooks_.end()) return absl::NotFoundError("webhook not found");
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  webhooks_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::WebhookRecord>> InMemoryStore::ListWebhooks() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::WebhookRecord> out;
  for (const auto& [id, w] : webhooks_) out.push_back(w);
  return out;
}

absl::Status InMemoryStore::PutSigningKey(const iam::SigningKeyRecord& key) {
  if (absl::Status s = ValidateSigningKey(key); !s.ok()) return s;
  iam::SigningKeyRecord stored = WithMicros(key);
  stored.retire_time = TruncateToMicros(stored.retire_time);
  absl::MutexLock lock(&mu_);
  signing_keys_.insert_or_assign(key.kid, std::move(stored));
  return absl::OkStatus();
}

absl::Status InMemoryStore::DeleteSigningKey(std::string_view kid) {
  absl::MutexLock lock(&mu_);
  if (signing_keys_.erase(std::string(kid)) == 0) {
    return absl::NotFoundError("signing key not found");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::SigningKeyRecord>>
InMemoryStore::ListSigningKeys() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::SigningKeyRecord> out;
  for (const auto& [kid, k] : signing_keys_) out.push_back(k);
  return out;
}

absl::Status InMemoryStore::AppendAudit(const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return AppendAuditLocked(audit);
}

absl::StatusOr<std::vector<iam::AuditRecord>> InMemoryStore::ListAudit(
    int64_t after_seq, int64_t limit) {
  if (limit < 0) return absl::InvalidArgumentError("limit must be >= 0");
  absl::ReaderMutexLock lock(&mu_);
  std::vector<iam::AuditRecord> out;
  // seq n is at index n - 1 (gap-free from 1).
  const int64_t size = static_cast<int64_t>(audit_.size());
  for (int64_t i = std::max<int64_t>(after_seq, 0);
       i < size && static_cast<int64_t>(out.size()) < limit; ++i) {
    out.push_back(audit_[i]);
  }
  return out;
}

absl::Status InMemoryStore::VerifyAuditChain() {
  absl::ReaderMutexLock lock(&mu_);
  AuditChainVerifier verifier;
  for (const iam::AuditRecord& record : audit_) {
    if (absl::Status s = verifier.Next(record); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace keywarden::store
