#ifndef KEYWARDEN_COMMON_ERRORS_H_
#define KEYWARDEN_COMMON_ERRORS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace keywarden {

// Reason is the domain error code of a failure a caller sees. The core
// (service/, keys/, iam/, store/) makes errors with FieldError() (a request
// field is not what it must be) and DomainError() (a rule refused, with a
// neutral detail), and Error() where a message is to pass through as it is;
// the one table in errors.cc fixes each reason's stable name and absl code.
// What a protocol answers for a reason, and how it words it, lives in that
// protocol's one error map (api/keyprotect/error_map.cc: the Key Protect
// reason code, HTTP status and message, keyprotect-api.md §17;
// api/kmip/result_reason.cc). The enumerators are named for the condition; many
// mirror Key Protect's catalogue because that API defined the vocabulary.
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
  std::string_view name;  // stable, e.g. "key_deleted"; "" for kNone
  absl::StatusCode status_code;
};

// The table row of `reason`.
const ReasonInfo& InfoOf(Reason reason);

// Error builds a status carrying `reason`, a client-safe `message` (never key
// material, plaintext or tokens) that protocols pass through unchanged and,
// optionally, the field name (as the protocol that decoded the request named
// it).
absl::Status Error(Reason reason, std::string_view message,
                   std::optional<std::string_view> field = std::nullopt);

// DomainError builds a status for a rule of the core that refused the
// request: `reason` and a neutral, client-safe `detail` saying which rule and
// why in the core's own words ("the key was deleted more than 30 days ago"),
// or "" when the reason says it all. The status message is the detail (the
// reason's name, spaced, when empty). A protocol's error map words the
// whole: Key Protect puts its catalogue message for the reason before the
// detail (api/keyprotect/error_map.cc). `field`, if given, is named as by
// Error().
absl::Status DomainError(Reason reason, std::string_view detail,
                         std::optional<std::string_view> field = std::nullopt);

// DetailOf is the detail DomainError() attached ("" for none); nullopt for
// any other status.
std::optional<std::string> DetailOf(const absl::Status& status);

// Where a protocol carried a request field: the body, the query string or a
// header. A protocol words its field errors by the kind (Key Protect says
// "The field" for the body and "The param" for the query).
enum class FieldKind { kBody, kQuery, kHeader };

// A request field as the protocol that decoded the request named it.
struct Field {
  std::string_view name;
  FieldKind kind = FieldKind::kBody;
};

// FieldError builds a status carrying `reason` and a structured field error:
// the offending `field` (name and kind) and `requirement`, a neutral
// statement of what a valid value is ("an integer from 1 to 5000"). The
// status message is the neutral "<name>: <requirement>"; each protocol's
// error map renders its own wording from the parts (FieldErrorOf). Like
// Error()'s message, `requirement` must be client-safe.
absl::Status FieldError(Reason reason, Field field,
                        std::string_view requirement);

// The parts of a field error made by FieldError().
struct FieldErrorParts {
  std::string name;
  FieldKind kind = FieldKind::kBody;
  std::string requirement;
};

// FieldErrorOf recovers the parts FieldError() attached; nullopt for any
// other status (Error() with a field attaches only the name: see FieldOf).
std::optional<FieldErrorParts> FieldErrorOf(const absl::Status& status);

// ReasonOf recovers the reason of a status made by Error(); statuses from
// elsewhere map by their absl code: NotFound -> kNotFound, InvalidArgument ->
// kBadBody, Unauthenticated -> kUnauthorized, PermissionDenied -> kForbidden,
// ResourceExhausted -> kTooManyRequests, Unavailable -> kUnavailable, any
// other -> kInternal. An OK status gives kNone.
Reason ReasonOf(const absl::Status& status);

// FieldOf is the field name attached by Error() or FieldError(), if any.
std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_ERRORS_H_
