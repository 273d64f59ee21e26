#include "keywarden/service/key_manager.h"
#include "keywarden/common/strings.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/keys/search.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/fields.h"
#include "keywarden/service/key_manager_internal.h"
#include "keywarden/service/sealed_write.h"

namespace keywarden::service {
namespace {

using key_manager_internal::Conflict;
using key_manager_internal::EventOf;
using key_manager_internal::NewPolicyMeta;
using key_manager_internal::kMaxAliasesPerKey;
using key_manager_internal::RootKeyRequired;
using key_manager_internal::ValidateAlias;
using key_manager_internal::IsValidRingId;
using keys::Action;
using keys::Key;
using keys::KeyState;
using keys::KeyVersion;

VersionInfo InfoOf(const KeyVersion& v) { return {v.id, v.creation_time}; }

// Whether GET /keys/{id} returns a standard key's payload in `state`. The
// key itself is readable in every state (keyprotect-api.md §3.4, §5); its
// material only where Key Protect lets material be used: Active, and
// Deactivated (expired: still usable to decrypt, as unwrap is). Not
// Destroyed (deleted: metadata is kept until purge, material is not
// served), nor Pre-activation or Suspended, where no use is allowed.
bool PayloadReadable(KeyState state) {
  return state == KeyState::kActive || state == KeyState::kDeactivated;
}

absl::Time NextUpdateTime(const Key& key, absl::Time now) {
  // Strictly later than the stored value: it is the optimistic-concurrency
  // token of UpdateKey.
  return std::max(now, key.last_update_time + absl::Microseconds(1));
}

}  // namespace

KeyManager::KeyManager(KeyManagerDeps deps, KeyManagerOptions options)
    : store_(deps.store),
      master_key_(deps.master_key),
      access_(deps.access),
      instance_policies_(deps.instance_policies),
      import_tokens_(deps.import_tokens),
      clock_(deps.clock),
      on_events_(std::move(deps.on_events)),
      data_plane_(deps.data_plane),
      options_(options) {}

absl::Mutex& KeyManager::LockFor(std::string_view instance_id,
                                 std::string_view key_id) {
  return key_locks_[absl::HashOf(instance_id, key_id) % key_locks_.size()];
}

absl::StatusOr<KeyVersion> KeyManager::SealVersion(
    std::string_view instance_id, std::string_view key_id,
    std::string version_id, absl::Time now, const SecretBytes& material) {
  KeyVersion version;
  version.creation_time = now;
  version.master_key_id = master_key_->id();
  KW_ASSIGN_OR_RETURN(
      version.sealed_material,
      master_key_->Encrypt(version.master_key_id, material.span(),
                           keys::MaterialAad(instance_id, key_id, version_id)));
  version.id = std::move(version_id);
  return version;
}

KeyResult KeyManager::Present(Key key, absl::Time now) const {
  key.state = keys::EffectiveState(key, now);
  // A lapsed approval no longer stands (§14): shown as none.
  if (!keys::DeletionAuthorizationValid(key, now)) {
    key.deletion_authorized_by.clear();
    key.deletion_authorization_expiration.reset();
  }
  for (KeyVersion& v : key.versions) v.sealed_material.clear();
  KeyResult result;
  if (key.state == KeyState::kDestroyed && key.deletion_time.has_value()) {
    const keys::Timers& t = options_.timers;
    DeletionInfo info;
    info.restore_expiration = *key.deletion_time + t.restore_window;
    info.restore_allowed = now >= *key.deletion_time + t.state_change_cooldown &&
                           now <= info.restore_expiration;
    info.purge_allowed_from = *key.deletion_time + t.purge_delay;
    info.purge_allowed = now >= info.purge_allowed_from;
    info.purge_scheduled_on = *key.deletion_time + t.auto_purge_after;
    result.deletion = info;
  }
  result.key = std::move(key);
  return result;
}

absl::StatusOr<bool> KeyManager::RingExists(const RequestContext& ctx,
                                            std::string_view ring_id) {
  if (ring_id == "default") return true;
  if (!IsValidRingId(ring_id)) return false;
  absl::StatusOr<store::KeyRing> ring =
      store_->GetKeyRing(ctx.instance_id, ring_id);
  if (absl::IsNotFound(ring.status())) return false;
  KW_RETURN_IF_ERROR(ring.status());
  return true;
}

absl::StatusOr<Key> KeyManager::MutateKey(const RequestContext& ctx,
                                          const iam::Reach& reach,
                                          std::string_view key_id,
                                          const Mutation& mutate) {
  KW_ASSIGN_OR_RETURN(const std::string id,
                      access_->ResolveKeyId(ctx, reach, key_id));
  absl::MutexLock lock(&LockFor(ctx.instance_id, id));
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return AccessControl::Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(access_->CheckCovers(ctx, reach, *key));
  absl::Time now = clock_->Now();
  absl::Time expected = key->last_update_time;
  store::KeyUpdate update;
  KW_RETURN_IF_ERROR(mutate(*key, now, update));
  key->last_update_time = NextUpdateTime(*key, now);
  absl::Status stored = store_->UpdateKey(*key, expected, update);
  if (absl::IsFailedPrecondition(stored) &&
      update.registrations != store::RegistrationRule::kKeep) {
    // A registration was created after the check under the lock (another
    // node, or a service racing the delete): the store refused atomically.
    return Error(update.registrations ==
                         store::RegistrationRule::kRefuseIfPrevented
                     ? Reason::kPreventKeyDeletion
                     : Reason::kProtectedResource,
                 "Key is protecting one or more cloud resources: a "
                 "registration was added meanwhile; review the key's "
                 "registrations and try again");
  }
  KW_RETURN_IF_ERROR(stored);
  data_plane_->Invalidate(ctx.instance_id, id);
  if (update.event.has_value() && on_events_) on_events_();
  return key;
}

namespace {

absl::Status ImportAccessDenied(std::string_view what) {
  return DomainError(Reason::kKeyCreateImportAccess, what);
}

}  // namespace

absl::StatusOr<std::optional<KeyManager::SuppliedMaterial>>
KeyManager::ReadMaterial(const RequestContext& ctx, bool root,
                         const std::optional<Decoded<SecretBytes>>& payload,
                         const std::optional<Decoded<SecretBytes>>& encrypted_nonce,
                         const std::optional<Decoded<SecretBytes>>& iv,
                         const std::optional<std::string>& encryption_algorithm) {
  const bool secure = encrypted_nonce.has_value() || iv.has_value();
  if (!payload.has_value() && !secure) return std::nullopt;
  std::shared_ptr<const InstanceSettings> settings =
      instance_policies_ ? instance_policies_->Get(ctx.instance_id) : nullptr;
  const keys::InstancePolicy* access =
      settings ? settings->Enabled(keys::InstancePolicyType::kKeyCreateImportAccess)
               : nullptr;
  SuppliedMaterial out;
  if (secure) {
    // keyprotect-api.md §8: both nonce and iv, the RSA-OAEP payload, root
    // keys only, SHA-256 OAEP only (SHA-1 is an HPCS variant).
    if (!encrypted_nonce.has_value()) {
      return BadField("encryptedNonce", "present together with `iv`");
    }
    if (!iv.has_value()) {
      return BadField("iv", "present together with `encryptedNonce`");
    }
    if (!payload.has_value()) {
      return FieldError(Reason::kKeyPayloadRequired, {"payload"},
                        "the key material encrypted with the import token's "
                        "public key");
    }
    if (!root) {
      return BadField("encryptedNonce",
                      "absent: secure import with an import token is for root "
                      "keys");
    }
    if (encryption_algorithm.has_value() &&
        *encryption_algorithm != "RSAES_OAEP_SHA_256") {
      return BadField("encryptionAlgorithm", "RSAES_OAEP_SHA_256");
    }
    if (access != nullptr && !access->key_create_import_access.enforce_token &&
        !access->key_create_import_access.import_root_key) {
      return ImportAccessDenied("importing root keys is not allowed");
    }
    if (import_tokens_ == nullptr) {
      return DomainError(Reason::kNotImplemented,
                         "secure import is not configured");
    }
    KW_ASSIGN_OR_RETURN(out.bytes,
                        import_tokens_->OpenSecureImport(
                            ctx.instance_id, *payload, *encrypted_nonce, *iv));
    out.via_token = true;
    return out;
  }
  if (access != nullptr) {
    const keys::KeyCreateImportAccess& a = access->key_create_import_access;
    if (a.enforce_token) {
      return ImportAccessDenied(
          "the instance accepts key material only through an import token");
    }
    if (root ? !a.import_root_key : !a.import_standard_key) {
      return ImportAccessDenied(root ? "importing root keys is not allowed"
                                     : "importing standard keys is not "
                                       "allowed");
    }
  }
  KW_RETURN_IF_ERROR(payload->status());
  out.bytes = **payload;
  return out;
}

absl::Status KeyManager::AddVersion(
    Key& key, absl::Time now, const std::optional<SuppliedMaterial>& supplied) {
  SecretBytes material;
  if (key.imported) {
    if (!supplied.has_value()) {
      return DomainError(Reason::kKeyPayloadRequired,
                         "a key imported with its material rotates only with "
                         "new material",
                         "payload");
    }
    if (!keys::IsValidRootKeySize(supplied->bytes.size())) {
      return BadField("payload",
                      "16, 24 or 32 bytes of root key material, base64 "
                      "encoded");
    }
    material = supplied->bytes;
  } else {
    if (supplied.has_value()) {
      return BadField("payload",
                      "absent for a key whose material Keywarden generated");
    }
    material = crypto::RandomSecret(keys::kGeneratedRootKeySize);
  }
  KW_ASSIGN_OR_RETURN(KeyVersion version,
                      SealVersion(key.instance_id, key.id, NewUuid(), now,
                                  material));
  key.versions.push_back(std::move(version));
  key.material_bits = static_cast<int>(material.size() * 8);
  key.last_rotate_time = now;
  return absl::OkStatus();
}

absl::StatusOr<KeyResult> KeyManager::CreateKey(const RequestContext& ctx,
                                                const CreateKeyRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kCreateKey));
  const std::string ring = ctx.key_ring_id.value_or("default");
  if (!reach.ListsRing(ring)) return AccessControl::NoAccess();
  const bool overrides =
      req.rotation.has_value() || req.dual_auth_delete.has_value();
  if (overrides) {
    // A key's own policies are a Manager's to set (§3.2, §15.1).
    KW_ASSIGN_OR_RETURN(iam::Reach managers,
                        access_->Authorize(ctx, iam::Operation::kPolicies));
    if (!managers.ListsRing(ring)) return AccessControl::NoAccess();
  }
  KW_RETURN_IF_ERROR(keys::ValidateName(req.name));
  if (req.description.has_value()) {
    KW_RETURN_IF_ERROR(keys::ValidateDescription(*req.description));
  }
  KW_RETURN_IF_ERROR(keys::ValidateTags(req.tags));
  if (static_cast<int64_t>(req.aliases.size()) > kMaxAliasesPerKey) {
    return FieldError(Reason::kInvalidField, {"aliases"},
                      StrCat("at most ", kMaxAliasesPerKey, " aliases"));
  }
  for (size_t i = 0; i < req.aliases.size(); ++i) {
    KW_RETURN_IF_ERROR(ValidateAlias(req.aliases[i], "aliases"));
    if (std::find(req.aliases.begin(), req.aliases.begin() + i,
                  req.aliases[i]) != req.aliases.begin() + i) {
      return FieldError(Reason::kInvalidField, {"aliases"},
                        "aliases without duplicates");
    }
  }
  const bool root = !req.extractable;
  if (req.rotation.has_value()) {
    if (!root) {
      return DomainError(Reason::kKeyRootRequired,
                         "Rotation policy cannot be set on a standard key");
    }
    if (req.rotation->enabled && req.payload.has_value()) {
      return BadField("rotation",
                      "disabled for an imported key: only keys whose "
                      "material Keywarden generates rotate automatically");
    }
    if (req.rotation->interval_months.has_value() &&
        (*req.rotation->interval_months < keys::kMinRotationIntervalMonths ||
         *req.rotation->interval_months > keys::kMaxRotationIntervalMonths)) {
      return BadField("interval_month", "an integer from 1 to 12");
    }
  }
  absl::Time now = clock_->Now();
  if (req.expiration_time.has_value() && *req.expiration_time <= now) {
    return BadField("expirationDate", "a date in the future");
  }

  KW_ASSIGN_OR_RETURN(
      std::optional<SuppliedMaterial> supplied,
      ReadMaterial(ctx, root, req.payload, req.encrypted_nonce, req.iv,
                   req.encryption_algorithm));
  std::shared_ptr<const InstanceSettings> settings =
      instance_policies_ ? instance_policies_->Get(ctx.instance_id) : nullptr;
  SecretBytes material;
  if (supplied.has_value()) {
    material = std::move(supplied->bytes);
    if (root && !keys::IsValidRootKeySize(material.size())) {
      return BadField("payload",
                      "16, 24 or 32 bytes of root key material, base64 "
                      "encoded");
    }
    if (!root &&
        (material.empty() || material.size() > keys::kMaxStandardPayload)) {
      return BadField("payload", StrCat("1 to ", keys::kMaxStandardPayload,
                                        " bytes, base64 encoded"));
    }
  } else {
    if (const keys::InstancePolicy* access =
            settings ? settings->Enabled(
                           keys::InstancePolicyType::kKeyCreateImportAccess)
                     : nullptr) {
      const keys::KeyCreateImportAccess& a = access->key_create_import_access;
      if (root ? !a.create_root_key : !a.create_standard_key) {
        return ImportAccessDenied(root ? "creating root keys is not allowed"
                                       : "creating standard keys is not "
                                         "allowed");
      }
    }
    material = crypto::RandomSecret(root ? keys::kGeneratedRootKeySize
                                         : keys::kGeneratedStandardKeySize);
  }

  KW_ASSIGN_OR_RETURN(bool ring_exists, RingExists(ctx, ring));
  if (!ring_exists) {
    return DomainError(Reason::kNotFound,
                       StrCat("key ring `", ring.substr(0, 100),
                              "` does not exist"));
  }
  for (const std::string& alias : req.aliases) {
    absl::StatusOr<store::KeyAlias> taken =
        store_->GetKeyAlias(ctx.instance_id, alias);
    if (taken.ok()) {
      return Conflict(StrCat("the alias `", alias,
                             "` already names a key in this instance"));
    }
    if (!absl::IsNotFound(taken.status())) return taken.status();
  }
  Key key;
  key.instance_id = ctx.instance_id;
  key.id = NewUuid();
  key.name = req.name;
  key.description = req.description.value_or("");
  key.tags = req.tags;
  key.key_ring_id = ring;
  key.extractable = req.extractable;
  key.imported = supplied.has_value();
  key.state = KeyState::kActive;
  key.material_bits = static_cast<int>(material.size() * 8);
  key.expiration_time = req.expiration_time;
  key.creation_time = now;
  key.created_by = ctx.principal.id;
  key.last_update_time = now;
  key.last_state_change_time = now;

  // Policies: the request's overrides, else the instance's policies as they
  // are now (§3.1: later changes of the instance policy do not reach the
  // key). Rotation applies only to root keys whose material is generated.
  if (req.rotation.has_value()) {
    keys::RotationPolicy p;
    p.meta = NewPolicyMeta(ctx, now);
    p.enabled = req.rotation->enabled;
    p.interval_months = req.rotation->interval_months.value_or(1);
    key.rotation_policy = p;
  } else if (const keys::InstancePolicy* rotation =
                 settings ? settings->Enabled(keys::InstancePolicyType::kRotation)
                          : nullptr;
             rotation != nullptr && root && !key.imported) {
    keys::RotationPolicy p;
    p.meta = NewPolicyMeta(ctx, now);
    p.enabled = true;
    p.interval_months = rotation->rotation_interval_months;
    key.rotation_policy = p;
  }
  bool dual_auth = req.dual_auth_delete.has_value()
                       ? *req.dual_auth_delete
                       : settings != nullptr &&
                             settings->Enabled(
                                 keys::InstancePolicyType::kDualAuthDelete) !=
                                 nullptr;
  if (dual_auth || req.dual_auth_delete.has_value()) {
    key.dual_auth_policy = keys::DualAuthPolicy{NewPolicyMeta(ctx, now), dual_auth};
  }

  key.aliases = req.aliases;
  std::sort(key.aliases.begin(), key.aliases.end());
  const std::string origin =
      !supplied.has_value() ? "generated"
      : supplied->via_token ? "imported with an import token"
                            : "imported";
  const iam::AuditRecord audit = MakeAudit(
      ctx, now, "kms.secrets.create", KeyTarget(key),
      StrCat(root ? "root key" : "standard key", ", ", origin, ", key ring ",
             key.key_ring_id));
  absl::Status stored =
      WithCurrentMasterKey(*master_key_, [&]() -> absl::Status {
        // Key Protect shows a key's first version id equal to the key id.
        KW_ASSIGN_OR_RETURN(KeyVersion first,
                            SealVersion(key.instance_id, key.id, key.id, now,
                                        material));
        key.versions.assign(1, std::move(first));
        return store_->CreateKey(key, audit);
      });
  if (absl::Status s = std::move(stored); !s.ok()) {
    // A fresh UUID does not collide: a duplicate is an alias taken since
    // the check above.
    if (absl::IsAlreadyExists(s)) {
      return Conflict("an alias already names a key in this instance");
    }
    return s;
  }

  KeyResult result = Present(std::move(key), now);
  if (result.key.extractable) result.payload = std::move(material);
  return result;
}

absl::StatusOr<KeyResult> KeyManager::GetKey(const RequestContext& ctx,
                                             std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kGetKeyPayload));
  KW_ASSIGN_OR_RETURN(Key key_record, access_->LoadKey(ctx, reach, key_id));
  std::optional<Key> key(std::move(key_record));
  const absl::Time now = clock_->Now();
  std::optional<SecretBytes> payload;
  if (key->extractable && PayloadReadable(keys::EffectiveState(*key, now))) {
    KW_ASSIGN_OR_RETURN(payload, UnsealVersion(*master_key_, *key, key->Primary()));
  }
  KeyResult result = Present(*std::move(key), now);
  result.payload = std::move(payload);
  return result;
}

absl::StatusOr<KeyResult> KeyManager::GetKeyMetadata(const RequestContext& ctx,
                                                     std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kGetKeyMetadata));
  KW_ASSIGN_OR_RETURN(Key key, access_->LoadKey(ctx, reach, key_id));
  return Present(std::move(key), clock_->Now());
}

namespace {

// The store query of a list: the request's filters (the stand-alone
// `state` and `extractable` parameters, or the same inside `filter`, and
// the filter's date clauses) narrowed to the key rings the caller may list.
// nullopt when that leaves nothing (only key-level grants, or a ring the
// caller has no grant on): keys visible only through key-level policies
// are reachable by id but never listed.
absl::StatusOr<std::optional<store::KeyQuery>> ListQueryOf(
    const RequestContext& ctx, const iam::Reach& reach,
    const ListKeysRequest& req) {
  store::KeyQuery query;
  query.instance_id = ctx.instance_id;
  query.states = req.states;
  query.extractable = req.extractable;
  if (req.filter.has_value()) {
    KW_ASSIGN_OR_RETURN(keys::KeyFilter filter, keys::ParseFilter(*req.filter));
    if (!filter.states.empty()) {
      if (!req.states.empty()) {
        return BadParam("filter",
                        "without `state` when the `state` parameter is given");
      }
      query.states = std::move(filter.states);
    }
    if (filter.extractable.has_value()) {
      if (req.extractable.has_value()) {
        return BadParam("filter",
                        "without `extractable` when the `extractable` "
                        "parameter is given");
      }
      query.extractable = filter.extractable;
    }
    query.time_clauses = std::move(filter.time_clauses);
  }
  if (query.states.empty()) {
    // Destroyed keys are listed only when asked for (keyprotect-api.md §3.3).
    query.states = {KeyState::kPreActivation, KeyState::kActive,
                    KeyState::kSuspended, KeyState::kDeactivated};
  }
  query.key_ring_id = ctx.key_ring_id;
  if (!reach.whole_instance) {
    if (ctx.key_ring_id.has_value()) {
      if (!reach.ListsRing(*ctx.key_ring_id)) return std::nullopt;
    } else if (reach.key_rings.empty()) {
      return std::nullopt;
    } else {
      query.key_ring_ids = reach.key_rings;
    }
  }
  query.sort = req.sort;
  query.limit = req.limit;
  query.offset = req.offset;
  return query;
}

// Whether `key` passes the non-search filters of `query`: the check a key
// found by direct id or alias lookup must also pass to be listed.
bool PassesQuery(const store::KeyQuery& query, const Key& key) {
  if (std::find(query.states.begin(), query.states.end(), key.state) ==
      query.states.end()) {
    return false;
  }
  if (query.extractable.has_value() && key.extractable != *query.extractable) {
    return false;
  }
  if (query.key_ring_id.has_value() && key.key_ring_id != *query.key_ring_id) {
    return false;
  }
  if (!query.key_ring_ids.empty() &&
      std::find(query.key_ring_ids.begin(), query.key_ring_ids.end(),
                key.key_ring_id) == query.key_ring_ids.end()) {
    return false;
  }
  return keys::ClausesMatch(query.time_clauses, key);
}

// Searches look through at most this many keys (keyprotect-api.md §3.3).
constexpr int64_t kMaxSearchSpace = 5000;


}  // namespace

absl::StatusOr<ListKeysResult> KeyManager::ListKeys(
    const RequestContext& ctx, const ListKeysRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kListKeys));
  KW_RETURN_IF_ERROR(CheckPaging(req.limit, req.offset));
  ListKeysResult result;
  if (req.search.has_value()) {
    KW_ASSIGN_OR_RETURN(result.search, keys::ParseSearch(*req.search));
  }
  KW_ASSIGN_OR_RETURN(std::optional<store::KeyQuery> query,
                      ListQueryOf(ctx, reach, req));
  if (!query) return result;  // nothing the caller may list
  absl::Time now = clock_->Now();

  // A search for a key id, or in aliases only, also looks the key up
  // directly: that key comes first, and it is found even where the search
  // space is too large to scan (§3.3).
  std::optional<Key> direct;
  if (result.search.has_value() && !result.search->negate &&
      (IsUuid(result.search->term) ||
       (result.search->in_aliases && !result.search->in_name))) {
    absl::StatusOr<Key> hit = access_->LoadKey(ctx, reach, result.search->term);
    if (hit.ok() && PassesQuery(*query, *hit)) {
      hit->versions.erase(hit->versions.begin(), hit->versions.end() - 1);
      hit->versions.back().sealed_material.clear();
      direct = *std::move(hit);
    }
  }
  if (result.search.has_value()) {
    KW_ASSIGN_OR_RETURN(int64_t space, store_->CountKeys(*query));
    if (space > kMaxSearchSpace) {
      if (!direct.has_value()) {
        return Error(Reason::kKeySearchTooBroad,
                     StrCat("The search would look through ", space,
                            " keys, more than ", kMaxSearchSpace,
                            ": narrow it with state, extractable, a key ring "
                            "or filter"));
      }
      result.incomplete_search = true;
      if (req.offset == 0) result.keys.push_back(Present(*std::move(direct), now));
      return result;
    }
    query->search = result.search;
  }
  KW_ASSIGN_OR_RETURN(std::vector<Key> found, store_->ListKeys(*query));
  result.keys.reserve(found.size() + 1);
  if (direct.has_value() && req.offset == 0) {
    std::string id = direct->id;
    result.keys.push_back(Present(*std::move(direct), now));
    for (Key& key : found) {
      if (key.id == id) continue;
      if (static_cast<int64_t>(result.keys.size()) >= req.limit) break;
      result.keys.push_back(Present(std::move(key), now));
    }
    return result;
  }
  for (Key& key : found) {
    result.keys.push_back(Present(std::move(key), now));
  }
  return result;
}

absl::StatusOr<int64_t> KeyManager::CountKeys(const RequestContext& ctx,
                                              const ListKeysRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kListKeys));
  KW_ASSIGN_OR_RETURN(std::optional<store::KeyQuery> query,
                      ListQueryOf(ctx, reach, req));
  if (!query) return 0;
  return store_->CountKeys(*query);
}

absl::StatusOr<ListVersionsResult> KeyManager::ListVersions(
    const RequestContext& ctx, std::string_view key_id,
    const ListVersionsRequest& req) {
  KW_RETURN_IF_ERROR(CheckPaging(req.limit, req.offset));
  KW_ASSIGN_OR_RETURN(KeyResult key, GetKeyMetadata(ctx, key_id));
  if (!key.key.IsRoot()) return RootKeyRequired();
  if (!req.all_key_states && key.key.state != KeyState::kActive) {
    return DomainError(Reason::kKeyActionInvalidState,
                       "versions of a key that is not active are listed only "
                       "with allKeyStates=true");
  }
  ListVersionsResult result;
  const auto& versions = key.key.versions;
  int64_t n = static_cast<int64_t>(versions.size());
  for (int64_t i = n - 1 - req.offset, taken = 0; i >= 0 && taken < req.limit;
       --i, ++taken) {
    result.versions.push_back(InfoOf(versions[i]));
  }
  if (req.total_count) result.total = n;
  return result;
}

absl::StatusOr<KeyResult> KeyManager::Rotate(const RequestContext& ctx,
                                             std::string_view key_id,
                                             const RotateRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kRotate));
  // Outside the key lock: a secure import costs an RSA decryption.
  KW_ASSIGN_OR_RETURN(
      std::optional<SuppliedMaterial> supplied,
      ReadMaterial(ctx, /*root=*/true, req.payload, req.encrypted_nonce,
                   req.iv, req.encryption_algorithm));
  // The new version is sealed inside the mutation: on a retired master key
  // the whole mutation runs again (sealed_write.h).
  KW_ASSIGN_OR_RETURN(
      Key key,
      WithCurrentMasterKey(*master_key_, [&] {
       return MutateKey(ctx, reach, key_id,
                [&](Key& key, absl::Time now,
                    store::KeyUpdate& update) -> absl::Status {
                  if (!key.IsRoot()) return RootKeyRequired();
                  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
                      Action::kRotate, keys::EffectiveState(key, now)));
                  KW_RETURN_IF_ERROR(
                      keys::CheckRotationAllowed(key, now, options_.timers));
                  std::string previous = key.Primary().id;
                  KW_RETURN_IF_ERROR(AddVersion(key, now, supplied));
                  update.event = EventOf(keys::KeyEventType::kRotate, key, now,
                                         previous);
                  update.audit = MakeAudit(
                      ctx, now, "kms.secrets.rotate", KeyTarget(key),
                      StrCat("new version ", key.Primary().id,
                             supplied.has_value() && supplied->via_token
                                 ? " (imported with an import token)"
                                 : ""));
                  return absl::OkStatus();
                });
      }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::Enable(const RequestContext& ctx,
                                             std::string_view key_id) {
  return SetEnabled(ctx, key_id, true);
}

absl::StatusOr<KeyResult> KeyManager::Disable(const RequestContext& ctx,
                                              std::string_view key_id) {
  return SetEnabled(ctx, key_id, false);
}

absl::StatusOr<KeyResult> KeyManager::SetEnabled(const RequestContext& ctx,
                                                 std::string_view key_id,
                                                 bool enable) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kEnableDisable));
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id,
                [&](Key& key, absl::Time now,
                    store::KeyUpdate& update) -> absl::Status {
                  if (!key.IsRoot()) return RootKeyRequired();
                  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
                      enable ? Action::kEnable : Action::kDisable,
                      keys::EffectiveState(key, now)));
                  // Only enabling waits out the cool-down (§4.7).
                  if (enable) {
                    KW_RETURN_IF_ERROR(keys::CheckStateChangeCooldown(
                        key, now, options_.timers));
                  }
                  key.state = enable ? KeyState::kActive : KeyState::kSuspended;
                  key.last_state_change_time = now;
                  update.event = EventOf(enable ? keys::KeyEventType::kEnable
                                                : keys::KeyEventType::kDisable,
                                         key, now);
                  update.audit = MakeAudit(
                      ctx, now, enable ? "kms.secrets.enable" : "kms.secrets.disable",
                      KeyTarget(key));
                  return absl::OkStatus();
                }));
  return Present(std::move(key), clock_->Now());
}

absl::Status KeyManager::CheckRegistrationsAllowDelete(const Key& key,
                                                       bool force) {
  store::RegistrationQuery query;
  query.instance_id = key.instance_id;
  query.key_id = key.id;
  KW_ASSIGN_OR_RETURN(int64_t registered, store_->CountRegistrations(query));
  if (registered == 0) return absl::OkStatus();
  query.prevent_key_deletion = true;
  KW_ASSIGN_OR_RETURN(int64_t preventing, store_->CountRegistrations(query));
  if (preventing > 0) {
    // Even `force` does not override a retention rule (§3.6).
    return DomainError(Reason::kPreventKeyDeletion,
                       "a registration has preventKeyDeletion set");
  }
  if (!force) {
    return DomainError(Reason::kProtectedResource,
                 StrCat(registered,
                        " registration(s); delete with force=true to delete "
                        "it anyway (its services are told)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyResult> KeyManager::DeleteKey(const RequestContext& ctx,
                                                std::string_view key_id,
                                                const DeleteKeyRequest& req) {
  // A service never deletes keys it reaches through an authorization,
  // whatever role the authorization grants (keyprotect-api.md §15.2); only
  // a policy covering the key allows it.
  KW_RETURN_IF_ERROR(
      access_->RefuseServiceDeletion(ctx, iam::Operation::kDeleteKey, key_id));
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kDeleteKey));
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id,
                [&](Key& key, absl::Time now,
                    store::KeyUpdate& update) -> absl::Status {
                  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
                      Action::kDelete, keys::EffectiveState(key, now)));
                  KW_RETURN_IF_ERROR(
                      CheckRegistrationsAllowDelete(key, req.force));
                  std::string details;
                  if (key.DualAuthEnabled()) {
                    // §14: a prior, unexpired approval by another user.
                    if (!keys::DeletionAuthorizationValid(key, now)) {
                      return DomainError(
                          Reason::kAuthorizationsNotMet,
                          "1 prior authorization(s) are required for "
                          "deletion: set the key for deletion first "
                          "(setKeyForDeletion), then another user deletes it "
                          "within 7 days");
                    }
                    if (key.deletion_authorized_by == ctx.principal.id) {
                      return DomainError(
                          Reason::kAuthorizationsNotMet,
                          "the key was set for deletion by you; a "
                          "different user must delete it");
                    }
                    details = StrCat("authorized by ", key.deletion_authorized_by);
                    key.deletion_authorized_by.clear();
                    key.deletion_authorization_expiration.reset();
                  }
                  key.state = KeyState::kDestroyed;
                  key.deletion_time = now;
                  key.deleted_by = ctx.principal.id;
                  key.last_state_change_time = now;
                  update.registrations =
                      req.force ? store::RegistrationRule::kRefuseIfPrevented
                                : store::RegistrationRule::kRefuseIfAny;
                  update.event = EventOf(keys::KeyEventType::kDelete, key, now);
                  update.audit = MakeAudit(ctx, now, "kms.secrets.delete",
                                           KeyTarget(key), details);
                  return absl::OkStatus();
                }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::RestoreKey(const RequestContext& ctx,
                                                 std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kRestoreKey));
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id,
                [&](Key& key, absl::Time now,
                    store::KeyUpdate& update) -> absl::Status {
                  KW_RETURN_IF_ERROR(
                      keys::CheckStateAllows(Action::kRestore, key.state));
                  KW_RETURN_IF_ERROR(
                      keys::CheckRestoreAllowed(key, now, options_.timers));
                  key.state = KeyState::kActive;
                  key.deletion_time.reset();
                  key.deleted_by.clear();
                  key.last_state_change_time = now;
                  update.event = EventOf(keys::KeyEventType::kRestore, key, now);
                  update.audit = MakeAudit(ctx, now, "kms.secrets.restore",
                                           KeyTarget(key));
                  return absl::OkStatus();
                }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::PatchKey(const RequestContext& ctx,
                                               std::string_view key_id,
                                               const PatchKeyRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kPatchKey));
  const std::string& target = req.key_ring_id;
  KW_ASSIGN_OR_RETURN(bool exists, RingExists(ctx, target));
  // A caller limited to some rings moves keys only into rings it holds.
  if (!reach.whole_instance && !reach.ListsRing(target)) return AccessControl::NoAccess();
  if (!exists) {
    return DomainError(Reason::kNotFound,
                       StrCat("key ring `", target.substr(0, 100),
                              "` does not exist"));
  }
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id,
                [&](Key& key, absl::Time now,
                    store::KeyUpdate& update) -> absl::Status {
                  update.audit = MakeAudit(
                      ctx, now, "kms.secrets.patch", KeyTarget(key),
                      StrCat("key ring ", key.key_ring_id, " -> ", target));
                  key.key_ring_id = target;
                  return absl::OkStatus();
                }));
  return Present(std::move(key), clock_->Now());
}

}  // namespace keywarden::service
