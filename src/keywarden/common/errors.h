#ifndef KEYWARDEN_COMMON_ERRORS_H_
#define KEYWARDEN_COMMON_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace keywarden {

// Reason is a Key Protect reason code (keyprotect-api.md §17). Errors that a
// client sees are made with Error() so that the one table in errors.cc fixes
// the absl code, the HTTP status and the wire string of each reason.
enum class Reason {
  kNone,
  kBadBody,
  kCollectionTotalMismatch,
  kInvalidField,
  kNoBody,
  kKeyRootRequired,
  kKeyPayloadRequired,
  kKeyRestoreExpired,
  kKeyExpired,
  kBearerSubExtraction,
  kUnauthorized,
  kForbidden,
  kResourceOwner,
  kNotFound,
  kKeyActionInvalidState,
  kRequestTooEarly,
  kKeyRotationNotPermitted,
  kKeyDeleted,
  kInstanceNotEmpty,
  kConflict,  // a request that contradicts the current state
  kUnprocessableCiphertext,
  // Lifecycle reasons (keyprotect-api.md §17).
  kIncorrectNonce,
  kIncorrectNonceIv,
  kImportTokenExpired,
  kKeyCreateImportAccess,
  kNotDualAuth,
  kAuthorizationsNotMet,
  kProtectedResource,
  kPreventKeyDeletion,
  kKeySearchTooBroad,
  kBodyQueryParamMismatch,
  kNumCollectionResource,
  kServiceOnly,
  kKeyInvalidState,      // 422, registrations
  kKeyRootRequiredReg,   // 422, registrations
  kKeyVersionInvalid,    // 422, registrations
  kPreconditionFailed,   // 412, If-Match did not match
  kTooManyRequests,
  kPayloadTooLarge,
  kMethodNotAllowed,
  kBadRequest,     // malformed request outside the body (headers, target)
  kNotImplemented,  // a Key Protect operation this server does not offer yet
  kUnavailable,
  kInternal,
};

struct ReasonInfo {
  Reason reason;
  std::string_view code;  // wire string, e.g. "KEY_DELETED_ERR"
  absl::StatusCode status_code;
  int http_status;
};

// The table row of `reason`.
const ReasonInfo& InfoOf(Reason reason);

// Error builds a status carrying `reason`, a client-safe `message` (never key
// material, plaintext or tokens) and, for field errors, the field name.
absl::Status Error(Reason reason, std::string_view message,
                   std::optional<std::string_view> field = std::nullopt);

// ReasonOf recovers the reason of a status made by Error(); statuses from
// elsewhere map by their absl code: NotFound -> kNotFound, InvalidArgument ->
// kBadBody, Unauthenticated -> kUnauthorized, PermissionDenied -> kForbidden,
// ResourceExhausted -> kTooManyRequests, Unavailable -> kUnavailable, any
// other -> kInternal. An OK status gives kNone.
Reason ReasonOf(const absl::Status& status);

// FieldOf is the field name attached by Error(), if any.
std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_ERRORS_H_
