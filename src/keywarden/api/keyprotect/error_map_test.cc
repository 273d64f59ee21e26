#include "keywarden/api/keyprotect/error_map.h"

#include <cstddef>
#include <iterator>
#include <set>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace keywarden::api::keyprotect {
namespace {

TEST(WireReasonOfTest, EveryReasonHasItsOwnRowAndDistinctCode) {
  std::set<std::string_view> codes;
  for (int i = 0; i <= static_cast<int>(Reason::kInternal); ++i) {
    const auto r = static_cast<Reason>(i);
    const WireReason& info = WireReasonOf(r);
    EXPECT_EQ(info.reason, r) << i;
    EXPECT_TRUE(codes.insert(info.code).second)
        << "duplicate code " << info.code;
    if (r != Reason::kNone) {
      EXPECT_FALSE(info.code.empty());
    }
    EXPECT_GE(info.http_status, 400);
    EXPECT_LT(info.http_status, 600);
  }
}

TEST(WireReasonOfTest, MatchesKeyProtectCatalogue) {
  // keyprotect-api.md §17.
  struct Row {
    Reason reason;
    const char* code;
    int http;
  };
  const Row rows[] = {
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
  ASSERT_EQ(std::size(rows), static_cast<size_t>(Reason::kInternal) + 1);
  for (const Row& row : rows) {
    EXPECT_EQ(WireReasonOf(row.reason).code, row.code);
    EXPECT_EQ(WireReasonOf(row.reason).http_status, row.http) << row.code;
  }
}

TEST(WireReasonOfTest, OutOfRangeValueFallsBackToInternal) {
  EXPECT_EQ(WireReasonOf(static_cast<Reason>(9999)).reason, Reason::kInternal);
}

// keyprotect-api.md §17: BAD_BODY_ERR and INVALID_FIELD_ERR messages name the
// body field or the query parameter and what it must be.
TEST(WireMessageTest, FieldErrorsReadAsKeyProtectWordsThem) {
  EXPECT_EQ(WireMessage(FieldError(Reason::kBadBody, {"name"},
                                   "2 to 90 characters long")),
            "The field `name` must be: 2 to 90 characters long");
  EXPECT_EQ(WireMessage(FieldError(Reason::kBadBody,
                                   {"limit", FieldKind::kQuery},
                                   "an integer from 1 to 5000")),
            "The param `limit` must be: an integer from 1 to 5000");
  EXPECT_EQ(WireMessage(FieldError(Reason::kBadRequest,
                                   {"Bluemix-Instance", FieldKind::kHeader},
                                   "a UUID")),
            "The header `Bluemix-Instance` must be: a UUID");
}

// A refusal of the core carries a neutral detail; the envelope puts the
// §17 catalogue message before it, or answers the catalogue message alone.
TEST(WireMessageTest, RefusalsReadAsTheCatalogueWordsThem) {
  EXPECT_EQ(WireMessage(DomainError(Reason::kKeyDeleted,
                                    "the key is already deleted")),
            "Key has already been deleted: Please delete references to this "
            "key");
  EXPECT_EQ(WireMessage(DomainError(Reason::kRequestTooEarly, "")),
            "The key was updated recently: Please wait and try again");
  EXPECT_EQ(WireMessage(DomainError(Reason::kRequestTooEarly,
                                    "a key can be purged from 2026-01-01")),
            "The key was updated recently: a key can be purged from "
            "2026-01-01");
  EXPECT_EQ(WireMessage(DomainError(Reason::kNotFound, "")),
            "Not Found: The requested resource could not be found");
  EXPECT_EQ(WireMessage(DomainError(Reason::kNotFound, "no principal p")),
            "Not Found: no principal p");
  EXPECT_EQ(WireMessage(DomainError(Reason::kKeyActionInvalidState,
                                    "the policies of a deleted key cannot "
                                    "change")),
            "Key is not in a valid state: the policies of a deleted key "
            "cannot change");
  EXPECT_EQ(WireMessage(DomainError(Reason::kResourceOwner, "another's")),
            "Forbidden: The resource(s) queried does not belong to the "
            "service");
}

TEST(WireMessageTest, RefusalWithoutAWordingKeepsItsDetail) {
  EXPECT_EQ(WireMessage(DomainError(Reason::kKeySearchTooBroad, "narrow it")),
            "narrow it");
}

TEST(WireMessageTest, EveryWordingIsCompleteAndStartsWithItsHeadline) {
  for (int i = 0; i <= static_cast<int>(Reason::kInternal); ++i) {
    const auto r = static_cast<Reason>(i);
    // No detail: the whole catalogue message, never the bare reason name.
    std::string bare = WireMessage(DomainError(r, ""));
    std::string with = WireMessage(DomainError(r, "because"));
    // A reason without a row answers the detail, here the spaced name.
    if (r == Reason::kNone ||
        bare == std::string(DomainError(r, "").message())) {
      continue;
    }
    EXPECT_FALSE(bare.empty()) << InfoOf(r).name;
    // With a detail: either the fixed text or "<headline>: because", whose
    // headline opens the fixed text too.
    if (with != bare) {
      ASSERT_GT(with.size(), std::string(": because").size());
      EXPECT_EQ(with.substr(with.size() - 9), ": because") << with;
      EXPECT_EQ(bare.rfind(with.substr(0, with.size() - 9), 0), 0u)
          << InfoOf(r).name << ": " << bare;
    }
  }
}

TEST(WireMessageTest, OtherStatusesKeepTheirMessage) {
  EXPECT_EQ(WireMessage(Error(Reason::kKeyDeleted, "gone")), "gone");
  EXPECT_EQ(WireMessage(Error(Reason::kBadBody, "bad", "name")), "bad");
  EXPECT_EQ(WireMessage(absl::InvalidArgumentError("plain")), "plain");
  // Error() texts are the caller's own: no catalogue message is added.
  EXPECT_EQ(WireMessage(Error(Reason::kConflict, "Conflict: taken")),
            "Conflict: taken");
}

}  // namespace
}  // namespace keywarden::api::keyprotect
