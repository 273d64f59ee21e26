#include "keywarden/api/kmip/service_backend.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "keywarden/api/kmip/key_crypto.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::api::kmip {
namespace {

using service::KmipCaller;
using store::KmipObject;

constexpr int kUpdateAttempts = 4;

uint32_t T(Tag tag) { return static_cast<uint32_t>(tag); }

// Attributes the server sets and keeps; a client may read, not change them
// (KMIP 1.4 §3: "SHALL NOT be changed by the client").
bool IsServerManaged(uint32_t tag) {
  for (Tag t : {Tag::kUniqueIdentifier, Tag::kObjectType,
                Tag::kCryptographicAlgorithm, Tag::kCryptographicLength,
                Tag::kState, Tag::kInitialDate, Tag::kActivationDate,
                Tag::kDeactivationDate, Tag::kDestroyDate,
                Tag::kCompromiseDate, Tag::kLastChangeDate}) {
    if (tag == T(t)) return true;
  }
  return false;
}

bool IsMultiValued(uint32_t tag) {
  return tag == 0 || tag == T(Tag::kName) || tag == T(Tag::kObjectGroup);
}

void Replace(AttributeList& list, Tag tag, Item value) {
  for (Attribute& a : list.items) {
    if (a.name.tag == T(tag)) {
      a.value = std::move(value);
      return;
    }
  }
  list.Add({.name = {T(tag), ""}, .value = std::move(value)});
}

// Stored form (docs/formats/kmip.md "Stored objects"): one Attributes
// structure of KMIP 1.x Attribute items, in order, so custom attributes and
// indexes survive.
absl::StatusOr<std::string> EncodeAttributes(const AttributeList& list) {
  Item all = Item::Structure(Tag::kAttributes);
  for (const Attribute& a : list.items) all.Add(EncodeAttribute1x(a));
  return EncodeTtlv(all);
}

absl::StatusOr<AttributeList> DecodeAttributes(const std::string& bytes) {
  absl::StatusOr<Item> all = DecodeTtlv(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!all.ok()) return absl::DataLossError("stored KMIP attributes are corrupt");
  AttributeList out;
  for (const Item& c : all->children()) {
    absl::StatusOr<Attribute> a = DecodeAttribute1x(c);
    if (!a.ok()) return absl::DataLossError("stored KMIP attributes are corrupt");
    out.Add(*std::move(a));
  }
  return out;
}

// Keeps the typed columns (state, names, algorithm, length) in step with
// the attribute list, and writes the list.
absl::Status SyncColumns(KmipObject& o, const AttributeList& list) {
  o.names = list.names();
  if (auto s = list.state()) o.state = static_cast<int32_t>(*s);
  KW_ASSIGN_OR_RETURN(o.attributes, EncodeAttributes(list));
  return absl::OkStatus();
}

int64_t Now() { return absl::ToUnixSeconds(absl::Now()); }

State StateOf(const KmipObject& o) { return static_cast<State>(o.state); }

bool IsDestroyed(const KmipObject& o) {
  return StateOf(o) == State::kDestroyed ||
         StateOf(o) == State::kDestroyedCompromised;
}

absl::Status WrongState(std::string_view message) {
  return absl::FailedPreconditionError(std::string(message));
}

class Session {
 public:
  Session(service::KmipAdapters& adapters, KmipCaller caller)
      : adapters_(adapters), caller_(std::move(caller)) {}

  const KmipCaller& caller() const { return caller_; }

  absl::StatusOr<KmipObject> Load(const std::string& id) {
    return adapters_.LoadObject(caller_, id);
  }

  // The object's value, opened under the adapter's root key.
  absl::StatusOr<ManagedObject> Open(const KmipObject& o) {
    if (IsDestroyed(o)) {
      return KmipError(ResultReason::kKeyValueNotPresent, "the object is destroyed");
    }
    absl::StatusOr<SecretBytes> sealed = adapters_.OpenMaterial(caller_, o);
    if (!sealed.ok()) {
      if (absl::IsUnavailable(sealed.status())) return sealed.status();
      // Disabled, destroyed or purged root key: the object is unusable.
      return WrongState(
          "the KMIP adapter's root key is not usable (disabled or deleted)");
    }
    absl::StatusOr<Item> item = DecodeTtlv(sealed->span());
    if (!item.ok()) return absl::DataLossError("a stored KMIP object is corrupt");
    absl::StatusOr<ManagedObject> value = DecodeManagedObject(*item);
    if (!value.ok()) return absl::DataLossError("a stored KMIP object is corrupt");
    // Wipe the decoded copy's buffers we hold.
    return value;
  }

  // Creates an object of `value` with `attributes` (client's, then the
  // server's over them).
  absl::StatusOr<std::string> Store(const ManagedObject& value,
                                    AttributeList attributes,
                                    std::string_view action) {
    for (const Attribute& a : attributes.items) {
      if (IsServerManaged(a.name.tag)) {
        if (a.name.tag == T(Tag::kCryptographicAlgorithm) ||
            a.name.tag == T(Tag::kCryptographicLength) ||
            a.name.tag == T(Tag::kObjectType)) {
          continue;  // a template of what is made; replaced below
        }
        return absl::InvalidArgumentError("a server-managed attribute was given");
      }
    }
    KmipObject o;
    o.object_type = static_cast<int32_t>(value.object_type);
    if (value.algorithm) o.algorithm = static_cast<int32_t>(*value.algorithm);
    if (value.length) o.length = *value.length;
    o.key_format = static_cast<int32_t>(value.key_format_type);
    o.state = static_cast<int32_t>(State::kPreActive);
    KW_ASSIGN_OR_RETURN(Item encoded, EncodeManagedObject(value));
    KW_ASSIGN_OR_RETURN(std::string bytes, EncodeTtlv(encoded));
    SecretBytes material(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    std::fill(bytes.begin(), bytes.end(), '\0');
    // The service assigns the id and the initial date; the attributes that
    // name them are filled in before the one insert (no second write, so a
    // Create is one durable step and one revision).
    auto complete = [&](KmipObject& made) -> absl::Status {
      Replace(attributes, Tag::kUniqueIdentifier,
              Item::TextString(Tag::kUniqueIdentifier, made.id));
      Replace(attributes, Tag::kObjectType,
              Item::Enum(Tag::kObjectType, value.object_type));
      if (value.algorithm) {
        Replace(attributes, Tag::kCryptographicAlgorithm,
                Item::Enum(Tag::kCryptographicAlgorithm, *value.algorithm));
      }
      if (value.length) {
        Replace(attributes, Tag::kCryptographicLength,
                Item::Integer(Tag::kCryptographicLength, *value.length));
      }
      Replace(attributes, Tag::kInitialDate,
              Item::DateTime(Tag::kInitialDate,
                             absl::ToUnixSeconds(made.created_at)));
      Replace(attributes, Tag::kState,
              Item::Enum(Tag::kState, State::kPreActive));
      return SyncColumns(made, attributes);
    };
    absl::StatusOr<KmipObject> stored =
        adapters_.CreateObject(caller_, o, material, action, complete);
    if (ReasonOf(stored.status()) == Reason::kKeyActionInvalidState) {
      // KMIP 2.0 §11 Wrong Key Lifecycle State (1.x: Illegal Operation),
      // whatever the status code of the service's refusal.
      return KmipError(ResultReason::kWrongKeyLifecycleState,
                       "the KMIP adapter's root key is not Active (disabled "
                       "or deleted)");
    }
    KW_RETURN_IF_ERROR(stored.status());
    return stored->id;
  }

  // Loads, applies `change` to the object and its attributes, and writes;
  // retried when a concurrent change won.
  template <typename Change>
  absl::Status Mutate(const std::string& id, std::optional<std::string_view> action,
                      Change&& change) {
    for (int attempt = 0;; ++attempt) {
      KW_ASSIGN_OR_RETURN(KmipObject o, Load(id));
      KW_ASSIGN_OR_RETURN(AttributeList list, DecodeAttributes(o.attributes));
      KW_RETURN_IF_ERROR(change(o, list));
      Replace(list, Tag::kLastChangeDate, Item::DateTime(Tag::kLastChangeDate, Now()));
      KW_RETURN_IF_ERROR(SyncColumns(o, list));
      absl::Status s = adapters_.UpdateObject(caller_, o, action);
      if (!absl::IsAborted(s) || attempt + 1 >= kUpdateAttempts) return s;
    }
  }

  absl::StatusOr<AttributeList> Attributes(const std::string& id) {
    KW_ASSIGN_OR_RETURN(KmipObject o, Load(id));
    return DecodeAttributes(o.attributes);
  }

 private:
  service::KmipAdapters& adapters_;
  KmipCaller caller_;
};

absl::StatusOr<Session> Begin(service::KmipAdapters& adapters, const KmipContext& ctx) {
  if (ctx.client == nullptr) {
    return absl::PermissionDeniedError("a client certificate is required");
  }
  KW_ASSIGN_OR_RETURN(KmipCaller caller,
                      adapters.Identify(ctx.client->certificate_sha256));
  return Session(adapters, std::move(caller));
}

absl::Status RequireState(const KmipObject& o, std::initializer_list<State> allowed,
                          std::string_view message) {
  for (State s : allowed) {
    if (StateOf(o) == s) return absl::OkStatus();
  }
  if (IsDestroyed(o)) {
    return KmipError(ResultReason::kKeyValueNotPresent, "the object is destroyed");
  }
  return WrongState(message);
}

}  // namespace

bool ServiceBackend::IsRegistered(std::string_view certificate_sha256) {
  return adapters_.Identify(certificate_sha256).ok();
}

absl::StatusOr<CreateResponse> ServiceBackend::Create(const KmipContext& ctx,
                                                      const CreateRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  if (req.object_type != ObjectType::kSymmetricKey) {
    return KmipError(ResultReason::kInvalidField, "Create makes symmetric keys");
  }
  std::optional<CryptographicAlgorithm> algorithm = req.attributes.algorithm();
  if (!algorithm) {
    return KmipError(ResultReason::kInvalidField, "Cryptographic Algorithm is required");
  }
  KW_ASSIGN_OR_RETURN(ManagedObject value,
                      GenerateSymmetricKey(*algorithm, req.attributes.length()));
  KW_ASSIGN_OR_RETURN(std::string id,
                      s.Store(value, req.attributes, "kmip.object.create"));
  return CreateResponse{.object_type = ObjectType::kSymmetricKey,
                        .unique_identifier = id};
}

absl::StatusOr<CreateKeyPairResponse> ServiceBackend::CreateKeyPair(
    const KmipContext& ctx, const CreateKeyPairRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  auto pick = [&](auto getter) {
    auto v = getter(req.private_key_attributes);
    if (!v) v = getter(req.common_attributes);
    if (!v) v = getter(req.public_key_attributes);
    return v;
  };
  auto algorithm = pick([](const AttributeList& l) { return l.algorithm(); });
  auto length = pick([](const AttributeList& l) { return l.length(); });
  if (algorithm != CryptographicAlgorithm::kRsa) {
    return KmipError(ResultReason::kInvalidField, "Create Key Pair makes RSA keys");
  }
  if (!length) {
    return KmipError(ResultReason::kInvalidField, "Cryptographic Length is required");
  }
  KW_ASSIGN_OR_RETURN(auto pair, GenerateRsaKeyPair(*length));
  auto merged = [&](const AttributeList& specific) {
    AttributeList out = req.common_attributes;
    for (const Attribute& a : specific.items) out.Add(a);
    return out;
  };
  KW_ASSIGN_OR_RETURN(std::string private_id,
                      s.Store(pair.first, merged(req.private_key_attributes),
                              "kmip.object.create_key_pair"));
  KW_ASSIGN_OR_RETURN(std::string public_id,
                      s.Store(pair.second, merged(req.public_key_attributes),
                              "kmip.object.create_key_pair"));
  return CreateKeyPairResponse{private_id, public_id};
}

absl::StatusOr<ObjectId> ServiceBackend::Register(const KmipContext& ctx,
                                                  const RegisterRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  const ManagedObject& o = req.object;
  switch (o.object_type) {
    case ObjectType::kSymmetricKey:
    case ObjectType::kSecretData:
    case ObjectType::kPrivateKey:
    case ObjectType::kPublicKey:
      break;
    default:
      return KmipError(ResultReason::kInvalidField,
                       "Register takes symmetric keys, secret data and RSA keys");
  }
  if (o.material.empty() && o.transparent.empty()) {
    return KmipError(ResultReason::kInvalidField, "the object has no key material");
  }
  ManagedObject value = o;
  // A raw key's length is its material's.
  if (value.object_type == ObjectType::kSymmetricKey && !value.length) {
    value.length = static_cast<int32_t>(value.material.size() * 8);
  }
  if (!value.algorithm) {
    if (auto a = req.attributes.algorithm()) value.algorithm = *a;
  }
  KW_ASSIGN_OR_RETURN(std::string id,
                      s.Store(value, req.attributes, "kmip.object.register"));
  return ObjectId{id};
}

absl::StatusOr<GetResponse> ServiceBackend::Get(const KmipContext& ctx,
                                                const GetRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_ASSIGN_OR_RETURN(ManagedObject value, s.Open(o));
  if (req.key_format_type && *req.key_format_type != value.key_format_type) {
    bool raw_to_transparent =
        value.object_type == ObjectType::kSymmetricKey &&
        value.key_format_type == KeyFormatType::kRaw &&
        *req.key_format_type == KeyFormatType::kTransparentSymmetricKey;
    if (!raw_to_transparent) {
      return KmipError(ResultReason::kKeyFormatTypeNotSupported,
                       "the object is kept in another key format");
    }
    value.key_format_type = KeyFormatType::kTransparentSymmetricKey;
  }
  return GetResponse{req.unique_identifier, std::move(value)};
}

absl::StatusOr<GetAttributesResponse> ServiceBackend::GetAttributes(
    const KmipContext& ctx, const GetAttributesRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(AttributeList list, s.Attributes(req.unique_identifier));
  GetAttributesResponse res;
  res.unique_identifier = req.unique_identifier;
  for (const Attribute& a : list.items) {
    if (req.names.empty() ||
        std::find(req.names.begin(), req.names.end(), a.name) != req.names.end()) {
      res.attributes.Add(a);
    }
  }
  return res;
}

absl::StatusOr<GetAttributeListResponse> ServiceBackend::GetAttributeList(
    const KmipContext& ctx, const ObjectId& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(AttributeList list, s.Attributes(req.unique_identifier));
  GetAttributeListResponse res;
  res.unique_identifier = req.unique_identifier;
  for (const Attribute& a : list.items) {
    if (std::find(res.names.begin(), res.names.end(), a.name) == res.names.end()) {
      res.names.push_back(a.name);
    }
  }
  return res;
}

absl::StatusOr<AttributeChangeResponse> ServiceBackend::AddAttribute(
    const KmipContext& ctx, const AttributeChangeRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  if (IsServerManaged(req.attribute.name.tag)) {
    return KmipError(ResultReason::kPermissionDenied, "the attribute is server-managed");
  }
  Attribute added = req.attribute;
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, std::nullopt,
      [&](KmipObject&, AttributeList& list) -> absl::Status {
        int32_t index = 0;
        for (const Attribute& a : list.items) {
          if (a.name == added.name) {
            if (!IsMultiValued(added.name.tag)) {
              return absl::InvalidArgumentError("the attribute is single-valued");
            }
            index = std::max(index, a.index + 1);
          }
        }
        added.index = index;
        list.Add(added);
        return absl::OkStatus();
      }));
  return AttributeChangeResponse{req.unique_identifier, added};
}

absl::StatusOr<AttributeChangeResponse> ServiceBackend::ModifyAttribute(
    const KmipContext& ctx, const AttributeChangeRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  if (IsServerManaged(req.attribute.name.tag)) {
    return KmipError(ResultReason::kPermissionDenied, "the attribute is server-managed");
  }
  Attribute modified;
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, std::nullopt,
      [&](KmipObject&, AttributeList& list) -> absl::Status {
        for (Attribute& a : list.items) {
          bool match = a.name == req.attribute.name &&
                       (req.current ? a.value == req.current->value
                                    : a.index == req.attribute.index);
          if (match) {
            a.value = req.attribute.value;
            modified = a;
            return absl::OkStatus();
          }
        }
        return absl::NotFoundError("no such attribute");
      }));
  return AttributeChangeResponse{req.unique_identifier, modified};
}

absl::StatusOr<AttributeChangeResponse> ServiceBackend::DeleteAttribute(
    const KmipContext& ctx, const DeleteAttributeRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  if (IsServerManaged(req.name.tag)) {
    return KmipError(ResultReason::kPermissionDenied, "the attribute is server-managed");
  }
  Attribute deleted;
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, std::nullopt,
      [&](KmipObject&, AttributeList& list) -> absl::Status {
        auto& items = list.items;
        for (auto it = items.begin(); it != items.end(); ++it) {
          bool match = it->name == req.name &&
                       (req.current ? it->value == req.current->value
                                    : it->index == req.index);
          if (!match) continue;
          deleted = *it;
          items.erase(it);
          return absl::OkStatus();
        }
        return absl::NotFoundError("no such attribute");
      }));
  return AttributeChangeResponse{req.unique_identifier, deleted};
}

absl::StatusOr<LocateResponse> ServiceBackend::Locate(const KmipContext& ctx,
                                                      const LocateRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  store::KmipObjectQuery q;
  q.limit = std::numeric_limits<int32_t>::max();
  std::vector<const Attribute*> rest;
  for (const Attribute& a : req.attributes.items) {
    if (a.name.tag == T(Tag::kName)) {
      const Item* value = a.value.Find(Tag::kNameValue);
      if (value == nullptr) return absl::InvalidArgumentError("a Name without a value");
      q.names.push_back(value->bytes());
    } else if (a.name.tag == T(Tag::kState)) {
      q.states.push_back(static_cast<int32_t>(a.value.int_value()));
    } else if (a.name.tag == T(Tag::kObjectType)) {
      q.object_type = static_cast<int32_t>(a.value.int_value());
    } else if (a.name.tag == T(Tag::kCryptographicAlgorithm)) {
      q.algorithm = static_cast<int32_t>(a.value.int_value());
    } else if (a.name.tag == T(Tag::kCryptographicLength)) {
      q.length = static_cast<int32_t>(a.value.int_value());
    } else {
      rest.push_back(&a);
    }
  }
  if (q.states.size() > 1) {
    // Every attribute must match: two different states match nothing.
    return LocateResponse{0, {}};
  }
  const int64_t offset = std::max(0, req.offset_items.value_or(0));
  const bool limited = req.maximum_items && *req.maximum_items > 0;
  LocateResponse res;
  if (rest.empty()) {
    // Every criterion is a column: the store filters and pages (Maximum
    // Items is its LIMIT) and counts the matches for Located Items. (A
    // create between the two reads may make the count one ahead.)
    q.offset = offset;
    if (limited) q.limit = *req.maximum_items;
    KW_ASSIGN_OR_RETURN(std::vector<KmipObject> page,
                        adapters_.FindObjects(s.caller(), q));
    KW_ASSIGN_OR_RETURN(int64_t total, adapters_.CountObjects(s.caller(), q));
    res.located_items = static_cast<int32_t>(
        std::min<int64_t>(total, std::numeric_limits<int32_t>::max()));
    for (const KmipObject& o : page) res.unique_identifiers.push_back(o.id);
    return res;
  }
  // Other attributes are matched on the decoded list, so the page is cut
  // here.
  KW_ASSIGN_OR_RETURN(std::vector<KmipObject> found,
                      adapters_.FindObjects(s.caller(), q));
  std::vector<std::string> ids;
  for (const KmipObject& o : found) {
    KW_ASSIGN_OR_RETURN(AttributeList list, DecodeAttributes(o.attributes));
    bool all = true;
    for (const Attribute* want : rest) {
      bool any = false;
      for (const Attribute& have : list.items) {
        if (!(have.name == want->name)) continue;
        Item h = have.value;
        h.set_tag(want->value.tag());
        any = any || h == want->value;
      }
      all = all && any;
    }
    if (all) ids.push_back(o.id);
  }
  res.located_items = static_cast<int32_t>(ids.size());
  size_t start = std::min(ids.size(), static_cast<size_t>(offset));
  size_t count = ids.size() - start;
  if (limited) count = std::min(count, static_cast<size_t>(*req.maximum_items));
  res.unique_identifiers.assign(ids.begin() + start, ids.begin() + start + count);
  return res;
}

absl::StatusOr<ObjectId> ServiceBackend::Activate(const KmipContext& ctx,
                                                  const ObjectId& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, "kmip.object.activate",
      [&](KmipObject& o, AttributeList& list) -> absl::Status {
        KW_RETURN_IF_ERROR(RequireState(o, {State::kPreActive},
                                        "only a Pre-Active object can be activated"));
        Replace(list, Tag::kState, Item::Enum(Tag::kState, State::kActive));
        Replace(list, Tag::kActivationDate, Item::DateTime(Tag::kActivationDate, Now()));
        return absl::OkStatus();
      }));
  return req;
}

absl::StatusOr<ObjectId> ServiceBackend::Revoke(const KmipContext& ctx,
                                                const RevokeRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  const bool compromise = req.reason == RevocationReasonCode::kKeyCompromise ||
                          req.reason == RevocationReasonCode::kCaCompromise;
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, "kmip.object.revoke",
      [&](KmipObject& o, AttributeList& list) -> absl::Status {
        KW_RETURN_IF_ERROR(RequireState(
            o, {State::kPreActive, State::kActive, State::kDeactivated, State::kCompromised},
            "the object cannot be revoked in its state"));
        // KMIP 1.4 §4.20: compromise -> Compromised; otherwise Deactivated.
        if (compromise) {
          Replace(list, Tag::kState, Item::Enum(Tag::kState, State::kCompromised));
          Replace(list, Tag::kCompromiseDate, Item::DateTime(Tag::kCompromiseDate, Now()));
        } else {
          if (StateOf(o) == State::kCompromised) return absl::OkStatus();
          Replace(list, Tag::kState, Item::Enum(Tag::kState, State::kDeactivated));
          Replace(list, Tag::kDeactivationDate,
                  Item::DateTime(Tag::kDeactivationDate, Now()));
        }
        return absl::OkStatus();
      }));
  return ObjectId{req.unique_identifier};
}

absl::StatusOr<ObjectId> ServiceBackend::Destroy(const KmipContext& ctx,
                                                 const ObjectId& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_RETURN_IF_ERROR(s.Mutate(
      req.unique_identifier, "kmip.object.destroy",
      [&](KmipObject& o, AttributeList& list) -> absl::Status {
        if (StateOf(o) == State::kActive) {
          return WrongState("an Active object cannot be destroyed; revoke it first");
        }
        if (IsDestroyed(o)) {
          return KmipError(ResultReason::kKeyValueNotPresent, "the object is destroyed");
        }
        State next = StateOf(o) == State::kCompromised ? State::kDestroyedCompromised
                                                       : State::kDestroyed;
        Replace(list, Tag::kState, Item::Enum(Tag::kState, next));
        Replace(list, Tag::kDestroyDate, Item::DateTime(Tag::kDestroyDate, Now()));
        // The service erases the sealed material with the state change.
        return absl::OkStatus();
      }));
  return req;
}

absl::StatusOr<EncryptResponse> ServiceBackend::Encrypt(const KmipContext& ctx,
                                                        const EncryptRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_RETURN_IF_ERROR(RequireState(o, {State::kActive}, "the key is not Active"));
  KW_ASSIGN_OR_RETURN(ManagedObject key, s.Open(o));
  return EncryptWith(key, req);
}

absl::StatusOr<DecryptResponse> ServiceBackend::Decrypt(const KmipContext& ctx,
                                                        const DecryptRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_RETURN_IF_ERROR(RequireState(o, {State::kActive, State::kDeactivated, State::kCompromised},
                                  "the key cannot decrypt in its state"));
  KW_ASSIGN_OR_RETURN(ManagedObject key, s.Open(o));
  return DecryptWith(key, req);
}

absl::StatusOr<MacResponse> ServiceBackend::Mac(const KmipContext& ctx,
                                                const MacRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_RETURN_IF_ERROR(RequireState(o, {State::kActive}, "the key is not Active"));
  KW_ASSIGN_OR_RETURN(ManagedObject key, s.Open(o));
  return MacWith(key, req);
}

absl::StatusOr<SignResponse> ServiceBackend::Sign(const KmipContext& ctx,
                                                  const SignRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_RETURN_IF_ERROR(RequireState(o, {State::kActive}, "the key is not Active"));
  KW_ASSIGN_OR_RETURN(ManagedObject key, s.Open(o));
  return SignWith(key, req);
}

absl::StatusOr<SignatureVerifyResponse> ServiceBackend::SignatureVerify(
    const KmipContext& ctx, const SignatureVerifyRequest& req) {
  KW_ASSIGN_OR_RETURN(Session s, Begin(adapters_, ctx));
  KW_ASSIGN_OR_RETURN(KmipObject o, s.Load(req.unique_identifier));
  KW_RETURN_IF_ERROR(RequireState(o, {State::kActive, State::kDeactivated, State::kCompromised},
                                  "the key cannot verify in its state"));
  KW_ASSIGN_OR_RETURN(ManagedObject key, s.Open(o));
  return VerifyWith(key, req);
}

}  // namespace keywarden::api::kmip
