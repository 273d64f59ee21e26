// The lifecycle routes of the Key Protect API: instance policies, the
// allowed-IP port, import tokens, registrations and event acknowledgements
// (keyprotect-api.md §7.2-§8, §11, §12). Decode, call the service, encode;
// no rules live here.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

#include "absl/strings/match.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::api::keyprotect {
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

absl::Status Unavailable(std::string_view what) {
  return Error(Reason::kNotImplemented,
               StrCat("Not Implemented: ", what, " is not configured"));
}

}  // namespace

void KeyProtectApi::DispatchLifecycle(Call& call) {
  auto route = static_cast<Route>(call.match.route_id);
  const QueryParams& query = call.match.query;
  const service::RequestContext& ctx = call.ctx;
  std::string_view key_id = call.KeyId();
  constexpr auto kOk = beast_http::status::ok;

  switch (route) {
    case kRouteInstancePolicies:
    case kRouteAllowedIpPort: {
      service::InstancePolicyManager* policies = services_.instance_policies;
      if (policies == nullptr) return call.Fail(Unavailable("instance policy"));
      if (route == kRouteAllowedIpPort) {
        absl::StatusOr<std::optional<int>> port = policies->AllowedIpPort(ctx);
        if (!port.ok()) return call.Fail(port.status());
        return call.Reply(kOk, EncodeAllowedIpPort(*port));
      }
      std::optional<keys::InstancePolicyType> selected;
      if (std::optional<std::string_view> p = query.Get("policy")) {
        selected = keys::InstancePolicyTypeFromName(*p);
        if (!selected) {
          return call.Fail(BadParam(
              "policy", "one of dualAuthDelete, rotation, allowedNetwork, "
                        "allowedIP, keyCreateImportAccess, metrics"));
        }
      }
      if (call.method == Method::kGet) {
        absl::StatusOr<std::vector<keys::InstancePolicy>> got =
            policies->Get(ctx, selected);
        if (!got.ok()) return call.Fail(got.status());
        return call.Reply(kOk, EncodeInstancePolicies(*got));
      }
      absl::StatusOr<std::vector<service::InstancePolicyInput>> inputs =
          DecodeInstancePolicies(call.Body(), selected);
      if (!inputs.ok()) return call.Fail(inputs.status());
      service::PutInstancePoliciesRequest req;
      req.selected = selected;
      req.policies = *std::move(inputs);
      if (absl::Status s = policies->Put(ctx, req); !s.ok()) {
        return call.Fail(s);
      }
      return call.Reply(beast_http::status::no_content);
    }

    case kRouteImportToken: {
      service::ImportTokenManager* tokens = services_.import_tokens;
      if (tokens == nullptr) return call.Fail(Unavailable("secure import"));
      absl::StatusOr<service::ImportTokenResult> token;
      if (call.method == Method::kGet) {
        token = tokens->Retrieve(ctx);
      } else {
        absl::StatusOr<service::CreateImportTokenRequest> req =
            DecodeCreateImportToken(call.Body());
        if (!req.ok()) return call.Fail(req.status());
        token = tokens->Create(ctx, *req);
      }
      if (!token.ok()) return call.Fail(token.status());
      return call.Reply(kOk, EncodeImportToken(*token));
    }

    case kRouteKeyRegistrations:
    case kRouteAllRegistrations:
    case kRouteRegistration:
    case kRouteEventAck:
      break;
    default:
      return call.Fail(absl::InternalError("lifecycle route without a handler"));
  }

  service::RegistrationManager* registrations = services_.registrations;
  if (registrations == nullptr) return call.Fail(Unavailable("registration"));

  if (route == kRouteEventAck) {
    absl::StatusOr<std::vector<service::EventAckRequest>> acks =
        DecodeEventAcks(call.Body());
    if (!acks.ok()) return call.Fail(acks.status());
    if (absl::Status s = registrations->AcknowledgeEvents(ctx, *acks); !s.ok()) {
      return call.Fail(s);
    }
    return call.Reply(beast_http::status::no_content);
  }

  if (route == kRouteKeyRegistrations && call.method == Method::kPost) {
    // The deprecated `?action=deactivate` (keyprotect-api.md §2 row 52).
    if (query.Get("action") != std::optional<std::string_view>("deactivate")) {
      return call.Fail(BadParam("action", "deactivate"));
    }
    absl::StatusOr<std::vector<std::string>> crns =
        DecodeDeactivateRegistrations(call.Body());
    if (!crns.ok()) return call.Fail(crns.status());
    absl::StatusOr<std::vector<service::RegistrationResult>> done =
        registrations->Deactivate(ctx, key_id, *crns);
    if (!done.ok()) return call.Fail(done.status());
    return call.Reply(kOk, EncodeRegistrations(*done, std::nullopt));
  }

  if (route != kRouteRegistration) {
    service::ListRegistrationsRequest req;
    if (route == kRouteKeyRegistrations) req.key_id = std::string(key_id);
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
        registrations->List(ctx, req);
    if (!list.ok()) return call.Fail(list.status());
    return call.Reply(kOk, EncodeRegistrations(list->registrations, list->total));
  }

  absl::StatusOr<std::string> crn =
      PathCrn(call.match.params.Get("crn").value_or(std::string_view()));
  if (!crn.ok()) return call.Fail(crn.status());
  if (call.method == Method::kDelete) {
    absl::StatusOr<service::RegistrationResult> deleted =
        registrations->Delete(ctx, key_id, *crn);
    if (!deleted.ok()) return call.Fail(deleted.status());
    if (ParsePrefer(call.headers.prefer) ==
        service::Prefer::kRepresentation) {
      return call.Reply(kOk, EncodeRegistrations({*deleted}, std::nullopt));
    }
    return call.Reply(beast_http::status::no_content);
  }
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
      registrations->Write(ctx, key_id, req);
  if (!written.ok()) return call.Fail(written.status());
  call.res.set(beast_http::field::etag, written->etag);
  call.Reply(call.method == Method::kPost ? beast_http::status::created : kOk,
             EncodeRegistrations({*written}, std::nullopt));
}

}  // namespace keywarden::api::keyprotect
