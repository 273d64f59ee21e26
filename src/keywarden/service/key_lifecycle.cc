// KeyManager: purge, dual-authorization deletion, sync, key policies and the
// background jobs (expiry, automatic rotation, automatic purge). The key
// operations and the data plane are in key_manager.cc.

#include <utility>

#include "absl/strings/str_cat.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/fields.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/service/key_manager_internal.h"
#include "keywarden/service/sealed_write.h"

namespace keywarden::service {
namespace {

using key_manager_internal::Conflict;
using key_manager_internal::EventOf;
using key_manager_internal::NewPolicyMeta;
using key_manager_internal::RootKeyRequired;
using key_manager_internal::SystemContext;
using keys::Action;
using keys::Key;
using keys::KeyState;

absl::Status NotDualAuth() {
  return DomainError(Reason::kNotDualAuth,
                     "enable its dualAuthDelete policy first");
}

// The work lists of the jobs are bounded per run; what is left waits for
// the next run.
constexpr int64_t kJobBatch = 1000;

}  // namespace

absl::StatusOr<KeyResult> KeyManager::PurgeKey(const RequestContext& ctx,
                                               std::string_view key_id) {
  // KeyPurge only: no other role implies it (§15.1), and purging is
  // deleting, which a service never does through an authorization (§15.2).
  KW_RETURN_IF_ERROR(
      access_->RefuseServiceDeletion(ctx, iam::Operation::kPurgeKey, key_id));
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kPurgeKey));
  KW_ASSIGN_OR_RETURN(const std::string id,
                      access_->ResolveKeyId(ctx, reach, key_id));
  absl::MutexLock lock(&LockFor(ctx.instance_id, id));
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return AccessControl::Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(access_->CheckCovers(ctx, reach, *key));
  absl::Time now = clock_->Now();
  KW_RETURN_IF_ERROR(keys::CheckStateAllows(Action::kPurge, key->state));
  KW_RETURN_IF_ERROR(keys::CheckPurgeAllowed(*key, now, options_.timers));
  KW_RETURN_IF_ERROR(store_->PurgeKey(
      ctx.instance_id, id, key->last_update_time,
      MakeAudit(ctx, now, "kms.secrets.purge", KeyTarget(*key),
                StrCat("deleted ", AuditTime(*key->deletion_time),
                       "; purge allowed from ",
                       AuditTime(*key->deletion_time + options_.timers.purge_delay)))));
  data_plane_->Invalidate(ctx.instance_id, id);
  return Present(*std::move(key), now);
}

absl::Status KeyManager::SetKeyForDeletion(const RequestContext& ctx,
                                           std::string_view key_id) {
  return SetDeletionApproval(ctx, key_id, true);
}

absl::Status KeyManager::UnsetKeyForDeletion(const RequestContext& ctx,
                                             std::string_view key_id) {
  return SetDeletionApproval(ctx, key_id, false);
}

absl::Status KeyManager::SetDeletionApproval(const RequestContext& ctx,
                                             std::string_view key_id,
                                             bool approve) {
  KW_ASSIGN_OR_RETURN(
      iam::Reach reach,
      access_->Authorize(ctx, iam::Operation::kSetKeyForDeletion));
  return MutateKey(
             ctx, reach, key_id,
             [&](Key& key, absl::Time now,
                 store::KeyUpdate& update) -> absl::Status {
               if (!key.DualAuthEnabled()) return NotDualAuth();
               KW_RETURN_IF_ERROR(keys::CheckStateAllows(
                   Action::kSetForDeletion, keys::EffectiveState(key, now)));
               std::string details;
               if (approve) {
                 // A later approval replaces an earlier one (and its clock).
                 key.deletion_authorized_by = ctx.principal.id;
                 key.deletion_authorization_expiration =
                     now + options_.timers.dual_auth_window;
                 details = StrCat(
                     "authID ", ctx.principal.id, "; authExpiration ",
                     AuditTime(*key.deletion_authorization_expiration));
               } else {
                 details = key.deletion_authorized_by.empty()
                               ? std::string("no approval was pending")
                               : StrCat("removed the approval of ",
                                        key.deletion_authorized_by);
                 key.deletion_authorized_by.clear();
                 key.deletion_authorization_expiration.reset();
               }
               update.audit = MakeAudit(
                   ctx, now,
                   approve ? "kms.secrets.setkeyfordeletion"
                           : "kms.secrets.unsetkeyfordeletion",
                   KeyTarget(key), details);
               return absl::OkStatus();
             })
      .status();
}

absl::Status KeyManager::SyncKey(const RequestContext& ctx,
                                 std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kSync));
  return MutateKey(ctx, reach, key_id,
                   [&](Key& key, absl::Time now,
                       store::KeyUpdate& update) -> absl::Status {
                     KW_RETURN_IF_ERROR(
                         keys::CheckSyncAllowed(key, now, options_.timers));
                     key.last_sync_time = now;
                     update.event = EventOf(keys::KeyEventType::kSync, key, now);
                     return absl::OkStatus();
                   })
      .status();
}

absl::StatusOr<KeyPoliciesResult> KeyManager::GetKeyPolicies(
    const RequestContext& ctx, std::string_view key_id,
    std::optional<KeyPolicyType> selected) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kPolicies));
  KW_ASSIGN_OR_RETURN(Key key, access_->LoadKey(ctx, reach, key_id));
  KeyPoliciesResult result;
  result.key_id = key.id;
  if (!selected || *selected == KeyPolicyType::kRotation) {
    result.rotation = key.rotation_policy;
  }
  if (!selected || *selected == KeyPolicyType::kDualAuthDelete) {
    result.dual_auth = key.dual_auth_policy;
  }
  return result;
}

absl::StatusOr<KeyPoliciesResult> KeyManager::PutKeyPolicies(
    const RequestContext& ctx, std::string_view key_id,
    const PutKeyPoliciesRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kPolicies));
  if (!req.rotation.has_value() && !req.dual_auth_delete.has_value()) {
    return BadField("resources",
                    "a policy: a `rotation` or a `dualAuthDelete` object");
  }
  if (req.selected.has_value() &&
      (*req.selected == KeyPolicyType::kRotation
           ? !req.rotation.has_value() || req.dual_auth_delete.has_value()
           : !req.dual_auth_delete.has_value() || req.rotation.has_value())) {
    return DomainError(Reason::kBodyQueryParamMismatch,
                       "?policy= names the one policy the body sets");
  }
  if (req.rotation.has_value() && req.rotation->interval_months.has_value() &&
      (*req.rotation->interval_months < keys::kMinRotationIntervalMonths ||
       *req.rotation->interval_months > keys::kMaxRotationIntervalMonths)) {
    return BadField("interval_month", "an integer from 1 to 12");
  }
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(
          ctx, reach, key_id,
          [&](Key& key, absl::Time now,
              store::KeyUpdate& update) -> absl::Status {
            if (key.state == KeyState::kDestroyed) {
              return DomainError(Reason::kKeyActionInvalidState,
                                 "the policies of a deleted key cannot "
                                 "change");
            }
            std::string details;
            if (req.rotation.has_value()) {
              if (!key.IsRoot()) {
                return DomainError(
                    Reason::kKeyRootRequired,
                    "Rotation policy cannot be set on a standard key");
              }
              if (req.rotation->enabled && key.imported) {
                return BadField("rotation",
                                "disabled for an imported key: only keys "
                                "whose material Keywarden generates rotate "
                                "automatically");
              }
              keys::RotationPolicy p;
              if (key.rotation_policy.has_value()) {
                p = *key.rotation_policy;
                p.meta.last_update_time = now;
                p.meta.updated_by = ctx.principal.id;
              } else {
                p.meta = NewPolicyMeta(ctx, now);
              }
              p.enabled = req.rotation->enabled;
              if (req.rotation->interval_months.has_value()) {
                p.interval_months = *req.rotation->interval_months;
              }
              key.rotation_policy = p;
              StrAppend(&details, "rotation ",
                        p.enabled ? StrCat("every ", p.interval_months,
                                           " month(s)")
                                  : std::string("disabled"));
            }
            if (req.dual_auth_delete.has_value()) {
              const bool was = key.DualAuthEnabled();
              if (was && !*req.dual_auth_delete) {
                return Conflict(
                    "dualAuthDelete cannot be disabled once it is enabled on "
                    "a key");
              }
              if (key.dual_auth_policy.has_value()) {
                key.dual_auth_policy->enabled = *req.dual_auth_delete;
                key.dual_auth_policy->meta.last_update_time = now;
                key.dual_auth_policy->meta.updated_by = ctx.principal.id;
              } else {
                key.dual_auth_policy =
                    keys::DualAuthPolicy{NewPolicyMeta(ctx, now),
                                         *req.dual_auth_delete};
              }
              StrAppend(&details, details.empty() ? "" : "; ",
                        "dualAuthDelete ",
                        *req.dual_auth_delete ? "enabled" : "disabled");
            }
            update.audit = MakeAudit(ctx, now, "kms.policies.write",
                                     KeyTarget(key), details);
            return absl::OkStatus();
          }));
  KeyPoliciesResult result;
  result.key_id = key.id;
  if (req.rotation.has_value()) result.rotation = key.rotation_policy;
  if (req.dual_auth_delete.has_value()) result.dual_auth = key.dual_auth_policy;
  return result;
}

// --- Background jobs ---------------------------------------------------------

absl::StatusOr<int> KeyManager::SweepExpiredKeys() {
  absl::Time now = clock_->Now();
  KW_ASSIGN_OR_RETURN(auto expired, store_->ListExpiredKeys(now, kJobBatch));
  int moved = 0;
  for (const auto& [instance_id, key_id] : expired) {
    RequestContext ctx = SystemContext(instance_id);
    iam::Reach system;  // the sweep acts for the service itself
    system.whole_instance = true;
    absl::StatusOr<Key> key = MutateKey(
        ctx, system, key_id,
        [](Key& key, absl::Time now, store::KeyUpdate&) -> absl::Status {
          if (keys::EffectiveState(key, now) != KeyState::kDeactivated ||
              key.state == KeyState::kDeactivated) {
            return absl::CancelledError("no longer due");
          }
          key.state = KeyState::kDeactivated;
          return absl::OkStatus();
        });
    if (key.ok()) ++moved;
  }
  return moved;
}

absl::Status KeyManager::RotateForPolicy(std::string_view instance_id,
                                         std::string_view key_id) {
  RequestContext ctx = SystemContext(instance_id);
  iam::Reach system;
  system.whole_instance = true;
  // As Rotate: again under the database's key if a rekey elsewhere retired
  // this node's (sealed_write.h).
  return WithCurrentMasterKey(*master_key_, [&] {
    return MutateKey(
             ctx, system, key_id,
             [&](Key& key, absl::Time now,
                 store::KeyUpdate& update) -> absl::Status {
               // Re-checked under the lock: the key may have changed since
               // the work list was read.
               std::optional<absl::Time> due = keys::NextAutomaticRotation(key);
               if (!key.IsRoot() || key.imported || !due || *due > now ||
                   keys::EffectiveState(key, now) != KeyState::kActive ||
                   !keys::CheckRotationAllowed(key, now, options_.timers)
                        .ok()) {
                 return absl::CancelledError("no longer due");
               }
               std::string previous = key.Primary().id;
               KW_RETURN_IF_ERROR(AddVersion(key, now, std::nullopt));
               update.event =
                   EventOf(keys::KeyEventType::kRotate, key, now, previous);
               update.audit = MakeAudit(
                   ctx, now, "kms.secrets.rotate", KeyTarget(key),
                   StrCat("automatic rotation (every ",
                          key.rotation_policy->interval_months,
                          " month(s)); new version ", key.Primary().id));
               return absl::OkStatus();
             })
        .status();
  });
}

absl::StatusOr<int> KeyManager::RotateDueKeys() {
  KW_ASSIGN_OR_RETURN(auto due,
                      store_->ListKeysDueForRotation(clock_->Now(), kJobBatch));
  int rotated = 0;
  absl::Status first_error;
  for (const auto& [instance_id, key_id] : due) {
    absl::Status s = RotateForPolicy(instance_id, key_id);
    if (s.ok()) {
      ++rotated;
    } else if (!absl::IsCancelled(s) && first_error.ok()) {
      first_error = s;
    }
  }
  if (rotated == 0 && !first_error.ok()) return first_error;
  return rotated;
}

absl::StatusOr<int> KeyManager::PurgeDueKeys() {
  absl::Time now = clock_->Now();
  KW_ASSIGN_OR_RETURN(auto due,
                      store_->ListKeysDeletedBefore(
                          now - options_.timers.auto_purge_after, kJobBatch));
  int purged = 0;
  for (const auto& [instance_id, key_id] : due) {
    RequestContext ctx = SystemContext(instance_id);
    absl::MutexLock lock(&LockFor(instance_id, key_id));
    absl::StatusOr<Key> key = store_->GetKey(instance_id, key_id);
    if (!key.ok() || key->state != KeyState::kDestroyed ||
        !key->deletion_time ||
        now - *key->deletion_time < options_.timers.auto_purge_after) {
      continue;  // restored or purged meanwhile
    }
    absl::Status s = store_->PurgeKey(
        instance_id, key_id, key->last_update_time,
        MakeAudit(ctx, now, "kms.secrets.purge", KeyTarget(*key),
                  StrCat("automatic purge; deleted ",
                         AuditTime(*key->deletion_time))));
    if (s.ok()) {
      data_plane_->Invalidate(instance_id, key_id);
      ++purged;
    }
  }
  return purged;
}

}  // namespace keywarden::service
