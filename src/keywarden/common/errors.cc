#include "keywarden/common/errors.h"

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace keywarden {
namespace {

// Payload type URLs. They are internal to the process (never serialised), so
// they only need to be unique among the payloads Keywarden attaches.
constexpr absl::string_view kReasonUrl = "keywarden/reason";
constexpr absl::string_view kFieldUrl = "keywarden/field";
constexpr absl::string_view kFieldKindUrl = "keywarden/field-kind";
constexpr absl::string_view kRequirementUrl = "keywarden/requirement";
constexpr absl::string_view kDetailUrl = "keywarden/detail";

// Debian's Abseil 20220623 is built with its own absl::string_view and
// absl::optional (ABSL_OPTION_USE_STD_* = 0), which do not convert from the
// std types our headers use.
absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

using C = absl::StatusCode;

// The one table of domain errors (STYLE.md "Errors"): reason -> stable name,
// absl code. Indexed by the enumerator's value, which the static_assert below
// and errors_test keep in step with the enum. What a protocol answers for a
// reason (Key Protect's wire code and HTTP status, a KMIP result reason) is
// that protocol's own map: api/keyprotect/error_map.cc, api/kmip/.
//
// The absl code is chosen for what the failure means inside the process
// (a state rule is FailedPrecondition, a bad input InvalidArgument).
constexpr ReasonInfo kTable[] = {
    {Reason::kNone, "", C::kUnknown},
    {Reason::kBadBody, "bad_body", C::kInvalidArgument},
    {Reason::kCollectionTotalMismatch, "collection_total_mismatch", C::kInvalidArgument},
    {Reason::kInvalidField, "invalid_field", C::kInvalidArgument},
    {Reason::kNoBody, "no_body", C::kInvalidArgument},
    {Reason::kKeyRootRequired, "key_root_required", C::kInvalidArgument},
    {Reason::kKeyPayloadRequired, "key_payload_required", C::kInvalidArgument},
    {Reason::kKeyRestoreExpired, "key_restore_expired", C::kFailedPrecondition},
    {Reason::kKeyExpired, "key_expired", C::kFailedPrecondition},
    {Reason::kBearerSubExtraction, "bearer_sub_extraction", C::kInvalidArgument},
    {Reason::kUnauthorized, "unauthorized", C::kUnauthenticated},
    {Reason::kForbidden, "forbidden", C::kPermissionDenied},
    {Reason::kResourceOwner, "resource_owner", C::kPermissionDenied},
    {Reason::kNotFound, "not_found", C::kNotFound},
    {Reason::kKeyActionInvalidState, "key_action_invalid_state", C::kFailedPrecondition},
    {Reason::kRequestTooEarly, "request_too_early", C::kFailedPrecondition},
    {Reason::kKeyRotationNotPermitted, "key_rotation_not_permitted", C::kFailedPrecondition},
    {Reason::kKeyDeleted, "key_deleted", C::kFailedPrecondition},
    {Reason::kInstanceNotEmpty, "instance_not_empty", C::kFailedPrecondition},
    {Reason::kConflict, "conflict", C::kFailedPrecondition},
    {Reason::kUnprocessableCiphertext, "unprocessable_ciphertext", C::kInvalidArgument},
    {Reason::kIncorrectNonce, "incorrect_nonce", C::kInvalidArgument},
    {Reason::kIncorrectNonceIv, "incorrect_nonce_iv", C::kInvalidArgument},
    {Reason::kImportTokenExpired, "import_token_expired", C::kFailedPrecondition},
    {Reason::kKeyCreateImportAccess, "key_create_import_access", C::kFailedPrecondition},
    {Reason::kNotDualAuth, "not_dual_auth", C::kFailedPrecondition},
    {Reason::kAuthorizationsNotMet, "authorizations_not_met", C::kFailedPrecondition},
    {Reason::kProtectedResource, "protected_resource", C::kFailedPrecondition},
    {Reason::kPreventKeyDeletion, "prevent_key_deletion", C::kFailedPrecondition},
    {Reason::kKeySearchTooBroad, "key_search_too_broad", C::kInvalidArgument},
    {Reason::kBodyQueryParamMismatch, "body_query_param_mismatch", C::kInvalidArgument},
    {Reason::kNumCollectionResource, "num_collection_resource", C::kInvalidArgument},
    {Reason::kServiceOnly, "service_only", C::kPermissionDenied},
    {Reason::kKeyInvalidState, "key_invalid_state", C::kFailedPrecondition},
    {Reason::kKeyRootRequiredReg, "key_root_required_reg", C::kInvalidArgument},
    {Reason::kKeyVersionInvalid, "key_version_invalid", C::kInvalidArgument},
    {Reason::kPreconditionFailed, "precondition_failed", C::kFailedPrecondition},
    {Reason::kTooManyRequests, "too_many_requests", C::kResourceExhausted},
    {Reason::kPayloadTooLarge, "payload_too_large", C::kOutOfRange},
    {Reason::kMethodNotAllowed, "method_not_allowed", C::kUnimplemented},
    {Reason::kBadRequest, "bad_request", C::kInvalidArgument},
    {Reason::kNotImplemented, "not_implemented", C::kUnimplemented},
    {Reason::kUnavailable, "unavailable", C::kUnavailable},
    {Reason::kInternal, "internal", C::kInternal},
};

constexpr size_t kTableSize = sizeof(kTable) / sizeof(kTable[0]);
static_assert(kTableSize == static_cast<size_t>(Reason::kInternal) + 1,
              "errors.cc table must have one row per Reason");

constexpr bool TableIsIndexedByReason() {
  for (size_t i = 0; i < kTableSize; ++i) {
    if (static_cast<size_t>(kTable[i].reason) != i) return false;
  }
  return true;
}
static_assert(TableIsIndexedByReason(),
              "errors.cc table rows must be in enum order");

// Reasons travel as their name, not the enum ordinal, so a payload can
// never be misread if the enum is reordered.
std::optional<Reason> ReasonFromName(std::string_view name) {
  for (const ReasonInfo& row : kTable) {
    if (row.name == name) return row.reason;
  }
  return std::nullopt;
}

// Field kinds travel as a name too, for the same reason.
std::string_view KindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kBody:
      return "body";
    case FieldKind::kQuery:
      return "query";
    case FieldKind::kHeader:
      return "header";
  }
  return "body";
}

std::optional<FieldKind> KindFromName(std::string_view name) {
  for (FieldKind kind :
       {FieldKind::kBody, FieldKind::kQuery, FieldKind::kHeader}) {
    if (KindName(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace

const ReasonInfo& InfoOf(Reason reason) {
  const auto index = static_cast<size_t>(reason);
  if (index >= kTableSize) return kTable[static_cast<size_t>(Reason::kInternal)];
  return kTable[index];
}

absl::Status Error(Reason reason, std::string_view message,
                   std::optional<std::string_view> field) {
  const ReasonInfo& info = InfoOf(reason);
  absl::Status status(info.status_code, ToAbsl(message));
  // kNone has the empty name; it is still attached so ReasonOf round-trips.
  status.SetPayload(kReasonUrl, absl::Cord(ToAbsl(info.name)));
  if (field.has_value()) {
    status.SetPayload(kFieldUrl, absl::Cord(ToAbsl(*field)));
  }
  return status;
}

absl::Status DomainError(Reason reason, std::string_view detail,
                         std::optional<std::string_view> field) {
  std::string message(detail);
  if (message.empty()) {
    message = std::string(InfoOf(reason).name);
    for (char& c : message) {
      if (c == '_') c = ' ';
    }
  }
  absl::Status status = Error(reason, message, field);
  status.SetPayload(kDetailUrl, absl::Cord(ToAbsl(detail)));
  return status;
}

std::optional<std::string> DetailOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kDetailUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

absl::Status FieldError(Reason reason, Field field,
                        std::string_view requirement) {
  std::string message(field.name);
  message += ": ";
  message += requirement;
  absl::Status status = Error(reason, message, field.name);
  status.SetPayload(kFieldKindUrl, absl::Cord(ToAbsl(KindName(field.kind))));
  status.SetPayload(kRequirementUrl, absl::Cord(ToAbsl(requirement)));
  return status;
}

std::optional<FieldErrorParts> FieldErrorOf(const absl::Status& status) {
  absl::optional<absl::Cord> name = status.GetPayload(kFieldUrl);
  absl::optional<absl::Cord> kind = status.GetPayload(kFieldKindUrl);
  absl::optional<absl::Cord> requirement = status.GetPayload(kRequirementUrl);
  if (!name.has_value() || !kind.has_value() || !requirement.has_value()) {
    return std::nullopt;
  }
  std::optional<FieldKind> parsed = KindFromName(std::string(*kind));
  if (!parsed.has_value()) return std::nullopt;
  return FieldErrorParts{std::string(*name), *parsed,
                         std::string(*requirement)};
}

Reason ReasonOf(const absl::Status& status) {
  if (status.ok()) return Reason::kNone;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kReasonUrl)) {
    if (std::optional<Reason> reason = ReasonFromName(std::string(*payload))) {
      return *reason;
    }
  }
  switch (status.code()) {
    case C::kNotFound:
      return Reason::kNotFound;
    case C::kInvalidArgument:
      return Reason::kBadBody;
    case C::kUnauthenticated:
      return Reason::kUnauthorized;
    case C::kPermissionDenied:
      return Reason::kForbidden;
    case C::kResourceExhausted:
      return Reason::kTooManyRequests;
    case C::kUnavailable:
      return Reason::kUnavailable;
    default:
      return Reason::kInternal;
  }
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFieldUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace keywarden
