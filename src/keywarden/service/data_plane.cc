#include "keywarden/service/data_plane.h"

#include <utility>

#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/service/key_manager_internal.h"

namespace keywarden::service {
namespace {

using key_manager_internal::RootKeyRequired;
using keys::Action;
using keys::Key;
using keys::KeyState;
using keys::KeyVersion;

// Raw WDEKs: a v2 WDEK of the largest DEK is 77 + 3072 bytes; anything
// longer than this bound is refused before it is parsed.
constexpr size_t kMaxWdekSize = 6144;

absl::Status Unprocessable() {
  // One detail for every cause: the answer must not tell them apart.
  return DomainError(Reason::kUnprocessableCiphertext, "");
}

absl::Status CheckAad(std::span<const std::string> aad) {
  if (aad.size() > keys::kMaxAadItems) {
    return FieldError(Reason::kInvalidField, {"aad"},
                      StrCat("at most ", keys::kMaxAadItems, " strings"));
  }
  for (const std::string& item : aad) {
    if (item.size() > keys::kMaxAadItemSize) {
      return FieldError(Reason::kInvalidField, {"aad"},
                        StrCat("strings of at most ", keys::kMaxAadItemSize,
                               " characters"));
    }
  }
  return absl::OkStatus();
}

VersionInfo InfoOf(const KeyVersion& v) { return {v.id, v.creation_time}; }

}  // namespace

absl::StatusOr<SecretBytes> UnsealVersion(const seal::MasterKey& master_key,
                                          const Key& key,
                                          const KeyVersion& version) {
  absl::StatusOr<SecretBytes> material = master_key.Decrypt(
      version.master_key_id, version.sealed_material,
      keys::MaterialAad(key.instance_id, key.id, version.id));
  if (seal::IsSealedError(material.status())) return material.status();
  if (!material.ok()) {
    // Stored material failed its integrity check: corruption or tampering.
    return absl::DataLossError(StrCat("key material of version ", version.id,
                                      " of key ", key.id,
                                      " failed its integrity check"));
  }
  return material;
}

DataPlaneService::DataPlaneService(DataPlaneDeps deps, size_t cache_capacity)
    : store_(deps.store),
      master_key_(deps.master_key),
      access_(deps.access),
      clock_(deps.clock),
      cache_(cache_capacity) {}

void DataPlaneService::Invalidate(std::string_view instance_id,
                                  std::string_view key_id) {
  cache_.Erase(instance_id, key_id);
}

absl::StatusOr<std::shared_ptr<const CachedKey>> DataPlaneService::LoadCached(
    const RequestContext& ctx, const iam::Reach& reach,
    std::string_view key_id) {
  KW_ASSIGN_OR_RETURN(const std::string id,
                      access_->ResolveKeyId(ctx, reach, key_id));
  if (auto hit = cache_.Find(ctx.instance_id, id)) {
    KW_RETURN_IF_ERROR(access_->CheckCovers(ctx, reach, hit->key));
    return hit;
  }

  uint64_t generation = cache_.Generation(ctx.instance_id, id);
  absl::StatusOr<Key> key = store_->GetKey(ctx.instance_id, id);
  if (absl::IsNotFound(key.status())) return AccessControl::Missing(reach);
  KW_RETURN_IF_ERROR(key.status());
  KW_RETURN_IF_ERROR(access_->CheckCovers(ctx, reach, *key));

  return CacheKey(*std::move(key), generation);
}

absl::StatusOr<std::shared_ptr<const CachedKey>> DataPlaneService::CacheKey(
    Key key, uint64_t generation) {
  auto entry = std::make_shared<CachedKey>();
  // A destroyed key's material is not unsealed: every data-plane action
  // fails on it (keyprotect-api.md §5), and restoring it is a mutation that
  // drops this entry.
  if (key.IsRoot() && key.state != KeyState::kDestroyed) {
    entry->versions.reserve(key.versions.size());
    for (const KeyVersion& v : key.versions) {
      KW_ASSIGN_OR_RETURN(SecretBytes material,
                          UnsealVersion(*master_key_, key, v));
      KW_ASSIGN_OR_RETURN(crypto::AesGcm kek,
                          crypto::AesGcm::Create(material.span()));
      KW_ASSIGN_OR_RETURN(keys::WdekKey wdek_key,
                          keys::WdekKey::Create(material.span()));
      entry->versions.push_back(
          CachedVersion{v.id, std::move(kek), std::move(wdek_key)});
    }
  }
  for (KeyVersion& v : key.versions) v.sealed_material.clear();
  entry->key = std::move(key);
  std::shared_ptr<const CachedKey> shared = std::move(entry);
  cache_.Insert(shared, generation);
  return shared;
}

absl::StatusOr<std::shared_ptr<const CachedKey>> DataPlaneService::LoadTrusted(
    std::string_view instance_id, std::string_view key_id, Action action) {
  std::shared_ptr<const CachedKey> cached = cache_.Find(instance_id, key_id);
  if (cached == nullptr) {
    uint64_t generation = cache_.Generation(instance_id, key_id);
    absl::StatusOr<Key> key = store_->GetKey(instance_id, key_id);
    if (absl::IsNotFound(key.status())) {
      return DomainError(Reason::kNotFound, "the root key does not exist");
    }
    KW_RETURN_IF_ERROR(key.status());
    KW_ASSIGN_OR_RETURN(cached, CacheKey(*std::move(key), generation));
  }
  if (!cached->key.IsRoot()) return RootKeyRequired();
  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
      action, keys::EffectiveState(cached->key, clock_->Now())));
  return cached;
}

absl::StatusOr<std::vector<uint8_t>> DataPlaneService::SealUnderRootKey(
    std::string_view instance_id, std::string_view key_id,
    std::span<const uint8_t> material, std::span<const std::string> aad) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadTrusted(instance_id, key_id, Action::kWrap));
  if (material.empty() || material.size() > keys::kMaxDekSize) {
    return Error(Reason::kInvalidField,
                 StrCat("material must be 1 to ", keys::kMaxDekSize, " bytes"));
  }
  return WrapWithPrimary(*cached, material, aad);
}

absl::StatusOr<SecretBytes> DataPlaneService::OpenUnderRootKey(
    std::string_view instance_id, std::string_view key_id,
    std::span<const uint8_t> sealed, std::span<const std::string> aad) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadTrusted(instance_id, key_id, Action::kUnwrap));
  std::optional<Decoded<std::vector<uint8_t>>> ciphertext(
      std::vector<uint8_t>(sealed.begin(), sealed.end()));
  KW_ASSIGN_OR_RETURN(Opened opened, OpenWdek(*cached, ciphertext, aad));
  return std::move(opened.dek);
}

absl::Status DataPlaneService::CheckRootKey(std::string_view instance_id,
                                            std::string_view key_id) {
  return LoadTrusted(instance_id, key_id, Action::kUnwrap).status();
}

absl::StatusOr<std::vector<uint8_t>> DataPlaneService::WrapWithPrimary(
    const CachedKey& cached, std::span<const uint8_t> dek,
    std::span<const std::string> aad) {
  // New WDEKs are format 2 (docs/formats/wdek.md): a key derived per wrap,
  // bound to the material and the aad list, not to this key's ids.
  const CachedVersion* primary = cached.VersionById(cached.key.Primary().id);
  if (primary == nullptr) {
    return absl::InternalError("primary version is not loaded");
  }
  return keys::WrapDekV2(primary->wdek_key, dek, aad);
}

absl::StatusOr<std::shared_ptr<const CachedKey>> DataPlaneService::LoadForUse(
    const RequestContext& ctx, std::string_view key_id, iam::Operation op,
    Action action, std::span<const std::string> aad) {
  KW_ASSIGN_OR_RETURN(iam::Reach reach, access_->Authorize(ctx, op));
  KW_RETURN_IF_ERROR(CheckAad(aad));
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadCached(ctx, reach, key_id));
  if (!cached->key.IsRoot()) return RootKeyRequired();
  KW_RETURN_IF_ERROR(keys::CheckStateAllows(
      action, keys::EffectiveState(cached->key, clock_->Now())));
  return cached;
}

absl::StatusOr<WrapResult> DataPlaneService::Wrap(const RequestContext& ctx,
                                                  std::string_view key_id,
                                                  const WrapRequest& req) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadForUse(ctx, key_id, iam::Operation::kWrap,
                                 Action::kWrap, req.aad));
  const Key& key = cached->key;

  WrapResult result;
  SecretBytes generated;
  std::span<const uint8_t> dek;
  if (req.plaintext.has_value()) {
    // The transport's decoding error, if any, is reported here: after
    // authorization and the key's state, as for every protocol.
    KW_RETURN_IF_ERROR(req.plaintext->status());
    const SecretBytes& given = **req.plaintext;
    if (given.empty() || given.size() > keys::kMaxDekSize) {
      return FieldError(Reason::kInvalidField, {"plaintext"},
                        StrCat("1 to ", keys::kMaxDekSize, " bytes"));
    }
    dek = given.span();
  } else {
    generated = crypto::RandomSecret(keys::kGeneratedDekSize);
    dek = generated.span();
  }
  KW_ASSIGN_OR_RETURN(result.ciphertext,
                      WrapWithPrimary(*cached, dek, req.aad));
  result.key_version = InfoOf(key.Primary());
  if (!req.plaintext.has_value()) result.plaintext = std::move(generated);
  return result;
}

absl::StatusOr<DataPlaneService::Opened> DataPlaneService::OpenWdek(
    const CachedKey& cached,
    const std::optional<Decoded<std::vector<uint8_t>>>& ciphertext,
    std::span<const std::string> aad) {
  if (!ciphertext.has_value()) {
    return FieldError(Reason::kInvalidField, {"ciphertext"},
                      "the ciphertext of a wrap");
  }
  KW_RETURN_IF_ERROR(ciphertext->status());
  const std::vector<uint8_t>& raw = **ciphertext;
  if (raw.empty() || raw.size() > kMaxWdekSize) return Unprocessable();
  absl::StatusOr<keys::Wdek> wdek = keys::ParseWdek(raw);
  if (!wdek.ok()) return Unprocessable();
  // v1 names its version; v2 carries the fingerprint of its material, which
  // any version with the same material matches (a key imported with that
  // material elsewhere included). Every failure below is the same 422.
  const CachedVersion* cv = wdek->format == keys::kWdekFormatV1
                                ? cached.VersionById(wdek->version_id)
                                : cached.VersionByFingerprint(wdek->fingerprint);
  const KeyVersion* version = cv ? cached.key.FindVersion(cv->id) : nullptr;
  if (version == nullptr) return Unprocessable();
  absl::StatusOr<SecretBytes> dek =
      wdek->format == keys::kWdekFormatV1
          ? keys::UnwrapDek(cv->kek, cached.key.instance_id, cached.key.id,
                            *wdek, aad)
          : keys::UnwrapDekV2(cv->wdek_key, *wdek, aad);
  if (!dek.ok()) return Unprocessable();
  return Opened{*std::move(dek), version};
}

absl::StatusOr<UnwrapResult> DataPlaneService::Unwrap(
    const RequestContext& ctx, std::string_view key_id,
    const UnwrapRequest& req) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadForUse(ctx, key_id, iam::Operation::kUnwrap,
                                 Action::kUnwrap, req.aad));
  KW_ASSIGN_OR_RETURN(Opened opened,
                      OpenWdek(*cached, req.ciphertext, req.aad));

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

absl::StatusOr<RewrapResult> DataPlaneService::Rewrap(
    const RequestContext& ctx, std::string_view key_id,
    const UnwrapRequest& req) {
  KW_ASSIGN_OR_RETURN(std::shared_ptr<const CachedKey> cached,
                      LoadForUse(ctx, key_id, iam::Operation::kRewrap,
                                 Action::kRewrap, req.aad));
  KW_ASSIGN_OR_RETURN(Opened opened,
                      OpenWdek(*cached, req.ciphertext, req.aad));
  RewrapResult result;
  KW_ASSIGN_OR_RETURN(result.ciphertext,
                      WrapWithPrimary(*cached, opened.dek.span(), req.aad));
  result.key_version = InfoOf(*opened.version);
  result.rewrapped_key_version = InfoOf(cached->key.Primary());
  return result;
}

}  // namespace keywarden::service
