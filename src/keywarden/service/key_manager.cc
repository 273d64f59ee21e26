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

namespace keywarden::service {
namespace {

using keys::Action;
using keys::Key;
using keys::KeyState;
using keys::KeyVersion;

constexpr size_t kMaxPlaintextBase64 = 4096;
constexpr size_t kMaxCiphertextBase64 = 8192;

absl::Status KeyNotFound() {
  return Error(Reason::kNotFound,
               "Not Found: The requested resource could not be found");
}

absl::Status RootKeyRequired() {
  return Error(Reason::kKeyRootRequired,
               "Requested action can only be completed with a root key");
}

absl::Status Unprocessable() {
  return Error(Reason::kUnprocessableCiphertext,
               "The provided ciphertext is invalid or corrupted");
}

// Limits of keyprotect-api.md §9, §10, §16.
constexpr int64_t kMaxKeyRings = 50;  // per instance, `default` included
constexpr int64_t kMaxAliasesPerKey = 5;

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '-';
}

bool IsIdText(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), IsIdChar);
}

// Key ring ids: 2-100 characters from [A-Za-z0-9_-], case-sensitive. Key
// Protect documents "alphanumeric" and leaves punctuation unconfirmed
// (keyprotect-api.md §9); `-` and `_` are allowed as for aliases.
bool IsValidRingId(std::string_view id) { return IsIdText(id, 2, 100); }

absl::Status InvalidRingId(std::string_view id) {
  return Error(Reason::kBadRequest,
               StrCat("Bad Request: a key ring id must be 2 to 100 "
                      "characters from A-Z, a-z, 0-9, `_` and `-`; got `",
                      id.substr(0, 100), "`"));
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
  if (!IsIdText(alias, 2, 90)) {
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
    return Error(Reason::kBadRequest,
                 StrCat("Bad Request: a key alias must be ", problem));
  }
  return Error(Reason::kInvalidField,
               StrCat("The field `", field, "` must be: aliases of ", problem),
               field);
}

absl::Status Conflict(std::string_view what) {
  return Error(Reason::kConflict, StrCat("Conflict: ", what));
}

absl::Status CheckAad(std::span<const std::string> aad) {
  if (aad.size() > keys::kMaxAadItems) {
    return Error(Reason::kInvalidField,
                 StrCat("The field `aad` must be: at most ",
                              keys::kMaxAadItems, " strings"),
                 "aad");
  }
  for (const std::string& item : aad) {
    if (item.size() > keys::kMaxAadItemSize) {
      return Error(Reason::kInvalidField,
                   StrCat("The field `aad` must be: strings of at most ",
                                keys::kMaxAadItemSize, " characters"),
                   "aad");
    }
  }
  return absl::OkStatus();
}

// Decodes base64 `text` of field `field`, turning a decoding failure into
// INVALID_FIELD_ERR with `what` and the byte position.
absl::StatusOr<SecretBytes> DecodeField(std::string_view text,
                                        std::string_view field,
                                        std::string_view what) {
  absl::StatusOr<SecretBytes> bytes = crypto::Base64Decode(text);
  if (!bytes.ok()) {
    return Error(Reason::kInvalidField,
                 StrCat("The field `", field, "` must be: ", what, ": ",
                              bytes.status().message()),
                 field);
  }
  return bytes;
}

VersionInfo InfoOf(const KeyVersion& v) { return {v.id, v.creation_time}; }

absl::Time NextUpdateTime(const Key& key, absl::Time now) {
  // Strictly later than the stored value: it is the optimistic-concurrency
  // token of UpdateKey.
  return std::max(now, key.last_update_time + absl::Microseconds(1));
}

}  // namespace

KeyManager::KeyManager(store::Store* store, const seal::MasterKey* master_key,
                       const iam::AccessIndex* access, const Clock* clock,
                       KeyManagerOptions options)
    : store_(store),
      master_key_(master_key),
      access_(access),
      clock_(clock),
      options_(options),
      cache_(options.cache_capacity) {}

namespace {

// The one answer for "no access": the same whether the instance or key
// exists or not, so a caller cannot probe other tenants' ids.
absl::Status NoAccess() {
  return Error(Reason::kForbidden,
               "Forbidden: Your access token is not authorized to access "
               "this resource");
}

}  // namespace

absl::StatusOr<iam::Reach> KeyManager::Authorize(const RequestContext& ctx,
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
  if (memo.index == access_ && memo.generation == generation &&
      memo.op == op && memo.principal_id == ctx.principal.id &&
      memo.instance_id == ctx.instance_id) {
    if (memo.reach.None()) return NoAccess();
    return memo.reach;
  }
  iam::Reach reach = access_->ReachOf(ctx.principal, op, ctx.instance_id);
  memo = Memo{access_, generation, op, ctx.principal.id, ctx.instance_id, reach};
  if (reach.None()) return NoAccess();
  return reach;
}

absl::Status KeyManager::CheckCovers(const RequestContext& ctx,
                                     const iam::Reach& reach,
                                     const Key& key) const {
  if (!reach.Covers(key.key_ring_id, key.id)) return NoAccess();
  // X-Kms-Key-Ring on a key operation is a lookup hint: a key in another
  // ring is not found there.
  if (ctx.key_ring_id.has_value() && *ctx.key_ring_id != key.key_ring_id) {
    return Missing(reach);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyManager::ResolveKeyId(const RequestContext& ctx,
                                                     const iam::Reach& reach,
                                                     std::string_view key_id) {
  if (IsUuid(key_id)) return absl::AsciiStrToLower(AbslView(key_id));
  if (!IsIdText(key_id, 2, 90)) return Missing(reach);
  absl::StatusOr<store::KeyAlias> alias =
      store_->GetKeyAlias(ctx.instance_id, key_id);
  if (absl::IsNotFound(alias.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(alias.status());
  return std::move(alias->key_id);
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

absl::Status KeyManager::Missing(const iam::Reach& reach) const {
  // Only a caller who may see the whole instance learns that a key id does
  // not exist; to anyone else a missing key looks like one they may not use.
  return reach.whole_instance ? KeyNotFound() : NoAccess();
}

absl::StatusOr<Key> KeyManager::LoadForRead(const RequestContext& ctx,
                                            const iam::Reach& reach,
                                            std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(std::string id, ResolveKeyId(ctx, reach, key_id));
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(CheckCovers(ctx, reach, *key));
  return key;
}

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
      master_key_->Encrypt(material.span(),
                           keys::MaterialAad(instance_id, key_id, version_id)));
  version.id = std::move(version_id);
  return version;
}

absl::StatusOr<SecretBytes> KeyManager::UnsealVersion(
    const Key& key, const KeyVersion& version) {
  absl::StatusOr<SecretBytes> material = master_key_->Decrypt(
      version.sealed_material,
      keys::MaterialAad(key.instance_id, key.id, version.id));
  if (!material.ok()) {
    // Stored material failed its integrity check: corruption or tampering.
    return absl::DataLossError(
        StrCat("key material of version ", version.id, " of key ",
                     key.id, " failed its integrity check"));
  }
  return material;
}

KeyResult KeyManager::Present(Key key, absl::Time now) const {
  key.state = keys::EffectiveState(key, now);
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

absl::StatusOr<std::shared_ptr<const CachedKey>> KeyManager::LoadCached(
    const RequestContext& ctx, const iam::Reach& reach,
    std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(const std::string id, ResolveKeyId(ctx, reach, key_id));
  if (auto hit = cache_.Find(ctx.instance_id, id)) {
    KW_RETURN_IF_ERROR(CheckCovers(ctx, reach, hit->key));
    return hit;
  }

  uint64_t generation = cache_.Generation(ctx.instance_id, id);
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(CheckCovers(ctx, reach, *key));

  auto entry = std::make_shared<CachedKey>();
  if (key->IsRoot()) {
    for (const KeyVersion& v : key->versions) {
      KW_ASSIGN_OR_RETURN(SecretBytes material, UnsealVersion(*key, v));
      KW_ASSIGN_OR_RETURN(crypto::AesGcm kek,
                          crypto::AesGcm::Create(material.span()));
      entry->keks.emplace_back(v.id, std::move(kek));
    }
  }
  for (KeyVersion& v : key->versions) v.sealed_material.clear();
  entry->key = *std::move(key);
  std::shared_ptr<const CachedKey> shared = std::move(entry);
  cache_.Insert(shared, generation);
  return shared;
}

absl::StatusOr<Key> KeyManager::MutateKey(const RequestContext& ctx,
                                          const iam::Reach& reach,
                                          std::string_view key_id,
                                          const Mutation& mutate) {
  KW_ASSIGN_OR_RETURN(const std::string id, ResolveKeyId(ctx, reach, key_id));
  absl::MutexLock lock(&LockFor(ctx.instance_id, id));
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(CheckCovers(ctx, reach, *key));
  absl::Time now = clock_->Now();
  absl::Time expected = key->last_update_time;
  KW_RETURN_IF_ERROR(mutate(*key, now));
  key->last_update_time = NextUpdateTime(*key, now);
  KW_RETURN_IF_ERROR(store_->UpdateKey(*key, expected));
  cache_.Erase(ctx.instance_id, id);
  return key;
}

absl::StatusOr<KeyResult> KeyManager::CreateKey(const RequestContext& ctx,
                                                const CreateKeyRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kCreateKey));
  const std::string ring = ctx.key_ring_id.value_or("default");
  if (!reach.ListsRing(ring)) return NoAccess();
  KW_RETURN_IF_ERROR(keys::ValidateName(req.name));
  if (req.description.has_value()) {
    KW_RETURN_IF_ERROR(keys::ValidateDescription(*req.description));
  }
  KW_RETURN_IF_ERROR(keys::ValidateTags(req.tags));
  if (static_cast<int64_t>(req.aliases.size()) > kMaxAliasesPerKey) {
    return Error(Reason::kInvalidField,
                 StrCat("The field `aliases` must be: at most ",
                        kMaxAliasesPerKey, " aliases"),
                 "aliases");
  }
  for (size_t i = 0; i < req.aliases.size(); ++i) {
    KW_RETURN_IF_ERROR(ValidateAlias(req.aliases[i], "aliases"));
    if (std::find(req.aliases.begin(), req.aliases.begin() + i,
                  req.aliases[i]) != req.aliases.begin() + i) {
      return Error(Reason::kInvalidField,
                   "The field `aliases` must be: aliases without duplicates",
                   "aliases");
    }
  }
  if (req.encrypted_nonce.has_value() || req.iv.has_value()) {
    return Error(Reason::kBadBody,
                 "Invalid body data was passed: secure import with "
                 "`encryptedNonce` and `iv` needs an import token, which this "
                 "server does not offer yet",
                 req.encrypted_nonce.has_value() ? "encryptedNonce" : "iv");
  }
  absl::Time now = clock_->Now();
  if (req.expiration_time.has_value() && *req.expiration_time <= now) {
    return Error(Reason::kBadBody,
                 "The field `expirationDate` must be: a date in the future",
                 "expirationDate");
  }

  SecretBytes material;
  if (req.payload.has_value()) {
    KW_ASSIGN_OR_RETURN(material,
                        DecodeField(*req.payload, "payload",
                                    "a base64 encoded key material"));
    if (!req.extractable && !keys::IsValidRootKeySize(material.size())) {
      return Error(Reason::kBadBody,
                   "The field `payload` must be: 16, 24 or 32 bytes of root "
                   "key material, base64 encoded",
                   "payload");
    }
    if (req.extractable &&
        (material.empty() || material.size() > keys::kMaxStandardPayload)) {
      return Error(Reason::kBadBody,
                   StrCat("The field `payload` must be: 1 to ",
                                keys::kMaxStandardPayload,
                                " bytes, base64 encoded"),
                   "payload");
    }
  } else {
    material = crypto::RandomSecret(req.extractable
                                        ? keys::kGeneratedStandardKeySize
                                        : keys::kGeneratedRootKeySize);
  }

  KW_ASSIGN_OR_RETURN(bool ring_exists, RingExists(ctx, ring));
  if (!ring_exists) {
    return Error(Reason::kNotFound,
                 StrCat("Not Found: key ring `", ring.substr(0, 100),
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
  key.imported = req.payload.has_value();
  key.state = KeyState::kActive;
  key.material_bits = static_cast<int>(material.size() * 8);
  key.expiration_time = req.expiration_time;
  key.creation_time = now;
  key.created_by = ctx.principal.id;
  key.last_update_time = now;
  key.last_state_change_time = now;
  // Key Protect shows a key's first version id equal to the key id.
  KW_ASSIGN_OR_RETURN(KeyVersion first,
                      SealVersion(key.instance_id, key.id, key.id, now,
                                  material));
  key.versions.push_back(std::move(first));
  key.aliases = req.aliases;
  std::sort(key.aliases.begin(), key.aliases.end());
  if (absl::Status s = store_->CreateKey(key); !s.ok()) {
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
                      Authorize(ctx, iam::Operation::kGetKeyPayload));
  KW_ASSIGN_OR_RETURN(Key key_record, LoadForRead(ctx, reach, key_id));
  std::optional<Key> key(std::move(key_record));
  std::optional<SecretBytes> payload;
  if (key->extractable) {
    KW_ASSIGN_OR_RETURN(payload, UnsealVersion(*key, key->Primary()));
  }
  KeyResult result = Present(*std::move(key), clock_->Now());
  result.payload = std::move(payload);
  return result;
}

absl::StatusOr<KeyResult> KeyManager::GetKeyMetadata(const RequestContext& ctx,
                                                     std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kGetKeyMetadata));
  KW_ASSIGN_OR_RETURN(Key key, LoadForRead(ctx, reach, key_id));
  return Present(std::move(key), clock_->Now());
}

namespace {

// The store query of a list: the request's filters narrowed to the key
// rings the caller may list. nullopt when that leaves nothing (only
// key-level grants, or a ring the caller has no grant on): keys visible
// only through key-level policies are reachable by id but never listed.
std::optional<store::KeyQuery> ListQueryOf(const RequestContext& ctx,
                                           const iam::Reach& reach,
                                           const ListKeysRequest& req) {
  store::KeyQuery query;
  query.instance_id = ctx.instance_id;
  query.states = req.states;
  if (query.states.empty()) {
    // Destroyed keys are listed only when asked for (keyprotect-api.md §3.3).
    query.states = {KeyState::kPreActivation, KeyState::kActive,
                    KeyState::kSuspended, KeyState::kDeactivated};
  }
  query.extractable = req.extractable;
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

absl::Status CheckPaging(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > keys::kMaxListLimit) {
    return Error(Reason::kBadBody,
                 StrCat("The param `limit` must be: an integer from 1 "
                              "to ",
                              keys::kMaxListLimit),
                 "limit");
  }
  if (offset < 0) {
    return Error(Reason::kBadBody,
                 "The param `offset` must be: a non-negative integer",
                 "offset");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ListKeysResult> KeyManager::ListKeys(
    const RequestContext& ctx, const ListKeysRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kListKeys));
  KW_RETURN_IF_ERROR(CheckPaging(req.limit, req.offset));
  ListKeysResult result;
  std::optional<store::KeyQuery> query = ListQueryOf(ctx, reach, req);
  if (!query) return result;  // nothing the caller may list
  KW_ASSIGN_OR_RETURN(std::vector<Key> found, store_->ListKeys(*query));
  absl::Time now = clock_->Now();
  result.keys.reserve(found.size());
  for (Key& key : found) {
    result.keys.push_back(Present(std::move(key), now));
  }
  return result;
}

absl::StatusOr<int64_t> KeyManager::CountKeys(const RequestContext& ctx,
                                              const ListKeysRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kListKeys));
  std::optional<store::KeyQuery> query = ListQueryOf(ctx, reach, req);
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
    return Error(Reason::kKeyActionInvalidState,
                 "Key is not in a valid state: versions of a key that is not "
                 "active are listed only with allKeyStates=true");
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

absl::StatusOr<std::string> KeyManager::WrapWithPrimary(
    const CachedKey& cached, std::span<const uint8_t> dek,
    std::span<const std::string> aad) {
  const KeyVersion& primary = cached.key.Primary();
  const crypto::AesGcm* kek = cached.KekFor(primary.id);
  if (kek == nullptr) return absl::InternalError("primary version has no kek");
  KW_ASSIGN_OR_RETURN(std::vector<uint8_t> wdek,
                      keys::WrapDek(*kek, cached.key.instance_id, cached.key.id,
                                    primary.id, dek, aad));
  return crypto::Base64Encode(wdek);
}

absl::StatusOr<std::shared_ptr<const CachedKey>> KeyManager::LoadForDataPlane(
    const RequestContext& ctx, std::string_view key_id, iam::Operation op,
    Action action, std::span<const std::string> aad) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach, Authorize(ctx, op));
  KW_RETURN_IF_ERROR(CheckAad(aad));
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadCached(ctx, reach, key_id));
  if (!cached->key.IsRoot()) return RootKeyRequired();
  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
      action, keys::EffectiveState(cached->key, clock_->Now())));
  return cached;
}

absl::StatusOr<WrapResult> KeyManager::Wrap(const RequestContext& ctx,
                                            std::string_view key_id,
                                            const WrapRequest& req) {
  KW_ASSIGN_OR_RETURN(
      std::shared_ptr<const CachedKey> cached,
      LoadForDataPlane(ctx, key_id, iam::Operation::kWrap, Action::kWrap,
                       req.aad));
  const Key& key = cached->key;

  WrapResult result;
  SecretBytes dek;
  if (req.plaintext.has_value()) {
    constexpr std::string_view kWhat = "a base64 encoded key material";
    if (req.plaintext->empty() || req.plaintext->size() > kMaxPlaintextBase64) {
      return Error(Reason::kInvalidField,
                   StrCat("The field `plaintext` must be: ", kWhat,
                                " of 1 to ", kMaxPlaintextBase64,
                                " characters"),
                   "plaintext");
    }
    KW_ASSIGN_OR_RETURN(dek, DecodeField(*req.plaintext, "plaintext", kWhat));
  } else {
    dek = crypto::RandomSecret(keys::kGeneratedDekSize);
  }
  KW_ASSIGN_OR_RETURN(result.ciphertext,
                      WrapWithPrimary(*cached, dek.span(), req.aad));
  result.key_version = InfoOf(key.Primary());
  if (!req.plaintext.has_value()) result.plaintext = std::move(dek);
  return result;
}

absl::StatusOr<KeyManager::Opened> KeyManager::OpenWdek(
    const CachedKey& cached, const std::optional<std::string>& ciphertext,
    std::span<const std::string> aad) {
  constexpr std::string_view kWhat =
      "the original base64 encoded ciphertext from the wrap operation";
  if (!ciphertext.has_value() || ciphertext->empty() ||
      ciphertext->size() > kMaxCiphertextBase64) {
    return Error(Reason::kInvalidField,
                 StrCat("The field `ciphertext` must be: ", kWhat),
                 "ciphertext");
  }
  KW_ASSIGN_OR_RETURN(SecretBytes raw,
                      DecodeField(*ciphertext, "ciphertext", kWhat));
  absl::StatusOr<keys::Wdek> wdek = keys::ParseWdek(raw.span());
  if (!wdek.ok()) return Unprocessable();
  const KeyVersion* version = cached.key.FindVersion(wdek->version_id);
  const crypto::AesGcm* kek =
      version ? cached.KekFor(version->id) : nullptr;
  if (kek == nullptr) return Unprocessable();
  absl::StatusOr<SecretBytes> dek = keys::UnwrapDek(
      *kek, cached.key.instance_id, cached.key.id, *wdek, aad);
  if (!dek.ok()) return Unprocessable();
  return Opened{*std::move(dek), version};
}

absl::StatusOr<UnwrapResult> KeyManager::Unwrap(const RequestContext& ctx,
                                                std::string_view key_id,
                                                const UnwrapRequest& req) {
  KW_ASSIGN_OR_RETURN(
      std::shared_ptr<const CachedKey> cached,
      LoadForDataPlane(ctx, key_id, iam::Operation::kUnwrap, Action::kUnwrap,
                       req.aad));
  KW_ASSIGN_OR_RETURN(Opened opened, OpenWdek(*cached, req.ciphertext, req.aad));

  UnwrapResult result;
  result.key_version = InfoOf(*opened.version);
  const KeyVersion& primary = cached->key.Primary();
  if (opened.version->id != primary.id) {
    KW_ASSIGN_OR_RETURN(result.rewrapped_ciphertext,
                        WrapWithPrimary(*cached, opened.dek.span(), req.aad));
    result.rewrapped_key_version = InfoOf(primary);
  }
  result.plaintext = std::move(opened.dek);
  return result;
}

absl::StatusOr<RewrapResult> KeyManager::Rewrap(const RequestContext& ctx,
                                                std::string_view key_id,
                                                const UnwrapRequest& req) {
  KW_ASSIGN_OR_RETURN(
      std::shared_ptr<const CachedKey> cached,
      LoadForDataPlane(ctx, key_id, iam::Operation::kRewrap, Action::kRewrap,
                       req.aad));
  KW_ASSIGN_OR_RETURN(Opened opened, OpenWdek(*cached, req.ciphertext, req.aad));
  RewrapResult result;
  KW_ASSIGN_OR_RETURN(result.ciphertext,
                      WrapWithPrimary(*cached, opened.dek.span(), req.aad));
  result.key_version = InfoOf(*opened.version);
  result.rewrapped_key_version = InfoOf(cached->key.Primary());
  return result;
}

absl::StatusOr<KeyResult> KeyManager::Rotate(const RequestContext& ctx,
                                             std::string_view key_id,
                                             const RotateRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kRotate));
  if (req.encrypted_nonce.has_value() || req.iv.has_value()) {
    return Error(Reason::kBadBody,
                 "Invalid body data was passed: secure import with "
                 "`encryptedNonce` and `iv` needs an import token, which this "
                 "server does not offer yet",
                 req.encrypted_nonce.has_value() ? "encryptedNonce" : "iv");
  }
  std::optional<SecretBytes> supplied;
  if (req.payload.has_value()) {
    KW_ASSIGN_OR_RETURN(supplied, DecodeField(*req.payload, "payload",
                                              "a base64 encoded key material"));
  }
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id, [&](Key& key, absl::Time now) -> absl::Status {
        if (!key.IsRoot()) return RootKeyRequired();
        KW_RETURN_IF_ERROR(keys::CheckStateAllows(
            Action::kRotate, keys::EffectiveState(key, now)));
        KW_RETURN_IF_ERROR(keys::CheckRotationAllowed(key, now,
                                                      options_.timers));
        SecretBytes material;
        if (key.imported) {
          if (!supplied.has_value()) {
            return Error(Reason::kKeyPayloadRequired,
                         "This root key was created with user-supplied key "
                         "material: Key material is required to perform a "
                         "'rotate' action",
                         "payload");
          }
          if (!keys::IsValidRootKeySize(supplied->size())) {
            return Error(Reason::kBadBody,
                         "The field `payload` must be: 16, 24 or 32 bytes of "
                         "root key material, base64 encoded",
                         "payload");
          }
          material = *supplied;
        } else {
          if (supplied.has_value()) {
            return Error(Reason::kBadBody,
                         "The field `payload` must be: absent for a key whose "
                         "material Keywarden generated",
                         "payload");
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
                      Authorize(ctx, iam::Operation::kEnableDisable));
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id, [&](Key& key, absl::Time now) -> absl::Status {
        if (!key.IsRoot()) return RootKeyRequired();
        KW_RETURN_IF_ERROR(keys::CheckStateAllows(
            enable ? Action::kEnable : Action::kDisable,
            keys::EffectiveState(key, now)));
        // Only enabling waits out the cool-down (keyprotect-api.md §4.7).
        if (enable) {
          KW_RETURN_IF_ERROR(
              keys::CheckStateChangeCooldown(key, now, options_.timers));
        }
        key.state = enable ? KeyState::kActive : KeyState::kSuspended;
        key.last_state_change_time = now;
        return absl::OkStatus();
      }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::DeleteKey(const RequestContext& ctx,
                                                std::string_view key_id,
                                                const DeleteKeyRequest& req) {
  // A service never deletes keys it reaches through an authorization,
  // whatever role the authorization grants (keyprotect-api.md §15.2).
  if (ctx.principal.is_service) {
    iam::Reach seen = access_->ReachOf(ctx.principal,
                                       iam::Operation::kGetKeyMetadata,
                                       ctx.instance_id);
    if (!seen.None() && seen.service_only) {
      return Error(Reason::kResourceOwner,
                   "Forbidden: The resource(s) queried does not belong to the "
                   "service");
    }
  }
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kDeleteKey));
  if (reach.service_only) {
    return Error(Reason::kResourceOwner,
                 "Forbidden: The resource(s) queried does not belong to the "
                 "service");
  }
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id, [&](Key& key, absl::Time now) -> absl::Status {
        KW_RETURN_IF_ERROR(keys::CheckStateAllows(
            Action::kDelete, keys::EffectiveState(key, now)));
        key.state = KeyState::kDestroyed;
        key.deletion_time = now;
        key.deleted_by = ctx.principal.id;
        key.last_state_change_time = now;
        return absl::OkStatus();
      }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::RestoreKey(const RequestContext& ctx,
                                                 std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kRestoreKey));
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id, [&](Key& key, absl::Time now) -> absl::Status {
        KW_RETURN_IF_ERROR(keys::CheckStateAllows(Action::kRestore, key.state));
        KW_RETURN_IF_ERROR(keys::CheckRestoreAllowed(key, now, options_.timers));
        key.state = KeyState::kActive;
        key.deletion_time.reset();
        key.deleted_by.clear();
        key.last_state_change_time = now;
        return absl::OkStatus();
      }));
  return Present(std::move(key), clock_->Now());
}

absl::StatusOr<KeyResult> KeyManager::PatchKey(const RequestContext& ctx,
                                               std::string_view key_id,
                                               const PatchKeyRequest& req) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kPatchKey));
  const std::string& target = req.key_ring_id;
  KW_ASSIGN_OR_RETURN(bool exists, RingExists(ctx, target));
  // A caller limited to some rings moves keys only into rings it holds.
  if (!reach.whole_instance && !reach.ListsRing(target)) return NoAccess();
  if (!exists) {
    return Error(Reason::kNotFound,
                 StrCat("Not Found: key ring `", target.substr(0, 100),
                        "` does not exist"));
  }
  KW_ASSIGN_OR_RETURN(
      Key key,
      MutateKey(ctx, reach, key_id, [&](Key& key, absl::Time) -> absl::Status {
        key.key_ring_id = target;
        return absl::OkStatus();
      }));
  return Present(std::move(key), clock_->Now());
}

absl::Status KeyManager::CreateKeyRing(const RequestContext& ctx,
                                       std::string_view ring_id) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kCreateKeyRing));
  // A new ring is in no ring-scoped grant: creating one takes the instance.
  if (!reach.whole_instance) return NoAccess();
  if (!IsValidRingId(ring_id)) return InvalidRingId(ring_id);
  if (ring_id == "default") {
    return Conflict("the key ring `default` always exists");
  }
  store::KeyRing ring;
  ring.instance_id = ctx.instance_id;
  ring.id = std::string(ring_id);
  ring.creation_time = clock_->Now();
  ring.created_by = ctx.principal.id;
  absl::Status s = store_->CreateKeyRing(ring, kMaxKeyRings - 1);
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
                      Authorize(ctx, iam::Operation::kListKeyRings));
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
                      Authorize(ctx, iam::Operation::kDeleteKeyRing));
  if (!reach.whole_instance && !reach.ListsRing(ring_id)) return NoAccess();
  if (ring_id == "default") {
    return Conflict("the key ring `default` cannot be deleted");
  }
  auto not_found = [&] {
    return Error(Reason::kNotFound,
                 StrCat("Not Found: key ring `", ring_id.substr(0, 100),
                        "` does not exist"));
  };
  if (!IsValidRingId(ring_id)) return not_found();
  absl::StatusOr<std::vector<std::string>> moved = store_->DeleteKeyRing(
      ctx.instance_id, ring_id, force, clock_->Now());
  if (absl::IsNotFound(moved.status())) return not_found();
  if (absl::IsFailedPrecondition(moved.status())) {
    return Conflict(
        force ? "the key ring holds keys that are not destroyed"
              : "the key ring holds keys; delete them first, or pass "
                "force=true to move destroyed keys to `default`");
  }
  KW_RETURN_IF_ERROR(moved.status());
  for (const std::string& id : *moved) cache_.Erase(ctx.instance_id, id);
  return absl::OkStatus();
}

absl::StatusOr<store::KeyAlias> KeyManager::CreateKeyAlias(
    const RequestContext& ctx, std::string_view key_id,
    std::string_view alias) {
  // Writer or Manager (keyprotect-api.md §10): the Writer-level operation
  // of the role table is rotate.
  KW_ASSIGN_OR_RETURN(iam::Reach reach, Authorize(ctx, iam::Operation::kRotate));
  KW_ASSIGN_OR_RETURN(Key key, LoadForRead(ctx, reach, key_id));
  KW_RETURN_IF_ERROR(ValidateAlias(alias, ""));
  store::KeyAlias record;
  record.instance_id = ctx.instance_id;
  record.alias = std::string(alias);
  record.key_id = key.id;
  record.creation_time = clock_->Now();
  record.created_by = ctx.principal.id;
  absl::Status s = store_->CreateKeyAlias(record, kMaxAliasesPerKey);
  if (absl::IsAlreadyExists(s)) {
    return Conflict(StrCat("the alias `", alias,
                           "` already names a key in this instance"));
  }
  if (absl::IsResourceExhausted(s)) {
    return Conflict(StrCat("a key has at most ", kMaxAliasesPerKey,
                           " aliases"));
  }
  if (absl::IsNotFound(s)) return Missing(reach);  // purged meanwhile
  KW_RETURN_IF_ERROR(s);
  cache_.Erase(ctx.instance_id, key.id);
  record.creation_time =
      absl::FromUnixMicros(absl::ToUnixMicros(record.creation_time));
  return record;
}

absl::Status KeyManager::DeleteKeyAlias(const RequestContext& ctx,
                                        std::string_view key_id,
                                        std::string_view alias) {
  // Manager only: the role table's Manager-level key update is patch.
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      Authorize(ctx, iam::Operation::kPatchKey));
  KW_ASSIGN_OR_RETURN(Key key, LoadForRead(ctx, reach, key_id));
  absl::Status s = store_->DeleteKeyAlias(ctx.instance_id, key.id, alias);
  if (absl::IsNotFound(s)) {
    return Error(Reason::kNotFound,
                 "Not Found: the key has no such alias");
  }
  KW_RETURN_IF_ERROR(s);
  cache_.Erase(ctx.instance_id, key.id);
  return absl::OkStatus();
}

absl::StatusOr<int> KeyManager::SweepExpiredKeys() {
  absl::Time now = clock_->Now();
  KW_ASSIGN_OR_RETURN(auto expired, store_->ListExpiredKeys(now, 1000));
  int moved = 0;
  for (const auto& [instance_id, key_id] : expired) {
    RequestContext ctx;
    ctx.instance_id = instance_id;
    iam::Reach system;  // the sweep acts for the service itself
    system.whole_instance = true;
    absl::StatusOr<Key> key =
        MutateKey(ctx, system, key_id, [](Key& key, absl::Time now) -> absl::Status {
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

}  // namespace keywarden::service
