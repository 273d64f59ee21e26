#include "keywarden/service/kmip_adapters.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/key_ops.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/sha256.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/kmip_cache.h"

namespace keywarden::service {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string Hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string RandomSuffix() {
  uint8_t b[4];
  crypto::RandomPublicBytes(b);
  return Hex(b);
}

bool IsUuidLike(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// keyprotect-api.md §13: [A-Za-z0-9_-], 2-40 characters, not a UUID.
absl::Status CheckName(const std::string& name, std::string_view what) {
  bool ok = name.size() >= 2 && name.size() <= 40 && !IsUuidLike(name);
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                c == '-');
  }
  if (!ok) {
    return FieldError(Reason::kInvalidField, {"name"},
                      StrCat("2 to 40 characters of A-Z, a-z, 0-9, _ and -, "
                             "not a UUID (",
                             what, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckPage(const KmipPage& page, int64_t max_limit) {
  if (page.limit < 1 || page.limit > max_limit) {
    return FieldError(Reason::kInvalidField, {"limit"},
                      StrCat("1 to ", max_limit));
  }
  if (page.offset < 0) {
    return FieldError(Reason::kInvalidField, {"offset"},
                      "a non-negative integer");
  }
  return absl::OkStatus();
}

absl::Status NotFound(std::string_view what) {
  return Error(Reason::kNotFound, StrCat("Not Found: ", what));
}

std::string AdapterTarget(std::string_view instance_id,
                          std::string_view adapter_id) {
  return StrCat("instance:", instance_id, "/kmip_adapter:", adapter_id);
}

// The audit context of a KMIP client: the certificate is the actor.
RequestContext CallerContext(const KmipCaller& caller) {
  RequestContext ctx;
  ctx.principal.id = StrCat("kmip-certificate:", caller.certificate_id);
  ctx.instance_id = caller.instance_id;
  return ctx;
}

// Why the adapter's root key would not seal a new object. Disabled,
// deleted or purged, the key is in a state that refuses it
// (keyprotect-api.md §13: the adapter's key must be Active), which is
// KEY_ACTION_INVALID_STATE_ERR (KMIP: Wrong Key Lifecycle State), never Not
// Found: the object the client asked about is the new one, and it has no
// part in the failure. Bad material and database failures stay as they are.
absl::Status RootKeyRefused(const absl::Status& status) {
  switch (ReasonOf(status)) {
    case Reason::kKeyActionInvalidState:
    case Reason::kKeyInvalidState:
    case Reason::kKeyDeleted:
    case Reason::kNotFound:
      return Error(Reason::kKeyActionInvalidState,
                   "The KMIP adapter's root key is not Active (disabled, "
                   "deleted or purged): no object can be made under it");
    default:
      return status;
  }
}

}  // namespace

std::vector<std::string> KmipMaterialAad(std::string_view instance_id,
                                         std::string_view adapter_id,
                                         std::string_view object_id) {
  return {"keywarden-kmip-object-v1", std::string(instance_id),
          std::string(adapter_id), std::string(object_id)};
}

KmipAdapters::KmipAdapters(Deps deps)
    : keys_(deps.keys),
      store_(deps.store),
      sealer_(deps.sealer),
      access_(deps.access),
      clock_(deps.clock),
      cache_(deps.cache) {}

absl::Status KmipAdapters::AuthorizeInstance(const RequestContext& ctx) const {
  KW_ASSIGN_OR_RETURN(iam::Reach reach,
                      access_->Authorize(ctx, iam::Operation::kKmip));
  // Adapters belong to the instance: a grant on a ring or key is not one.
  if (!reach.whole_instance) return AccessControl::NoAccess();
  return absl::OkStatus();
}

absl::StatusOr<store::KmipAdapter> KmipAdapters::FindAdapter(
    const RequestContext& ctx, std::string_view id_or_name) {
  absl::StatusOr<store::KmipAdapter> a =
      store_->GetKmipAdapter(ctx.instance_id, id_or_name);
  if (absl::IsNotFound(a.status())) {
    return NotFound("the KMIP adapter does not exist");
  }
  return a;
}

absl::StatusOr<store::KmipAdapter> KmipAdapters::CreateAdapter(
    const RequestContext& ctx, const KmipAdapterInput& in) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  store::KmipAdapter a;
  a.name = in.name.value_or(StrCat("kmip_adapter_", RandomSuffix()));
  KW_RETURN_IF_ERROR(CheckName(a.name, "KMIP adapter"));
  if (in.description.size() > 240) {
    return FieldError(Reason::kInvalidField, {"description"},
                      "at most 240 characters");
  }
  if (in.profile != kKmipProfileNative) {
    return FieldError(Reason::kInvalidField, {"profile"}, "native_1.0");
  }
  if (in.crk_id.empty() || in.crk_id.size() > 100) {
    return FieldError(Reason::kInvalidField, {"profile_data.crk_id"},
                      "a root key id or alias");
  }
  // The root key: an id (any case) or an alias; it must be an Active root
  // key of the instance.
  std::string key_id = absl::AsciiStrToLower(AbslView(in.crk_id));
  absl::StatusOr<keys::Key> key = keys_->GetKey(ctx.instance_id, key_id);
  if (absl::IsNotFound(key.status())) {
    absl::StatusOr<store::KeyAlias> alias =
        keys_->GetKeyAlias(ctx.instance_id, in.crk_id);
    if (alias.ok()) key = keys_->GetKey(ctx.instance_id, alias->key_id);
  }
  if (absl::IsNotFound(key.status())) {
    return FieldError(Reason::kInvalidField, {"profile_data.crk_id"},
                      "an existing root key of the instance");
  }
  KW_RETURN_IF_ERROR(key.status());
  if (!key->IsRoot() || key->state != keys::KeyState::kActive) {
    return Error(Reason::kKeyActionInvalidState,
                 "The root key of a KMIP adapter must be an Active root key");
  }
  const absl::Time now = clock_->Now();
  a.instance_id = ctx.instance_id;
  a.id = NewUuid();
  a.description = in.description;
  a.profile = std::string(kKmipProfileNative);
  a.crk_id = key->id;
  a.created_at = now;
  a.created_by = ctx.principal.id;
  a.updated_at = now;
  a.updated_by = ctx.principal.id;
  absl::Status s = store_->CreateKmipAdapter(
      a, kMaxKmipAdapters,
      MakeAudit(ctx, now, "kms.kmip-management.create",
                AdapterTarget(a.instance_id, a.id),
                StrCat("kmip adapter created; crk ", a.crk_id)));
  if (cache_ != nullptr) cache_->DropCallers();  // KmipCache
  if (absl::IsAlreadyExists(s)) {
    return Error(Reason::kConflict,
                 StrCat("Conflict: a KMIP adapter named `", a.name,
                        "` already exists"));
  }
  if (absl::IsResourceExhausted(s)) {
    return Error(Reason::kConflict,
                 StrCat("Conflict: an instance holds at most ",
                        kMaxKmipAdapters, " KMIP adapters"));
  }
  KW_RETURN_IF_ERROR(s);
  return a;
}

absl::StatusOr<KmipList<store::KmipAdapter>> KmipAdapters::ListAdapters(
    const RequestContext& ctx, std::string_view crk_id, KmipPage page) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_RETURN_IF_ERROR(CheckPage(page, 200));
  KmipList<store::KmipAdapter> out;
  std::string crk = absl::AsciiStrToLower(AbslView(crk_id));
  KW_ASSIGN_OR_RETURN(out.items, store_->ListKmipAdapters(
                                     ctx.instance_id, crk, page.limit,
                                     page.offset));
  KW_ASSIGN_OR_RETURN(out.total, store_->CountKmipAdapters(ctx.instance_id, crk));
  return out;
}

absl::StatusOr<store::KmipAdapter> KmipAdapters::GetAdapter(
    const RequestContext& ctx, std::string_view id_or_name) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  return FindAdapter(ctx, id_or_name);
}

absl::Status KmipAdapters::DeleteAdapter(const RequestContext& ctx,
                                         std::string_view id_or_name) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, id_or_name));
  absl::Status s = store_->DeleteKmipAdapter(
      ctx.instance_id, a.id,
      MakeAudit(ctx, clock_->Now(), "kms.kmip-management.delete",
                AdapterTarget(a.instance_id, a.id), "kmip adapter deleted"));
  if (cache_ != nullptr) cache_->DropCallers();  // KmipCache: at once
  if (absl::IsFailedPrecondition(s)) {
    return Error(Reason::kConflict,
                 "Conflict: the KMIP adapter still holds KMIP objects that "
                 "are not destroyed");
  }
  if (absl::IsNotFound(s)) return NotFound("the KMIP adapter does not exist");
  return s;
}

absl::StatusOr<store::KmipCertificate> KmipAdapters::CreateCertificate(
    const RequestContext& ctx, std::string_view adapter,
    const KmipCertificateInput& in) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  store::KmipCertificate c;
  c.name = in.name.value_or(StrCat("kmip_cert_", RandomSuffix()));
  KW_RETURN_IF_ERROR(CheckName(c.name, "KMIP client certificate"));
  absl::StatusOr<std::vector<uint8_t>> der =
      crypto::CertificatePemToDer(in.pem);
  if (!der.ok()) {
    return FieldError(Reason::kInvalidField, {"certificate"},
                      "one X.509 certificate in PEM");
  }
  const absl::Time now = clock_->Now();
  c.instance_id = a.instance_id;
  c.adapter_id = a.id;
  c.id = NewUuid();
  c.pem = in.pem;
  c.fingerprint = Hex(crypto::Sha256(*der));
  c.created_at = now;
  c.created_by = ctx.principal.id;
  absl::Status s = store_->CreateKmipCertificate(
      c, kMaxKmipCertificates,
      MakeAudit(ctx, now, "kms.kmip-management.create",
                StrCat(AdapterTarget(a.instance_id, a.id), "/certificate:",
                       c.id),
                StrCat("client certificate added; sha256 ", c.fingerprint)));
  if (cache_ != nullptr) cache_->DropCallers();  // KmipCache
  if (absl::IsAlreadyExists(s)) {
    return Error(Reason::kConflict,
                 "Conflict: the certificate or its name is already "
                 "registered");
  }
  if (absl::IsResourceExhausted(s)) {
    return Error(Reason::kConflict,
                 StrCat("Conflict: a KMIP adapter holds at most ",
                        kMaxKmipCertificates, " client certificates"));
  }
  if (absl::IsNotFound(s)) return NotFound("the KMIP adapter does not exist");
  KW_RETURN_IF_ERROR(s);
  return c;
}

absl::StatusOr<KmipList<store::KmipCertificate>>
KmipAdapters::ListCertificates(const RequestContext& ctx,
                               std::string_view adapter, KmipPage page) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_RETURN_IF_ERROR(CheckPage(page, 200));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  KmipList<store::KmipCertificate> out;
  KW_ASSIGN_OR_RETURN(out.items,
                      store_->ListKmipCertificates(a.instance_id, a.id,
                                                   page.limit, page.offset));
  KW_ASSIGN_OR_RETURN(out.total,
                      store_->CountKmipCertificates(a.instance_id, a.id));
  return out;
}

absl::StatusOr<store::KmipCertificate> KmipAdapters::GetCertificate(
    const RequestContext& ctx, std::string_view adapter,
    std::string_view id_or_name) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  absl::StatusOr<store::KmipCertificate> c =
      store_->GetKmipCertificate(a.instance_id, a.id, id_or_name);
  if (absl::IsNotFound(c.status())) {
    return NotFound("the KMIP client certificate does not exist");
  }
  return c;
}

absl::Status KmipAdapters::DeleteCertificate(const RequestContext& ctx,
                                             std::string_view adapter,
                                             std::string_view id_or_name) {
  KW_ASSIGN_OR_RETURN(store::KmipCertificate c,
                      GetCertificate(ctx, adapter, id_or_name));
  absl::Status s = store_->DeleteKmipCertificate(
      c.instance_id, c.adapter_id, c.id,
      MakeAudit(ctx, clock_->Now(), "kms.kmip-management.delete",
                StrCat(AdapterTarget(c.instance_id, c.adapter_id),
                       "/certificate:", c.id),
                StrCat("client certificate removed; sha256 ", c.fingerprint)));
  if (cache_ != nullptr) cache_->DropCallers();  // KmipCache: at once
  if (absl::IsNotFound(s)) {
    return NotFound("the KMIP client certificate does not exist");
  }
  return s;
}

absl::StatusOr<KmipList<store::KmipObject>> KmipAdapters::ListObjects(
    const RequestContext& ctx, std::string_view adapter,
    std::vector<int32_t> states, KmipPage page) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_RETURN_IF_ERROR(CheckPage(page, 5000));
  for (int32_t s : states) {
    if (s < 1 || s > 6) {
      return FieldError(Reason::kInvalidField, {"state"},
                        "KMIP states 1 to 6");
    }
  }
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  store::KmipObjectQuery q;
  q.instance_id = a.instance_id;
  q.adapter_id = a.id;
  q.states = states.empty() ? std::vector<int32_t>{1, 2, 3, 4} : states;
  q.limit = page.limit;
  q.offset = page.offset;
  KmipList<store::KmipObject> out;
  KW_ASSIGN_OR_RETURN(out.items, store_->ListKmipObjects(q));
  KW_ASSIGN_OR_RETURN(out.total, store_->CountKmipObjects(q));
  for (store::KmipObject& o : out.items) o.sealed_material.clear();
  return out;
}

absl::StatusOr<store::KmipObject> KmipAdapters::GetObject(
    const RequestContext& ctx, std::string_view adapter, std::string_view id) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  absl::StatusOr<store::KmipObject> o =
      store_->GetKmipObject(a.instance_id, a.id, id);
  if (absl::IsNotFound(o.status())) {
    return NotFound("the KMIP object does not exist");
  }
  KW_RETURN_IF_ERROR(o.status());
  o->sealed_material.clear();
  return o;
}

absl::Status KmipAdapters::DeleteObject(const RequestContext& ctx,
                                        std::string_view adapter,
                                        std::string_view id) {
  KW_RETURN_IF_ERROR(AuthorizeInstance(ctx));
  KW_ASSIGN_OR_RETURN(store::KmipAdapter a, FindAdapter(ctx, adapter));
  absl::StatusOr<store::KmipObject> o =
      store_->GetKmipObject(a.instance_id, a.id, id);
  if (absl::IsNotFound(o.status())) {
    return NotFound("the KMIP object does not exist");
  }
  KW_RETURN_IF_ERROR(o.status());
  const auto state = static_cast<KmipState>(o->state);
  if (state == KmipState::kActive) {
    return Error(Reason::kConflict,
                 "Conflict: an Active KMIP object cannot be destroyed; "
                 "revoke it first");
  }
  if (state == KmipState::kDestroyed ||
      state == KmipState::kDestroyedCompromised) {
    return absl::OkStatus();
  }
  const absl::Time now = clock_->Now();
  o->state = static_cast<int32_t>(state == KmipState::kCompromised
                                      ? KmipState::kDestroyedCompromised
                                      : KmipState::kDestroyed);
  o->sealed_material.clear();
  o->revision += 1;
  o->updated_at = now;
  o->destroyed_at = now;
  absl::Status s = store_->UpdateKmipObject(
      *o, MakeAudit(ctx, now, "kms.kmip-management.delete",
                    StrCat(AdapterTarget(a.instance_id, a.id), "/object:", id),
                    "kmip object destroyed"));
  if (cache_ != nullptr) cache_->DropObject(a.instance_id, a.id, id);
  if (absl::IsAborted(s)) {
    return Error(Reason::kConflict,
                 "Conflict: the KMIP object changed meanwhile; retry");
  }
  return s;
}

// ---- the KMIP listener

absl::StatusOr<KmipCaller> KmipAdapters::Identify(
    std::string_view certificate_sha256) {
  std::string hex = Hex(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(certificate_sha256.data()),
      certificate_sha256.size()));
  // KmipCache: a hit, or the generation a fill from the store must match.
  uint64_t generation = 0;
  if (cache_ != nullptr) {
    if (std::optional<KmipCaller> hit = cache_->FindCaller(hex)) return *hit;
    generation = cache_->Generation();
  }
  absl::StatusOr<store::KmipCertificate> c = store_->FindKmipCertificate(hex);
  if (absl::IsNotFound(c.status())) {
    return absl::PermissionDeniedError(
        "the client certificate is not registered to a KMIP adapter");
  }
  KW_RETURN_IF_ERROR(c.status());
  absl::StatusOr<store::KmipAdapter> a =
      store_->GetKmipAdapter(c->instance_id, c->adapter_id);
  if (absl::IsNotFound(a.status())) {
    return absl::PermissionDeniedError(
        "the client certificate is not registered to a KMIP adapter");
  }
  KW_RETURN_IF_ERROR(a.status());
  KmipCaller caller{a->instance_id, a->id, a->crk_id, c->id};
  if (cache_ != nullptr) cache_->PutCaller(hex, caller, generation);
  return caller;
}

absl::StatusOr<store::KmipObject> KmipAdapters::CreateObject(
    const KmipCaller& caller, store::KmipObject object,
    const SecretBytes& material, std::string_view action,
    const CompleteObject& complete) {
  const absl::Time now = clock_->Now();
  object.instance_id = caller.instance_id;
  object.adapter_id = caller.adapter_id;
  object.id = NewUuid();
  object.revision = 1;
  object.created_at = now;
  object.updated_at = now;
  object.created_by_cert_id = caller.certificate_id;
  object.updated_by_cert_id = caller.certificate_id;
  std::vector<std::string> aad =
      KmipMaterialAad(object.instance_id, object.adapter_id, object.id);
  absl::StatusOr<std::vector<uint8_t>> sealed = sealer_->SealUnderRootKey(
      caller.instance_id, caller.crk_id, material.span(), aad);
  if (!sealed.ok()) return RootKeyRefused(sealed.status());
  object.sealed_material.assign(sealed->begin(), sealed->end());
  if (complete) {
    const std::string id = object.id;
    KW_RETURN_IF_ERROR(complete(object));
    // The sealed material is bound to this id (its AAD).
    if (object.id != id) {
      return absl::InternalError("completing a KMIP object changed its id");
    }
  }
  KW_RETURN_IF_ERROR(store_->CreateKmipObject(
      object,
      MakeAudit(CallerContext(caller), now, std::string(action),
                StrCat(AdapterTarget(caller.instance_id, caller.adapter_id),
                       "/object:", object.id))));
  return object;
}

absl::StatusOr<store::KmipObject> KmipAdapters::LoadObject(
    const KmipCaller& caller, std::string_view id) {
  absl::StatusOr<store::KmipObject> o =
      store_->GetKmipObject(caller.instance_id, caller.adapter_id, id);
  if (absl::IsNotFound(o.status())) {
    return absl::NotFoundError("no such object");
  }
  return o;
}

absl::StatusOr<SecretBytes> KmipAdapters::OpenMaterial(
    const KmipCaller& caller, const store::KmipObject& object) {
  if (object.sealed_material.empty()) {
    return absl::FailedPreconditionError("the object has no material");
  }
  // KmipCache: this revision's material, while the root key would still
  // open it (its state is the data plane's, asked on every hit).
  uint64_t generation = 0;
  if (cache_ != nullptr) {
    if (std::shared_ptr<const SecretBytes> hit = cache_->FindMaterial(
            object.instance_id, object.adapter_id, object.id,
            object.revision)) {
      absl::Status usable =
          sealer_->CheckRootKey(caller.instance_id, caller.crk_id);
      if (usable.ok()) return SecretBytes(hit->span());
      cache_->DropRootKey(caller.instance_id, caller.crk_id);
      return usable;
    }
    generation = cache_->Generation();
  }
  std::vector<std::string> aad =
      KmipMaterialAad(object.instance_id, object.adapter_id, object.id);
  absl::StatusOr<SecretBytes> opened = sealer_->OpenUnderRootKey(
      caller.instance_id, caller.crk_id,
      std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(object.sealed_material.data()),
          object.sealed_material.size()),
      aad);
  if (cache_ != nullptr && opened.ok()) {
    cache_->PutMaterial(object.instance_id, object.adapter_id, object.id,
                        object.revision, caller.crk_id,
                        std::make_shared<const SecretBytes>(*opened),
                        generation);
  }
  return opened;
}

absl::Status KmipAdapters::UpdateObject(const KmipCaller& caller,
                                        store::KmipObject object,
                                        std::optional<std::string_view> action) {
  const absl::Time now = clock_->Now();
  object.revision += 1;
  object.updated_at = now;
  object.updated_by_cert_id = caller.certificate_id;
  const auto state = static_cast<KmipState>(object.state);
  if (state == KmipState::kDestroyed ||
      state == KmipState::kDestroyedCompromised) {
    object.sealed_material.clear();
    if (!object.destroyed_at) {
      object.destroyed_at = now;
      object.destroyed_by_cert_id = caller.certificate_id;
    }
  }
  std::optional<iam::AuditRecord> audit;
  if (action.has_value()) {
    audit = MakeAudit(CallerContext(caller), now, std::string(*action),
                      StrCat(AdapterTarget(caller.instance_id,
                                           caller.adapter_id),
                             "/object:", object.id));
  }
  absl::Status s = store_->UpdateKmipObject(object, audit);
  if (cache_ != nullptr) {
    cache_->DropObject(object.instance_id, object.adapter_id, object.id);
  }
  return s;
}

absl::StatusOr<std::vector<store::KmipObject>> KmipAdapters::FindObjects(
    const KmipCaller& caller, store::KmipObjectQuery query) {
  query.instance_id = caller.instance_id;
  query.adapter_id = caller.adapter_id;
  return store_->ListKmipObjects(query);
}

absl::StatusOr<int64_t> KmipAdapters::CountObjects(
    const KmipCaller& caller, store::KmipObjectQuery query) {
  query.instance_id = caller.instance_id;
  query.adapter_id = caller.adapter_id;
  return store_->CountKmipObjects(query);
}

}  // namespace keywarden::service
