#include "keywarden/common/errors.h"

#include <array>
#include <cstddef>
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

// Debian's Abseil 20220623 is built with its own absl::string_view and
// absl::optional (ABSL_OPTION_USE_STD_* = 0), which do not convert from the
// std types our headers use.
absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

using C = absl::StatusCode;

// The one table (STYLE.md "Errors"): reason -> wire code (keyprotect-api.md
// §17), absl code, HTTP status. Indexed by the enumerator's value, which the
// static_assert below and errors_test keep in step with the enum.
//
// The absl code is chosen for what the failure means inside the process
// (a state rule is FailedPrecondition, a bad input InvalidArgument); the HTTP
// status is what Key Protect answers, which is not always the canonical
// absl→HTTP mapping (e.g. 409 for state rules, 422 for bad ciphertext).
constexpr ReasonInfo kTable[] = {
    {Reason::kNone, "", C::kUnknown, 500},
    {Reason::kBadBody, "BAD_BODY_ERR", C::kInvalidArgument, 400},
    {Reason::kCollectionTotalMismatch, "COLLECTION_TOTAL_MISMATCH_ERR",
     C::kInvalidArgument, 400},
    {Reason::kInvalidField, "INVALID_FIELD_ERR", C::kInvalidArgument, 400},
    {Reason::kNoBody, "NO_BODY_ERR", C::kInvalidArgument, 400},
    {Reason::kKeyRootRequired, "KEY_ROOT_REQ_ERR", C::kInvalidArgument, 400},
    {Reason::kKeyPayloadRequired, "KEY_PAYLOAD_REQ_ERR", C::kInvalidArgument,
     400},
    {Reason::kKeyRestoreExpired, "KEY_RESTORE_EXPIRED", C::kFailedPrecondition,
     400},
    {Reason::kKeyExpired, "KEY_EXPIRED_ERR", C::kFailedPrecondition, 400},
    {Reason::kBearerSubExtraction, "BEARER_SUB_EXTRACTION_ERR",
     C::kInvalidArgument, 400},
    {Reason::kUnauthorized, "UNAUTHORIZED_ERR", C::kUnauthenticated, 401},
    {Reason::kForbidden, "FORBIDDEN_ERR", C::kPermissionDenied, 403},
    {Reason::kResourceOwner, "RESOURCE_OWNER_ERR", C::kPermissionDenied, 403},
    {Reason::kNotFound, "NOT_FOUND_ERR", C::kNotFound, 404},
    {Reason::kKeyActionInvalidState, "KEY_ACTION_INVALID_STATE_ERR",
     C::kFailedPrecondition, 409},
    {Reason::kRequestTooEarly, "REQ_TOO_EARLY_ERR", C::kFailedPrecondition,
     409},
    {Reason::kKeyRotationNotPermitted, "KEY_ROTATION_NOT_PERMITTED",
     C::kFailedPrecondition, 409},
    {Reason::kKeyDeleted, "KEY_DELETED_ERR", C::kFailedPrecondition, 410},
    {Reason::kInstanceNotEmpty, "INSTANCE_NOT_EMPTY_ERR", C::kFailedPrecondition,
     409},
    {Reason::kConflict, "CONFLICT_ERR", C::kFailedPrecondition, 409},
    {Reason::kUnprocessableCiphertext, "UNPROCESSABLE_CIPHERTEXT_ERR",
     C::kInvalidArgument, 422},
    {Reason::kIncorrectNonce, "INCORRECT_NONCE_ERR", C::kInvalidArgument, 400},
    {Reason::kIncorrectNonceIv, "INCORRECT_NONCE_IV_ERR", C::kInvalidArgument,
     400},
    {Reason::kImportTokenExpired, "IMPORT_TOKEN_EXPIRED_ERR",
     C::kFailedPrecondition, 409},
    {Reason::kKeyCreateImportAccess, "KEY_CREATE_IMPORT_ACCESS_ERR",
     C::kFailedPrecondition, 409},
    {Reason::kNotDualAuth, "NOT_DUAL_AUTH_ERR", C::kFailedPrecondition, 409},
    {Reason::kAuthorizationsNotMet, "AUTHORIZATIONS_NOT_MET",
     C::kFailedPrecondition, 409},
    {Reason::kProtectedResource, "PROTECTED_RESOURCE_ERR",
     C::kFailedPrecondition, 409},
    {Reason::kPreventKeyDeletion, "PREV_KEY_DEL_ERR", C::kFailedPrecondition,
     409},
    {Reason::kKeySearchTooBroad, "KEY_SEARCH_TOO_BROAD", C::kInvalidArgument,
     400},
    {Reason::kBodyQueryParamMismatch, "BODY_QUERY_PARAM_MISMATCH_ERR",
     C::kInvalidArgument, 400},
    {Reason::kNumCollectionResource, "NUM_COLLECTION_RESOURCE_ERR",
     C::kInvalidArgument, 400},
    {Reason::kServiceOnly, "SERVICE_ONLY_ERR", C::kPermissionDenied, 403},
    {Reason::kKeyInvalidState, "KEY_INVALID_STATE_ERR", C::kFailedPrecondition,
     422},
    {Reason::kKeyRootRequiredReg, "KEY_ROOT_REQ_REG_ERR", C::kInvalidArgument,
     422},
    {Reason::kKeyVersionInvalid, "KEY_VERSION_INVALID", C::kInvalidArgument,
     422},
    {Reason::kPreconditionFailed, "PRECONDITION_FAILED_ERR",
     C::kFailedPrecondition, 412},
    {Reason::kTooManyRequests, "TOO_MANY_REQUESTS_ERR", C::kResourceExhausted,
     429},
    {Reason::kPayloadTooLarge, "PAYLOAD_TOO_LARGE_ERR", C::kOutOfRange, 413},
    {Reason::kMethodNotAllowed, "METHOD_NOT_ALLOWED_ERR", C::kUnimplemented,
     405},
    {Reason::kBadRequest, "BAD_REQUEST_ERR", C::kInvalidArgument, 400},
    // 501, not another 5xx: the Go client retries every 5xx except 501.
    {Reason::kNotImplemented, "NOT_IMPLEMENTED_ERR", C::kUnimplemented, 501},
    {Reason::kUnavailable, "SERVICE_UNAVAILABLE_ERR", C::kUnavailable, 503},
    {Reason::kInternal, "INTERNAL_ERR", C::kInternal, 500},
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

// Reasons travel as their wire code, not the enum ordinal, so a payload can
// never be misread if the enum is reordered.
std::optional<Reason> ReasonFromCode(std::string_view code) {
  for (const ReasonInfo& row : kTable) {
    if (row.code == code) return row.reason;
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
  // kNone has the empty code; it is still attached so ReasonOf round-trips.
  status.SetPayload(kReasonUrl, absl::Cord(ToAbsl(info.code)));
  if (field.has_value()) {
    status.SetPayload(kFieldUrl, absl::Cord(ToAbsl(*field)));
  }
  return status;
}

Reason ReasonOf(const absl::Status& status) {
  if (status.ok()) return Reason::kNone;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kReasonUrl)) {
    if (std::optional<Reason> reason = ReasonFromCode(std::string(*payload))) {
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
