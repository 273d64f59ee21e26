#include "keywarden/api/kmip/memory_backend_for_testing.h"

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "keywarden/api/kmip/key_crypto.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/random.h"

namespace keywarden::api::kmip {
namespace {

void Replace(AttributeList& list, Tag tag, Item value) {
  for (Attribute& a : list.items) {
    if (a.name.tag == static_cast<uint32_t>(tag)) {
      a.value = std::move(value);
      return;
    }
  }
  list.Add({.name = {static_cast<uint32_t>(tag), ""}, .value = std::move(value)});
}

}  // namespace

size_t MemoryBackendForTesting::object_count() const {
  absl::MutexLock lock(&mu_);
  return objects_.size();
}

absl::StatusOr<MemoryBackendForTesting::Object*> MemoryBackendForTesting::Find(
    const KmipContext& ctx, const std::string& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || ctx.client == nullptr ||
      it->second.owner != ctx.client->certificate_sha256) {
    return absl::NotFoundError("no such object");
  }
  return &it->second;
}

std::string MemoryBackendForTesting::Store(const KmipContext& ctx, Object object) {
  std::string id = std::to_string(next_id_++);
  object.owner = ctx.client != nullptr ? ctx.client->certificate_sha256 : "";
  Replace(object.attributes, Tag::kUniqueIdentifier,
          Item::TextString(Tag::kUniqueIdentifier, id));
  Replace(object.attributes, Tag::kObjectType,
          Item::Enum(Tag::kObjectType, object.object.object_type));
  if (object.object.algorithm) {
    Replace(object.attributes, Tag::kCryptographicAlgorithm,
            Item::Enum(Tag::kCryptographicAlgorithm, *object.object.algorithm));
  }
  if (object.object.length) {
    Replace(object.attributes, Tag::kCryptographicLength,
            Item::Integer(Tag::kCryptographicLength, *object.object.length));
  }
  Replace(object.attributes, Tag::kInitialDate,
          Item::DateTime(Tag::kInitialDate, absl::ToUnixSeconds(clock_.Now())));
  SetState(object, State::kPreActive);
  objects_.emplace(id, std::move(object));
  return id;
}

void MemoryBackendForTesting::SetState(Object& o, State state) {
  o.state = state;
  Replace(o.attributes, Tag::kState, Item::Enum(Tag::kState, state));
}

absl::StatusOr<CreateResponse> MemoryBackendForTesting::Create(
    const KmipContext& ctx, const CreateRequest& req) {
  if (req.object_type != ObjectType::kSymmetricKey) {
    return KmipError(ResultReason::kInvalidField, "only symmetric keys are created");
  }
  if (req.attributes.algorithm() != CryptographicAlgorithm::kAes) {
    return absl::InvalidArgumentError("only AES keys are created here");
  }
  std::optional<int32_t> bits = req.attributes.length();
  if (!bits || (*bits != 128 && *bits != 192 && *bits != 256)) {
    return absl::InvalidArgumentError("Cryptographic Length must be 128, 192 or 256");
  }
  Object o;
  o.object.object_type = ObjectType::kSymmetricKey;
  o.object.algorithm = CryptographicAlgorithm::kAes;
  o.object.length = *bits;
  o.object.material = crypto::RandomSecret(static_cast<size_t>(*bits / 8));
  o.attributes = req.attributes;
  absl::MutexLock lock(&mu_);
  return CreateResponse{.object_type = ObjectType::kSymmetricKey,
                        .unique_identifier = Store(ctx, std::move(o))};
}

absl::StatusOr<CreateKeyPairResponse> MemoryBackendForTesting::CreateKeyPair(
    const KmipContext&, const CreateKeyPairRequest&) {
  return absl::UnimplementedError("Create Key Pair is not in the test backend");
}

absl::StatusOr<ObjectId> MemoryBackendForTesting::Register(
    const KmipContext& ctx, const RegisterRequest& req) {
  if (req.object.object_type != ObjectType::kSymmetricKey &&
      req.object.object_type != ObjectType::kSecretData) {
    return absl::UnimplementedError("only symmetric keys and secret data here");
  }
  if (req.object.key_format_type != KeyFormatType::kRaw &&
      req.object.key_format_type != KeyFormatType::kTransparentSymmetricKey &&
      req.object.key_format_type != KeyFormatType::kOpaque) {
    return KmipError(ResultReason::kKeyFormatTypeNotSupported,
                     "key format type not supported");
  }
  Object o;
  o.object.object_type = req.object.object_type;
  o.object.key_format_type = KeyFormatType::kRaw;
  o.object.algorithm = req.object.algorithm;
  o.object.length = req.object.length;
  o.object.material = req.object.material;
  o.object.secret_data_type = req.object.secret_data_type;
  o.attributes = req.attributes;
  absl::MutexLock lock(&mu_);
  return ObjectId{Store(ctx, std::move(o))};
}

absl::StatusOr<GetResponse> MemoryBackendForTesting::Get(const KmipContext& ctx,
                                                         const GetRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state == State::kDestroyed || o->state == State::kDestroyedCompromised) {
    return KmipError(ResultReason::kKeyValueNotPresent, "the object is destroyed");
  }
  GetResponse res{.unique_identifier = req.unique_identifier, .object = o->object};
  if (req.key_format_type) {
    if (*req.key_format_type == KeyFormatType::kTransparentSymmetricKey &&
        o->object.object_type == ObjectType::kSymmetricKey) {
      res.object.key_format_type = KeyFormatType::kTransparentSymmetricKey;
    } else if (*req.key_format_type != KeyFormatType::kRaw) {
      return KmipError(ResultReason::kKeyFormatTypeNotSupported,
                       "key format type not supported");
    }
  }
  return res;
}

absl::StatusOr<GetAttributesResponse> MemoryBackendForTesting::GetAttributes(
    const KmipContext& ctx, const GetAttributesRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  GetAttributesResponse res;
  res.unique_identifier = req.unique_identifier;
  for (const Attribute& a : o->attributes.items) {
    if (req.names.empty() ||
        std::find(req.names.begin(), req.names.end(), a.name) != req.names.end()) {
      res.attributes.Add(a);
    }
  }
  return res;
}

absl::StatusOr<GetAttributeListResponse> MemoryBackendForTesting::GetAttributeList(
    const KmipContext& ctx, const ObjectId& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  GetAttributeListResponse res;
  res.unique_identifier = req.unique_identifier;
  for (const Attribute& a : o->attributes.items) {
    if (std::find(res.names.begin(), res.names.end(), a.name) == res.names.end()) {
      res.names.push_back(a.name);
    }
  }
  return res;
}

absl::StatusOr<AttributeChangeResponse> MemoryBackendForTesting::AddAttribute(
    const KmipContext& ctx, const AttributeChangeRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  // Only multi-valued or custom attributes may be added twice.
  bool multi = req.attribute.name.tag == 0 ||
               req.attribute.name.tag == static_cast<uint32_t>(Tag::kName) ||
               req.attribute.name.tag == static_cast<uint32_t>(Tag::kObjectGroup);
  int32_t index = 0;
  for (const Attribute& a : o->attributes.items) {
    if (a.name == req.attribute.name) {
      if (!multi) return absl::InvalidArgumentError("the attribute is single-valued");
      index = std::max(index, a.index + 1);
    }
  }
  Attribute added = req.attribute;
  added.index = index;
  o->attributes.Add(added);
  return AttributeChangeResponse{req.unique_identifier, added};
}

absl::StatusOr<AttributeChangeResponse> MemoryBackendForTesting::ModifyAttribute(
    const KmipContext& ctx, const AttributeChangeRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  for (Attribute& a : o->attributes.items) {
    if (a.name == req.attribute.name && a.index == req.attribute.index) {
      a.value = req.attribute.value;
      return AttributeChangeResponse{req.unique_identifier, a};
    }
  }
  return absl::NotFoundError("no such attribute");
}

absl::StatusOr<AttributeChangeResponse> MemoryBackendForTesting::DeleteAttribute(
    const KmipContext& ctx, const DeleteAttributeRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  auto& items = o->attributes.items;
  for (auto it = items.begin(); it != items.end(); ++it) {
    bool match = it->name == req.name &&
                 (req.current ? it->value == req.current->value
                              : it->index == req.index);
    if (!match) continue;
    Attribute deleted = *it;
    items.erase(it);
    return AttributeChangeResponse{req.unique_identifier, deleted};
  }
  return absl::NotFoundError("no such attribute");
}

absl::StatusOr<LocateResponse> MemoryBackendForTesting::Locate(
    const KmipContext& ctx, const LocateRequest& req) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> found;
  for (const auto& [id, o] : objects_) {
    if (ctx.client == nullptr || o.owner != ctx.client->certificate_sha256) continue;
    bool all = true;
    for (const Attribute& want : req.attributes.items) {
      bool any = false;
      for (const Attribute* have : o.attributes.FindAll(static_cast<Tag>(want.name.tag))) {
        Item h = have->value;
        h.set_tag(want.value.tag());
        if (h == want.value) any = true;
      }
      all = all && any;
    }
    if (all) found.push_back(id);
  }
  LocateResponse res;
  res.located_items = static_cast<int32_t>(found.size());
  size_t start = std::min(found.size(), static_cast<size_t>(req.offset_items.value_or(0)));
  size_t count = found.size() - start;
  if (req.maximum_items && *req.maximum_items > 0) {
    count = std::min(count, static_cast<size_t>(*req.maximum_items));
  }
  res.unique_identifiers.assign(found.begin() + start, found.begin() + start + count);
  return res;
}

absl::StatusOr<ObjectId> MemoryBackendForTesting::Activate(const KmipContext& ctx,
                                                           const ObjectId& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state != State::kPreActive) {
    return absl::FailedPreconditionError("only a Pre-Active object can be activated");
  }
  SetState(*o, State::kActive);
  Replace(o->attributes, Tag::kActivationDate,
          Item::DateTime(Tag::kActivationDate, absl::ToUnixSeconds(clock_.Now())));
  return req;
}

absl::StatusOr<ObjectId> MemoryBackendForTesting::Revoke(const KmipContext& ctx,
                                                         const RevokeRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state == State::kDestroyed || o->state == State::kDestroyedCompromised) {
    return absl::FailedPreconditionError("the object is destroyed");
  }
  SetState(*o, req.reason == RevocationReasonCode::kKeyCompromise ? State::kCompromised
                                                                   : State::kDeactivated);
  return ObjectId{req.unique_identifier};
}

absl::StatusOr<ObjectId> MemoryBackendForTesting::Destroy(const KmipContext& ctx,
                                                          const ObjectId& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state == State::kActive) {
    return absl::FailedPreconditionError("an Active object cannot be destroyed");
  }
  o->object.material = SecretBytes();
  SetState(*o, o->state == State::kCompromised ? State::kDestroyedCompromised
                                               : State::kDestroyed);
  return req;
}

absl::StatusOr<EncryptResponse> MemoryBackendForTesting::Encrypt(
    const KmipContext& ctx, const EncryptRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state != State::kActive) {
    return absl::FailedPreconditionError("the key is not Active");
  }
  return EncryptWith(o->object, req);
}

absl::StatusOr<DecryptResponse> MemoryBackendForTesting::Decrypt(
    const KmipContext& ctx, const DecryptRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state != State::kActive && o->state != State::kDeactivated) {
    return absl::FailedPreconditionError("the key cannot decrypt in its state");
  }
  return DecryptWith(o->object, req);
}

absl::StatusOr<MacResponse> MemoryBackendForTesting::Mac(const KmipContext& ctx,
                                                         const MacRequest& req) {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(Object * o, Find(ctx, req.unique_identifier));
  if (o->state != State::kActive) {
    return absl::FailedPreconditionError("the key is not Active");
  }
  return MacWith(o->object, req);
}

absl::StatusOr<SignResponse> MemoryBackendForTesting::Sign(const KmipContext&,
                                                           const SignRequest&) {
  return absl::UnimplementedError("Sign is not in the test backend");
}

absl::StatusOr<SignatureVerifyResponse> MemoryBackendForTesting::SignatureVerify(
    const KmipContext&, const SignatureVerifyRequest&) {
  return absl::UnimplementedError("Signature Verify is not in the test backend");
}

}  // namespace keywarden::api::kmip
