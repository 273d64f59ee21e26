#include "keywarden/api/keyprotect/error_map.h"

#include <cstddef>
#include <iterator>
#include <set>
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

}  // namespace
}  // namespace keywarden::api::keyprotect
