#include "keywarden/api/kmip/protocol.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "keywarden/api/kmip/fields.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::kmip {
namespace {

using internal::Fields;

// What one operation handler sees: the context, the backends and the
// batch's ID Placeholder (KMIP 1.4 §4: the identifier the previous item
// produced, used when an item omits Unique Identifier).
struct Call {
  const KmipContext& ctx;
  KmipObjects& objects;
  KmipCrypto& crypto;
  const KmipProtocolOptions& options;
  std::string& id_placeholder;
  bool v2() const { return ctx.version.major >= 2; }
};

Item Payload(std::vector<Item> children) {
  return Item::Structure(Tag::kResponsePayload, std::move(children));
}

Item Uid(const std::string& id) {
  return Item::TextString(Tag::kUniqueIdentifier, id);
}

// The request's Unique Identifier, or the ID Placeholder.
absl::StatusOr<std::string> TakeUid(Fields& f, Call& call) {
  KW_ASSIGN_OR_RETURN(const Item* uid,
                      f.Optional(Tag::kUniqueIdentifier, ItemType::kTextString));
  if (uid != nullptr) return uid->bytes();
  if (call.id_placeholder.empty()) {
    return KmipError(ResultReason::kMissingData,
                     "no Unique Identifier and no ID Placeholder");
  }
  return call.id_placeholder;
}

// 1.x: a Template-Attribute-shaped structure under `tag1x`; 2.0: an
// Attributes-shaped structure under `tag20`. Absent: no attributes.
absl::StatusOr<AttributeList> TakeAttributes(Fields& f, Call& call, Tag tag1x,
                                             Tag tag20) {
  KW_ASSIGN_OR_RETURN(const Item* item,
                      f.Optional(call.v2() ? tag20 : tag1x, ItemType::kStructure));
  if (item == nullptr) return AttributeList();
  return call.v2() ? DecodeAttributes20(*item) : DecodeTemplateAttribute(*item);
}

absl::StatusOr<std::optional<CryptographicParameters>> TakeParameters(Fields& f) {
  KW_ASSIGN_OR_RETURN(const Item* item,
                      f.Optional(Tag::kCryptographicParameters, ItemType::kStructure));
  if (item == nullptr) return std::optional<CryptographicParameters>();
  KW_ASSIGN_OR_RETURN(CryptographicParameters p, DecodeCryptographicParameters(*item));
  return std::optional<CryptographicParameters>(std::move(p));
}

absl::StatusOr<std::optional<std::string>> TakeBytes(Fields& f, Tag tag) {
  KW_ASSIGN_OR_RETURN(const Item* item, f.Optional(tag, ItemType::kByteString));
  if (item == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(item->bytes());
}

// Streaming (Correlation Value, Init/Final Indicator) is not supported; a
// single-part request may carry Init and Final both true.
absl::Status RejectStreaming(Fields& f) {
  KW_ASSIGN_OR_RETURN(const Item* corr,
                      f.Optional(Tag::kCorrelationValue, ItemType::kByteString));
  KW_ASSIGN_OR_RETURN(const Item* init, f.Optional(Tag::kInitIndicator, ItemType::kBoolean));
  KW_ASSIGN_OR_RETURN(const Item* fin, f.Optional(Tag::kFinalIndicator, ItemType::kBoolean));
  if (corr != nullptr || (init != nullptr && init->int_value() == 0) ||
      (fin != nullptr && fin->int_value() == 0)) {
    return KmipError(ResultReason::kFeatureNotSupported,
                     "multi-part cryptographic operations are not supported");
  }
  return absl::OkStatus();
}

absl::StatusOr<Attribute> DecodeNewAttribute20(const Item& wrapper) {
  // New Attribute / Current Attribute { one attribute under its own tag }.
  if (wrapper.children().size() != 1) {
    return Fields::Invalid(StrCat(internal::TagText(wrapper.tag()),
                                  " must hold exactly one attribute"));
  }
  Item one = Item::Structure(Tag::kAttributes, {wrapper.children()[0]});
  KW_ASSIGN_OR_RETURN(AttributeList list, DecodeAttributes20(one));
  return std::move(list.items[0]);
}

// KMIP 2.0 Attribute Reference: an Enumeration holding the attribute's tag,
// or a structure { Vendor Identification, Attribute Name } (an empty vendor
// names a standard attribute). Vendor attributes are not supported.
absl::StatusOr<AttributeName> DecodeAttributeReference20(const Item& ref) {
  uint32_t tag = 0;
  if (ref.type() == ItemType::kEnumeration) {
    tag = static_cast<uint32_t>(ref.int_value());
  } else if (ref.type() == ItemType::kStructure) {
    Fields f(ref, "Attribute Reference");
    KW_ASSIGN_OR_RETURN(const Item* vendor,
                        f.Required(Tag::kVendorIdentification, ItemType::kTextString));
    KW_ASSIGN_OR_RETURN(const Item* name,
                        f.Required(Tag::kAttributeName, ItemType::kTextString));
    KW_RETURN_IF_ERROR(f.Done());
    if (!vendor->bytes().empty()) {
      return Fields::Invalid("vendor attributes are not supported");
    }
    tag = AttributeTagOf(name->bytes());
  } else {
    return Fields::Invalid("Attribute Reference must be an Enumeration or a structure");
  }
  if (AttributeNameText(tag).empty()) {
    return Fields::Invalid(StrCat("unsupported attribute ", internal::TagText(tag)));
  }
  return AttributeName{tag, ""};
}

Item EncodeAttributeRef20(const AttributeName& name) {
  return Item::Enumeration(Tag::kAttributeReference, name.tag);
}

// --- Operations: decode, call, encode -------------------------------------

absl::StatusOr<Item> RunCreate(Call& call, const Item& payload) {
  Fields f(payload, "Create");
  CreateRequest req;
  KW_ASSIGN_OR_RETURN(const Item* type,
                      f.Required(Tag::kObjectType, ItemType::kEnumeration));
  req.object_type = static_cast<ObjectType>(type->int_value());
  KW_ASSIGN_OR_RETURN(req.attributes, TakeAttributes(f, call, Tag::kTemplateAttribute,
                                                     Tag::kAttributes));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(CreateResponse res, call.objects.Create(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Item::Enum(Tag::kObjectType, res.object_type),
                  Uid(res.unique_identifier)});
}

absl::StatusOr<Item> RunCreateKeyPair(Call& call, const Item& payload) {
  Fields f(payload, "Create Key Pair");
  CreateKeyPairRequest req;
  KW_ASSIGN_OR_RETURN(req.common_attributes,
                      TakeAttributes(f, call, Tag::kCommonTemplateAttribute,
                                     Tag::kCommonAttributes));
  KW_ASSIGN_OR_RETURN(req.private_key_attributes,
                      TakeAttributes(f, call, Tag::kPrivateKeyTemplateAttribute,
                                     Tag::kPrivateKeyAttributes));
  KW_ASSIGN_OR_RETURN(req.public_key_attributes,
                      TakeAttributes(f, call, Tag::kPublicKeyTemplateAttribute,
                                     Tag::kPublicKeyAttributes));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(CreateKeyPairResponse res,
                      call.objects.CreateKeyPair(call.ctx, req));
  call.id_placeholder = res.private_key_unique_identifier;
  return Payload({Item::TextString(Tag::kPrivateKeyUniqueIdentifier,
                                   res.private_key_unique_identifier),
                  Item::TextString(Tag::kPublicKeyUniqueIdentifier,
                                   res.public_key_unique_identifier)});
}

absl::StatusOr<Item> RunRegister(Call& call, const Item& payload) {
  Fields f(payload, "Register");
  RegisterRequest req;
  KW_ASSIGN_OR_RETURN(const Item* type,
                      f.Required(Tag::kObjectType, ItemType::kEnumeration));
  req.object_type = static_cast<ObjectType>(type->int_value());
  KW_ASSIGN_OR_RETURN(req.attributes, TakeAttributes(f, call, Tag::kTemplateAttribute,
                                                     Tag::kAttributes));
  const Item* object = nullptr;
  for (Tag t : {Tag::kSymmetricKey, Tag::kPublicKey, Tag::kPrivateKey, Tag::kSecretData}) {
    KW_ASSIGN_OR_RETURN(const Item* found, f.Optional(t, ItemType::kStructure));
    if (found == nullptr) continue;
    if (object != nullptr) return Fields::Invalid("Register carries two objects");
    object = found;
  }
  KW_RETURN_IF_ERROR(f.Done());
  if (object == nullptr) {
    return KmipError(ResultReason::kMissingData, "Register needs a managed object");
  }
  KW_ASSIGN_OR_RETURN(req.object, DecodeManagedObject(*object));
  if (req.object.object_type != req.object_type) {
    return Fields::Invalid("Object Type does not match the object");
  }
  KW_ASSIGN_OR_RETURN(ObjectId res, call.objects.Register(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier)});
}

absl::StatusOr<Item> RunGet(Call& call, const Item& payload) {
  Fields f(payload, "Get");
  GetRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(const Item* format,
                      f.Optional(Tag::kKeyFormatType, ItemType::kEnumeration));
  if (format != nullptr) req.key_format_type = static_cast<KeyFormatType>(format->int_value());
  KW_ASSIGN_OR_RETURN(const Item* compression,
                      f.Optional(Tag::kKeyCompressionType, ItemType::kEnumeration));
  if (compression != nullptr) {
    return KmipError(ResultReason::kKeyCompressionTypeNotSupported,
                     "key compression is not supported");
  }
  KW_ASSIGN_OR_RETURN(const Item* wrapping,
                      f.Optional(Tag::kKeyWrappingSpecification, ItemType::kStructure));
  if (wrapping != nullptr) {
    return KmipError(ResultReason::kFeatureNotSupported, "key wrapping is not supported");
  }
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(GetResponse res, call.objects.Get(call.ctx, req));
  KW_ASSIGN_OR_RETURN(Item object, EncodeManagedObject(res.object));
  call.id_placeholder = res.unique_identifier;
  return Payload({Item::Enum(Tag::kObjectType, res.object.object_type),
                  Uid(res.unique_identifier), std::move(object)});
}

absl::StatusOr<Item> RunGetAttributes(Call& call, const Item& payload) {
  Fields f(payload, "Get Attributes");
  GetAttributesRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  if (call.v2()) {
    for (const Item* r : f.RepeatedAnyType(Tag::kAttributeReference)) {
      KW_ASSIGN_OR_RETURN(AttributeName name, DecodeAttributeReference20(*r));
      req.names.push_back(std::move(name));
    }
  } else {
    KW_ASSIGN_OR_RETURN(auto names, f.Repeated(Tag::kAttributeName, ItemType::kTextString));
    for (const Item* n : names) {
      uint32_t tag = AttributeTagOf(n->bytes());
      req.names.push_back({tag, tag == 0 ? n->bytes() : ""});
    }
  }
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(GetAttributesResponse res,
                      call.objects.GetAttributes(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  Item out = Payload({Uid(res.unique_identifier)});
  if (call.v2()) {
    out.Add(EncodeAttributes20(Tag::kAttributes, res.attributes));
  } else {
    for (const Attribute& a : res.attributes.items) out.Add(EncodeAttribute1x(a));
  }
  return out;
}

absl::StatusOr<Item> RunGetAttributeList(Call& call, const Item& payload) {
  Fields f(payload, "Get Attribute List");
  ObjectId req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(GetAttributeListResponse res,
                      call.objects.GetAttributeList(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  Item out = Payload({Uid(res.unique_identifier)});
  for (const AttributeName& n : res.names) {
    if (call.v2()) {
      if (n.tag != 0) out.Add(EncodeAttributeRef20(n));
    } else {
      out.Add(Item::TextString(Tag::kAttributeName,
                               n.tag != 0 ? std::string(AttributeNameText(n.tag))
                                          : n.custom_name));
    }
  }
  return out;
}

absl::StatusOr<Item> EncodeChange(Call& call, const AttributeChangeResponse& res) {
  call.id_placeholder = res.unique_identifier;
  Item out = Payload({Uid(res.unique_identifier)});
  if (!call.v2() && res.attribute) out.Add(EncodeAttribute1x(*res.attribute));
  return out;
}

absl::StatusOr<AttributeChangeRequest> DecodeChange(Call& call, const Item& payload,
                                                    std::string_view where,
                                                    bool allow_current) {
  Fields f(payload, where);
  AttributeChangeRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  if (call.v2()) {
    if (allow_current) {
      KW_ASSIGN_OR_RETURN(const Item* current,
                          f.Optional(Tag::kCurrentAttribute, ItemType::kStructure));
      if (current != nullptr) {
        KW_ASSIGN_OR_RETURN(req.current, DecodeNewAttribute20(*current));
      }
    }
    KW_ASSIGN_OR_RETURN(const Item* attr,
                        f.Required(Tag::kNewAttribute, ItemType::kStructure));
    KW_ASSIGN_OR_RETURN(req.attribute, DecodeNewAttribute20(*attr));
  } else {
    KW_ASSIGN_OR_RETURN(const Item* attr, f.Required(Tag::kAttribute, ItemType::kStructure));
    KW_ASSIGN_OR_RETURN(req.attribute, DecodeAttribute1x(*attr));
  }
  KW_RETURN_IF_ERROR(f.Done());
  return req;
}

absl::StatusOr<Item> RunAddAttribute(Call& call, const Item& payload) {
  KW_ASSIGN_OR_RETURN(AttributeChangeRequest req,
                      DecodeChange(call, payload, "Add Attribute", false));
  KW_ASSIGN_OR_RETURN(AttributeChangeResponse res,
                      call.objects.AddAttribute(call.ctx, req));
  return EncodeChange(call, res);
}

absl::StatusOr<Item> RunModifyAttribute(Call& call, const Item& payload) {
  KW_ASSIGN_OR_RETURN(AttributeChangeRequest req,
                      DecodeChange(call, payload, "Modify Attribute", true));
  KW_ASSIGN_OR_RETURN(AttributeChangeResponse res,
                      call.objects.ModifyAttribute(call.ctx, req));
  return EncodeChange(call, res);
}

absl::StatusOr<Item> RunDeleteAttribute(Call& call, const Item& payload) {
  Fields f(payload, "Delete Attribute");
  DeleteAttributeRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  if (call.v2()) {
    KW_ASSIGN_OR_RETURN(const Item* current,
                        f.Optional(Tag::kCurrentAttribute, ItemType::kStructure));
    std::vector<const Item*> refs = f.RepeatedAnyType(Tag::kAttributeReference);
    if (refs.size() > 1) return Fields::Invalid("Attribute Reference repeated");
    const Item* ref = refs.empty() ? nullptr : refs[0];
    if ((current == nullptr) == (ref == nullptr)) {
      return Fields::Invalid(
          "Delete Attribute needs one of Current Attribute and Attribute Reference");
    }
    if (current != nullptr) {
      KW_ASSIGN_OR_RETURN(req.current, DecodeNewAttribute20(*current));
      req.name = req.current->name;
    } else {
      KW_ASSIGN_OR_RETURN(req.name, DecodeAttributeReference20(*ref));
    }
  } else {
    KW_ASSIGN_OR_RETURN(const Item* name,
                        f.Required(Tag::kAttributeName, ItemType::kTextString));
    KW_ASSIGN_OR_RETURN(const Item* index,
                        f.Optional(Tag::kAttributeIndex, ItemType::kInteger));
    req.name.tag = AttributeTagOf(name->bytes());
    if (req.name.tag == 0) req.name.custom_name = name->bytes();
    if (index != nullptr) {
      if (index->int_value() < 0) return Fields::Invalid("negative Attribute Index");
      req.index = static_cast<int32_t>(index->int_value());
    }
  }
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(AttributeChangeResponse res,
                      call.objects.DeleteAttribute(call.ctx, req));
  return EncodeChange(call, res);
}

absl::StatusOr<Item> RunLocate(Call& call, const Item& payload) {
  Fields f(payload, "Locate");
  LocateRequest req;
  KW_ASSIGN_OR_RETURN(const Item* max, f.Optional(Tag::kMaximumItems, ItemType::kInteger));
  if (max != nullptr) {
    if (max->int_value() < 0) return Fields::Invalid("negative Maximum Items");
    req.maximum_items = static_cast<int32_t>(max->int_value());
  }
  KW_ASSIGN_OR_RETURN(const Item* offset, f.Optional(Tag::kOffsetItems, ItemType::kInteger));
  if (offset != nullptr) {
    if (offset->int_value() < 0) return Fields::Invalid("negative Offset Items");
    req.offset_items = static_cast<int32_t>(offset->int_value());
  }
  if (call.v2()) {
    KW_ASSIGN_OR_RETURN(const Item* attrs, f.Optional(Tag::kAttributes, ItemType::kStructure));
    if (attrs != nullptr) {
      KW_ASSIGN_OR_RETURN(req.attributes, DecodeAttributes20(*attrs));
    }
  } else {
    KW_ASSIGN_OR_RETURN(auto attrs, f.Repeated(Tag::kAttribute, ItemType::kStructure));
    for (const Item* a : attrs) {
      KW_ASSIGN_OR_RETURN(Attribute attribute, DecodeAttribute1x(*a));
      req.attributes.Add(std::move(attribute));
    }
  }
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(LocateResponse res, call.objects.Locate(call.ctx, req));
  Item out = Payload({});
  if (res.located_items && call.ctx.version >= ProtocolVersion{1, 3}) {
    out.Add(Item::Integer(Tag::kLocatedItems, *res.located_items));
  }
  for (const std::string& id : res.unique_identifiers) out.Add(Uid(id));
  return out;
}

template <absl::StatusOr<ObjectId> (KmipObjects::*kMethod)(const KmipContext&,
                                                           const ObjectId&)>
absl::StatusOr<Item> RunById(Call& call, const Item& payload) {
  Fields f(payload, "request payload");
  ObjectId req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(ObjectId res, (call.objects.*kMethod)(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier)});
}

absl::StatusOr<Item> RunRevoke(Call& call, const Item& payload) {
  Fields f(payload, "Revoke");
  RevokeRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(const Item* reason,
                      f.Required(Tag::kRevocationReason, ItemType::kStructure));
  Fields r(*reason, "Revocation Reason");
  KW_ASSIGN_OR_RETURN(const Item* code,
                      r.Required(Tag::kRevocationReasonCode, ItemType::kEnumeration));
  req.reason = static_cast<RevocationReasonCode>(code->int_value());
  KW_ASSIGN_OR_RETURN(const Item* message,
                      r.Optional(Tag::kRevocationMessage, ItemType::kTextString));
  if (message != nullptr) req.message = message->bytes();
  KW_RETURN_IF_ERROR(r.Done());
  KW_ASSIGN_OR_RETURN(const Item* date,
                      f.Optional(Tag::kCompromiseOccurrenceDate, ItemType::kDateTime));
  if (date != nullptr) req.compromise_occurrence_date = date->int_value();
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(ObjectId res, call.objects.Revoke(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier)});
}

absl::StatusOr<Item> RunEncrypt(Call& call, const Item& payload) {
  Fields f(payload, "Encrypt");
  EncryptRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(req.parameters, TakeParameters(f));
  KW_ASSIGN_OR_RETURN(const Item* data, f.Required(Tag::kData, ItemType::kByteString));
  req.data = SecretBytes(data->byte_span());
  KW_ASSIGN_OR_RETURN(req.iv_counter_nonce, TakeBytes(f, Tag::kIvCounterNonce));
  KW_ASSIGN_OR_RETURN(req.aad, TakeBytes(f, Tag::kAuthenticatedEncryptionAdditionalData));
  KW_RETURN_IF_ERROR(RejectStreaming(f));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(EncryptResponse res, call.crypto.Encrypt(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  Item out = Payload({Uid(res.unique_identifier), Item::ByteString(Tag::kData, res.data)});
  if (res.iv_counter_nonce) {
    out.Add(Item::ByteString(Tag::kIvCounterNonce, *res.iv_counter_nonce));
  }
  // Authenticated Encryption Tag exists from KMIP 1.4 on.
  if (res.tag && call.ctx.version >= ProtocolVersion{1, 4}) {
    out.Add(Item::ByteString(Tag::kAuthenticatedEncryptionTag, *res.tag));
  }
  return out;
}

absl::StatusOr<Item> RunDecrypt(Call& call, const Item& payload) {
  Fields f(payload, "Decrypt");
  DecryptRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(req.parameters, TakeParameters(f));
  KW_ASSIGN_OR_RETURN(const Item* data, f.Required(Tag::kData, ItemType::kByteString));
  req.data = data->bytes();
  KW_ASSIGN_OR_RETURN(req.iv_counter_nonce, TakeBytes(f, Tag::kIvCounterNonce));
  KW_ASSIGN_OR_RETURN(req.aad, TakeBytes(f, Tag::kAuthenticatedEncryptionAdditionalData));
  KW_ASSIGN_OR_RETURN(req.tag, TakeBytes(f, Tag::kAuthenticatedEncryptionTag));
  KW_RETURN_IF_ERROR(RejectStreaming(f));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(DecryptResponse res, call.crypto.Decrypt(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier),
                  Item::ByteString(Tag::kData, res.data.span())});
}

absl::StatusOr<Item> RunMac(Call& call, const Item& payload) {
  Fields f(payload, "MAC");
  MacRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(req.parameters, TakeParameters(f));
  KW_ASSIGN_OR_RETURN(const Item* data, f.Required(Tag::kData, ItemType::kByteString));
  req.data = SecretBytes(data->byte_span());
  KW_RETURN_IF_ERROR(RejectStreaming(f));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(MacResponse res, call.crypto.Mac(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier),
                  Item::ByteString(Tag::kMacData, res.mac_data)});
}

absl::StatusOr<Item> RunSign(Call& call, const Item& payload) {
  Fields f(payload, "Sign");
  SignRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(req.parameters, TakeParameters(f));
  KW_ASSIGN_OR_RETURN(const Item* data, f.Required(Tag::kData, ItemType::kByteString));
  req.data = SecretBytes(data->byte_span());
  KW_RETURN_IF_ERROR(RejectStreaming(f));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(SignResponse res, call.crypto.Sign(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier),
                  Item::ByteString(Tag::kSignatureData, res.signature)});
}

absl::StatusOr<Item> RunSignatureVerify(Call& call, const Item& payload) {
  Fields f(payload, "Signature Verify");
  SignatureVerifyRequest req;
  KW_ASSIGN_OR_RETURN(req.unique_identifier, TakeUid(f, call));
  KW_ASSIGN_OR_RETURN(req.parameters, TakeParameters(f));
  KW_ASSIGN_OR_RETURN(const Item* data, f.Required(Tag::kData, ItemType::kByteString));
  req.data = SecretBytes(data->byte_span());
  KW_ASSIGN_OR_RETURN(const Item* sig,
                      f.Required(Tag::kSignatureData, ItemType::kByteString));
  req.signature = sig->bytes();
  KW_RETURN_IF_ERROR(RejectStreaming(f));
  KW_RETURN_IF_ERROR(f.Done());
  KW_ASSIGN_OR_RETURN(SignatureVerifyResponse res,
                      call.crypto.SignatureVerify(call.ctx, req));
  call.id_placeholder = res.unique_identifier;
  return Payload({Uid(res.unique_identifier),
                  Item::Enum(Tag::kValidityIndicator, res.validity)});
}

absl::StatusOr<Item> RunDiscoverVersions(Call& call, const Item& payload) {
  Fields f(payload, "Discover Versions");
  KW_ASSIGN_OR_RETURN(auto asked, f.Repeated(Tag::kProtocolVersion, ItemType::kStructure));
  KW_RETURN_IF_ERROR(f.Done());
  Item out = Payload({});
  auto add = [&](const ProtocolVersion& v) {
    out.Add(Item::Structure(Tag::kProtocolVersion,
                            {Item::Integer(Tag::kProtocolVersionMajor, v.major),
                             Item::Integer(Tag::kProtocolVersionMinor, v.minor)}));
  };
  if (asked.empty()) {
    for (const ProtocolVersion& v : SupportedVersions()) add(v);
    return out;
  }
  // KMIP 1.4 §4.26: the supported versions of the client's list, in the
  // client's order.
  for (const Item* a : asked) {
    Fields v(*a, "Protocol Version");
    KW_ASSIGN_OR_RETURN(const Item* major,
                        v.Required(Tag::kProtocolVersionMajor, ItemType::kInteger));
    KW_ASSIGN_OR_RETURN(const Item* minor,
                        v.Required(Tag::kProtocolVersionMinor, ItemType::kInteger));
    KW_RETURN_IF_ERROR(v.Done());
    ProtocolVersion version{static_cast<int32_t>(major->int_value()),
                            static_cast<int32_t>(minor->int_value())};
    if (IsSupported(version)) add(version);
  }
  return out;
}

absl::StatusOr<Item> RunQuery(Call& call, const Item& payload) {
  Fields f(payload, "Query");
  KW_ASSIGN_OR_RETURN(auto functions,
                      f.Repeated(Tag::kQueryFunction, ItemType::kEnumeration));
  KW_RETURN_IF_ERROR(f.Done());
  bool operations = false, objects = false, info = false;
  for (const Item* q : functions) {
    switch (static_cast<QueryFunction>(q->int_value())) {
      case QueryFunction::kOperations: operations = true; break;
      case QueryFunction::kObjects: objects = true; break;
      case QueryFunction::kServerInformation: info = true; break;
      default: break;  // other functions have nothing to report here
    }
  }
  Item out = Payload({});
  if (operations) {
    for (Operation op : SupportedOperations()) out.Add(Item::Enum(Tag::kOperation, op));
  }
  if (objects) {
    for (ObjectType t : {ObjectType::kSymmetricKey, ObjectType::kPublicKey,
                         ObjectType::kPrivateKey, ObjectType::kSecretData}) {
      out.Add(Item::Enum(Tag::kObjectType, t));
    }
  }
  if (info) {
    out.Add(Item::TextString(Tag::kVendorIdentification,
                             call.options.vendor_identification));
  }
  return out;
}

// One row per operation: its code, the first version that defines it
// (KMIP 1.1 added Discover Versions, 1.2 the cryptographic operations) and
// its handler.
struct OperationRow {
  Operation operation;
  ProtocolVersion since;
  absl::StatusOr<Item> (*run)(Call&, const Item&);
};

constexpr OperationRow kOperations[] = {
    {Operation::kCreate, {1, 0}, RunCreate},
    {Operation::kCreateKeyPair, {1, 0}, RunCreateKeyPair},
    {Operation::kRegister, {1, 0}, RunRegister},
    {Operation::kLocate, {1, 0}, RunLocate},
    {Operation::kGet, {1, 0}, RunGet},
    {Operation::kGetAttributes, {1, 0}, RunGetAttributes},
    {Operation::kGetAttributeList, {1, 0}, RunGetAttributeList},
    {Operation::kAddAttribute, {1, 0}, RunAddAttribute},
    {Operation::kModifyAttribute, {1, 0}, RunModifyAttribute},
    {Operation::kDeleteAttribute, {1, 0}, RunDeleteAttribute},
    {Operation::kActivate, {1, 0}, RunById<&KmipObjects::Activate>},
    {Operation::kRevoke, {1, 0}, RunRevoke},
    {Operation::kDestroy, {1, 0}, RunById<&KmipObjects::Destroy>},
    {Operation::kQuery, {1, 0}, RunQuery},
    {Operation::kDiscoverVersions, {1, 1}, RunDiscoverVersions},
    {Operation::kEncrypt, {1, 2}, RunEncrypt},
    {Operation::kDecrypt, {1, 2}, RunDecrypt},
    {Operation::kSign, {1, 2}, RunSign},
    {Operation::kSignatureVerify, {1, 2}, RunSignatureVerify},
    {Operation::kMac, {1, 2}, RunMac},
};

const OperationRow* FindOperation(uint32_t code) {
  for (const OperationRow& row : kOperations) {
    if (static_cast<uint32_t>(row.operation) == code) return &row;
  }
  return nullptr;
}

ResponseBatchItem Failure(const RequestBatchItem* item, ResultReason reason,
                          std::string message) {
  ResponseBatchItem out;
  if (item != nullptr) {
    if (FindOperation(item->operation) != nullptr) out.operation = item->operation;
    out.unique_batch_item_id = item->unique_batch_item_id;
  }
  out.status = ResultStatus::kOperationFailed;
  out.reason = reason;
  out.message = std::move(message);
  return out;
}

// The version to answer an unparseable message with: its own, when the
// header can be read that far.
ProtocolVersion VersionOf(const Item& message) {
  if (const Item* header = message.Find(Tag::kRequestHeader)) {
    if (const Item* v = header->Find(Tag::kProtocolVersion)) {
      const Item* major = v->Find(Tag::kProtocolVersionMajor);
      const Item* minor = v->Find(Tag::kProtocolVersionMinor);
      if (major != nullptr && minor != nullptr &&
          major->type() == ItemType::kInteger && minor->type() == ItemType::kInteger) {
        ProtocolVersion version{static_cast<int32_t>(major->int_value()),
                                static_cast<int32_t>(minor->int_value())};
        if (IsSupported(version)) return version;
      }
    }
  }
  return {1, 0};
}

size_t EncodedSize(const Item& item) {
  auto bytes = EncodeTtlv(item);
  if (!bytes.ok()) return 0;
  size_t n = bytes->size();
  WipeString(*bytes);
  return n;
}

// The bytes one batch item adds to a response message.
size_t ItemSize(const ResponseBatchItem& item) {
  ResponseMessage one;
  one.items.push_back(item);
  return EncodedSize(BuildResponseMessage(one)) -
         EncodedSize(BuildResponseMessage(ResponseMessage()));
}

}  // namespace

bool MayBeSlow(std::span<const uint8_t> message) {
  absl::StatusOr<Item> decoded = DecodeTtlv(message);
  if (!decoded.ok()) return false;
  for (const Item* item : decoded->FindAll(Tag::kBatchItem)) {
    const Item* op = item->Find(Tag::kOperation);
    if (op != nullptr && op->type() == ItemType::kEnumeration &&
        op->int_value() == static_cast<int64_t>(Operation::kCreateKeyPair)) {
      return true;
    }
  }
  return false;
}

std::vector<Operation> SupportedOperations() {
  std::vector<Operation> out;
  for (const OperationRow& row : kOperations) out.push_back(row.operation);
  return out;
}

KmipProtocol::KmipProtocol(KmipObjects& objects, KmipCrypto& crypto,
                           const Clock& clock, KmipProtocolOptions options)
    : objects_(objects), crypto_(crypto), clock_(clock), options_(std::move(options)) {}

Item KmipProtocol::ProcessMessage(const Item& request, const KmipClient& client) const {
  ResponseMessage response;
  response.time_stamp = absl::ToUnixSeconds(clock_.Now());
  absl::StatusOr<RequestMessage> parsed = ParseRequestMessage(request);
  if (!parsed.ok()) {
    response.version = VersionOf(request);
    MappedError e = MapStatus(parsed.status(), response.version);
    response.items.push_back(Failure(nullptr, e.reason, std::move(e.message)));
    return BuildResponseMessage(response);
  }
  response.version = parsed->version;
  if (!IsSupported(parsed->version)) {
    response.version = {1, 0};
    response.items.push_back(Failure(nullptr, ResultReason::kInvalidMessage,
                                     "unsupported protocol version"));
    return BuildResponseMessage(response);
  }

  KmipContext ctx{.client = &client, .version = parsed->version};
  std::string placeholder;
  Call call{ctx, objects_, crypto_, options_, placeholder};
  size_t budget = parsed->maximum_response_size
                      ? static_cast<size_t>(*parsed->maximum_response_size)
                      : SIZE_MAX;
  size_t used = EncodedSize(BuildResponseMessage(response));

  for (const RequestBatchItem& item : parsed->items) {
    const OperationRow* row = FindOperation(item.operation);
    ResponseBatchItem answer;
    if (row == nullptr || parsed->version < row->since) {
      answer = Failure(&item, ResultReason::kOperationNotSupported,
                       "operation not supported");
    } else {
      absl::StatusOr<Item> payload = row->run(call, item.payload);
      if (payload.ok()) {
        answer.operation = item.operation;
        answer.unique_batch_item_id = item.unique_batch_item_id;
        answer.payload = *std::move(payload);
      } else {
        MappedError e = MapStatus(payload.status(), parsed->version);
        answer = Failure(&item, e.reason, std::move(e.message));
      }
    }
    size_t size = ItemSize(answer);
    if (used + size > budget) {
      answer = Failure(&item, ResultReason::kResponseTooLarge,
                       "response larger than Maximum Response Size");
      size = ItemSize(answer);
    }
    used += size;
    bool failed = answer.status != ResultStatus::kSuccess;
    response.items.push_back(std::move(answer));
    // Undo is answered as Stop (see protocol.h).
    if (failed && parsed->batch_error_continuation != BatchErrorContinuation::kContinue) {
      break;
    }
  }
  return BuildResponseMessage(response);
}

std::string KmipProtocol::Process(std::span<const uint8_t> request,
                                  const KmipClient& client) const {
  absl::StatusOr<Item> decoded = DecodeTtlv(request);
  Item response;
  if (!decoded.ok()) {
    ResponseMessage error;
    error.version = {1, 0};
    error.time_stamp = absl::ToUnixSeconds(clock_.Now());
    error.items.push_back(Failure(nullptr, ResultReason::kInvalidMessage,
                                  std::string(StdView(decoded.status().message()))));
    response = BuildResponseMessage(error);
  } else {
    response = ProcessMessage(*decoded, client);
  }
  absl::StatusOr<std::string> bytes = EncodeTtlv(response);
  if (!bytes.ok()) {
    // Only a backend answer the encoder cannot represent gets here (text
    // that is not UTF-8, a malformed Big Integer).
    ResponseMessage error;
    error.version = {1, 0};
    error.time_stamp = absl::ToUnixSeconds(clock_.Now());
    error.items.push_back(Failure(nullptr, ResultReason::kGeneralFailure,
                                  "internal server error"));
    bytes = EncodeTtlv(BuildResponseMessage(error));
  }
  return bytes.ok() ? *std::move(bytes) : std::string();
}

}  // namespace keywarden::api::kmip
