// The admin API and token endpoint half of the JSON codec
// (docs/admin-api.md). Same rules as json_codec.cc: strict types, field
// names matched in any case, errors as Key Protect reasons.
#include <boost/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/json_codec_internal.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {
namespace json = boost::json;
namespace {

using json_internal::BadRequest;

absl::StatusOr<json::object> ObjectBody(std::string_view body) {
  absl::StatusOr<json::value> v = json_internal::Parse(body);
  // A repeated member name is BAD_BODY_ERR on every endpoint (Parse names
  // it as the field); other unreadable bodies stay BAD_REQUEST_ERR here.
  if (!v.ok() && FieldOf(v.status()).has_value()) return v.status();
  if (!v.ok() || !v->is_object()) {
    return BadRequest("the body must be a JSON object");
  }
  return std::move(v->as_object());
}

using json_internal::Find;

absl::StatusOr<std::optional<std::string>> OptString(const json::object& obj,
                                                     std::string_view name) {
  const json::value* v = Find(obj, name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    return BadRequest(StrCat("`", name, "` must be a string"), name);
  }
  return std::string(v->as_string().data(), v->as_string().size());
}

absl::StatusOr<std::string> Required(const json::object& obj,
                                     std::string_view name) {
  KW_ASSIGN_OR_RETURN(std::optional<std::string> v, OptString(obj, name));
  if (!v.has_value() || v->empty()) {
    return BadRequest(StrCat("`", name, "` is required"), name);
  }
  return *std::move(v);
}

absl::StatusOr<iam::Scope> ScopeOf(const json::object& obj) {
  iam::Scope scope;
  KW_ASSIGN_OR_RETURN(scope.instance_id, Required(obj, "instanceId"));
  KW_ASSIGN_OR_RETURN(scope.key_ring_id, OptString(obj, "keyRingId"));
  KW_ASSIGN_OR_RETURN(scope.key_id, OptString(obj, "keyId"));
  return scope;
}

std::string Time(absl::Time t) { return FormatRfc3339(t); }

json::value OptionalText(const std::optional<std::string>& s) {
  return s.has_value() ? json::value(*s) : json::value(nullptr);
}

json::object PrincipalObject(const iam::PrincipalRecord& p) {
  return {{"id", p.id},
          {"kind", iam::PrincipalKindCode(p.kind)},
          {"name", p.name},
          {"serviceType", p.service_type},
          {"admin", p.admin},
          {"createdAt", Time(p.creation_time)},
          {"createdBy", p.created_by}};
}

json::object ApiKeyObject(const iam::ApiKeyRecord& k) {
  return {{"id", k.id},
          {"principalId", k.principal_id},
          {"name", k.name},
          {"prefix", k.prefix},
          {"createdAt", Time(k.creation_time)},
          {"createdBy", k.created_by}};
}

json::object InstanceObject(const iam::InstanceRecord& i) {
  return {{"id", i.id},
          {"name", i.name},
          {"createdAt", Time(i.creation_time)},
          {"createdBy", i.created_by}};
}

json::object PolicyObject(const iam::AccessPolicyRecord& p) {
  json::array roles;
  for (iam::Role r : p.roles) roles.emplace_back(iam::RoleName(r));
  return {{"id", p.id},
          {"principalId", p.principal_id},
          {"instanceId", p.scope.instance_id},
          {"keyRingId", OptionalText(p.scope.key_ring_id)},
          {"keyId", OptionalText(p.scope.key_id)},
          {"roles", std::move(roles)},
          {"createdAt", Time(p.creation_time)},
          {"createdBy", p.created_by}};
}

json::object AuthorizationObject(const iam::ServiceAuthorizationRecord& a) {
  return {{"id", a.id},
          {"sourceServiceId", a.source_service_id},
          {"sourceServiceType", a.source_service_type},
          {"instanceId", a.target.instance_id},
          {"keyRingId", OptionalText(a.target.key_ring_id)},
          {"keyId", OptionalText(a.target.key_id)},
          {"role", iam::RoleName(a.role)},
          {"createdAt", Time(a.creation_time)},
          {"createdBy", a.created_by}};
}

std::string Hex(const iam::SecretHash& h) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

template <typename T, typename F>
std::string List(std::string_view name, const std::vector<T>& items, F object) {
  json::array out;
  out.reserve(items.size());
  for (const T& item : items) out.emplace_back(object(item));
  json::object doc;
  doc[name] = std::move(out);
  return json::serialize(doc);
}

}  // namespace

absl::StatusOr<CreatePrincipalBody> DecodeCreatePrincipal(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, ObjectBody(body));
  CreatePrincipalBody out;
  KW_ASSIGN_OR_RETURN(out.name, Required(obj, "name"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string> type,
                      OptString(obj, "serviceType"));
  out.service_type = type.value_or("");
  if (const json::value* v = Find(obj, "admin"); v && !v->is_null()) {
    if (!v->is_bool()) return BadRequest("`admin` must be a boolean", "admin");
    out.admin = v->as_bool();
  }
  return out;
}

absl::StatusOr<CreateApiKeyBody> DecodeCreateApiKey(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, ObjectBody(body));
  CreateApiKeyBody out;
  KW_ASSIGN_OR_RETURN(out.principal_id, Required(obj, "principalId"));
  KW_ASSIGN_OR_RETURN(out.name, Required(obj, "name"));
  return out;
}

absl::StatusOr<std::string> DecodeCreateInstance(std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, ObjectBody(body));
  return Required(obj, "name");
}

absl::StatusOr<service::PolicyRequest> DecodeCreatePolicy(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, ObjectBody(body));
  service::PolicyRequest out;
  KW_ASSIGN_OR_RETURN(out.principal_id, Required(obj, "principalId"));
  KW_ASSIGN_OR_RETURN(out.scope, ScopeOf(obj));
  const json::value* roles = Find(obj, "roles");
  if (roles == nullptr || !roles->is_array()) {
    return BadRequest("`roles` must be an array of role names", "roles");
  }
  for (const json::value& r : roles->as_array()) {
    if (!r.is_string()) {
      return BadRequest("`roles` must be an array of role names", "roles");
    }
    out.roles.emplace_back(r.as_string().data(), r.as_string().size());
  }
  return out;
}

absl::StatusOr<service::AuthorizationRequest> DecodeCreateAuthorization(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(json::object obj, ObjectBody(body));
  service::AuthorizationRequest out;
  KW_ASSIGN_OR_RETURN(std::optional<std::string> id,
                      OptString(obj, "sourceServiceId"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string> type,
                      OptString(obj, "sourceServiceType"));
  out.source_service_id = id.value_or("");
  out.source_service_type = type.value_or("");
  KW_ASSIGN_OR_RETURN(out.target, ScopeOf(obj));
  KW_ASSIGN_OR_RETURN(out.role, OptString(obj, "role"));
  return out;
}

std::string EncodeTokenGrant(const service::TokenGrant& grant) {
  // IBM IAM's token response; the SDKs read access_token, expires_in and
  // expiration, and store refresh_token.
  json::object o{{"access_token", grant.access_token},
                 {"refresh_token", "not_supported"},
                 {"token_type", "Bearer"},
                 {"expires_in", grant.expires_in},
                 {"expiration", absl::ToUnixSeconds(grant.expiration)},
                 {"scope", "keywarden"}};
  return json::serialize(o);
}

std::string EncodePrincipal(const iam::PrincipalRecord& p) {
  return json::serialize(PrincipalObject(p));
}
std::string EncodePrincipals(const std::vector<iam::PrincipalRecord>& list) {
  return List("principals", list, PrincipalObject);
}
std::string EncodeNewApiKey(const service::NewApiKey& key) {
  json::object o = ApiKeyObject(key.record);
  o["apikey"] = key.secret;
  return json::serialize(o);
}
std::string EncodeApiKeys(const std::vector<iam::ApiKeyRecord>& list) {
  return List("apiKeys", list, ApiKeyObject);
}
std::string EncodeInstance(const iam::InstanceRecord& i) {
  return json::serialize(InstanceObject(i));
}
std::string EncodeInstances(const std::vector<iam::InstanceRecord>& list) {
  return List("instances", list, InstanceObject);
}
std::string EncodePolicy(const iam::AccessPolicyRecord& p) {
  return json::serialize(PolicyObject(p));
}
std::string EncodePolicies(const std::vector<iam::AccessPolicyRecord>& list) {
  return List("policies", list, PolicyObject);
}
std::string EncodeAuthorization(const iam::ServiceAuthorizationRecord& a) {
  return json::serialize(AuthorizationObject(a));
}
std::string EncodeAuthorizations(
    const std::vector<iam::ServiceAuthorizationRecord>& list) {
  return List("authorizations", list, AuthorizationObject);
}

std::string EncodeAudit(const std::vector<iam::AuditRecord>& list) {
  return List("records", list, [](const iam::AuditRecord& r) {
    return json::object{
        {"seq", r.seq},
        {"time", Time(r.time)},
        {"actor", r.actor},
        {"action", r.action},
        {"target", r.target},
        {"outcome",
         r.outcome == iam::AuditOutcome::kSuccess ? "success" : "failure"},
        {"correlationId", r.correlation_id},
        {"sourceAddress", r.source_address},
        {"details", r.details},
        {"prevHash", Hex(r.prev_hash)},
        {"hash", Hex(r.hash)}};
  });
}

}  // namespace keywarden::api::keyprotect
