#include "keywarden/service/access_control.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/keys/rules.h"

namespace keywarden::service {

AccessControl::AccessControl(store::Store* store,
                             const iam::AccessIndex* access,
                             const InstancePolicyIndex* network)
    : store_(store), access_(access), network_(network) {}

absl::Status AccessControl::NoAccess() {
  // The same whether the instance or key exists or not, so a caller cannot
  // probe other tenants' ids.
  return DomainError(Reason::kForbidden, "");
}

absl::Status AccessControl::Missing(const iam::Reach& reach) {
  // Only a caller who may see the whole instance learns that a key id does
  // not exist; to anyone else a missing key looks like one they may not use.
  if (reach.whole_instance) {
    return DomainError(Reason::kNotFound, "");
  }
  return NoAccess();
}

absl::StatusOr<iam::Reach> AccessControl::Authorize(const RequestContext& ctx,
                                                    iam::Operation op) const {
  // Clients hammer one key with one operation: remember the last answer per
  // thread while the index is unchanged, so the data plane takes no lock.
  struct Memo {
    const iam::AccessIndex* index = nullptr;
    uint64_t generation = 0;
    iam::Operation op{};
    std::string principal_id;
    std::string instance_id;
    iam::Reach reach;
  };
  thread_local Memo memo;
  uint64_t generation = access_->generation();
  const iam::Reach* reach;
  if (memo.index == access_ && memo.generation == generation &&
      memo.op == op && memo.principal_id == ctx.principal.id &&
      memo.instance_id == ctx.instance_id) {
    reach = &memo.reach;
  } else {
    memo = Memo{access_, generation, op, ctx.principal.id, ctx.instance_id,
                access_->ReachOf(ctx.principal, op, ctx.instance_id)};
    reach = &memo.reach;
  }
  if (reach->None()) return NoAccess();
  // Network policies restrict the instance's own users; integrated services
  // bypass them (§7.2, §15.2). Which one a call is depends on the grant that
  // covers its target: from a refused address only what authorizations
  // grant remains, and CheckCovers answers for a key outside it.
  if (network_ != nullptr && !ctx.principal.is_admin &&
      !reach->by_authorization.whole_instance) {
    absl::Status admitted = network_->Admit(ctx.instance_id, ctx.source_address);
    if (!admitted.ok()) {
      if (reach->by_authorization.None()) return admitted;
      iam::Reach narrowed;
      static_cast<iam::Scopes&>(narrowed) = reach->by_authorization;
      narrowed.by_authorization = reach->by_authorization;
      narrowed.network_refused = true;
      return narrowed;
    }
  }
  return *reach;
}

absl::Status AccessControl::RefuseServiceDeletion(
    const RequestContext& ctx, iam::Operation op,
    std::string_view key_id) const {
  if (!ctx.principal.is_service) return absl::OkStatus();
  // Where its authorizations apply, whatever their role: a KeyPurge
  // authorization does not purge either.
  iam::Scopes seen = access_->AuthorizedScopes(ctx.principal, ctx.instance_id);
  if (seen.None()) return absl::OkStatus();
  // `op` is one authorizations never grant: this reach is its policies'.
  iam::Reach allowed = access_->ReachOf(ctx.principal, op, ctx.instance_id);
  if (allowed.whole_instance) return absl::OkStatus();
  if (allowed.None() && seen.whole_instance) return ResourceOwner();
  // Some grants cover some keys: the ones covering this key decide. A key
  // that is not found is left to the caller's ordinary checks.
  absl::StatusOr<std::string> id = ResolveKeyId(ctx, allowed, key_id);
  if (!id.ok()) return absl::OkStatus();
  absl::StatusOr<keys::Key> key = store_->GetKey(ctx.instance_id, *id);
  if (!key.ok()) return absl::OkStatus();
  if (!allowed.Covers(key->key_ring_id, key->id) &&
      seen.Covers(key->key_ring_id, key->id)) {
    return ResourceOwner();
  }
  return absl::OkStatus();
}

absl::Status AccessControl::ResourceOwner() {
  return DomainError(Reason::kResourceOwner,
                     "the resource belongs to another service");
}

absl::StatusOr<std::string> AccessControl::ResolveKeyId(
    const RequestContext& ctx, const iam::Reach& reach,
    std::string_view key_id) const {
  if (IsUuid(key_id)) return absl::AsciiStrToLower(AbslView(key_id));
  if (!keys::IsIdentifierText(key_id, 2, 90)) return Missing(reach);
  absl::StatusOr<store::KeyAlias> alias =
      store_->GetKeyAlias(ctx.instance_id, key_id);
  if (absl::IsNotFound(alias.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(alias.status());
  return std::move(alias->key_id);
}

absl::Status AccessControl::CheckCovers(const RequestContext& ctx,
                                        const iam::Reach& reach,
                                        const keys::Key& key) const {
  if (!reach.Covers(key.key_ring_id, key.id)) {
    if (reach.network_refused && network_ != nullptr) {
      absl::Status admitted =
          network_->Admit(ctx.instance_id, ctx.source_address);
      if (!admitted.ok()) return admitted;
    }
    return NoAccess();
  }
  // X-Kms-Key-Ring on a key operation is a lookup hint: a key in another
  // ring is not found there.
  if (ctx.key_ring_id.has_value() && *ctx.key_ring_id != key.key_ring_id) {
    return Missing(reach);
  }
  return absl::OkStatus();
}

absl::StatusOr<keys::Key> AccessControl::LoadKey(const RequestContext& ctx,
                                                 const iam::Reach& reach,
                                                 std::string_view key_id) const {
  KW_ASSIGN_OR_RETURN(std::string id, ResolveKeyId(ctx, reach, key_id));
  absl::StatusOr<keys::Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(CheckCovers(ctx, reach, *key));
  return key;
}

}  // namespace keywarden::service
