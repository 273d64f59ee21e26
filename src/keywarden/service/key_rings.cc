// KeyManager's key rings (keyprotect-api.md §9) and key aliases (§10).
#include "keywarden/service/key_manager.h"

#include "absl/strings/match.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/rules.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/fields.h"
#include "keywarden/service/key_manager_internal.h"

namespace keywarden::service {
namespace key_manager_internal {
namespace {

absl::Status InvalidRingId(std::string_view id) {
  return DomainError(Reason::kBadRequest,
               StrCat("a key ring id must be 2 to 100 "
                      "characters from A-Z, a-z, 0-9, `_` and `-`; got `",
                      id.substr(0, 100), "`"));
}

}  // namespace

// Key ring ids: 2-100 characters from [A-Za-z0-9_-], case-sensitive. Key
// Protect documents "alphanumeric" and leaves punctuation unconfirmed
// (keyprotect-api.md §9); `-` and `_` are allowed as for aliases.
bool IsValidRingId(std::string_view id) {
  return keys::IsIdentifierText(id, 2, 100);
}

// keyprotect-api.md §10: 2-90 characters from [A-Za-z0-9_-], not a UUID,
// not a reserved word (compared in any case, so `Keys` is refused too).
absl::Status ValidateAlias(std::string_view alias, std::string_view field) {
  static constexpr std::string_view kReserved[] = {
      "allowed_ip", "key",      "keys",          "metadata", "policy",
      "policies",   "registration", "registrations", "ring",  "rings",
      "rotate",     "wrap",     "unwrap",        "rewrap",   "version",
      "versions"};
  std::string_view problem;
  if (!keys::IsIdentifierText(alias, 2, 90)) {
    problem = "2 to 90 characters from A-Z, a-z, 0-9, `_` and `-`";
  } else if (IsUuid(alias)) {
    problem = "not a UUID";
  } else {
    for (std::string_view word : kReserved) {
      if (absl::EqualsIgnoreCase(AbslView(alias), AbslView(word))) {
        problem = "not a reserved word";
        break;
      }
    }
  }
  if (problem.empty()) return absl::OkStatus();
  if (field.empty()) {
    return DomainError(Reason::kBadRequest,
                       StrCat("a key alias must be ", problem));
  }
  return FieldError(Reason::kInvalidField, {field},
                    StrCat("aliases of ", problem));
}

}  // namespace key_manager_internal

using key_manager_internal::Conflict;
using key_manager_internal::InvalidRingId;
using key_manager_internal::IsValidRingId;
using key_manager_internal::kMaxAliasesPerKey;
using key_manager_internal::kMaxKeyRings;
using key_manager_internal::ValidateAlias;
using keys::Key;

absl::Status KeyManager::CreateKeyRing(const RequestContext& ctx,
                                       std::string_view ring_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kCreateKeyRing));
  // A new ring is in no ring-scoped grant: creating one takes the instance.
  if (!reach.whole_instance) return AccessControl::NoAccess();
  if (!IsValidRingId(ring_id)) return InvalidRingId(ring_id);
  if (ring_id == "default") {
    return Conflict("the key ring `default` always exists");
  }
  store::KeyRing ring;
  ring.instance_id = ctx.instance_id;
  ring.id = std::string(ring_id);
  ring.creation_time = clock_->Now();
  ring.created_by = ctx.principal.id;
  absl::Status s = store_->CreateKeyRing(
      ring, kMaxKeyRings - 1,
      MakeAudit(ctx, ring.creation_time, "kms.keyrings.create",
                RingTarget(ctx.instance_id, ring_id)));
  if (absl::IsAlreadyExists(s)) {
    return Conflict(StrCat("the key ring `", ring_id, "` already exists"));
  }
  if (absl::IsResourceExhausted(s)) {
    return Conflict(StrCat("an instance holds at most ", kMaxKeyRings,
                           " key rings, `default` included"));
  }
  return s;
}

absl::StatusOr<ListKeyRingsResult> KeyManager::ListKeyRings(
    const RequestContext& ctx, const ListKeyRingsRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kListKeyRings));
  KW_RETURN_IF_ERROR(CheckPaging(req.limit, req.offset));
  KW_ASSIGN_OR_RETURN(std::vector<store::KeyRing> stored,
                      store_->ListKeyRings(ctx.instance_id));
  std::vector<store::KeyRing> visible;
  store::KeyRing default_ring;
  default_ring.id = "default";
  if (reach.whole_instance || reach.ListsRing("default")) {
    visible.push_back(default_ring);
  }
  for (store::KeyRing& r : stored) {
    if (reach.whole_instance || reach.ListsRing(r.id)) {
      visible.push_back(std::move(r));
    }
  }
  ListKeyRingsResult result;
  const int64_t n = static_cast<int64_t>(visible.size());
  for (int64_t i = req.offset; i < n && i - req.offset < req.limit; ++i) {
    result.rings.push_back(std::move(visible[i]));
  }
  if (req.total_count) result.total = n;
  return result;
}

absl::Status KeyManager::DeleteKeyRing(const RequestContext& ctx,
                                       std::string_view ring_id, bool force) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kDeleteKeyRing));
  if (!reach.whole_instance && !reach.ListsRing(ring_id)) return AccessControl::NoAccess();
  if (ring_id == "default") {
    return Conflict("the key ring `default` cannot be deleted");
  }
  auto not_found = [&] {
    return DomainError(Reason::kNotFound,
                       StrCat("key ring `", ring_id.substr(0, 100),
                              "` does not exist"));
  };
  if (!IsValidRingId(ring_id)) return not_found();
  const absl::Time now = clock_->Now();
  absl::StatusOr<std::vector<std::string>> moved = store_->DeleteKeyRing(
      ctx.instance_id, ring_id, force, now,
      MakeAudit(ctx, now, "kms.keyrings.delete",
                RingTarget(ctx.instance_id, ring_id),
                force ? "force: destroyed keys move to default" : ""));
  if (absl::IsNotFound(moved.status())) return not_found();
  if (absl::IsFailedPrecondition(moved.status())) {
    return Conflict(
        force ? "the key ring holds keys that are not destroyed"
              : "the key ring holds keys; delete them first, or pass "
                "force=true to move destroyed keys to `default`");
  }
  KW_RETURN_IF_ERROR(moved.status());
  for (const std::string& id : *moved) data_plane_->Invalidate(ctx.instance_id, id);
  return absl::OkStatus();
}

absl::StatusOr<store::KeyAlias> KeyManager::CreateKeyAlias(
    const RequestContext& ctx, std::string_view key_id,
    std::string_view alias) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kCreateAlias));
  KW_ASSIGN_OR_RETURN(Key key, access_->LoadKey(ctx, reach, key_id));
  KW_RETURN_IF_ERROR(ValidateAlias(alias, ""));
  store::KeyAlias record;
  record.instance_id = ctx.instance_id;
  record.alias = std::string(alias);
  record.key_id = key.id;
  record.creation_time = clock_->Now();
  record.created_by = ctx.principal.id;
  absl::Status s = store_->CreateKeyAlias(
      record, kMaxAliasesPerKey,
      MakeAudit(ctx, record.creation_time, "kms.secrets.createalias",
                KeyTarget(key), StrCat("alias ", alias)));
  if (absl::IsAlreadyExists(s)) {
    return Conflict(StrCat("the alias `", alias,
                           "` already names a key in this instance"));
  }
  if (absl::IsResourceExhausted(s)) {
    return Conflict(StrCat("a key has at most ", kMaxAliasesPerKey,
                           " aliases"));
  }
  if (absl::IsNotFound(s)) return AccessControl::Missing(reach);  // purged meanwhile
  KW_RETURN_IF_ERROR(s);
  data_plane_->Invalidate(ctx.instance_id, key.id);
  record.creation_time =
      absl::FromUnixMicros(absl::ToUnixMicros(record.creation_time));
  return record;
}

absl::Status KeyManager::DeleteKeyAlias(const RequestContext& ctx,
                                        std::string_view key_id,
                                        std::string_view alias) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kDeleteAlias));
  KW_ASSIGN_OR_RETURN(Key key, access_->LoadKey(ctx, reach, key_id));
  absl::Status s = store_->DeleteKeyAlias(
      ctx.instance_id, key.id, alias,
      MakeAudit(ctx, clock_->Now(), "kms.secrets.deletealias", KeyTarget(key),
                StrCat("alias ", alias)));
  if (absl::IsNotFound(s)) {
    return DomainError(Reason::kNotFound, "the key has no such alias");
  }
  KW_RETURN_IF_ERROR(s);
  data_plane_->Invalidate(ctx.instance_id, key.id);
  return absl::OkStatus();
}

}  // namespace keywarden::service
