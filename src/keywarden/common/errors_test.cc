#include "keywarden/common/errors.h"

#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "gtest/gtest.h"

namespace keywarden {
namespace {

constexpr Reason kLast = Reason::kInternal;

std::vector<Reason> AllReasons() {
  std::vector<Reason> all;
  for (int i = 0; i <= static_cast<int>(kLast); ++i) {
    all.push_back(static_cast<Reason>(i));
  }
  return all;
}

TEST(InfoOfTest, EveryReasonHasItsOwnRowAndDistinctCode) {
  std::set<std::string_view> codes;
  for (Reason r : AllReasons()) {
    const ReasonInfo& info = InfoOf(r);
    EXPECT_EQ(info.reason, r) << static_cast<int>(r);
    EXPECT_TRUE(codes.insert(info.code).second)
        << "duplicate code " << info.code;
    if (r != Reason::kNone) {
      EXPECT_FALSE(info.code.empty());
    }
    EXPECT_GE(info.http_status, 400);
    EXPECT_LT(info.http_status, 600);
    EXPECT_NE(info.status_code, absl::StatusCode::kOk);
  }
}

TEST(InfoOfTest, MatchesKeyProtectCatalogue) {
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
  ASSERT_EQ(std::size(rows), AllReasons().size());
  for (const Row& row : rows) {
    EXPECT_EQ(InfoOf(row.reason).code, row.code);
    EXPECT_EQ(InfoOf(row.reason).http_status, row.http) << row.code;
  }
}

TEST(InfoOfTest, AbslCodesOfCommonReasons) {
  EXPECT_EQ(InfoOf(Reason::kNotFound).status_code, absl::StatusCode::kNotFound);
  EXPECT_EQ(InfoOf(Reason::kBadBody).status_code,
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InfoOf(Reason::kUnauthorized).status_code,
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(InfoOf(Reason::kForbidden).status_code,
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(InfoOf(Reason::kTooManyRequests).status_code,
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(InfoOf(Reason::kUnavailable).status_code,
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(InfoOf(Reason::kInternal).status_code, absl::StatusCode::kInternal);
}

TEST(InfoOfTest, OutOfRangeValueFallsBackToInternal) {
  EXPECT_EQ(InfoOf(static_cast<Reason>(9999)).reason, Reason::kInternal);
}

TEST(ErrorTest, EveryReasonRoundTripsWithoutField) {
  for (Reason r : AllReasons()) {
    absl::Status s = Error(r, "some message");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), InfoOf(r).status_code);
    EXPECT_EQ(s.message(), "some message");
    EXPECT_EQ(ReasonOf(s), r) << InfoOf(r).code;
    EXPECT_EQ(FieldOf(s), std::nullopt);
  }
}

TEST(ErrorTest, EveryReasonRoundTripsWithField) {
  for (Reason r : AllReasons()) {
    absl::Status s = Error(r, "bad", "plaintext");
    EXPECT_EQ(ReasonOf(s), r) << InfoOf(r).code;
    EXPECT_EQ(FieldOf(s), "plaintext");
  }
}

TEST(ErrorTest, EmptyFieldIsKeptDistinctFromNone) {
  absl::Status s = Error(Reason::kInvalidField, "bad", "");
  EXPECT_EQ(FieldOf(s), std::string());
}

TEST(ErrorTest, ReasonSurvivesCopyAndAnnotationOfPayloads) {
  absl::Status s = Error(Reason::kKeyDeleted, "gone");
  absl::Status copy = s;
  EXPECT_EQ(ReasonOf(copy), Reason::kKeyDeleted);
}

TEST(ReasonOfTest, PlainStatusesMapByCode) {
  EXPECT_EQ(ReasonOf(absl::OkStatus()), Reason::kNone);
  EXPECT_EQ(ReasonOf(absl::NotFoundError("x")), Reason::kNotFound);
  EXPECT_EQ(ReasonOf(absl::InvalidArgumentError("x")), Reason::kBadBody);
  EXPECT_EQ(ReasonOf(absl::UnauthenticatedError("x")), Reason::kUnauthorized);
  EXPECT_EQ(ReasonOf(absl::PermissionDeniedError("x")), Reason::kForbidden);
  EXPECT_EQ(ReasonOf(absl::ResourceExhaustedError("x")),
            Reason::kTooManyRequests);
  EXPECT_EQ(ReasonOf(absl::UnavailableError("x")), Reason::kUnavailable);
  EXPECT_EQ(ReasonOf(absl::InternalError("x")), Reason::kInternal);
  EXPECT_EQ(ReasonOf(absl::FailedPreconditionError("x")), Reason::kInternal);
  EXPECT_EQ(ReasonOf(absl::UnknownError("x")), Reason::kInternal);
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("x")), std::nullopt);
}

TEST(ReasonOfTest, UnknownReasonPayloadFallsBackToCode) {
  absl::Status s = absl::NotFoundError("x");
  s.SetPayload("keywarden/reason", absl::Cord("NO_SUCH_CODE"));
  EXPECT_EQ(ReasonOf(s), Reason::kNotFound);
}

}  // namespace
}  // namespace keywarden
