// The KMIP-adapter half of the JSON codec (keyprotect-api.md §13): adapters,
// client certificates and KMIP objects. Their resources use snake_case
// fields and times (created_at), as Key Protect's do.
#include <boost/json.hpp>

#include "keywarden/api/keyprotect/json_codec.h"
#include "keywarden/api/keyprotect/json_codec_internal.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {

namespace json = boost::json;
using namespace json_internal;  // NOLINT: the codec's shared helpers.

namespace {

constexpr std::string_view kAdapterType =
    "application/vnd.ibm.kms.kmip_adapter+json";
constexpr std::string_view kCertificateType =
    "application/vnd.ibm.kms.kmip_client_certificate+json";
constexpr std::string_view kObjectType =
    "application/vnd.ibm.kms.kmip_object+json";

json::object AdapterObject(const store::KmipAdapter& a) {
  json::object o;
  o["id"] = a.id;
  o["name"] = a.name;
  o["description"] = a.description;
  o["profile"] = a.profile;
  json::object data;
  data["crk_id"] = a.crk_id;
  o["profile_data"] = std::move(data);
  PutTime(o, "created_at", a.created_at);
  o["created_by"] = a.created_by;
  PutTime(o, "updated_at", a.updated_at);
  o["updated_by"] = a.updated_by;
  return o;
}

json::object CertificateObject(const store::KmipCertificate& c, bool pem) {
  json::object o;
  o["id"] = c.id;
  o["name"] = c.name;
  PutTime(o, "created_at", c.created_at);
  o["created_by"] = c.created_by;
  if (pem) o["certificate"] = c.pem;
  return o;
}

json::object ObjectObject(const store::KmipObject& k) {
  json::object o;
  o["id"] = k.id;
  o["kmip_object_type"] = k.object_type;
  o["state"] = k.state;
  PutTime(o, "created_at", k.created_at);
  o["created_by_kmip_client_cert_id"] = k.created_by_cert_id;
  o["created_by"] = StrCat("kmip-certificate:", k.created_by_cert_id);
  PutTime(o, "updated_at", k.updated_at);
  o["updated_by_kmip_client_cert_id"] = k.updated_by_cert_id;
  o["updated_by"] = StrCat("kmip-certificate:", k.updated_by_cert_id);
  if (k.destroyed_at) {
    PutTime(o, "destroyed_at", *k.destroyed_at);
    o["destroyed_by_kmip_client_cert_id"] = k.destroyed_by_cert_id;
    o["destroyed_by"] = StrCat("kmip-certificate:", k.destroyed_by_cert_id);
  }
  return o;
}

absl::Status MustBe(std::string_view field, std::string_view what) {
  return Error(Reason::kBadBody,
               StrCat("The field `", field, "` must be: ", what), field);
}

}  // namespace

absl::StatusOr<service::KmipAdapterInput> DecodeKmipAdapter(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(
      json::object r,
      SingleResource(body, {kAdapterType},
                     "Only one KMIP adapter per request is supported"));
  service::KmipAdapterInput in;
  KW_ASSIGN_OR_RETURN(in.name, OptString(r, "name"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string> description,
                      OptString(r, "description"));
  in.description = description.value_or("");
  KW_ASSIGN_OR_RETURN(std::optional<std::string> profile,
                      OptString(r, "profile"));
  if (!profile) return MustBe("profile", "native_1.0");
  in.profile = *profile;
  const json::value* data = Find(r, "profile_data");
  if (data == nullptr || !data->is_object()) {
    return MustBe("profile_data", "an object with crk_id");
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> crk,
                      OptString(data->as_object(), "crk_id"));
  if (!crk) return MustBe("profile_data.crk_id", "a root key id or alias");
  in.crk_id = *crk;
  return in;
}

absl::StatusOr<service::KmipCertificateInput> DecodeKmipCertificate(
    std::string_view body) {
  KW_ASSIGN_OR_RETURN(
      json::object r,
      SingleResource(body, {kCertificateType},
                     "Only one certificate per request is supported"));
  service::KmipCertificateInput in;
  KW_ASSIGN_OR_RETURN(in.name, OptString(r, "name"));
  KW_ASSIGN_OR_RETURN(std::optional<std::string> pem,
                      OptString(r, "certificate"));
  if (!pem) return MustBe("certificate", "a PEM X.509 certificate");
  in.pem = *pem;
  return in;
}

std::string EncodeKmipAdapters(const std::vector<store::KmipAdapter>& adapters,
                               std::optional<int64_t> total) {
  json::array resources;
  for (const store::KmipAdapter& a : adapters) {
    resources.emplace_back(AdapterObject(a));
  }
  return Collection(kAdapterType, std::move(resources), total);
}

std::string EncodeKmipCertificates(
    const std::vector<store::KmipCertificate>& certificates, bool with_pem,
    std::optional<int64_t> total) {
  json::array resources;
  for (const store::KmipCertificate& c : certificates) {
    resources.emplace_back(CertificateObject(c, with_pem));
  }
  return Collection(kCertificateType, std::move(resources), total);
}

std::string EncodeKmipObjects(const std::vector<store::KmipObject>& objects,
                              std::optional<int64_t> total) {
  json::array resources;
  for (const store::KmipObject& o : objects) {
    resources.emplace_back(ObjectObject(o));
  }
  return Collection(kObjectType, std::move(resources), total);
}

}  // namespace keywarden::api::keyprotect
