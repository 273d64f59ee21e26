#include "keywarden/api/keyprotect/error_map.h"

#include <cstddef>

namespace keywarden::api::keyprotect {
namespace {

// Reason -> Key Protect wire code and HTTP status, indexed by the
// enumerator's value (the static_asserts keep it in step with the enum).
// The HTTP status is what Key Protect answers, which is not always the
// canonical absl->HTTP mapping (e.g. 409 for state rules, 422 for bad
// ciphertext, 501 for an operation not offered: the Go client retries every
// 5xx except 501).
constexpr WireReason kTable[] = {
    {Reason::kNone, "", 500},
    {Reason::kBadBody, "BAD_BODY_ERR", 400},
    {Reason::kCollectionTotalMismatch, "COLLECTION_TOTAL_MISMATCH_ERR", 400},
    {Reason::kInvalidField, "INVALID_FIELD_ERR", 400},
    {Reason::kNoBody, "NO_BODY_ERR", 400},
    {Reason::kKeyRootRequired, "KEY_ROOT_REQ_ERR", 400},
    {Reason::kKeyPayloadRequired, "KEY_PAYLOAD_REQ_ERR", 400},
    {Reason::kKeyRestoreExpired, "KEY_RESTORE_EXPIRED", 400},
    {Reason::kKeyExpired, "KEY_EXPIRED_ERR", 400},
    {Reason::kBearerSubExtraction, "BEARER_SUB_EXTRACTION_ERR", 400},
    {Reason::kUnauthorized, "UNAUTHORIZED_ERR", 401},
    {Reason::kForbidden, "FORBIDDEN_ERR", 403},
    {Reason::kResourceOwner, "RESOURCE_OWNER_ERR", 403},
    {Reason::kNotFound, "NOT_FOUND_ERR", 404},
    {Reason::kKeyActionInvalidState, "KEY_ACTION_INVALID_STATE_ERR", 409},
    {Reason::kRequestTooEarly, "REQ_TOO_EARLY_ERR", 409},
    {Reason::kKeyRotationNotPermitted, "KEY_ROTATION_NOT_PERMITTED", 409},
    {Reason::kKeyDeleted, "KEY_DELETED_ERR", 410},
    {Reason::kInstanceNotEmpty, "INSTANCE_NOT_EMPTY_ERR", 409},
    {Reason::kConflict, "CONFLICT_ERR", 409},
    {Reason::kUnprocessableCiphertext, "UNPROCESSABLE_CIPHERTEXT_ERR", 422},
    {Reason::kIncorrectNonce, "INCORRECT_NONCE_ERR", 400},
    {Reason::kIncorrectNonceIv, "INCORRECT_NONCE_IV_ERR", 400},
    {Reason::kImportTokenExpired, "IMPORT_TOKEN_EXPIRED_ERR", 409},
    {Reason::kKeyCreateImportAccess, "KEY_CREATE_IMPORT_ACCESS_ERR", 409},
    {Reason::kNotDualAuth, "NOT_DUAL_AUTH_ERR", 409},
    {Reason::kAuthorizationsNotMet, "AUTHORIZATIONS_NOT_MET", 409},
    {Reason::kProtectedResource, "PROTECTED_RESOURCE_ERR", 409},
    {Reason::kPreventKeyDeletion, "PREV_KEY_DEL_ERR", 409},
    {Reason::kKeySearchTooBroad, "KEY_SEARCH_TOO_BROAD", 400},
    {Reason::kBodyQueryParamMismatch, "BODY_QUERY_PARAM_MISMATCH_ERR", 400},
    {Reason::kNumCollectionResource, "NUM_COLLECTION_RESOURCE_ERR", 400},
    {Reason::kServiceOnly, "SERVICE_ONLY_ERR", 403},
    {Reason::kKeyInvalidState, "KEY_INVALID_STATE_ERR", 422},
    {Reason::kKeyRootRequiredReg, "KEY_ROOT_REQ_REG_ERR", 422},
    {Reason::kKeyVersionInvalid, "KEY_VERSION_INVALID", 422},
    {Reason::kPreconditionFailed, "PRECONDITION_FAILED_ERR", 412},
    {Reason::kTooManyRequests, "TOO_MANY_REQUESTS_ERR", 429},
    {Reason::kPayloadTooLarge, "PAYLOAD_TOO_LARGE_ERR", 413},
    {Reason::kMethodNotAllowed, "METHOD_NOT_ALLOWED_ERR", 405},
    {Reason::kBadRequest, "BAD_REQUEST_ERR", 400},
    {Reason::kNotImplemented, "NOT_IMPLEMENTED_ERR", 501},
    {Reason::kUnavailable, "SERVICE_UNAVAILABLE_ERR", 503},
    {Reason::kInternal, "INTERNAL_ERR", 500},
};

constexpr size_t kTableSize = sizeof(kTable) / sizeof(kTable[0]);
static_assert(kTableSize == static_cast<size_t>(Reason::kInternal) + 1,
              "error_map.cc table must have one row per Reason");

constexpr bool TableIsIndexedByReason() {
  for (size_t i = 0; i < kTableSize; ++i) {
    if (static_cast<size_t>(kTable[i].reason) != i) return false;
  }
  return true;
}
static_assert(TableIsIndexedByReason(),
              "error_map.cc table rows must be in enum order");

}  // namespace

const WireReason& WireReasonOf(Reason reason) {
  const auto index = static_cast<size_t>(reason);
  if (index >= kTableSize) return kTable[static_cast<size_t>(Reason::kInternal)];
  return kTable[index];
}

}  // namespace keywarden::api::keyprotect
