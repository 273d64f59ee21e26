#include "keywarden/api/kmip/messages.h"

#include <algorithm>
#include <utility>

#include "keywarden/api/kmip/fields.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::kmip {
namespace {

using internal::Fields;
using internal::TagText;

// The standard attributes this layer knows (KMIP 1.4 §3, KMIP 2.0 §4):
// their 1.x names, tags and value types. One table for both directions.
struct AttributeInfo {
  Tag tag;
  std::string_view name;
  ItemType type;
};

constexpr AttributeInfo kAttributeTable[] = {
    {Tag::kUniqueIdentifier, "Unique Identifier", ItemType::kTextString},
    {Tag::kName, "Name", ItemType::kStructure},
    {Tag::kObjectType, "Object Type", ItemType::kEnumeration},
    {Tag::kCryptographicAlgorithm, "Cryptographic Algorithm",
     ItemType::kEnumeration},
    {Tag::kCryptographicLength, "Cryptographic Length", ItemType::kInteger},
    {Tag::kCryptographicParameters, "Cryptographic Parameters",
     ItemType::kStructure},
    {Tag::kCryptographicUsageMask, "Cryptographic Usage Mask",
     ItemType::kInteger},
    {Tag::kState, "State", ItemType::kEnumeration},
    {Tag::kInitialDate, "Initial Date", ItemType::kDateTime},
    {Tag::kActivationDate, "Activation Date", ItemType::kDateTime},
    {Tag::kDeactivationDate, "Deactivation Date", ItemType::kDateTime},
    {Tag::kDestroyDate, "Destroy Date", ItemType::kDateTime},
    {Tag::kCompromiseOccurrenceDate, "Compromise Occurrence Date",
     ItemType::kDateTime},
    {Tag::kCompromiseDate, "Compromise Date", ItemType::kDateTime},
    {Tag::kRevocationReason, "Revocation Reason", ItemType::kStructure},
    {Tag::kLastChangeDate, "Last Change Date", ItemType::kDateTime},
    {Tag::kOriginalCreationDate, "Original Creation Date", ItemType::kDateTime},
    {Tag::kOperationPolicyName, "Operation Policy Name", ItemType::kTextString},
    {Tag::kObjectGroup, "Object Group", ItemType::kTextString},
    {Tag::kContactInformation, "Contact Information", ItemType::kTextString},
    {Tag::kLink, "Link", ItemType::kStructure},
    {Tag::kApplicationSpecificInformation, "Application Specific Information",
     ItemType::kStructure},
    {Tag::kSensitive, "Sensitive", ItemType::kBoolean},
    {Tag::kExtractable, "Extractable", ItemType::kBoolean},
    {Tag::kAlwaysSensitive, "Always Sensitive", ItemType::kBoolean},
    {Tag::kNeverExtractable, "Never Extractable", ItemType::kBoolean},
    {Tag::kDescription, "Description", ItemType::kTextString},
    {Tag::kComment, "Comment", ItemType::kTextString},
};

const AttributeInfo* InfoByTag(uint32_t tag) {
  for (const AttributeInfo& info : kAttributeTable) {
    if (static_cast<uint32_t>(info.tag) == tag) return &info;
  }
  return nullptr;
}

bool IsCustomName(std::string_view name) {
  return name.size() > 2 && (name[0] == 'x' || name[0] == 'y') &&
         name[1] == '-';
}

// Checks a decoded attribute value against the table's type.
absl::Status CheckValueType(const AttributeInfo& info, const Item& value) {
  if (value.type() != info.type) {
    return KmipError(ResultReason::kInvalidField,
                     StrCat("attribute ", info.name, " must be a ",
                            ItemTypeName(info.type)));
  }
  return absl::OkStatus();
}

absl::Status CheckAttributeStructure(const Item& value) {
  if (value.type() != ItemType::kStructure) return absl::OkStatus();
  // Name, Link, Revocation Reason and the others are flat structures of
  // primitives; a nested structure is not an attribute this layer knows
  // (Cryptographic Parameters is checked by its own decoder).
  if (value.Is(Tag::kCryptographicParameters)) {
    return DecodeCryptographicParameters(value).status();
  }
  for (const Item& c : value.children()) {
    if (c.type() == ItemType::kStructure) {
      return KmipError(ResultReason::kInvalidField,
                       StrCat("unexpected structure in attribute ",
                              TagText(value.tag())));
    }
  }
  if (value.Is(Tag::kName)) {
    Fields f(value, "Name");
    KW_RETURN_IF_ERROR(f.Required(Tag::kNameValue, ItemType::kTextString).status());
    KW_RETURN_IF_ERROR(f.Required(Tag::kNameType, ItemType::kEnumeration).status());
    KW_RETURN_IF_ERROR(f.Done());
  }
  return absl::OkStatus();
}

template <typename E>
absl::StatusOr<std::optional<E>> OptionalEnum(Fields& f, Tag tag) {
  KW_ASSIGN_OR_RETURN(const Item* item, f.Optional(tag, ItemType::kEnumeration));
  if (item == nullptr) return std::optional<E>();
  return std::optional<E>(static_cast<E>(item->int_value()));
}

absl::StatusOr<std::optional<int32_t>> OptionalInt(Fields& f, Tag tag) {
  KW_ASSIGN_OR_RETURN(const Item* item, f.Optional(tag, ItemType::kInteger));
  if (item == nullptr) return std::optional<int32_t>();
  return std::optional<int32_t>(static_cast<int32_t>(item->int_value()));
}

SecretBytes ToSecret(const Item& item) { return SecretBytes(item.byte_span()); }

std::string SecretString(const SecretBytes& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

const std::vector<ProtocolVersion>& SupportedVersions() {
  static const auto* versions = new std::vector<ProtocolVersion>{
      {2, 0}, {1, 4}, {1, 3}, {1, 2}, {1, 1}, {1, 0}};
  return *versions;
}

bool IsSupported(const ProtocolVersion& version) {
  const auto& all = SupportedVersions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

std::string_view AttributeNameText(uint32_t tag) {
  const AttributeInfo* info = InfoByTag(tag);
  return info == nullptr ? std::string_view() : info->name;
}

uint32_t AttributeTagOf(std::string_view name) {
  for (const AttributeInfo& info : kAttributeTable) {
    if (info.name == name) return static_cast<uint32_t>(info.tag);
  }
  return 0;
}

// --- AttributeList ----------------------------------------------------------

const Attribute* AttributeList::Find(Tag tag) const {
  for (const Attribute& a : items) {
    if (a.name.tag == static_cast<uint32_t>(tag)) return &a;
  }
  return nullptr;
}

std::vector<const Attribute*> AttributeList::FindAll(Tag tag) const {
  std::vector<const Attribute*> out;
  for (const Attribute& a : items) {
    if (a.name.tag == static_cast<uint32_t>(tag)) out.push_back(&a);
  }
  return out;
}

std::optional<int64_t> AttributeList::IntValue(Tag tag) const {
  const Attribute* a = Find(tag);
  if (a == nullptr) return std::nullopt;
  switch (a->value.type()) {
    case ItemType::kInteger:
    case ItemType::kEnumeration:
    case ItemType::kBoolean:
    case ItemType::kDateTime:
    case ItemType::kLongInteger:
    case ItemType::kInterval:
    case ItemType::kDateTimeExtended:
      return a->value.int_value();
    default:
      return std::nullopt;
  }
}

std::optional<CryptographicAlgorithm> AttributeList::algorithm() const {
  auto v = IntValue(Tag::kCryptographicAlgorithm);
  if (!v) return std::nullopt;
  return static_cast<CryptographicAlgorithm>(*v);
}

std::optional<int32_t> AttributeList::length() const {
  auto v = IntValue(Tag::kCryptographicLength);
  if (!v) return std::nullopt;
  return static_cast<int32_t>(*v);
}

std::optional<int32_t> AttributeList::usage_mask() const {
  auto v = IntValue(Tag::kCryptographicUsageMask);
  if (!v) return std::nullopt;
  return static_cast<int32_t>(*v);
}

std::optional<ObjectType> AttributeList::object_type() const {
  auto v = IntValue(Tag::kObjectType);
  if (!v) return std::nullopt;
  return static_cast<ObjectType>(*v);
}

std::optional<State> AttributeList::state() const {
  auto v = IntValue(Tag::kState);
  if (!v) return std::nullopt;
  return static_cast<State>(*v);
}

std::vector<std::string> AttributeList::names() const {
  std::vector<std::string> out;
  for (const Attribute* a : FindAll(Tag::kName)) {
    if (const Item* v = a->value.Find(Tag::kNameValue)) out.push_back(v->bytes());
  }
  return out;
}

void AttributeList::AddEnum(Tag tag, uint32_t value) {
  Add({.name = {static_cast<uint32_t>(tag), ""},
       .value = Item::Enumeration(tag, value)});
}

void AttributeList::AddInteger(Tag tag, int32_t value) {
  Add({.name = {static_cast<uint32_t>(tag), ""},
       .value = Item::Integer(tag, value)});
}

void AttributeList::AddText(Tag tag, std::string value) {
  Add({.name = {static_cast<uint32_t>(tag), ""},
       .value = Item::TextString(tag, std::move(value))});
}

void AttributeList::AddDateTime(Tag tag, int64_t seconds) {
  Add({.name = {static_cast<uint32_t>(tag), ""},
       .value = Item::DateTime(tag, seconds)});
}

void AttributeList::AddName(std::string value) {
  Add({.name = {static_cast<uint32_t>(Tag::kName), ""},
       .value = Item::Structure(
           Tag::kName,
           {Item::TextString(Tag::kNameValue, std::move(value)),
            Item::Enum(Tag::kNameType, NameType::kUninterpretedTextString)})});
}

// --- Attribute codecs -------------------------------------------------------

// KMIP 1.4 §2.1.1: Attribute { Attribute Name, [Attribute Index],
// [Attribute Value] } (the value is absent only in Delete-style uses; an
// attribute here always needs one).
absl::StatusOr<Attribute> DecodeAttribute1x(const Item& item) {
  Fields f(item, "Attribute");
  KW_RETURN_IF_ERROR(f.CheckStructure());
  KW_ASSIGN_OR_RETURN(const Item* name,
                      f.Required(Tag::kAttributeName, ItemType::kTextString));
  KW_ASSIGN_OR_RETURN(std::optional<int32_t> index,
                      OptionalInt(f, Tag::kAttributeIndex));
  const Item* value = nullptr;
  for (const Item& c : item.children()) {
    if (c.Is(Tag::kAttributeValue)) {
      if (value != nullptr) return Fields::Invalid("Attribute Value repeated");
      value = &c;
    }
  }
  if (value == nullptr) {
    return KmipError(ResultReason::kMissingData,
                     StrCat("attribute ", name->bytes(), " has no value"));
  }
  // Attribute Value is taken by hand above (any type).
  for (const Item& c : item.children()) {
    if (!c.Is(Tag::kAttributeName) && !c.Is(Tag::kAttributeIndex) &&
        !c.Is(Tag::kAttributeValue)) {
      return Fields::Invalid(StrCat("unexpected ", TagText(c.tag()), " in Attribute"));
    }
  }
  if (index && *index < 0) return Fields::Invalid("negative Attribute Index");
  Attribute out;
  out.index = index.value_or(0);
  out.value = *value;
  if (uint32_t tag = AttributeTagOf(name->bytes()); tag != 0) {
    out.name.tag = tag;
    out.value.set_tag(tag);
    KW_RETURN_IF_ERROR(CheckValueType(*InfoByTag(tag), out.value));
    KW_RETURN_IF_ERROR(CheckAttributeStructure(out.value));
  } else if (IsCustomName(name->bytes())) {
    out.name.custom_name = name->bytes();
    if (value->type() == ItemType::kStructure) {
      return Fields::Invalid("custom attributes must be primitive values");
    }
  } else {
    return KmipError(ResultReason::kInvalidField,
                     StrCat("unsupported attribute ", name->bytes()));
  }
  return out;
}

Item EncodeAttribute1x(const Attribute& attribute) {
  Item out = Item::Structure(Tag::kAttribute);
  std::string name = attribute.name.tag != 0
                         ? std::string(AttributeNameText(attribute.name.tag))
                         : attribute.name.custom_name;
  out.Add(Item::TextString(Tag::kAttributeName, std::move(name)));
  if (attribute.index != 0) {
    out.Add(Item::Integer(Tag::kAttributeIndex, attribute.index));
  }
  Item value = attribute.value;
  value.set_tag(static_cast<uint32_t>(Tag::kAttributeValue));
  out.Add(std::move(value));
  return out;
}

// KMIP 1.4 §2.1.8: Template-Attribute { Name* (templates), Attribute* }.
// Templates are deprecated since 1.3 and not supported.
absl::StatusOr<AttributeList> DecodeTemplateAttribute(const Item& item) {
  Fields f(item, TagText(item.tag()));
  KW_RETURN_IF_ERROR(f.CheckStructure());
  KW_ASSIGN_OR_RETURN(auto templates, f.Repeated(Tag::kName, ItemType::kStructure));
  if (!templates.empty()) {
    return KmipError(ResultReason::kFeatureNotSupported,
                     "templates are not supported");
  }
  KW_ASSIGN_OR_RETURN(auto attrs, f.Repeated(Tag::kAttribute, ItemType::kStructure));
  KW_RETURN_IF_ERROR(f.Done());
  AttributeList out;
  for (const Item* a : attrs) {
    KW_ASSIGN_OR_RETURN(Attribute attribute, DecodeAttribute1x(*a));
    out.Add(std::move(attribute));
  }
  return out;
}

// KMIP 2.0 §2.1.3: Attributes { the attributes, each under its own tag }.
absl::StatusOr<AttributeList> DecodeAttributes20(const Item& item) {
  if (item.type() != ItemType::kStructure) {
    return Fields::Invalid(StrCat(TagText(item.tag()), " must be a structure"));
  }
  AttributeList out;
  for (const Item& c : item.children()) {
    const AttributeInfo* info = InfoByTag(c.tag());
    if (info == nullptr) {
      return KmipError(ResultReason::kInvalidField,
                       StrCat("unsupported attribute ", TagText(c.tag())));
    }
    KW_RETURN_IF_ERROR(CheckValueType(*info, c));
    KW_RETURN_IF_ERROR(CheckAttributeStructure(c));
    out.Add({.name = {c.tag(), ""}, .value = c});
  }
  return out;
}

Item EncodeAttributes20(Tag tag, const AttributeList& attributes) {
  Item out = Item::Structure(tag);
  for (const Attribute& a : attributes.items) {
    if (a.name.tag == 0) continue;  // 1.x custom attributes have no 2.0 form
    Item value = a.value;
    value.set_tag(a.name.tag);
    out.Add(std::move(value));
  }
  return out;
}

// --- Cryptographic Parameters (KMIP 1.4 §3.6) --------------------------------

absl::StatusOr<CryptographicParameters> DecodeCryptographicParameters(
    const Item& item) {
  Fields f(item, "Cryptographic Parameters");
  KW_RETURN_IF_ERROR(f.CheckStructure());
  CryptographicParameters p;
  KW_ASSIGN_OR_RETURN(p.block_cipher_mode,
                      OptionalEnum<BlockCipherMode>(f, Tag::kBlockCipherMode));
  KW_ASSIGN_OR_RETURN(p.padding_method,
                      OptionalEnum<PaddingMethod>(f, Tag::kPaddingMethod));
  KW_ASSIGN_OR_RETURN(p.hashing_algorithm,
                      OptionalEnum<HashingAlgorithm>(f, Tag::kHashingAlgorithm));
  KW_ASSIGN_OR_RETURN(auto role, f.Optional(Tag::kKeyRoleType, ItemType::kEnumeration));
  (void)role;  // Key Role Type only labels the key's purpose.
  KW_ASSIGN_OR_RETURN(p.digital_signature_algorithm,
                      OptionalEnum<DigitalSignatureAlgorithm>(
                          f, Tag::kDigitalSignatureAlgorithm));
  KW_ASSIGN_OR_RETURN(p.cryptographic_algorithm,
                      OptionalEnum<CryptographicAlgorithm>(
                          f, Tag::kCryptographicAlgorithm));
  KW_ASSIGN_OR_RETURN(const Item* random_iv,
                      f.Optional(Tag::kRandomIv, ItemType::kBoolean));
  if (random_iv != nullptr) p.random_iv = random_iv->int_value() != 0;
  KW_ASSIGN_OR_RETURN(p.iv_length, OptionalInt(f, Tag::kIvLength));
  KW_ASSIGN_OR_RETURN(p.tag_length, OptionalInt(f, Tag::kTagLength));
  KW_RETURN_IF_ERROR(f.Done());
  if ((p.iv_length && *p.iv_length < 0) || (p.tag_length && *p.tag_length < 0)) {
    return Fields::Invalid("negative length in Cryptographic Parameters");
  }
  return p;
}

Item EncodeCryptographicParameters(const CryptographicParameters& p) {
  Item out = Item::Structure(Tag::kCryptographicParameters);
  if (p.block_cipher_mode) out.Add(Item::Enum(Tag::kBlockCipherMode, *p.block_cipher_mode));
  if (p.padding_method) out.Add(Item::Enum(Tag::kPaddingMethod, *p.padding_method));
  if (p.hashing_algorithm) out.Add(Item::Enum(Tag::kHashingAlgorithm, *p.hashing_algorithm));
  if (p.digital_signature_algorithm) {
    out.Add(Item::Enum(Tag::kDigitalSignatureAlgorithm, *p.digital_signature_algorithm));
  }
  if (p.cryptographic_algorithm) {
    out.Add(Item::Enum(Tag::kCryptographicAlgorithm, *p.cryptographic_algorithm));
  }
  if (p.random_iv) out.Add(Item::Boolean(Tag::kRandomIv, *p.random_iv));
  if (p.iv_length) out.Add(Item::Integer(Tag::kIvLength, *p.iv_length));
  if (p.tag_length) out.Add(Item::Integer(Tag::kTagLength, *p.tag_length));
  return out;
}

// --- Managed objects (KMIP 1.4 §2.2, Key Block §2.1.3) -----------------------

namespace {

constexpr Tag kRsaPrivateFields[] = {
    Tag::kModulus, Tag::kPrivateExponent, Tag::kPublicExponent, Tag::kP,
    Tag::kQ, Tag::kPrimeExponentP, Tag::kPrimeExponentQ, Tag::kCrtCoefficient};
constexpr Tag kRsaPublicFields[] = {Tag::kModulus, Tag::kPublicExponent};

absl::Status DecodeKeyBlock(const Item& item, ManagedObject& out) {
  Fields f(item, "Key Block");
  KW_RETURN_IF_ERROR(f.CheckStructure());
  KW_ASSIGN_OR_RETURN(const Item* format,
                      f.Required(Tag::kKeyFormatType, ItemType::kEnumeration));
  out.key_format_type = static_cast<KeyFormatType>(format->int_value());
  KW_ASSIGN_OR_RETURN(const Item* compression,
                      f.Optional(Tag::kKeyCompressionType, ItemType::kEnumeration));
  if (compression != nullptr) {
    return KmipError(ResultReason::kKeyCompressionTypeNotSupported,
                     "key compression is not supported");
  }
  for (const Item& c : item.children()) {
    if (c.Is(Tag::kKeyWrappingData)) {
      return KmipError(ResultReason::kFeatureNotSupported,
                       "wrapped keys are not supported");
    }
  }
  KW_ASSIGN_OR_RETURN(const Item* value,
                      f.Required(Tag::kKeyValue, ItemType::kStructure));
  KW_ASSIGN_OR_RETURN(const Item* algorithm,
                      f.Optional(Tag::kCryptographicAlgorithm, ItemType::kEnumeration));
  if (algorithm != nullptr) {
    out.algorithm = static_cast<CryptographicAlgorithm>(algorithm->int_value());
  }
  KW_ASSIGN_OR_RETURN(out.length, OptionalInt(f, Tag::kCryptographicLength));
  KW_RETURN_IF_ERROR(f.Done());

  // Key Value { Key Material, Attribute* (1.x) }.
  Fields v(*value, "Key Value");
  const Item* material = nullptr;
  for (const Item& c : value->children()) {
    if (c.Is(Tag::kKeyMaterial)) {
      if (material != nullptr) return Fields::Invalid("Key Material repeated");
      material = &c;
    } else if (!c.Is(Tag::kAttribute)) {
      return Fields::Invalid(StrCat("unexpected ", TagText(c.tag()), " in Key Value"));
    }
  }
  if (material == nullptr) {
    return KmipError(ResultReason::kKeyValueNotPresent, "Key Value has no Key Material");
  }
  switch (out.key_format_type) {
    case KeyFormatType::kRaw:
    case KeyFormatType::kOpaque:
    case KeyFormatType::kPkcs1:
    case KeyFormatType::kPkcs8:
    case KeyFormatType::kX509:
      if (material->type() != ItemType::kByteString) {
        return Fields::Invalid("Key Material must be a Byte String for this format");
      }
      out.material = ToSecret(*material);
      return absl::OkStatus();
    case KeyFormatType::kTransparentSymmetricKey: {
      Fields m(*material, "Key Material");
      KW_RETURN_IF_ERROR(m.CheckStructure());
      KW_ASSIGN_OR_RETURN(const Item* key, m.Required(Tag::kKey, ItemType::kByteString));
      KW_RETURN_IF_ERROR(m.Done());
      out.material = ToSecret(*key);
      return absl::OkStatus();
    }
    case KeyFormatType::kTransparentRsaPrivateKey:
    case KeyFormatType::kTransparentRsaPublicKey: {
      Fields m(*material, "Key Material");
      KW_RETURN_IF_ERROR(m.CheckStructure());
      std::span<const Tag> wanted =
          out.key_format_type == KeyFormatType::kTransparentRsaPrivateKey
              ? std::span<const Tag>(kRsaPrivateFields)
              : std::span<const Tag>(kRsaPublicFields);
      for (Tag t : wanted) {
        KW_ASSIGN_OR_RETURN(const Item* part, m.Optional(t, ItemType::kBigInteger));
        if (part != nullptr) out.transparent.emplace_back(t, ToSecret(*part));
      }
      KW_RETURN_IF_ERROR(m.Done());
      if (out.transparent.empty() || out.transparent.front().first != Tag::kModulus) {
        return KmipError(ResultReason::kMissingData, "an RSA key needs its Modulus");
      }
      return absl::OkStatus();
    }
  }
  return KmipError(ResultReason::kKeyFormatTypeNotSupported,
                   "key format type not supported");
}

Tag ObjectTag(ObjectType type) {
  switch (type) {
    case ObjectType::kSymmetricKey: return Tag::kSymmetricKey;
    case ObjectType::kPublicKey: return Tag::kPublicKey;
    case ObjectType::kPrivateKey: return Tag::kPrivateKey;
    case ObjectType::kSecretData: return Tag::kSecretData;
    default: return Tag::kSymmetricKey;
  }
}

bool SupportedObjectType(ObjectType type) {
  return type == ObjectType::kSymmetricKey || type == ObjectType::kPublicKey ||
         type == ObjectType::kPrivateKey || type == ObjectType::kSecretData;
}

}  // namespace

absl::StatusOr<ManagedObject> DecodeManagedObject(const Item& item) {
  ManagedObject out;
  if (item.Is(Tag::kSymmetricKey)) {
    out.object_type = ObjectType::kSymmetricKey;
  } else if (item.Is(Tag::kPublicKey)) {
    out.object_type = ObjectType::kPublicKey;
  } else if (item.Is(Tag::kPrivateKey)) {
    out.object_type = ObjectType::kPrivateKey;
  } else if (item.Is(Tag::kSecretData)) {
    out.object_type = ObjectType::kSecretData;
  } else {
    return KmipError(ResultReason::kFeatureNotSupported,
                     StrCat("object ", TagText(item.tag()), " is not supported"));
  }
  Fields f(item, TagText(item.tag()));
  KW_RETURN_IF_ERROR(f.CheckStructure());
  if (out.object_type == ObjectType::kSecretData) {
    KW_ASSIGN_OR_RETURN(const Item* type,
                        f.Required(Tag::kSecretDataType, ItemType::kEnumeration));
    out.secret_data_type = static_cast<SecretDataType>(type->int_value());
  }
  KW_ASSIGN_OR_RETURN(const Item* block, f.Required(Tag::kKeyBlock, ItemType::kStructure));
  KW_RETURN_IF_ERROR(f.Done());
  KW_RETURN_IF_ERROR(DecodeKeyBlock(*block, out));
  return out;
}

absl::StatusOr<Item> EncodeManagedObject(const ManagedObject& object) {
  if (!SupportedObjectType(object.object_type)) {
    return absl::InternalError("unsupported object type to encode");
  }
  Item material;
  switch (object.key_format_type) {
    case KeyFormatType::kTransparentSymmetricKey:
      material = Item::Structure(
          Tag::kKeyMaterial,
          {Item::ByteString(Tag::kKey, object.material.span())});
      break;
    case KeyFormatType::kTransparentRsaPrivateKey:
    case KeyFormatType::kTransparentRsaPublicKey:
      material = Item::Structure(Tag::kKeyMaterial);
      for (const auto& [tag, bytes] : object.transparent) {
        material.Add(Item::BigInteger(tag, SecretString(bytes)));
      }
      break;
    default:
      material = Item::ByteString(Tag::kKeyMaterial, object.material.span());
      break;
  }
  Item block = Item::Structure(Tag::kKeyBlock);
  block.Add(Item::Enum(Tag::kKeyFormatType, object.key_format_type));
  block.Add(Item::Structure(Tag::kKeyValue, {std::move(material)}));
  if (object.algorithm) {
    block.Add(Item::Enum(Tag::kCryptographicAlgorithm, *object.algorithm));
  }
  if (object.length) block.Add(Item::Integer(Tag::kCryptographicLength, *object.length));
  Item out = Item::Structure(ObjectTag(object.object_type));
  if (object.object_type == ObjectType::kSecretData) {
    out.Add(Item::Enum(Tag::kSecretDataType,
                       object.secret_data_type.value_or(SecretDataType::kPassword)));
  }
  out.Add(std::move(block));
  return out;
}

// --- Messages (KMIP 1.4 §7.1, §6) --------------------------------------------

namespace {

absl::Status InvalidMessage(std::string_view what) {
  return KmipError(ResultReason::kInvalidMessage, what);
}

absl::StatusOr<ProtocolVersion> DecodeVersion(const Item& item) {
  Fields f(item, "Protocol Version");
  KW_RETURN_IF_ERROR(f.CheckStructure());
  KW_ASSIGN_OR_RETURN(const Item* major,
                      f.Required(Tag::kProtocolVersionMajor, ItemType::kInteger));
  KW_ASSIGN_OR_RETURN(const Item* minor,
                      f.Required(Tag::kProtocolVersionMinor, ItemType::kInteger));
  KW_RETURN_IF_ERROR(f.Done());
  return ProtocolVersion{static_cast<int32_t>(major->int_value()),
                         static_cast<int32_t>(minor->int_value())};
}

// Any error while reading the header or framing is Invalid Message.
absl::Status AsInvalidMessage(const absl::Status& status) {
  if (status.ok()) return status;
  return InvalidMessage(StdView(status.message()));
}

absl::StatusOr<RequestMessage> ParseRequestMessageImpl(const Item& message) {
  if (!message.Is(Tag::kRequestMessage) || message.type() != ItemType::kStructure) {
    return InvalidMessage("not a Request Message");
  }
  Fields m(message, "Request Message");
  KW_ASSIGN_OR_RETURN(const Item* header,
                      m.Required(Tag::kRequestHeader, ItemType::kStructure));
  KW_ASSIGN_OR_RETURN(auto batch, m.Repeated(Tag::kBatchItem, ItemType::kStructure));
  KW_RETURN_IF_ERROR(m.Done());

  RequestMessage out;
  Fields h(*header, "Request Header");
  KW_ASSIGN_OR_RETURN(const Item* version,
                      h.Required(Tag::kProtocolVersion, ItemType::kStructure));
  KW_ASSIGN_OR_RETURN(out.version, DecodeVersion(*version));
  KW_ASSIGN_OR_RETURN(out.maximum_response_size,
                      OptionalInt(h, Tag::kMaximumResponseSize));
  if (out.maximum_response_size && *out.maximum_response_size <= 0) {
    return InvalidMessage("Maximum Response Size must be positive");
  }
  // Identity comes from the TLS client certificate; a credential in the
  // header is read past, as Key Protect's adapters do.
  KW_RETURN_IF_ERROR(h.Optional(Tag::kAuthentication, ItemType::kStructure).status());
  KW_RETURN_IF_ERROR(h.Optional(Tag::kTimeStamp, ItemType::kDateTime).status());
  KW_ASSIGN_OR_RETURN(const Item* order,
                      h.Optional(Tag::kBatchOrderOption, ItemType::kBoolean));
  (void)order;  // items are always processed in order
  KW_ASSIGN_OR_RETURN(auto continuation,
                      OptionalEnum<BatchErrorContinuation>(
                          h, Tag::kBatchErrorContinuationOption));
  if (continuation) {
    if (*continuation != BatchErrorContinuation::kContinue &&
        *continuation != BatchErrorContinuation::kStop &&
        *continuation != BatchErrorContinuation::kUndo) {
      return InvalidMessage("unknown Batch Error Continuation Option");
    }
    out.batch_error_continuation = *continuation;
  }
  KW_ASSIGN_OR_RETURN(const Item* count,
                      h.Required(Tag::kBatchCount, ItemType::kInteger));
  KW_RETURN_IF_ERROR(h.Done());
  if (count->int_value() != static_cast<int64_t>(batch.size()) || batch.empty()) {
    return InvalidMessage("Batch Count does not match the batch items");
  }

  for (const Item* item : batch) {
    Fields b(*item, "Batch Item");
    KW_ASSIGN_OR_RETURN(const Item* operation,
                        b.Required(Tag::kOperation, ItemType::kEnumeration));
    KW_ASSIGN_OR_RETURN(const Item* id,
                        b.Optional(Tag::kUniqueBatchItemId, ItemType::kByteString));
    KW_ASSIGN_OR_RETURN(const Item* payload,
                        b.Required(Tag::kRequestPayload, ItemType::kStructure));
    for (const Item& c : item->children()) {
      if (c.Is(Tag::kMessageExtension)) {
        return InvalidMessage("message extensions are not supported");
      }
    }
    KW_RETURN_IF_ERROR(b.Done());
    if (batch.size() > 1 && id == nullptr) {
      return InvalidMessage("each item of a batch needs a Unique Batch Item ID");
    }
    RequestBatchItem parsed;
    parsed.operation = static_cast<uint32_t>(operation->int_value());
    if (id != nullptr) parsed.unique_batch_item_id = id->bytes();
    parsed.payload = *payload;
    out.items.push_back(std::move(parsed));
  }
  return out;
}

Item EncodeVersion(const ProtocolVersion& v) {
  return Item::Structure(Tag::kProtocolVersion,
                         {Item::Integer(Tag::kProtocolVersionMajor, v.major),
                          Item::Integer(Tag::kProtocolVersionMinor, v.minor)});
}

}  // namespace

absl::StatusOr<RequestMessage> ParseRequestMessage(const Item& message) {
  auto parsed = ParseRequestMessageImpl(message);
  if (!parsed.ok()) return AsInvalidMessage(parsed.status());
  return parsed;
}

Item BuildResponseMessage(const ResponseMessage& response) {
  Item header = Item::Structure(Tag::kResponseHeader);
  header.Add(EncodeVersion(response.version));
  header.Add(Item::DateTime(Tag::kTimeStamp, response.time_stamp));
  header.Add(Item::Integer(Tag::kBatchCount,
                           static_cast<int32_t>(response.items.size())));
  Item out = Item::Structure(Tag::kResponseMessage, {std::move(header)});
  for (const ResponseBatchItem& item : response.items) {
    Item b = Item::Structure(Tag::kBatchItem);
    if (item.operation) b.Add(Item::Enumeration(Tag::kOperation, *item.operation));
    if (item.unique_batch_item_id) {
      b.Add(Item::ByteString(Tag::kUniqueBatchItemId, *item.unique_batch_item_id));
    }
    b.Add(Item::Enum(Tag::kResultStatus, item.status));
    if (item.reason) b.Add(Item::Enum(Tag::kResultReason, *item.reason));
    if (item.message) b.Add(Item::TextString(Tag::kResultMessage, *item.message));
    if (item.payload) b.Add(*item.payload);
    out.Add(std::move(b));
  }
  return out;
}

}  // namespace keywarden::api::kmip
