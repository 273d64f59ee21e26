// The registration routes of the Key Protect API and event
// acknowledgements (keyprotect-api.md §11, §12). Decode, call the service,
// encode; no rules live here.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect::handlers {
namespace {

// A registration path carries the resource CRN percent-encoded, and SDK
// callers were told to pass it already encoded, so it may arrive encoded
// twice: the router decoded it once; decode again while it still looks
// encoded (keyprotect-api.md §11).
absl::StatusOr<std::string> PathCrn(std::string_view raw) {
  std::string crn(raw);
  for (int i = 0; i < 2 && !absl::StartsWith(crn, "crn:") &&
                  absl::StartsWithIgnoreCase(crn, "crn%3a");
       ++i) {
    absl::StatusOr<std::string> decoded = PercentDecode(crn);
    if (!decoded.ok()) {
      return BadParam("urlEncodedResourceCRN", "a percent-encoded CRN");
    }
    crn = *std::move(decoded);
  }
  return crn;
}

// The registration service, or null after replying 501.
service::RegistrationManager* Registrations(Call& call) {
  service::RegistrationManager* registrations = call.services.registrations;
  if (registrations == nullptr) call.Fail(Unavailable("registration"));
  return registrations;
}

// One key's registrations (`key_id` set) or the instance's.
void List(Call& call, std::optional<std::string_view> key_id) {
  service::RegistrationManager* registrations = Registrations(call);
  if (registrations == nullptr) return;
  const QueryParams& query = call.Query();
  service::ListRegistrationsRequest req;
  if (key_id) req.key_id = std::string(*key_id);
  if (absl::Status s = ReadPaging(query, req); !s.ok()) return call.Fail(s);
  absl::StatusOr<std::optional<bool>> prevent =
      BoolParam(query, "preventKeyDeletion");
  if (!prevent.ok()) return call.Fail(prevent.status());
  req.prevent_key_deletion = *prevent;
  // The documented casing and the SDK's parameter name both appear.
  for (std::string_view name :
       {"urlEncodedResourceCRNQuery", "urlEncodedResourceCrnQuery"}) {
    if (std::optional<std::string_view> q = query.Get(name)) {
      req.crn_query = std::string(*q);
    }
  }
  absl::StatusOr<service::ListRegistrationsResult> list =
      registrations->List(call.ctx, req);
  if (!list.ok()) return call.Fail(list.status());
  call.Reply(beast_http::status::ok,
             EncodeRegistrations(list->registrations, list->total));
}

}  // namespace

void ListKeyRegistrations(Call& call) { List(call, call.KeyId()); }

void ListAllRegistrations(Call& call) { List(call, std::nullopt); }

void DeactivateRegistrations(Call& call) {
  service::RegistrationManager* registrations = Registrations(call);
  if (registrations == nullptr) return;
  // The deprecated `?action=deactivate` (keyprotect-api.md §2 row 52).
  if (call.Query().Get("action") !=
      std::optional<std::string_view>("deactivate")) {
    return call.Fail(BadParam("action", "deactivate"));
  }
  absl::StatusOr<std::vector<std::string>> crns =
      DecodeDeactivateRegistrations(call.Body());
  if (!crns.ok()) return call.Fail(crns.status());
  absl::StatusOr<std::vector<service::RegistrationResult>> done =
      registrations->Deactivate(call.ctx, call.KeyId(), *crns);
  if (!done.ok()) return call.Fail(done.status());
  call.Reply(beast_http::status::ok, EncodeRegistrations(*done, std::nullopt));
}

// POST creates, PUT replaces, PATCH merges.
void WriteRegistration(Call& call) {
  service::RegistrationManager* registrations = Registrations(call);
  if (registrations == nullptr) return;
  absl::StatusOr<std::string> crn = PathCrn(call.Param("crn"));
  if (!crn.ok()) return call.Fail(crn.status());
  absl::StatusOr<service::RegistrationInput> input =
      DecodeRegistrationInput(call.Body());
  if (!input.ok()) return call.Fail(input.status());
  service::WriteRegistrationRequest req;
  req.mode = call.method == Method::kPost  ? service::RegistrationWrite::kCreate
             : call.method == Method::kPut ? service::RegistrationWrite::kReplace
                                           : service::RegistrationWrite::kMerge;
  req.resource_crn = *std::move(crn);
  req.input = *std::move(input);
  if (!call.headers.if_match.empty()) {
    req.if_match = std::string(call.headers.if_match);
  }
  absl::StatusOr<service::RegistrationResult> written =
      registrations->Write(call.ctx, call.KeyId(), req);
  if (!written.ok()) return call.Fail(written.status());
  call.res.set(beast_http::field::etag, written->etag);
  call.Reply(call.method == Method::kPost ? beast_http::status::created
                                          : beast_http::status::ok,
             EncodeRegistrations({*written}, std::nullopt));
}

void DeleteRegistration(Call& call) {
  service::RegistrationManager* registrations = Registrations(call);
  if (registrations == nullptr) return;
  absl::StatusOr<std::string> crn = PathCrn(call.Param("crn"));
  if (!crn.ok()) return call.Fail(crn.status());
  absl::StatusOr<service::RegistrationResult> deleted =
      registrations->Delete(call.ctx, call.KeyId(), *crn);
  if (!deleted.ok()) return call.Fail(deleted.status());
  if (ParsePrefer(call.headers.prefer) == Prefer::kRepresentation) {
    return call.Reply(beast_http::status::ok,
                      EncodeRegistrations({*deleted}, std::nullopt));
  }
  call.Reply(beast_http::status::no_content);
}

void AcknowledgeEvents(Call& call) {
  service::RegistrationManager* registrations = Registrations(call);
  if (registrations == nullptr) return;
  absl::StatusOr<std::vector<service::EventAckRequest>> acks =
      DecodeEventAcks(call.Body());
  if (!acks.ok()) return call.Fail(acks.status());
  if (absl::Status s = registrations->AcknowledgeEvents(call.ctx, *acks);
      !s.ok()) {
    return call.Fail(s);
  }
  call.Reply(beast_http::status::no_content);
}

}  // namespace keywarden::api::keyprotect::handlers
