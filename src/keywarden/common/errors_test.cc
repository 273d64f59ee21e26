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
    EXPECT_TRUE(codes.insert(info.name).second)
        << "duplicate name " << info.name;
    if (r != Reason::kNone) {
      EXPECT_FALSE(info.name.empty());
    }
    EXPECT_NE(info.status_code, absl::StatusCode::kOk);
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
    EXPECT_EQ(ReasonOf(s), r) << InfoOf(r).name;
    EXPECT_EQ(FieldOf(s), std::nullopt);
  }
}

TEST(ErrorTest, EveryReasonRoundTripsWithField) {
  for (Reason r : AllReasons()) {
    absl::Status s = Error(r, "bad", "plaintext");
    EXPECT_EQ(ReasonOf(s), r) << InfoOf(r).name;
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

TEST(DomainErrorTest, TheDetailIsTheMessage) {
  absl::Status s = DomainError(Reason::kConflict, "the alias is taken");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s), Reason::kConflict);
  EXPECT_EQ(s.message(), "the alias is taken");
  EXPECT_EQ(DetailOf(s), "the alias is taken");
  EXPECT_EQ(FieldOf(s), std::nullopt);
}

TEST(DomainErrorTest, NoDetailReadsAsTheReasonName) {
  absl::Status s = DomainError(Reason::kKeyDeleted, "", "payload");
  EXPECT_EQ(s.message(), "key deleted");
  EXPECT_EQ(DetailOf(s), std::string());
  EXPECT_EQ(FieldOf(s), "payload");
}

TEST(DomainErrorTest, OtherStatusesHaveNoDetail) {
  EXPECT_EQ(DetailOf(Error(Reason::kConflict, "Conflict: x")), std::nullopt);
  EXPECT_EQ(DetailOf(absl::NotFoundError("x")), std::nullopt);
  EXPECT_EQ(DetailOf(FieldError(Reason::kBadBody, {"name"}, "x")),
            std::nullopt);
}

TEST(FieldErrorTest, CarriesNameKindAndRequirementWithANeutralMessage) {
  absl::Status s = FieldError(Reason::kBadBody, {"limit", FieldKind::kQuery},
                              "an integer from 1 to 5000");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), Reason::kBadBody);
  EXPECT_EQ(s.message(), "limit: an integer from 1 to 5000");
  EXPECT_EQ(FieldOf(s), "limit");
  std::optional<FieldErrorParts> parts = FieldErrorOf(s);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->name, "limit");
  EXPECT_EQ(parts->kind, FieldKind::kQuery);
  EXPECT_EQ(parts->requirement, "an integer from 1 to 5000");
}

TEST(FieldErrorTest, EveryKindAndReasonRoundTrips) {
  for (FieldKind kind :
       {FieldKind::kBody, FieldKind::kQuery, FieldKind::kHeader}) {
    for (Reason r : AllReasons()) {
      absl::Status s = FieldError(r, {"aad", kind}, "at most 255 strings");
      EXPECT_EQ(ReasonOf(s), r) << InfoOf(r).name;
      std::optional<FieldErrorParts> parts = FieldErrorOf(s);
      ASSERT_TRUE(parts.has_value()) << InfoOf(r).name;
      EXPECT_EQ(parts->kind, kind);
    }
  }
}

TEST(FieldErrorTest, KindDefaultsToBody) {
  std::optional<FieldErrorParts> parts =
      FieldErrorOf(FieldError(Reason::kInvalidField, {"name"}, "x"));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->kind, FieldKind::kBody);
}

TEST(FieldErrorTest, AbsentFromOtherStatuses) {
  EXPECT_FALSE(FieldErrorOf(absl::OkStatus()).has_value());
  EXPECT_FALSE(FieldErrorOf(absl::InvalidArgumentError("x")).has_value());
  // Error() with a field names it but states no requirement.
  EXPECT_FALSE(
      FieldErrorOf(Error(Reason::kBadBody, "bad", "name")).has_value());
}

TEST(FieldErrorTest, UnknownKindPayloadIsNotAFieldError) {
  absl::Status s = FieldError(Reason::kBadBody, {"name"}, "x");
  s.SetPayload("keywarden/field-kind", absl::Cord("cookie"));
  EXPECT_FALSE(FieldErrorOf(s).has_value());
  EXPECT_EQ(FieldOf(s), "name");
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
