// The JSON of the Key Protect v2 API as the typed client reads and writes
// it: the only place in client/ that knows resource shapes
// (keyprotect-api.md §1.3, §3, §4, §11; docs/api.md).
#include "keywarden/client/key_protect.h"

#include <initializer_list>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "keywarden/client/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/rsa_oaep.h"

namespace keywarden::client {
namespace {

namespace json = boost::json;

constexpr std::string_view kKeyType = "application/vnd.ibm.kms.key+json";
constexpr std::string_view kRegistrationInputType =
    "application/vnd.ibm.kms.registration_input+json";
constexpr std::string_view kPolicyType = "application/vnd.ibm.kms.policy+json";
// The only import algorithm (docs/api.md "Secure import").
constexpr std::string_view kImportAlgorithm = "RSAES_OAEP_SHA_256";

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string().data(), v->get_string().size());
}

int64_t IntAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

std::optional<bool> BoolAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

std::string VersionIdAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_object()) return "";
  return StringAt(v->get_object(), "id");
}

// Wipes the string at o[key] (a plaintext or payload) in place.
void WipeAt(json::object& o, std::string_view key) {
  json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_string()) {
    WipeMemory(v->get_string().data(), v->get_string().size());
  }
}

// Decodes the base64 at o[key] into secret bytes and wipes the text.
absl::StatusOr<SecretBytes> SecretAt(json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return absl::InternalError(
        AbslView(StrCat("the server's answer has no \"", key, "\"")));
  }
  auto bytes = crypto::Base64Decode(
      std::string_view(v->get_string().data(), v->get_string().size()));
  WipeAt(o, key);
  if (!bytes.ok()) {
    return absl::InternalError(
        AbslView(StrCat("the server's \"", key, "\" is not base64")));
  }
  return bytes;
}

absl::StatusOr<json::object*> ObjectOf(json::value& v) {
  json::object* o = v.if_object();
  if (o == nullptr) {
    return absl::InternalError("the server's answer is not a JSON object");
  }
  return o;
}

// resources[] of a collection answer.
absl::StatusOr<json::array*> ResourcesOf(json::value& v) {
  KW_ASSIGN_OR_RETURN(json::object * o, ObjectOf(v));
  json::value* r = o->if_contains("resources");
  if (r == nullptr) {  // a collection may omit an empty array
    return &((*o)["resources"] = json::array()).get_array();
  }
  if (!r->is_array()) {
    return absl::InternalError("the server's \"resources\" is not an array");
  }
  for (const json::value& e : r->get_array()) {
    if (!e.is_object()) {
      return absl::InternalError("a resource of the answer is not an object");
    }
  }
  return &r->get_array();
}

Key KeyOf(const json::object& o) {
  Key k;
  k.id = StringAt(o, "id");
  k.name = StringAt(o, "name");
  k.description = StringAt(o, "description");
  k.crn = StringAt(o, "crn");
  k.key_ring_id = StringAt(o, "keyRingID");
  if (const json::value* s = o.if_contains("state");
      s != nullptr && s->is_int64()) {
    k.state = static_cast<KeyState>(s->get_int64());
  }
  if (const json::value* e = o.if_contains("extractable");
      e != nullptr && e->is_bool()) {
    k.extractable = e->get_bool();
  }
  k.key_version_id = VersionIdAt(o, "keyVersion");
  k.creation_date = StringAt(o, "creationDate");
  k.last_rotate_date = StringAt(o, "lastRotateDate");
  if (const json::value* a = o.if_contains("aliases");
      a != nullptr && a->is_array()) {
    for (const json::value& alias : a->get_array()) {
      if (alias.is_string()) {
        k.aliases.emplace_back(alias.get_string().data(),
                               alias.get_string().size());
      }
    }
  }
  return k;
}

absl::StatusOr<Key> SingleKey(json::value& answer, SecretBytes* payload) {
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  if (resources->empty()) {
    return absl::InternalError("the server answered no key");
  }
  json::object& o = (*resources)[0].get_object();
  if (payload != nullptr && o.if_contains("payload") != nullptr) {
    KW_ASSIGN_OR_RETURN(*payload, SecretAt(o, "payload"));
  }
  WipeAt(o, "payload");
  return KeyOf(o);
}

Registration RegistrationOf(const json::object& o) {
  Registration r;
  r.key_id = StringAt(o, "keyId");
  r.resource_crn = StringAt(o, "resourceCrn");
  r.description = StringAt(o, "description");
  if (const json::value* p = o.if_contains("preventKeyDeletion");
      p != nullptr && p->is_bool()) {
    r.prevent_key_deletion = p->get_bool();
  }
  r.key_version_id = VersionIdAt(o, "keyVersion");
  r.creation_date = StringAt(o, "creationDate");
  return r;
}

KeyPolicies PoliciesOf(const json::array& resources) {
  KeyPolicies p;
  for (const json::value& r : resources) {
    const json::object& o = r.get_object();
    if (const json::value* v = o.if_contains("rotation");
        v != nullptr && v->is_object()) {
      RotationPolicy rotation;
      rotation.enabled = BoolAt(v->get_object(), "enabled").value_or(false);
      rotation.interval_month =
          static_cast<int>(IntAt(v->get_object(), "interval_month"));
      p.rotation = rotation;
    }
    if (const json::value* v = o.if_contains("dualAuthDelete");
        v != nullptr && v->is_object()) {
      p.dual_auth_delete =
          BoolAt(v->get_object(), "enabled").value_or(false);
    }
  }
  return p;
}

ImportToken ImportTokenOf(const json::object& o) {
  ImportToken t;
  t.id = StringAt(o, "id");
  t.creation_date = StringAt(o, "creationDate");
  t.expiration_date = StringAt(o, "expirationDate");
  t.max_retrievals = IntAt(o, "maxAllowedRetrievals");
  t.remaining_retrievals = IntAt(o, "remainingRetrievals");
  return t;
}

json::object SealedFields(const SealedKeyMaterial& sealed) {
  json::object o;
  o["payload"] = sealed.payload;
  o["encryptedNonce"] = sealed.encrypted_nonce;
  o["iv"] = sealed.iv;
  o["encryptionAlgorithm"] = kImportAlgorithm;
  return o;
}

json::value Collection(std::string_view type, json::object resource) {
  json::object metadata;
  metadata["collectionType"] = type;
  metadata["collectionTotal"] = 1;
  json::object body;
  body["metadata"] = std::move(metadata);
  json::array resources;
  resources.emplace_back(std::move(resource));
  body["resources"] = std::move(resources);
  return body;
}

json::array AadOf(const std::vector<std::string>& aad) {
  json::array a;
  for (const std::string& item : aad) a.emplace_back(item);
  return a;
}

// Wipes every string in a request body that may hold secret bytes.
void WipeBody(json::value& body, std::string_view key) {
  if (json::object* o = body.if_object()) {
    WipeAt(*o, key);
    if (json::value* r = o->if_contains("resources");
        r != nullptr && r->is_array()) {
      for (json::value& e : r->get_array()) {
        if (json::object* eo = e.if_object()) WipeAt(*eo, key);
      }
    }
  }
}

std::string KeyPath(const std::string& id) {
  return StrCat("/api/v2/keys/", PercentEncode(id));
}

std::string RegistrationPath(const std::string& key_id, const std::string& crn) {
  return StrCat(KeyPath(key_id), "/registrations/", PercentEncode(crn));
}

absl::StatusOr<Registration> SingleRegistration(json::value& answer) {
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  if (resources->empty()) {
    return absl::InternalError("the server answered no registration");
  }
  return RegistrationOf((*resources)[0].get_object());
}

// "?k=v&…" of the pairs whose value is not empty.
std::string QueryOf(
    std::initializer_list<std::pair<std::string_view, std::string>> params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    StrAppend(&q, q.empty() ? "?" : "&", k, "=", PercentEncode(v));
  }
  return q;
}

std::string PositiveOrEmpty(int n) { return n > 0 ? StrCat(n) : ""; }

}  // namespace

std::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kPreActivation: return "Pre-activation";
    case KeyState::kActive: return "Active";
    case KeyState::kSuspended: return "Suspended";
    case KeyState::kDeactivated: return "Deactivated";
    case KeyState::kDestroyed: return "Destroyed";
  }
  return "Unknown";
}

std::string Base64OfSecret(const SecretBytes& bytes) {
  return crypto::Base64Encode(bytes.span());
}

absl::StatusOr<SecretBytes> SecretFromBase64(std::string_view text) {
  auto bytes = crypto::Base64Decode(text);
  if (!bytes.ok()) return absl::InvalidArgumentError("not base64");
  return bytes;
}

absl::StatusOr<json::value> KeyProtectClient::Call(
    std::string_view method, const std::string& target, const json::value* body,
    Idempotency idempotency, std::string_view content_type,
    bool representation) {
  Headers headers = {{"Bluemix-Instance", instance_}};
  if (representation) headers.emplace_back("Prefer", "return=representation");
  return transport_.Call(method, target, body, idempotency, headers,
                         content_type);
}

absl::Status KeyProtectClient::Action(const std::string& id,
                                      std::string_view action,
                                      const json::value* body) {
  return Call("POST", StrCat(KeyPath(id), "/actions/", action), body,
              Idempotency::kNotIdempotent)
      .status();
}

absl::StatusOr<Key> KeyProtectClient::CreateKey(const CreateKeyRequest& request) {
  json::object r;
  r["type"] = kKeyType;
  r["name"] = request.name;
  if (!request.description.empty()) r["description"] = request.description;
  r["extractable"] = request.extractable;
  if (request.payload.has_value() && request.sealed.has_value()) {
    return absl::InvalidArgumentError(
        "a key is imported with either its material or its sealed material");
  }
  if (request.payload.has_value()) {
    r["payload"] = crypto::Base64Encode(request.payload->span());
  }
  if (request.sealed.has_value()) {
    for (auto& [k, v] : SealedFields(*request.sealed)) r[k] = std::move(v);
  }
  if (!request.aliases.empty()) r["aliases"] = AadOf(request.aliases);
  json::value body = Collection(kKeyType, std::move(r));
  Headers headers = {{"Bluemix-Instance", instance_},
                     {"Prefer", "return=representation"}};
  if (!request.key_ring_id.empty()) {
    headers.emplace_back("X-Kms-Key-Ring", request.key_ring_id);
  }
  auto answer = transport_.Call("POST", "/api/v2/keys", &body,
                                Idempotency::kNotIdempotent, headers, kKeyType);
  WipeBody(body, "payload");
  if (!answer.ok()) return answer.status();
  return SingleKey(*answer, nullptr);
}

absl::StatusOr<Key> KeyProtectClient::GetKey(const std::string& id,
                                             SecretBytes* payload) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", KeyPath(id), nullptr,
                           Idempotency::kIdempotent));
  return SingleKey(answer, payload);
}

absl::StatusOr<Key> KeyProtectClient::GetKeyMetadata(const std::string& id) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", StrCat(KeyPath(id), "/metadata"), nullptr,
                           Idempotency::kIdempotent));
  return SingleKey(answer, nullptr);
}

absl::StatusOr<std::vector<Key>> KeyProtectClient::ListKeys(
    const ListKeysOptions& options) {
  std::string target = "/api/v2/keys";
  char sep = '?';
  if (options.limit > 0) {
    StrAppend(&target, std::string(1, sep), "limit=", options.limit);
    sep = '&';
  }
  if (options.offset > 0) {
    StrAppend(&target, std::string(1, sep), "offset=", options.offset);
    sep = '&';
  }
  if (!options.states.empty()) {
    StrAppend(&target, std::string(1, sep), "state=");
    for (size_t i = 0; i < options.states.size(); ++i) {
      StrAppend(&target, i == 0 ? "" : "%2C",
                static_cast<int>(options.states[i]));
    }
  }
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", target, nullptr, Idempotency::kIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  std::vector<Key> keys;
  for (const json::value& r : *resources) keys.push_back(KeyOf(r.get_object()));
  return keys;
}

absl::StatusOr<std::vector<KeyVersion>> KeyProtectClient::ListKeyVersions(
    const std::string& id) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", StrCat(KeyPath(id), "/versions"), nullptr,
                           Idempotency::kIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  std::vector<KeyVersion> versions;
  for (const json::value& r : *resources) {
    const json::object& o = r.get_object();
    versions.push_back({StringAt(o, "id"), StringAt(o, "creationDate")});
  }
  return versions;
}

absl::Status KeyProtectClient::DeleteKey(const std::string& id, bool force) {
  return Call("DELETE", StrCat(KeyPath(id), force ? "?force=true" : ""),
              nullptr, Idempotency::kNotIdempotent)
      .status();
}

absl::StatusOr<Key> KeyProtectClient::RestoreKey(const std::string& id) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("POST", StrCat(KeyPath(id), "/restore"), nullptr,
                           Idempotency::kNotIdempotent));
  return SingleKey(answer, nullptr);
}

absl::Status KeyProtectClient::PurgeKey(const std::string& id) {
  return Call("DELETE", StrCat(KeyPath(id), "/purge"), nullptr,
              Idempotency::kNotIdempotent)
      .status();
}

absl::Status KeyProtectClient::RotateKey(const std::string& id,
                                         const SecretBytes* payload) {
  if (payload == nullptr) return Action(id, "rotate");
  json::value body = json::object{
      {"payload", crypto::Base64Encode(payload->span())}};
  absl::Status s = Action(id, "rotate", &body);
  WipeBody(body, "payload");
  return s;
}

absl::Status KeyProtectClient::RotateKey(const std::string& id,
                                         const SealedKeyMaterial& sealed) {
  json::value body = SealedFields(sealed);
  return Action(id, "rotate", &body);
}

absl::Status KeyProtectClient::EnableKey(const std::string& id) {
  return Action(id, "enable");
}
absl::Status KeyProtectClient::DisableKey(const std::string& id) {
  return Action(id, "disable");
}
absl::Status KeyProtectClient::SetKeyForDeletion(const std::string& id) {
  return Action(id, "setKeyForDeletion");
}
absl::Status KeyProtectClient::UnsetKeyForDeletion(const std::string& id) {
  return Action(id, "unsetKeyForDeletion");
}

absl::StatusOr<json::value> KeyProtectClient::DataAction(
    const std::string& key_id, std::string_view action, std::string_view field,
    std::string value, const std::vector<std::string>& aad) {
  json::object request;
  if (!field.empty()) request[field] = value;
  WipeMemory(value.data(), value.size());  // a plaintext, in base64
  if (!aad.empty()) request["aad"] = AadOf(aad);
  json::value body = std::move(request);
  auto answer = Call("POST", StrCat(KeyPath(key_id), "/actions/", action),
                     &body, Idempotency::kIdempotent);
  WipeBody(body, "plaintext");
  if (!answer.ok()) return answer.status();
  if (answer->if_object() == nullptr) {
    return absl::InternalError("the server's answer is not a JSON object");
  }
  return answer;
}

absl::StatusOr<WrapResult> KeyProtectClient::Wrap(
    const std::string& key_id, const SecretBytes* plaintext,
    const std::vector<std::string>& aad) {
  KW_ASSIGN_OR_RETURN(
      json::value answer,
      DataAction(key_id, "wrap", plaintext != nullptr ? "plaintext" : "",
                 plaintext != nullptr ? crypto::Base64Encode(plaintext->span())
                                      : std::string(),
                 aad));
  json::object& o = answer.get_object();
  WrapResult out;
  if (plaintext == nullptr) {
    KW_ASSIGN_OR_RETURN(out.generated_plaintext, SecretAt(o, "plaintext"));
  }
  WipeAt(o, "plaintext");
  out.ciphertext = StringAt(o, "ciphertext");
  out.key_version_id = VersionIdAt(o, "keyVersion");
  if (out.ciphertext.empty()) {
    return absl::InternalError("the wrap answer has no ciphertext");
  }
  return out;
}

absl::StatusOr<UnwrapResult> KeyProtectClient::Unwrap(
    const std::string& key_id, const std::string& ciphertext,
    const std::vector<std::string>& aad) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      DataAction(key_id, "unwrap", "ciphertext", ciphertext,
                                 aad));
  json::object& o = answer.get_object();
  UnwrapResult out;
  KW_ASSIGN_OR_RETURN(out.plaintext, SecretAt(o, "plaintext"));
  out.key_version_id = VersionIdAt(o, "keyVersion");
  out.rewrapped_ciphertext = StringAt(o, "ciphertext");
  out.rewrapped_key_version_id = VersionIdAt(o, "rewrappedKeyVersion");
  return out;
}

absl::StatusOr<RewrapResult> KeyProtectClient::Rewrap(
    const std::string& key_id, const std::string& ciphertext,
    const std::vector<std::string>& aad) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      DataAction(key_id, "rewrap", "ciphertext", ciphertext,
                                 aad));
  const json::object& o = answer.get_object();
  RewrapResult out;
  out.ciphertext = StringAt(o, "ciphertext");
  out.key_version_id = VersionIdAt(o, "keyVersion");
  out.rewrapped_key_version_id = VersionIdAt(o, "rewrappedKeyVersion");
  return out;
}

absl::StatusOr<Registration> KeyProtectClient::WriteRegistration(
    std::string_view method, const std::string& key_id, const std::string& crn,
    json::object resource) {
  json::value body = Collection(kRegistrationInputType, std::move(resource));
  // Create, replace and merge all leave the same registration when
  // repeated (the server answers a repeated create with the same fields).
  KW_ASSIGN_OR_RETURN(
      json::value answer,
      Call(method, RegistrationPath(key_id, crn), &body,
           Idempotency::kIdempotent, kRegistrationInputType,
           /*representation=*/true));
  return SingleRegistration(answer);
}

absl::StatusOr<Registration> KeyProtectClient::CreateRegistration(
    const std::string& key_id, const std::string& crn,
    const RegistrationRequest& request) {
  json::object r;
  r["description"] = request.description;
  r["preventKeyDeletion"] = request.prevent_key_deletion;
  return WriteRegistration("POST", key_id, crn, std::move(r));
}

absl::StatusOr<Registration> KeyProtectClient::ReplaceRegistration(
    const std::string& key_id, const std::string& crn,
    const RegistrationRequest& request) {
  json::object r;
  r["description"] = request.description;
  r["preventKeyDeletion"] = request.prevent_key_deletion;
  return WriteRegistration("PUT", key_id, crn, std::move(r));
}

absl::StatusOr<Registration> KeyProtectClient::UpdateRegistration(
    const std::string& key_id, const std::string& crn,
    const RegistrationUpdate& update) {
  json::object r;
  if (update.description.has_value()) r["description"] = *update.description;
  if (update.prevent_key_deletion.has_value()) {
    r["preventKeyDeletion"] = *update.prevent_key_deletion;
  }
  return WriteRegistration("PATCH", key_id, crn, std::move(r));
}

absl::Status KeyProtectClient::DeleteRegistration(const std::string& key_id,
                                                  const std::string& crn) {
  return Call("DELETE", RegistrationPath(key_id, crn), nullptr,
              Idempotency::kIdempotent)
      .status();
}

absl::StatusOr<std::vector<Registration>> KeyProtectClient::ListRegistrations(
    const std::string& key_id) {
  ListRegistrationsOptions options;
  options.key_id = key_id;
  return ListRegistrations(options);
}

absl::StatusOr<std::vector<Registration>> KeyProtectClient::ListRegistrations(
    const ListRegistrationsOptions& options) {
  const std::string target = StrCat(
      options.key_id.empty() ? std::string("/api/v2/keys/registrations")
                             : StrCat(KeyPath(options.key_id), "/registrations"),
      QueryOf({{"limit", PositiveOrEmpty(options.limit)},
               {"offset", PositiveOrEmpty(options.offset)},
               {"urlEncodedResourceCRNQuery", options.crn_query}}));
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", target, nullptr, Idempotency::kIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  std::vector<Registration> out;
  for (const json::value& r : *resources) {
    out.push_back(RegistrationOf(r.get_object()));
  }
  return out;
}

absl::Status KeyProtectClient::CreateKeyRing(const std::string& id) {
  return Call("POST", StrCat("/api/v2/key_rings/", PercentEncode(id)), nullptr,
              Idempotency::kNotIdempotent)
      .status();
}

absl::StatusOr<std::vector<KeyRing>> KeyProtectClient::ListKeyRings() {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", "/api/v2/key_rings", nullptr,
                           Idempotency::kIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  std::vector<KeyRing> rings;
  for (const json::value& r : *resources) {
    const json::object& o = r.get_object();
    rings.push_back({StringAt(o, "id"), StringAt(o, "creationDate"),
                     StringAt(o, "createdBy")});
  }
  return rings;
}

absl::Status KeyProtectClient::DeleteKeyRing(const std::string& id,
                                             bool force) {
  return Call("DELETE",
              StrCat("/api/v2/key_rings/", PercentEncode(id),
                     force ? "?force=true" : ""),
              nullptr, Idempotency::kNotIdempotent)
      .status();
}

absl::StatusOr<Key> KeyProtectClient::MoveKeyToRing(const std::string& key_id,
                                                    const std::string& ring_id) {
  json::value body = json::object{{"keyRingID", ring_id}};
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("PATCH", KeyPath(key_id), &body,
                           Idempotency::kIdempotent));
  return SingleKey(answer, nullptr);
}

absl::StatusOr<KeyAlias> KeyProtectClient::CreateKeyAlias(
    const std::string& key_id, const std::string& alias) {
  KW_ASSIGN_OR_RETURN(
      json::value answer,
      Call("POST", StrCat(KeyPath(key_id), "/aliases/", PercentEncode(alias)),
           nullptr, Idempotency::kNotIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  if (resources->empty()) {
    return absl::InternalError("the server answered no alias");
  }
  const json::object& o = (*resources)[0].get_object();
  return KeyAlias{StringAt(o, "keyId"), StringAt(o, "alias"),
                  StringAt(o, "creationDate"), StringAt(o, "createdBy")};
}

absl::Status KeyProtectClient::DeleteKeyAlias(const std::string& key_id,
                                              const std::string& alias) {
  return Call("DELETE",
              StrCat(KeyPath(key_id), "/aliases/", PercentEncode(alias)),
              nullptr, Idempotency::kNotIdempotent)
      .status();
}

absl::StatusOr<KeyPolicies> KeyProtectClient::GetKeyPolicies(
    const std::string& key_id) {
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", StrCat(KeyPath(key_id), "/policies"), nullptr,
                           Idempotency::kIdempotent));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  return PoliciesOf(*resources);
}

absl::StatusOr<KeyPolicies> KeyProtectClient::PutKeyPolicy(
    const std::string& key_id, std::string_view policy,
    json::object resource) {
  resource["type"] = kPolicyType;
  json::value body = Collection(kPolicyType, std::move(resource));
  KW_ASSIGN_OR_RETURN(
      json::value answer,
      Call("PUT", StrCat(KeyPath(key_id), "/policies?policy=", policy), &body,
           Idempotency::kIdempotent, kPolicyType));
  KW_ASSIGN_OR_RETURN(json::array * resources, ResourcesOf(answer));
  return PoliciesOf(*resources);
}

absl::StatusOr<KeyPolicies> KeyProtectClient::SetRotationPolicy(
    const std::string& key_id, const RotationPolicy& policy) {
  json::object rotation;
  rotation["enabled"] = policy.enabled;
  if (policy.interval_month > 0) {
    rotation["interval_month"] = policy.interval_month;
  }
  json::object r;
  r["rotation"] = std::move(rotation);
  return PutKeyPolicy(key_id, "rotation", std::move(r));
}

absl::StatusOr<KeyPolicies> KeyProtectClient::SetDualAuthDeletePolicy(
    const std::string& key_id, bool enabled) {
  json::object r;
  r["dualAuthDelete"] = json::object{{"enabled", enabled}};
  return PutKeyPolicy(key_id, "dualAuthDelete", std::move(r));
}

absl::StatusOr<ImportToken> KeyProtectClient::CreateImportToken(
    const ImportTokenRequest& request) {
  json::object r;
  if (request.expiration_seconds > 0) {
    r["expiration"] = request.expiration_seconds;
  }
  if (request.max_retrievals > 0) {
    r["maxAllowedRetrievals"] = request.max_retrievals;
  }
  json::value body = std::move(r);
  // Each create replaces the instance's token: never repeated.
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("POST", "/api/v2/import_token", &body,
                           Idempotency::kNotIdempotent));
  KW_ASSIGN_OR_RETURN(json::object * o, ObjectOf(answer));
  return ImportTokenOf(*o);
}

absl::StatusOr<ImportToken> KeyProtectClient::GetImportToken() {
  // Each retrieval counts against maxAllowedRetrievals: never repeated.
  KW_ASSIGN_OR_RETURN(json::value answer,
                      Call("GET", "/api/v2/import_token", nullptr,
                           Idempotency::kNotIdempotent));
  KW_ASSIGN_OR_RETURN(json::object * o, ObjectOf(answer));
  ImportToken t = ImportTokenOf(*o);
  KW_ASSIGN_OR_RETURN(SecretBytes pem, SecretAt(*o, "payload"));
  t.public_key_pem.assign(reinterpret_cast<const char*>(pem.data()),
                          pem.size());
  KW_ASSIGN_OR_RETURN(SecretBytes nonce, SecretAt(*o, "nonce"));
  t.nonce.assign(nonce.data(), nonce.data() + nonce.size());
  return t;
}

absl::StatusOr<Key> KeyProtectClient::ImportKeySecurely(
    CreateKeyRequest request, const SecretBytes& material) {
  if (request.payload.has_value() || request.sealed.has_value()) {
    return absl::InvalidArgumentError(
        "a secure import takes the material apart from the request");
  }
  KW_ASSIGN_OR_RETURN(ImportToken token, GetImportToken());
  KW_ASSIGN_OR_RETURN(request.sealed, SealForImport(token, material));
  request.extractable = false;
  return CreateKey(request);
}

absl::StatusOr<SealedKeyMaterial> SealForImport(const ImportToken& token,
                                                const SecretBytes& material) {
  if (token.public_key_pem.empty() || token.nonce.empty()) {
    return absl::InvalidArgumentError(
        "the import token has no public key or nonce: retrieve it with "
        "GetImportToken");
  }
  if (material.size() != 16 && material.size() != 24 &&
      material.size() != 32) {
    return absl::InvalidArgumentError(
        "root key material must be 16, 24 or 32 bytes");
  }
  SealedKeyMaterial out;
  auto wrapped =
      crypto::RsaOaepSha256Encrypt(token.public_key_pem, material.span());
  if (!wrapped.ok()) {
    return absl::InvalidArgumentError(
        "the import token's public key is not a usable RSA key");
  }
  out.payload = crypto::Base64Encode(*wrapped);
  // A fresh random 96-bit IV (NIST SP 800-38D §8.2.2): the material may
  // seal the nonces of several tokens.
  std::vector<uint8_t> iv(crypto::kGcmNonceSize);
  crypto::RandomBytes(iv);
  KW_ASSIGN_OR_RETURN(crypto::AesGcm aead,
                      crypto::AesGcm::Create(material.span()));
  KW_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed_nonce,
                      aead.Encrypt(iv, token.nonce, {}));
  out.encrypted_nonce = crypto::Base64Encode(sealed_nonce);
  out.iv = crypto::Base64Encode(iv);
  return out;
}

}  // namespace keywarden::client
