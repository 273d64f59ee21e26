#include "keywarden/api/keyprotect/error_map.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "keywarden/common/strings.h"

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

// How Key Protect words a refusal of the core (DomainError), by reason:
// `headline` goes before the core's detail ("<headline>: <detail>"), `text`
// is the whole message when there is no detail or no headline. The texts
// are keyprotect-api.md §17's catalogue messages; the HTTP-phrase headlines
// ("Not Found", "Conflict", ...) are the envelope's own convention for
// reasons the catalogue words only by status.
struct Wording {
  Reason reason;
  std::string_view headline;
  std::string_view text;
};

constexpr Wording kWordings[] = {
    {Reason::kBadBody, "Invalid body data was passed",
     "Invalid body data was passed"},
    {Reason::kKeyRootRequired,
     "Requested action can only be completed with a root key",
     "Requested action can only be completed with a root key"},
    {Reason::kKeyPayloadRequired, "",
     "This root key was created with user-supplied key material: Key "
     "material is required to perform a 'rotate' action"},
    {Reason::kKeyRestoreExpired, "Key restoration has expired",
     "Key restoration has expired"},
    {Reason::kBadRequest, "Bad Request", "Bad Request"},
    {Reason::kForbidden, "Forbidden",
     "Forbidden: Your access token is not authorized to access this "
     "resource"},
    {Reason::kResourceOwner, "",
     "Forbidden: The resource(s) queried does not belong to the service"},
    {Reason::kNotFound, "Not Found",
     "Not Found: The requested resource could not be found"},
    {Reason::kKeyActionInvalidState, "Key is not in a valid state",
     "Key is not in a valid state"},
    {Reason::kRequestTooEarly, "The key was updated recently",
     "The key was updated recently: Please wait and try again"},
    {Reason::kKeyRotationNotPermitted, "",
     "This root key has been rotated within the last hour: Only one rotate "
     "action per hour is permitted"},
    {Reason::kKeyDeleted, "",
     "Key has already been deleted: Please delete references to this key"},
    {Reason::kConflict, "Conflict", "Conflict"},
    {Reason::kUnprocessableCiphertext, "",
     "The provided ciphertext is invalid or corrupted"},
    {Reason::kIncorrectNonce,
     "The encrypted nonce given does not match existing record",
     "The encrypted nonce given does not match existing record"},
    {Reason::kIncorrectNonceIv, "",
     "The provided encrypted nonce was not encrypted with the key material "
     "given OR the provided IV does not match the one used to encrypt the "
     "nonce"},
    {Reason::kImportTokenExpired, "The import token has expired",
     "The import token has expired"},
    {Reason::kKeyCreateImportAccess,
     "KeyCreateImportAccess instance policy does not allow this action",
     "KeyCreateImportAccess instance policy does not allow this action"},
    {Reason::kNotDualAuth,
     "The key is not dual auth enabled and cannot be set for deletion",
     "The key is not dual auth enabled and cannot be set for deletion"},
    {Reason::kAuthorizationsNotMet,
     "Number of authorizations required to delete is not met",
     "Number of authorizations required to delete is not met"},
    {Reason::kProtectedResource,
     "Key is protecting one or more cloud resources",
     "Key is protecting one or more cloud resources"},
    {Reason::kPreventKeyDeletion,
     "The key cannot be deleted because it's protecting a cloud resource "
     "that has a retention policy",
     "The key cannot be deleted because it's protecting a cloud resource "
     "that has a retention policy"},
    {Reason::kBodyQueryParamMismatch,
     "Data in body does not match data required by query parameter",
     "Data in body does not match data required by query parameter"},
    {Reason::kNumCollectionResource,
     "Only a single instance policy may be created per query parameter",
     "Only a single instance policy may be created per query parameter"},
    {Reason::kServiceOnly, "",
     "Forbidden: This action can only be done by a service (service to "
     "service)"},
    {Reason::kKeyInvalidState, "Key is not in a valid state",
     "Key is not in a valid state"},
    {Reason::kKeyRootRequiredReg,
     "Requested action can only be completed with a root key",
     "Requested action can only be completed with a root key"},
    {Reason::kKeyVersionInvalid,
     "This request requires that the key version is later than current "
     "registration key version",
     "This request requires that the key version is later than current "
     "registration key version"},
    {Reason::kPreconditionFailed, "Precondition Failed", "Precondition Failed"},
    {Reason::kNotImplemented, "Not Implemented", "Not Implemented"},
};

const Wording* WordingOf(Reason reason) {
  for (const Wording& w : kWordings) {
    if (w.reason == reason) return &w;
  }
  return nullptr;
}

std::string_view KindWord(FieldKind kind) {
  switch (kind) {
    case FieldKind::kBody:
      return "field";
    case FieldKind::kQuery:
      return "param";
    case FieldKind::kHeader:
      return "header";
  }
  return "field";
}

}  // namespace

const WireReason& WireReasonOf(Reason reason) {
  const auto index = static_cast<size_t>(reason);
  if (index >= kTableSize) return kTable[static_cast<size_t>(Reason::kInternal)];
  return kTable[index];
}

std::string WireMessage(const absl::Status& status) {
  if (std::optional<FieldErrorParts> field = FieldErrorOf(status)) {
    return StrCat("The ", KindWord(field->kind), " `", field->name,
                  "` must be: ", field->requirement);
  }
  if (std::optional<std::string> detail = DetailOf(status)) {
    const Wording* wording = WordingOf(ReasonOf(status));
    if (wording == nullptr) return std::string(StdView(status.message()));
    if (detail->empty() || wording->headline.empty()) {
      return std::string(wording->text);
    }
    return StrCat(wording->headline, ": ", *detail);
  }
  return std::string(StdView(status.message()));
}

}  // namespace keywarden::api::keyprotect
