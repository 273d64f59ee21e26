// InMemoryStore's key-lifecycle records: import tokens, instance policies,
// registrations, lifecycle events and job leases, with exactly the rules of
// store.h that SqliteStore follows (sqlite_lifecycle.cc).

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "keywarden/store/identity_validation.h"
#include "keywarden/store/memory/memory_store.h"
#include "keywarden/store/validation.h"

namespace keywarden::store {

namespace {

ImportToken StoredToken(const ImportToken& token) {
  ImportToken t = token;
  t.creation_time = TruncateToMicros(t.creation_time);
  t.expiration_time = TruncateToMicros(t.expiration_time);
  return t;
}

keys::Registration StoredRegistration(const keys::Registration& r) {
  keys::Registration out = r;
  out.creation_time = TruncateToMicros(out.creation_time);
  out.last_update_time = TruncateToMicros(out.last_update_time);
  return out;
}

}  // namespace

// ---- import tokens (keyprotect-api.md §8)

absl::Status InMemoryStore::PutImportToken(const ImportToken& token,
                                           const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateImportToken(token); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  RecordInstanceLocked(token.instance_id);
  import_tokens_.insert_or_assign(token.instance_id, StoredToken(token));
  return absl::OkStatus();
}

absl::StatusOr<ImportToken> InMemoryStore::GetImportToken(
    std::string_view instance_id) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = import_tokens_.find(std::string(instance_id));
  if (it == import_tokens_.end()) {
    return absl::NotFoundError("import token not found");
  }
  return it->second;
}

absl::StatusOr<ImportToken> InMemoryStore::RetrieveImportToken(
    std::string_view instance_id, absl::Time now) {
  const absl::Time at = TruncateToMicros(now);
  absl::MutexLock lock(&mu_);
  auto it = import_tokens_.find(std::string(instance_id));
  if (it == import_tokens_.end()) {
    return absl::NotFoundError("import token not found");
  }
  ImportToken& token = it->second;
  if (at >= token.expiration_time) {
    return absl::FailedPreconditionError("import token has expired");
  }
  if (token.remaining_retrievals <= 0) {
    return absl::FailedPreconditionError("import token has no retrievals left");
  }
  token.remaining_retrievals -= 1;
  return token;
}

// ---- instance policies (keyprotect-api.md §7.2)

absl::Status InMemoryStore::PutInstancePolicies(
    std::span<const keys::InstancePolicy> policies,
    const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateInstancePolicies(policies); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  for (const keys::InstancePolicy& p : policies) {
    RecordInstanceLocked(p.instance_id);
    instance_policies_.insert_or_assign(std::make_pair(p.instance_id, p.type),
                                        NormalizedInstancePolicy(p));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<keys::InstancePolicy>>
InMemoryStore::ListInstancePolicies(std::string_view instance_id) {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<keys::InstancePolicy> out;
  for (auto it = instance_policies_.lower_bound(std::make_pair(
           std::string(instance_id), keys::InstancePolicyType{}));
       it != instance_policies_.end() && it->first.first == instance_id; ++it) {
    out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<std::vector<keys::InstancePolicy>>
InMemoryStore::ListAllInstancePolicies() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<keys::InstancePolicy> out;
  for (const auto& [ref, p] : instance_policies_) out.push_back(p);
  return out;
}

// ---- registrations (keyprotect-api.md §11)

absl::Status InMemoryStore::CreateRegistration(
    const keys::Registration& registration, const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateRegistration(registration); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  if (registration.revision != 1) {
    return absl::InvalidArgumentError("a new registration has revision 1");
  }
  absl::MutexLock lock(&mu_);
  auto key = keys_.find(KeyRef(registration.instance_id, registration.key_id));
  if (key == keys_.end()) return absl::NotFoundError("key not found");
  if (!key->second.IsRoot() || key->second.state != keys::KeyState::kActive) {
    return absl::FailedPreconditionError(
        "only an Active root key can be registered");
  }
  RegistrationRef ref(registration.instance_id, registration.key_id,
                      registration.resource_crn);
  if (registrations_.contains(ref)) {
    return absl::AlreadyExistsError("registration already exists");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  registrations_.emplace(std::move(ref), StoredRegistration(registration));
  return absl::OkStatus();
}

absl::Status InMemoryStore::UpdateRegistration(
    const keys::Registration& registration, int64_t expected_revision,
    const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateRegistration(registration); !s.ok()) return s;
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  if (registration.revision != expected_revision + 1) {
    return absl::InvalidArgumentError(
        "an updated registration's revision is the expected one plus 1");
  }
  const keys::Registration incoming = StoredRegistration(registration);
  absl::MutexLock lock(&mu_);
  auto it = registrations_.find(RegistrationRef(registration.instance_id,
                                                registration.key_id,
                                                registration.resource_crn));
  if (it == registrations_.end()) {
    return absl::NotFoundError("registration not found");
  }
  keys::Registration& stored = it->second;
  if (stored.revision != expected_revision) {
    return absl::FailedPreconditionError(
        "registration was changed concurrently");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  // Identity (instance, key, CRN, service) and creation are fixed.
  stored.description = incoming.description;
  stored.registration_metadata = incoming.registration_metadata;
  stored.prevent_key_deletion = incoming.prevent_key_deletion;
  stored.key_version_id = incoming.key_version_id;
  stored.last_update_time = incoming.last_update_time;
  stored.updated_by = incoming.updated_by;
  stored.revision = incoming.revision;
  return absl::OkStatus();
}

absl::StatusOr<keys::Registration> InMemoryStore::GetRegistration(
    std::string_view instance_id, std::string_view key_id,
    std::string_view resource_crn) {
  absl::ReaderMutexLock lock(&mu_);
  auto it =
      registrations_.find(RegistrationRef(instance_id, key_id, resource_crn));
  if (it == registrations_.end()) {
    return absl::NotFoundError("registration not found");
  }
  return it->second;
}

absl::Status InMemoryStore::DeleteRegistration(std::string_view instance_id,
                                               std::string_view key_id,
                                               std::string_view resource_crn,
                                               const iam::AuditRecord& audit) {
  if (absl::Status s = ValidateAuditRecord(audit); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it =
      registrations_.find(RegistrationRef(instance_id, key_id, resource_crn));
  if (it == registrations_.end()) {
    return absl::NotFoundError("registration not found");
  }
  if (absl::Status s = AppendAuditLocked(audit); !s.ok()) return s;
  registrations_.erase(it);
  return absl::OkStatus();
}

std::vector<const keys::Registration*> InMemoryStore::MatchingRegistrations(
    const RegistrationQuery& query) const {
  std::vector<const keys::Registration*> out;
  for (auto it = registrations_.lower_bound(
           RegistrationRef(query.instance_id, query.key_id.value_or(""), ""));
       it != registrations_.end() &&
       std::get<0>(it->first) == query.instance_id &&
       (!query.key_id.has_value() || std::get<1>(it->first) == *query.key_id);
       ++it) {
    const keys::Registration& r = it->second;
    if (query.service_id.has_value() && r.service_id != *query.service_id) {
      continue;
    }
    if (query.prevent_key_deletion.has_value() &&
        r.prevent_key_deletion != *query.prevent_key_deletion) {
      continue;
    }
    if (query.key_ring_id.has_value() || !query.key_ring_ids.empty()) {
      auto key = keys_.find(KeyRef(r.instance_id, r.key_id));
      if (key == keys_.end()) continue;
      const std::string& ring = key->second.key_ring_id;
      if (query.key_ring_id.has_value() && ring != *query.key_ring_id) {
        continue;
      }
      if (!query.key_ring_ids.empty() &&
          std::find(query.key_ring_ids.begin(), query.key_ring_ids.end(),
                    ring) == query.key_ring_ids.end()) {
        continue;
      }
    }
    if (query.crn.has_value() && !query.crn->Matches(r.resource_crn)) {
      continue;
    }
    out.push_back(&r);
  }
  return out;
}

absl::StatusOr<std::vector<keys::Registration>>
InMemoryStore::ListRegistrations(const RegistrationQuery& query) {
  if (absl::Status s = ValidateRegistrationQuery(query); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const keys::Registration*> matching =
      MatchingRegistrations(query);
  std::vector<keys::Registration> out;
  for (int64_t i = query.offset; i < static_cast<int64_t>(matching.size()) &&
                                 static_cast<int64_t>(out.size()) < query.limit;
       ++i) {
    out.push_back(*matching[i]);
  }
  return out;
}

absl::StatusOr<int64_t> InMemoryStore::CountRegistrations(
    const RegistrationQuery& query) {
  if (absl::Status s = ValidateRegistrationQuery(query); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  return static_cast<int64_t>(MatchingRegistrations(query).size());
}

// ---- lifecycle events (keyprotect-api.md §12)

absl::StatusOr<std::vector<keys::KeyEvent>> InMemoryStore::ListDueEvents(
    absl::Time now, int64_t limit) {
  if (absl::Status s = ValidateLimit(limit); !s.ok()) return s;
  const absl::Time cutoff = TruncateToMicros(now);
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const keys::KeyEvent*> due;
  for (const auto& [id, e] : events_) {
    if (!e.acknowledged_time.has_value() && e.next_attempt_time <= cutoff) {
      due.push_back(&e);
    }
  }
  // Then by the event's own time and id, SqliteStore's tie-breaks.
  std::sort(due.begin(), due.end(),
            [](const keys::KeyEvent* a, const keys::KeyEvent* b) {
              return std::tie(a->next_attempt_time, a->time, a->id) <
                     std::tie(b->next_attempt_time, b->time, b->id);
            });
  std::vector<keys::KeyEvent> out;
  for (const keys::KeyEvent* e : due) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.push_back(*e);
  }
  return out;
}

absl::StatusOr<std::optional<absl::Time>> InMemoryStore::NextEventDue() {
  absl::ReaderMutexLock lock(&mu_);
  std::optional<absl::Time> next;
  for (const auto& [id, e] : events_) {
    if (e.acknowledged_time.has_value()) continue;
    if (!next.has_value() || e.next_attempt_time < *next) {
      next = e.next_attempt_time;
    }
  }
  return next;
}

absl::StatusOr<keys::KeyEvent> InMemoryStore::GetEvent(
    std::string_view event_id) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = events_.find(std::string(event_id));
  if (it == events_.end()) return absl::NotFoundError("event not found");
  return it->second;
}

absl::Status InMemoryStore::RecordEventAttempt(std::string_view event_id,
                                               absl::Time at, bool delivered,
                                               absl::Time next_attempt,
                                               std::string_view error) {
  absl::MutexLock lock(&mu_);
  auto it = events_.find(std::string(event_id));
  if (it == events_.end()) return absl::NotFoundError("event not found");
  keys::KeyEvent& e = it->second;
  if (e.acknowledged_time.has_value()) return absl::OkStatus();
  e.attempts += 1;
  e.last_attempt_time = TruncateToMicros(at);
  e.next_attempt_time = TruncateToMicros(next_attempt);
  e.last_error = std::string(error);
  if (delivered && !e.delivered_time.has_value()) {
    e.delivered_time = e.last_attempt_time;
  }
  return absl::OkStatus();
}

absl::StatusOr<keys::KeyEvent> InMemoryStore::AcknowledgeEvent(
    const keys::EventAck& ack, absl::Time now) {
  if (absl::Status s = ValidateEventAck(ack); !s.ok()) return s;
  const absl::Time at = TruncateToMicros(now);
  absl::MutexLock lock(&mu_);
  auto it = events_.find(ack.event_id);
  // Another service's event is NotFound too.
  if (it == events_.end() || it->second.service_id != ack.service_id) {
    return absl::NotFoundError("event not found");
  }
  keys::KeyEvent& e = it->second;
  if (e.acknowledged_time.has_value()) return e;
  e.acknowledged_time = at;
  e.adopter_key_state = ack.adopter_key_state;
  for (auto r = registrations_.lower_bound(
           RegistrationRef(e.instance_id, e.key_id, ""));
       r != registrations_.end() && std::get<0>(r->first) == e.instance_id &&
       std::get<1>(r->first) == e.key_id;) {
    keys::Registration& reg = r->second;
    if (reg.service_id != ack.service_id) {
      ++r;
      continue;
    }
    if (!ack.rewrapped_key_version_id.empty()) {
      reg.key_version_id = ack.rewrapped_key_version_id;
      reg.revision += 1;
      reg.last_update_time = at;
      reg.updated_by = ack.service_id;
    }
    r = ack.delete_registrations ? registrations_.erase(r) : std::next(r);
  }
  return e;
}

// ---- background-job leases

absl::StatusOr<bool> InMemoryStore::TryAcquireLease(std::string_view name,
                                                    std::string_view holder,
                                                    absl::Time now,
                                                    absl::Duration ttl) {
  if (absl::Status s = ValidateLease(name, holder, ttl); !s.ok()) return s;
  const absl::Time at = TruncateToMicros(now);
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(std::string(name));
  if (it != leases_.end() && it->second.holder != holder &&
      it->second.expires > at) {
    return false;
  }
  leases_.insert_or_assign(
      std::string(name),
      Lease{std::string(holder), TruncateToMicros(now + ttl)});
  return true;
}

absl::Status InMemoryStore::ReleaseLease(std::string_view name,
                                         std::string_view holder) {
  if (absl::Status s = ValidateLease(name, holder, absl::Seconds(1)); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(std::string(name));
  if (it != leases_.end() && it->second.holder == holder) leases_.erase(it);
  return absl::OkStatus();
}

}  // namespace keywarden::store
