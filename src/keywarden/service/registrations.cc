#include "keywarden/service/registrations.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/rules.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/fields.h"

namespace keywarden::service {
namespace {

using keys::Key;
using keys::Registration;

absl::Status ServiceOnly() {
  return DomainError(Reason::kServiceOnly,
                     "registrations are made by service ids");
}

absl::Status NotOwner() {
  return DomainError(Reason::kResourceOwner,
                     "the registration belongs to another service");
}

absl::Status NoSuchRegistration() {
  return DomainError(Reason::kNotFound,
                     "the key has no registration for this resource CRN");
}

absl::Status VersionInvalid(std::string_view detail) {
  return DomainError(Reason::kKeyVersionInvalid, detail);
}

// The position of `version_id` among the key's versions (oldest first).
std::optional<size_t> VersionIndex(const Key& key,
                                   std::string_view version_id) {
  for (size_t i = 0; i < key.versions.size(); ++i) {
    if (key.versions[i].id == version_id) return i;
  }
  return std::nullopt;
}

absl::Status ValidateInput(const RegistrationInput& in) {
  if (in.description.has_value() &&
      in.description->size() > keys::kMaxRegistrationDescription) {
    return BadField("description",
                    StrCat("at most ", keys::kMaxRegistrationDescription,
                           " characters"));
  }
  if (in.registration_metadata.has_value() &&
      in.registration_metadata->size() > keys::kMaxRegistrationMetadata) {
    return BadField("registrationMetadata",
                    StrCat("at most ", keys::kMaxRegistrationMetadata,
                           " characters"));
  }
  return absl::OkStatus();
}

// RFC 9110 §13.1.1: If-Match is `*` or a list of entity tags, compared
// weakly here (W/ prefixes ignored), as the registration API allows.
bool IfMatchHolds(std::string_view header, std::string_view etag) {
  std::string_view ours = etag;
  for (absl::string_view piece : absl::StrSplit(AbslView(header), ',')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (piece == "*") return true;
    absl::ConsumePrefix(&piece, "W/");
    if (StdView(piece) == ours) return true;
  }
  return false;
}

const std::string_view kAdopterKeyStates[] = {"DEK_ENABLED", "DEK_DISABLED",
                                              "DEK_DESTROYED"};

}  // namespace

RegistrationManager::RegistrationManager(store::Store* store,
                                         const AccessControl* access,
                                         const Clock* clock)
    : store_(store), access_(access), clock_(clock) {}

std::string RegistrationManager::ETagOf(const Registration& r) {
  // The creation time tells apart a registration deleted and made again,
  // whose revisions restart at 1.
  return StrCat("\"", absl::ToUnixMicros(r.creation_time), "-", r.revision,
                "\"");
}

RegistrationResult RegistrationManager::Present(Registration r,
                                                const Key& key,
                                                bool show_metadata) const {
  RegistrationResult out;
  out.key_name = key.name;
  if (const keys::KeyVersion* v = key.FindVersion(r.key_version_id)) {
    out.key_version_creation_time = v->creation_time;
  }
  out.show_metadata = show_metadata;
  out.etag = ETagOf(r);
  out.registration = std::move(r);
  return out;
}

absl::StatusOr<Key> RegistrationManager::LoadForService(
    const RequestContext& ctx, std::string_view key_id) const {
  if (!ctx.principal.is_service) return ServiceOnly();
  // Any role reaches registrations: a service authorized as Reader on the
  // instance registers its resources (§15.1).
  KW_ASSIGN_OR_RETURN(
      iam::Reach reach,
      access_->Authorize(ctx, iam::Operation::kListRegistrations));
  return access_->LoadKey(ctx, reach, key_id);
}

absl::StatusOr<RegistrationResult> RegistrationManager::Write(
    const RequestContext& ctx, std::string_view key_id,
    const WriteRegistrationRequest& req) {
  KW_ASSIGN_OR_RETURN(Key key, LoadForService(ctx, key_id));
  KW_RETURN_IF_ERROR(keys::ValidateRegistrationCrn(req.resource_crn));
  KW_RETURN_IF_ERROR(ValidateInput(req.input));
  absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(clock_->Now()));
  const RegistrationInput& in = req.input;

  absl::StatusOr<Registration> current =
      store_->GetRegistration(ctx.instance_id, key.id, req.resource_crn);
  if (req.mode == RegistrationWrite::kCreate) {
    if (!key.IsRoot()) {
      return DomainError(Reason::kKeyRootRequiredReg, "");
    }
    if (keys::EffectiveState(key, now) != keys::KeyState::kActive) {
      return DomainError(Reason::kKeyInvalidState,
                         "registrations are created on active keys only");
    }
    Registration r;
    r.instance_id = ctx.instance_id;
    r.key_id = key.id;
    r.resource_crn = req.resource_crn;
    r.service_id = ctx.principal.id;
    r.description = in.description.value_or("");
    r.registration_metadata = in.registration_metadata.value_or("");
    r.prevent_key_deletion = in.prevent_key_deletion.value_or(false);
    r.key_version_id = in.key_version_id.value_or(key.Primary().id);
    if (!VersionIndex(key, r.key_version_id)) {
      return VersionInvalid("`keyVersionId` names no version of this key");
    }
    r.creation_time = now;
    r.created_by = ctx.principal.id;
    r.last_update_time = now;
    r.updated_by = ctx.principal.id;
    r.revision = 1;
    if (current.ok()) {
      // A retried create (the Go client retries POSTs) that asks for what
      // is there already succeeds; anything else is a conflict.
      const Registration& c = *current;
      if (c.service_id == r.service_id && c.description == r.description &&
          c.registration_metadata == r.registration_metadata &&
          c.prevent_key_deletion == r.prevent_key_deletion &&
          c.key_version_id == r.key_version_id) {
        return Present(*std::move(current), key, true);
      }
      return DomainError(Reason::kConflict,
                         "the key already has a registration for this "
                         "resource CRN; update it with PUT or PATCH");
    }
    if (!absl::IsNotFound(current.status())) return current.status();
    absl::Status s = store_->CreateRegistration(
        r, MakeAudit(ctx, now, "kms.registrations.create", KeyTarget(key),
                     StrCat("resource CRN ", r.resource_crn)));
    if (absl::IsAlreadyExists(s)) {
      return DomainError(Reason::kConflict,
                         "the key already has a registration for this "
                         "resource CRN");
    }
    if (absl::IsFailedPrecondition(s)) {
      return DomainError(Reason::kKeyInvalidState,
                         "it changed while the registration was made");
    }
    if (absl::IsNotFound(s)) return AccessControl::NoAccess();
    KW_RETURN_IF_ERROR(s);
    return Present(std::move(r), key, true);
  }

  // Replace or merge an existing registration of this service.
  if (absl::IsNotFound(current.status())) return NoSuchRegistration();
  KW_RETURN_IF_ERROR(current.status());
  if (current->service_id != ctx.principal.id) return NotOwner();
  if (req.if_match.has_value() && !IfMatchHolds(*req.if_match, ETagOf(*current))) {
    return DomainError(Reason::kPreconditionFailed,
                       "the registration changed since the given ETag; read "
                       "it again and retry");
  }
  Registration r = *current;
  const bool replace = req.mode == RegistrationWrite::kReplace;
  if (replace || in.description) r.description = in.description.value_or("");
  if (replace || in.registration_metadata) {
    r.registration_metadata = in.registration_metadata.value_or("");
  }
  if (replace || in.prevent_key_deletion) {
    r.prevent_key_deletion = in.prevent_key_deletion.value_or(false);
  }
  if (in.key_version_id.has_value()) {
    std::optional<size_t> wanted = VersionIndex(key, *in.key_version_id);
    if (!wanted) {
      return VersionInvalid("`keyVersionId` names no version of this key");
    }
    std::optional<size_t> registered = VersionIndex(key, current->key_version_id);
    if (registered && *wanted < *registered) {
      return VersionInvalid(StrCat("the registration uses version ",
                                   current->key_version_id));
    }
    r.key_version_id = *in.key_version_id;
  }
  r.last_update_time = std::max(now, current->last_update_time);
  r.updated_by = ctx.principal.id;
  r.revision = current->revision + 1;
  absl::Status s = store_->UpdateRegistration(
      r, current->revision,
      MakeAudit(ctx, now, "kms.registrations.write", KeyTarget(key),
                StrCat("resource CRN ", r.resource_crn, ", revision ",
                       r.revision)));
  if (absl::IsFailedPrecondition(s)) {
    return DomainError(Reason::kPreconditionFailed,
                       "the registration changed meanwhile; read it again "
                       "and retry");
  }
  if (absl::IsNotFound(s)) return NoSuchRegistration();
  KW_RETURN_IF_ERROR(s);
  return Present(std::move(r), key, true);
}

absl::StatusOr<RegistrationResult> RegistrationManager::Delete(
    const RequestContext& ctx, std::string_view key_id,
    std::string_view resource_crn) {
  KW_ASSIGN_OR_RETURN(Key key, LoadForService(ctx, key_id));
  KW_RETURN_IF_ERROR(keys::ValidateRegistrationCrn(resource_crn));
  absl::StatusOr<Registration> current =
      store_->GetRegistration(ctx.instance_id, key.id, resource_crn);
  if (absl::IsNotFound(current.status())) return NoSuchRegistration();
  KW_RETURN_IF_ERROR(current.status());
  if (current->service_id != ctx.principal.id) return NotOwner();
  absl::Status s = store_->DeleteRegistration(
      ctx.instance_id, key.id, resource_crn,
      MakeAudit(ctx, clock_->Now(), "kms.registrations.delete", KeyTarget(key),
                StrCat("resource CRN ", resource_crn)));
  if (absl::IsNotFound(s)) return NoSuchRegistration();
  KW_RETURN_IF_ERROR(s);
  return Present(*std::move(current), key, true);
}

absl::StatusOr<std::vector<RegistrationResult>> RegistrationManager::Deactivate(
    const RequestContext& ctx, std::string_view key_id,
    const std::vector<std::string>& resource_crns) {
  if (resource_crns.empty()) {
    return BadField("resourceCrn", "present in each resource");
  }
  std::vector<RegistrationResult> out;
  for (const std::string& crn : resource_crns) {
    KW_ASSIGN_OR_RETURN(RegistrationResult r, Delete(ctx, key_id, crn));
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<ListRegistrationsResult> RegistrationManager::List(
    const RequestContext& ctx, const ListRegistrationsRequest& req) {
  KW_ASSIGN_OR_RETURN(
      iam::Reach reach,
      access_->Authorize(ctx, iam::Operation::kListRegistrations));
  KW_RETURN_IF_ERROR(CheckPaging(req.limit, req.offset));
  store::RegistrationQuery query;
  query.instance_id = ctx.instance_id;
  query.prevent_key_deletion = req.prevent_key_deletion;
  query.limit = req.limit;
  query.offset = req.offset;
  if (req.crn_query.has_value()) {
    // Parse errors already name the param (BAD_BODY_ERR).
    KW_ASSIGN_OR_RETURN(
        query.crn,
        keys::CrnPattern::Parse(*req.crn_query, !req.key_id.has_value()));
  }
  // A service sees its own registrations only (§11).
  if (ctx.principal.is_service) query.service_id = ctx.principal.id;

  ListRegistrationsResult result;
  absl::flat_hash_map<std::string, Key> keys_seen;
  if (req.key_id.has_value()) {
    KW_ASSIGN_OR_RETURN(Key key, access_->LoadKey(ctx, reach, *req.key_id));
    query.key_id = key.id;
    std::string id = key.id;
    keys_seen.emplace(std::move(id), std::move(key));
  } else {
    query.key_ring_id = ctx.key_ring_id;
    if (!reach.whole_instance) {
      // As for key lists: ring-scoped grants list their rings; key-level
      // grants list nothing here (the per-key list works for them).
      if (ctx.key_ring_id.has_value()) {
        if (!reach.ListsRing(*ctx.key_ring_id)) return result;
      } else if (reach.key_rings.empty()) {
        return result;
      } else {
        query.key_ring_ids = reach.key_rings;
      }
    }
  }
  KW_ASSIGN_OR_RETURN(std::vector<Registration> found,
                      store_->ListRegistrations(query));
  for (Registration& r : found) {
    auto it = keys_seen.find(r.key_id);
    if (it == keys_seen.end()) {
      absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, r.key_id);
      if (!key.ok()) continue;  // purged since the list was read
      it = keys_seen.emplace(r.key_id, *std::move(key)).first;
    }
    result.registrations.push_back(
        Present(std::move(r), it->second, ctx.principal.is_service));
  }
  if (req.total_count) {
    KW_ASSIGN_OR_RETURN(result.total, store_->CountRegistrations(query));
  }
  return result;
}

absl::Status RegistrationManager::AcknowledgeEvents(
    const RequestContext& ctx, const std::vector<EventAckRequest>& acks) {
  if (!ctx.principal.is_service) return ServiceOnly();
  KW_RETURN_IF_ERROR(
      access_->Authorize(ctx, iam::Operation::kListRegistrations).status());
  if (acks.empty()) {
    return BadField("resources", "one acknowledgement per resource");
  }
  absl::Time now = clock_->Now();
  for (const EventAckRequest& a : acks) {
    if (!IsUuid(a.event_id)) return BadField("eventId", "an event id (UUID)");
    if (std::find(std::begin(kAdopterKeyStates), std::end(kAdopterKeyStates),
                  a.adopter_key_state) == std::end(kAdopterKeyStates)) {
      return BadField("adopterKeyState",
                      "DEK_ENABLED, DEK_DISABLED or DEK_DESTROYED");
    }
  }
  for (const EventAckRequest& a : acks) {
    absl::StatusOr<keys::KeyEvent> event = store_->GetEvent(a.event_id);
    if (!event.ok() || event->service_id != ctx.principal.id ||
        event->instance_id != ctx.instance_id) {
      if (!event.ok() && !absl::IsNotFound(event.status())) {
        return event.status();
      }
      return DomainError(Reason::kNotFound,
                         StrCat("no event ", a.event_id,
                                " for this service in this instance"));
    }
    keys::EventAck ack;
    ack.event_id = a.event_id;
    ack.service_id = ctx.principal.id;
    ack.adopter_key_state = a.adopter_key_state;
    ack.time = a.timestamp.value_or(now);
    ack.delete_registrations = a.delete_registration;
    if (event->type == keys::KeyEventType::kRotate &&
        a.adopter_key_state == "DEK_ENABLED" && !a.rewrapped_key_version) {
      return BadField("keyStateData.rewrappedKeyVersion",
                      "the key version the service's DEKs are now wrapped "
                      "with, for an acknowledged rotation");
    }
    if (a.rewrapped_key_version.has_value()) {
      absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, event->key_id);
      if (key.ok() && !VersionIndex(*key, *a.rewrapped_key_version)) {
        return VersionInvalid(
            "`keyStateData.rewrappedKeyVersion` names no version of the key");
      }
      ack.rewrapped_key_version_id = *a.rewrapped_key_version;
    }
    absl::StatusOr<keys::KeyEvent> stored = store_->AcknowledgeEvent(ack, now);
    if (absl::IsNotFound(stored.status())) {
      return DomainError(Reason::kNotFound,
                         StrCat("no event ", a.event_id, " for this service"));
    }
    KW_RETURN_IF_ERROR(stored.status());
  }
  return absl::OkStatus();
}

}  // namespace keywarden::service
