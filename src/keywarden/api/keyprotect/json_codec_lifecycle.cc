// The lifecycle half of the JSON codec: import tokens, key and instance
// policies, registrations, event acknowledgements, event bodies and
// webhooks (keyprotect-api.md §7, §8, §11, §12). Same rules as
// json_codec.cc: field names in any case, errors as Key Protect reasons;
// instance policies are strict (unknown fields refused), as Key Protect is.
#include <boost/json.hpp>

#include "absl/strings/match.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/json_codec_internal.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"

namespace keywarden::api::keyprotect {
namespace json = boost::json;

namespace json_internal {

namespace {

absl::Status MustBe(std::string_view field, std::string_view what) {
  return Error(Reason::kBadBody,
               StrCat("The field `", field, "` must be: ", what), field);
}

absl::StatusOr<std::optional<bool>> OptBool(const json::object& obj,
                                            std::string_view name) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) return MustBe(name, "a boolean");
  return v->as_bool();
}

absl::StatusOr<std::optional<int64_t>> OptInt(const json::object& obj,
                                              std::string_view name) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) {
    return static_cast<int64_t>(v->as_uint64());
  }
  // 3.0 is an integer to a JSON reader that has only doubles (Node).
  if (v->is_double() && v->as_double() == static_cast<int64_t>(v->as_double())) {
    return static_cast<int64_t>(v->as_double());
  }
  return MustBe(name, "an integer");
}

const json::object* OptObject(const json::object& obj, std::string_view name) {
  const json::value* v = Find(obj, name);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

}  // namespace

absl::StatusOr<std::optional<service::RotationPolicyInput>>
DecodeRotationPolicy(const json::object& resource) {
  const json::value* v = Find(resource, "rotation");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) return MustBe("rotation", "an object");
  service::RotationPolicyInput in;
  KW_ASSIGN_OR_RETURN(std::optional<bool> enabled,
                      OptBool(v->as_object(), "enabled"));
  // The Go client's SetPolicy(…, 0) sends `{"rotation":{}}` (its interval
  // is omitempty): a policy that says nothing is refused, not guessed.
  if (!enabled.has_value() && Find(v->as_object(), "interval_month") == nullptr) {
    return MustBe("rotation", "an object with `enabled` and/or "
                              "`interval_month` (1 to 12)");
  }
  // Key Protect's older clients send only the interval: enabled by default.
  in.enabled = enabled.value_or(true);
  KW_ASSIGN_OR_RETURN(std::optional<int64_t> months,
                      OptInt(v->as_object(), "interval_month"));
  if (months.has_value()) {
    if (*months < keys::kMinRotationIntervalMonths ||
        *months > keys::kMaxRotationIntervalMonths) {
      return MustBe("interval_month", "an integer from 1 to 12");
    }
    in.interval_months = static_cast<int>(*months);
  }
  return in;
}

absl::StatusOr<std::optional<bool>> DecodeDualAuthPolicy(
    const json::object& resource) {
  const json::value* v = Find(resource, "dualAuthDelete");
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) return MustBe("dualAuthDelete", "an object");
  KW_ASSIGN_OR_RETURN(std::optional<bool> enabled,
                      OptBool(v->as_object(), "enabled"));
  if (!enabled.has_value()) {
    return MustBe("dualAuthDelete.enabled", "a boolean");
  }
  return *enabled;
}

}  // namespace json_internal

namespace {

using namespace json_internal;  // NOLINT: the codec's shared readers

constexpr std::string_view kPolicyType = "application/vnd.ibm.kms.policy+json";
constexpr std::string_view kAllowedIpType =
    "application/vnd.ibm.kms.allowed_ip_metadata+json";
constexpr std::string_view kRegistrationType =
    "application/vnd.ibm.kms.registration+json";
constexpr std::string_view kRegistrationInputType =
    "application/vnd.ibm.kms.registration_input+json";
// The deprecated deactivate body: Key Protect's SDK enum names both.
constexpr std::string_view kResourceCrnType =
    "application/vnd.ibm.kms.resource_crn+json";
constexpr std::string_view kCrnType = "application/vnd.ibm.kms.crn+json";
constexpr std::string_view kEventAckType =
    "application/vnd.ibm.kms.event_acknowledge+json";

// Go's strict decoder wording, which Key Protect answers with.
absl::Status UnknownField(std::string_view name) {
  return BadBody(StrCat("json: unknown field \"", name, "\""), name);
}

// Refuses any key of `obj` not in `known` (compared in any case).
absl::Status OnlyFields(const json::object& obj,
                        std::initializer_list<std::string_view> known) {
  for (const auto& kv : obj) {
    std::string_view k(kv.key().data(), kv.key().size());
    bool ok = false;
    for (std::string_view name : known) {
      if (absl::EqualsIgnoreCase(AbslView(k), AbslView(name))) ok = true;
    }
    if (!ok) return UnknownField(k);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ReqBool(const json::object& obj, std::string_view name,
                             std::string_view shown) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || !v->is_bool()) {
    return Error(Reason::kBadBody,
                 StrCat("The field `", shown, "` must be: a boolean"), shown);
  }
  return v->as_bool();
}

json::object PolicyMetaObject(const keys::PolicyMeta& m,
                              std::string_view crn_prefix,
                              std::string_view instance_id) {
  json::object o;
  o["id"] = m.id;
  o["crn"] = StrCat(crn_prefix, instance_id, ":policy:", m.id);
  PutTime(o, "creationDate", m.creation_time);
  o["createdBy"] = m.created_by;
  PutTime(o, "lastUpdateDate", m.last_update_time);
  o["updatedBy"] = m.updated_by;
  o["type"] = kPolicyType;
  return o;
}

}  // namespace

// --- Import tokens -----------------------------------------------------------

absl::StatusOr<service::CreateImportTokenRequest> DecodeCreateImportToken(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObject(body));
  service::CreateImportTokenRequest req;
  KW_ASSIGN_OR_RETURN(req.expiration_seconds, OptInt(obj, "expiration"));
  KW_ASSIGN_OR_RETURN(req.max_retrievals,
                      OptInt(obj, "maxAllowedRetrievals"));
  return req;
}

std::string EncodeImportToken(const service::ImportTokenResult& t) {
  json::object o;
  o["id"] = t.id;
  PutTime(o, "creationDate", t.creation_time);
  PutTime(o, "expirationDate", t.expiration_time);
  o["maxAllowedRetrievals"] = t.max_retrievals;
  o["remainingRetrievals"] = t.remaining_retrievals;
  if (t.public_key_pem.has_value()) {
    const std::string& pem = *t.public_key_pem;
    o["payload"] = crypto::Base64Encode(
        {reinterpret_cast<const uint8_t*>(pem.data()), pem.size()});
  }
  if (t.nonce.has_value()) o["nonce"] = crypto::Base64Encode(*t.nonce);
  return json::serialize(o);
}

// --- Key policies ------------------------------------------------------------

absl::StatusOr<service::PutKeyPoliciesRequest> DecodeKeyPolicies(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::array resources, Resources(body, {kPolicyType}));
  if (resources.empty()) {
    return BadBody("the collection holds no policy", "resources");
  }
  service::PutKeyPoliciesRequest req;
  for (const json::value& r : resources) {
    const json::object& obj = r.as_object();
    KW_ASSIGN_OR_RETURN(std::optional<std::string> type, OptString(obj, "type"));
    if (type.has_value() && *type != kPolicyType) {
      return MustBe("type", kPolicyType);
    }
    KW_ASSIGN_OR_RETURN(std::optional<service::RotationPolicyInput> rotation,
                        DecodeRotationPolicy(obj));
    KW_ASSIGN_OR_RETURN(std::optional<bool> dual, DecodeDualAuthPolicy(obj));
    if (!rotation.has_value() && !dual.has_value()) {
      return BadBody("each resource sets a `rotation` or `dualAuthDelete` "
                     "policy",
                     "resources");
    }
    if ((rotation.has_value() && req.rotation.has_value()) ||
        (dual.has_value() && req.dual_auth_delete.has_value())) {
      return BadBody("each policy may be set once per request", "resources");
    }
    if (rotation.has_value()) req.rotation = rotation;
    if (dual.has_value()) req.dual_auth_delete = dual;
  }
  return req;
}

std::string EncodeKeyPolicies(const service::KeyPoliciesResult& p,
                              std::string_view crn_prefix,
                              std::string_view instance_id) {
  json::array resources;
  if (p.rotation.has_value()) {
    json::object o = PolicyMetaObject(p.rotation->meta, crn_prefix, instance_id);
    o["rotation"] = json::object{{"enabled", p.rotation->enabled},
                                 {"interval_month", p.rotation->interval_months}};
    resources.emplace_back(std::move(o));
  }
  if (p.dual_auth.has_value()) {
    json::object o =
        PolicyMetaObject(p.dual_auth->meta, crn_prefix, instance_id);
    o["dualAuthDelete"] = json::object{{"enabled", p.dual_auth->enabled}};
    resources.emplace_back(std::move(o));
  }
  if (resources.empty()) {
    // No policy: the metadata alone (keyprotect-api.md §1.3).
    json::object doc;
    doc["metadata"] = json::object{{"collectionType", kPolicyType},
                                   {"collectionTotal", 0}};
    return json::serialize(doc);
  }
  return Collection(kPolicyType, std::move(resources));
}

// --- Instance policies -------------------------------------------------------

absl::StatusOr<std::vector<service::InstancePolicyInput>>
DecodeInstancePolicies(std::string_view body,
                       std::optional<keys::InstancePolicyType> selected) {
  KW_ASSIGN_OR_RETURN(json::value doc, Parse(body));
  if (doc.is_object()) {
    KW_RETURN_IF_ERROR(OnlyFields(doc.as_object(), {"metadata", "resources"}));
    if (const json::object* metadata = OptObject(doc.as_object(), "metadata")) {
      KW_RETURN_IF_ERROR(OnlyFields(
          *metadata, {"collectionType", "collectionTotal", "totalCount"}));
    }
  }
  KW_ASSIGN_OR_RETURN(json::array resources, Resources(body, {kPolicyType}));
  // Key Protect checks the body against `?policy=` before it reads the
  // policy itself (§7.2): one resource, of that policy_type, whatever else
  // is wrong with it.
  if (selected.has_value()) {
    if (resources.size() != 1) {
      return Error(Reason::kNumCollectionResource,
                   "Only a single instance policy may be created per query "
                   "parameter: send one resource with ?policy=");
    }
    const json::value* named = Find(resources[0].as_object(), "policy_type");
    if (named == nullptr || !named->is_string() ||
        keys::InstancePolicyTypeFromName(std::string_view(
            named->as_string().data(), named->as_string().size())) !=
            selected) {
      return Error(Reason::kBodyQueryParamMismatch,
                   StrCat("Data in body does not match data required by "
                          "query parameter: ?policy=",
                          keys::InstancePolicyTypeName(*selected),
                          " needs a resource of that policy_type"));
    }
  }
  std::vector<service::InstancePolicyInput> out;
  for (const json::value& r : resources) {
    const json::object& obj = r.as_object();
    KW_RETURN_IF_ERROR(OnlyFields(obj, {"policy_type", "policy_data"}));
    KW_ASSIGN_OR_RETURN(std::optional<std::string> type_name,
                        OptString(obj, "policy_type"));
    std::optional<keys::InstancePolicyType> type =
        type_name ? keys::InstancePolicyTypeFromName(*type_name) : std::nullopt;
    if (!type.has_value()) {
      return MustBe("policy_type",
                    "one of dualAuthDelete, rotation, allowedNetwork, "
                    "allowedIP, keyCreateImportAccess, metrics");
    }
    const json::value* data = Find(obj, "policy_data");
    if (data == nullptr || !data->is_object()) {
      return MustBe("policy_data", "an object with `enabled`");
    }
    const json::object& d = data->as_object();
    KW_RETURN_IF_ERROR(OnlyFields(d, {"enabled", "attributes"}));
    service::InstancePolicyInput in;
    in.type = *type;
    KW_ASSIGN_OR_RETURN(in.enabled, ReqBool(d, "enabled", "policy_data.enabled"));
    const json::value* attrs = Find(d, "attributes");
    if (attrs != nullptr && !attrs->is_null()) {
      if (!attrs->is_object()) return MustBe("attributes", "an object");
      in.has_attributes = true;
      const json::object& a = attrs->as_object();
      switch (*type) {
        case keys::InstancePolicyType::kDualAuthDelete:
        case keys::InstancePolicyType::kMetrics:
          // These take none; the service words the refusal.
          break;
        case keys::InstancePolicyType::kRotation: {
          KW_RETURN_IF_ERROR(OnlyFields(a, {"interval_month"}));
          KW_ASSIGN_OR_RETURN(in.interval_month, OptInt(a, "interval_month"));
          break;
        }
        case keys::InstancePolicyType::kAllowedNetwork: {
          KW_RETURN_IF_ERROR(OnlyFields(a, {"allowed_network"}));
          KW_ASSIGN_OR_RETURN(in.allowed_network,
                              OptString(a, "allowed_network"));
          break;
        }
        case keys::InstancePolicyType::kAllowedIp: {
          KW_RETURN_IF_ERROR(OnlyFields(a, {"allowed_ip"}));
          if (Find(a, "allowed_ip") != nullptr) {
            KW_ASSIGN_OR_RETURN(
                in.allowed_ip, StringList(a, "allowed_ip", Reason::kBadBody));
          }
          break;
        }
        case keys::InstancePolicyType::kKeyCreateImportAccess: {
          KW_RETURN_IF_ERROR(OnlyFields(
              a, {"create_root_key", "create_standard_key", "import_root_key",
                  "import_standard_key", "enforce_token"}));
          KW_ASSIGN_OR_RETURN(in.create_root_key,
                              OptBool(a, "create_root_key"));
          KW_ASSIGN_OR_RETURN(in.create_standard_key,
                              OptBool(a, "create_standard_key"));
          KW_ASSIGN_OR_RETURN(in.import_root_key,
                              OptBool(a, "import_root_key"));
          KW_ASSIGN_OR_RETURN(in.import_standard_key,
                              OptBool(a, "import_standard_key"));
          KW_ASSIGN_OR_RETURN(in.enforce_token, OptBool(a, "enforce_token"));
          break;
        }
      }
    }
    out.push_back(std::move(in));
  }
  return out;
}

std::string EncodeInstancePolicies(
    const std::vector<keys::InstancePolicy>& policies) {
  json::array resources;
  for (const keys::InstancePolicy& p : policies) {
    json::object data;
    data["enabled"] = p.enabled;
    json::object attrs;
    switch (p.type) {
      case keys::InstancePolicyType::kRotation:
        if (p.enabled) attrs["interval_month"] = p.rotation_interval_months;
        break;
      case keys::InstancePolicyType::kAllowedNetwork:
        attrs["allowed_network"] = keys::AllowedNetworkName(p.allowed_network);
        break;
      case keys::InstancePolicyType::kAllowedIp:
        if (p.enabled) {
          json::array ips;
          for (const std::string& ip : p.allowed_ips) ips.emplace_back(ip);
          attrs["allowed_ip"] = std::move(ips);
        }
        break;
      case keys::InstancePolicyType::kKeyCreateImportAccess:
        if (p.enabled) {
          const keys::KeyCreateImportAccess& a = p.key_create_import_access;
          attrs["create_root_key"] = a.create_root_key;
          attrs["create_standard_key"] = a.create_standard_key;
          attrs["import_root_key"] = a.import_root_key;
          attrs["import_standard_key"] = a.import_standard_key;
          attrs["enforce_token"] = a.enforce_token;
        }
        break;
      case keys::InstancePolicyType::kDualAuthDelete:
      case keys::InstancePolicyType::kMetrics:
        break;
    }
    if (!attrs.empty()) data["attributes"] = std::move(attrs);
    json::object o;
    PutTime(o, "creationDate", p.creation_time);
    o["createdBy"] = p.created_by;
    o["updatedBy"] = p.updated_by;
    PutTime(o, "lastUpdated", p.last_update_time);
    o["policy_type"] = keys::InstancePolicyTypeName(p.type);
    o["policy_data"] = std::move(data);
    resources.emplace_back(std::move(o));
  }
  return Collection(kPolicyType, std::move(resources));
}

std::string EncodeAllowedIpPort(std::optional<int> port) {
  json::array resources;
  if (port.has_value()) {
    resources.emplace_back(json::object{{"private_endpoint_port", *port}});
  }
  return Collection(kAllowedIpType, std::move(resources));
}

// --- Registrations -----------------------------------------------------------

absl::StatusOr<service::RegistrationInput> DecodeRegistrationInput(
    std::string_view body) {
  service::RegistrationInput in;
  if (IsBlank(body) || body == "null") return in;
  KW_ASSIGN_OR_RETURN(
      json::object r,
      SingleResource(body, {kRegistrationInputType, kRegistrationType},
                     "Only one registration per request is supported"));
  KW_ASSIGN_OR_RETURN(in.description, OptString(r, "description"));
  KW_ASSIGN_OR_RETURN(in.registration_metadata,
                      OptString(r, "registrationMetadata"));
  KW_ASSIGN_OR_RETURN(in.prevent_key_deletion,
                      OptBool(r, "preventKeyDeletion"));
  KW_ASSIGN_OR_RETURN(in.key_version_id, OptString(r, "keyVersionId"));
  return in;
}

absl::StatusOr<std::vector<std::string>> DecodeDeactivateRegistrations(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::array resources,
                      Resources(body, {kResourceCrnType, kCrnType}));
  std::vector<std::string> crns;
  for (const json::value& r : resources) {
    KW_ASSIGN_OR_RETURN(std::optional<std::string> crn,
                        OptString(r.as_object(), "resourceCrn"));
    if (!crn.has_value()) return MustBe("resourceCrn", "a resource CRN");
    crns.push_back(*std::move(crn));
  }
  return crns;
}

std::string EncodeRegistrations(
    const std::vector<service::RegistrationResult>& registrations,
    std::optional<int64_t> total_count) {
  json::array resources;
  for (const service::RegistrationResult& rr : registrations) {
    const keys::Registration& r = rr.registration;
    json::object o;
    o["keyId"] = r.key_id;
    o["keyName"] = rr.key_name;
    o["resourceCrn"] = r.resource_crn;
    o["createdBy"] = r.created_by;
    PutTime(o, "creationDate", r.creation_time);
    o["updatedBy"] = r.updated_by;
    PutTime(o, "lastUpdated", r.last_update_time);
    o["description"] = r.description;
    // Services' own data, not for users (§11).
    if (rr.show_metadata) o["registrationMetadata"] = r.registration_metadata;
    o["preventKeyDeletion"] = r.prevent_key_deletion;
    json::object version;
    version["id"] = r.key_version_id;
    if (rr.key_version_creation_time) {
      PutTime(version, "creationDate", *rr.key_version_creation_time);
    }
    o["keyVersion"] = std::move(version);
    resources.emplace_back(std::move(o));
  }
  return Collection(kRegistrationType, std::move(resources), total_count);
}

// --- Events ------------------------------------------------------------------

absl::StatusOr<std::vector<service::EventAckRequest>> DecodeEventAcks(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::array resources, Resources(body, {kEventAckType}));
  std::vector<service::EventAckRequest> acks;
  for (const json::value& r : resources) {
    const json::object& obj = r.as_object();
    service::EventAckRequest a;
    KW_ASSIGN_OR_RETURN(std::optional<std::string> id, OptString(obj, "eventId"));
    if (!id.has_value()) return MustBe("eventId", "the id of the event");
    a.event_id = *std::move(id);
    KW_ASSIGN_OR_RETURN(std::optional<std::string> state,
                        OptString(obj, "adopterKeyState"));
    if (!state.has_value()) {
      return MustBe("adopterKeyState", "DEK_ENABLED, DEK_DISABLED or "
                                       "DEK_DESTROYED");
    }
    a.adopter_key_state = *std::move(state);
    KW_ASSIGN_OR_RETURN(std::optional<std::string> timestamp,
                        OptString(obj, "timestamp"));
    if (timestamp.has_value()) {
      absl::Time t;
      if (!ParseRfc3339(*timestamp, &t)) {
        return MustBe("timestamp", "an RFC 3339 date");
      }
      a.timestamp = t;
    }
    const json::value* data = Find(obj, "keyStateData");
    if (data != nullptr && !data->is_null()) {
      if (!data->is_object()) return MustBe("keyStateData", "an object");
      const json::object& d = data->as_object();
      KW_ASSIGN_OR_RETURN(a.rewrapped_key_version,
                          OptString(d, "rewrappedKeyVersion"));
      if (!a.rewrapped_key_version.has_value()) {
        // Another document names it keyVersion (keyprotect-api.md §12).
        KW_ASSIGN_OR_RETURN(a.rewrapped_key_version, OptString(d, "keyVersion"));
      }
      KW_ASSIGN_OR_RETURN(std::optional<bool> remove,
                          OptBool(d, "deleteRegistration"));
      a.delete_registration = remove.value_or(false);
    }
    acks.push_back(std::move(a));
  }
  return acks;
}

std::string EncodeKeyEvent(const keys::KeyEvent& e, std::string_view crn_prefix,
                           int64_t attempt, absl::Time acknowledge_by) {
  json::object o;
  o["eventId"] = e.id;
  o["eventType"] = keys::KeyEventTypeName(e.type);
  PutTime(o, "timestamp", e.time);
  o["instanceId"] = e.instance_id;
  o["keyId"] = e.key_id;
  o["keyCrn"] = StrCat(crn_prefix, e.instance_id, ":key:", e.key_id);
  o["keyState"] = static_cast<int>(e.key_state);
  if (!e.key_version_id.empty()) {
    o["keyVersion"] = json::object{{"id", e.key_version_id}};
  }
  if (!e.previous_key_version_id.empty()) {
    o["previousKeyVersion"] = json::object{{"id", e.previous_key_version_id}};
  }
  json::array crns;
  for (const std::string& crn : e.resource_crns) crns.emplace_back(crn);
  o["resourceCrns"] = std::move(crns);
  o["attempt"] = attempt;
  PutTime(o, "acknowledgeBy", acknowledge_by);
  return json::serialize(o);
}

// --- Webhooks (admin) --------------------------------------------------------

absl::StatusOr<WebhookBody> DecodeWebhook(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, OptionalObject(body));
  WebhookBody out;
  KW_ASSIGN_OR_RETURN(std::optional<std::string> url, OptString(obj, "url"));
  if (!url.has_value() || url->empty()) {
    return Error(Reason::kBadRequest, "Bad Request: `url` is required", "url");
  }
  out.url = *std::move(url);
  KW_ASSIGN_OR_RETURN(out.secret, OptString(obj, "secret"));
  return out;
}

std::string EncodeWebhook(const service::WebhookInfo& w) {
  json::object o;
  o["serviceId"] = w.principal_id;
  o["url"] = w.url;
  PutTime(o, "createdAt", w.creation_time);
  o["createdBy"] = w.created_by;
  if (w.secret.has_value()) o["secret"] = *w.secret;
  return json::serialize(o);
}

}  // namespace keywarden::api::keyprotect
