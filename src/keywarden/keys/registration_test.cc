#include "keywarden/keys/registration.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::keys {
namespace {


constexpr char kCrn[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a/abc123:inst-1:"
    "bucket:my-bucket";

void ExpectBad(const absl::Status& status, std::string_view field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ReasonOf(status), Reason::kBadBody) << status;
  EXPECT_EQ(FieldOf(status).value_or(""), field) << status;
  // The core words no protocol: the param and what it must be travel as a
  // field error, which api/keyprotect renders "The param `x` must be: ...".
  std::optional<FieldErrorParts> parts = FieldErrorOf(status);
  ASSERT_TRUE(parts.has_value()) << status;
  EXPECT_EQ(parts->kind, FieldKind::kQuery) << status;
  EXPECT_FALSE(parts->requirement.empty()) << status;
  EXPECT_EQ(status.message(), StrCat(field, ": ", parts->requirement));
}

// --- ValidateRegistrationCrn -------------------------------------------------

TEST(ValidateRegistrationCrnTest, FullCrnIsValid) {
  EXPECT_TRUE(ValidateRegistrationCrn(kCrn).ok());
}

TEST(ValidateRegistrationCrnTest, ResourceTypeAndResourceMayBeEmpty) {
  EXPECT_TRUE(
      ValidateRegistrationCrn("crn:v1:bluemix:public:kms:us-south:a/1:inst-1::")
          .ok());
  EXPECT_TRUE(ValidateRegistrationCrn(
                  "crn:v1:bluemix:public:kms:us-south:a/1:inst-1:bucket:")
                  .ok());
}

TEST(ValidateRegistrationCrnTest, EachRequiredSegmentMustBeNonEmpty) {
  for (int i = 2; i < 8; ++i) {
    std::string segs[10] = {"crn", "v1", "c",  "t",  "s",
                            "l",   "sc", "si", "rt", "r"};
    segs[i].clear();
    std::string crn = segs[0];
    for (int j = 1; j < 10; ++j) crn += ":" + segs[j];
    ExpectBad(ValidateRegistrationCrn(crn), "resourceCrn");
  }
}

TEST(ValidateRegistrationCrnTest, WrongShapesAreBadBody) {
  for (std::string_view bad : {
           "",
           "crn:v1:c:t:s:l:sc:si:rt",      // nine segments
           "crn:v1:c:t:s:l:sc:si:rt:r:x",  // eleven
           "CRN:v1:c:t:s:l:sc:si:rt:r",    // case-sensitive prefix
           "crn:v2:c:t:s:l:sc:si:rt:r",
           "urn:v1:c:t:s:l:sc:si:rt:r",
           "crn:v1:c:t:s:l:sc:si:rt:r*",  // no wildcard
           "crn:v1:c:t:*:l:sc:si:rt:r",
           "crn:v1:c:t:s:l:sc:si:rt:r x",  // no space
           "crn:v1:c:t:s:l:sc:si:rt:r\n",  // no control character
           "crn:v1:c:t:s:l:sc:si:rt:r\x7f",
       }) {
    ExpectBad(ValidateRegistrationCrn(bad), "resourceCrn");
  }
}

TEST(ValidateRegistrationCrnTest, LengthLimitIsInclusive) {
  std::string base = "crn:v1:c:t:s:l:sc:si:rt:";
  std::string at_limit = base + std::string(kMaxCrnLength - base.size(), 'r');
  EXPECT_TRUE(ValidateRegistrationCrn(at_limit).ok());
  ExpectBad(ValidateRegistrationCrn(at_limit + "r"), "resourceCrn");
}

// --- CrnPattern --------------------------------------------------------------

CrnPattern MustParse(std::string_view text, bool for_all_keys = false) {
  absl::StatusOr<CrnPattern> p = CrnPattern::Parse(text, for_all_keys);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status();
  return p.ok() ? *p : CrnPattern();
}

TEST(CrnPatternTest, ExactPatternMatchesOnlyThatCrn) {
  CrnPattern p = MustParse(kCrn);
  EXPECT_EQ(p.text(), kCrn);
  EXPECT_TRUE(p.Matches(kCrn));
  EXPECT_FALSE(p.Matches(std::string(kCrn) + "x"));
  EXPECT_FALSE(p.Matches(
      "crn:v1:bluemix:public:cloud-object-storage:global:a/abc123:inst-1:"
      "bucket:My-bucket"));  // case-sensitive
}

TEST(CrnPatternTest, WholeSegmentWildcardMatchesAnyValueIncludingEmpty) {
  CrnPattern p = MustParse("crn:v1:bluemix:public:*:global:*:inst-1:*:*");
  EXPECT_TRUE(p.Matches(kCrn));
  EXPECT_TRUE(p.Matches("crn:v1:bluemix:public:kms:global:a/9:inst-1::"));
  EXPECT_FALSE(p.Matches("crn:v1:bluemix:public:kms:global:a/9:inst-2:b:c"));
  // A wildcard stands for one segment, never for a ':'.
  EXPECT_FALSE(p.Matches("crn:v1:bluemix:public:kms:global:a:9:inst-1:b:c"));
}

TEST(CrnPatternTest, LastSegmentPrefixMatch) {
  CrnPattern p = MustParse(
      "crn:v1:bluemix:public:cloud-object-storage:global:a/abc123:inst-1:"
      "bucket:my-*");
  EXPECT_TRUE(p.Matches(kCrn));
  EXPECT_TRUE(p.Matches(
      "crn:v1:bluemix:public:cloud-object-storage:global:a/abc123:inst-1:"
      "bucket:my-"));
  EXPECT_FALSE(p.Matches(
      "crn:v1:bluemix:public:cloud-object-storage:global:a/abc123:inst-1:"
      "bucket:your-bucket"));
}

TEST(CrnPatternTest, EveryWildcardMatchesEveryWellFormedCrn) {
  CrnPattern p = MustParse("*:*:*:*:*:*:*:*:*:*");
  EXPECT_TRUE(p.Matches(kCrn));
  EXPECT_TRUE(p.Matches("crn:v1:c:t:s:l:sc:si::"));
  EXPECT_FALSE(p.Matches("crn:v1:c:t:s:l:sc:si:rt"));  // nine segments
  EXPECT_FALSE(p.Matches(""));
}

TEST(CrnPatternTest, ForAllKeysRefusesWildcardsInTheFirstEightSegments) {
  for (int i = 0; i < 8; ++i) {
    std::string segs[10] = {"crn", "v1", "c",  "t",  "s",
                            "l",   "sc", "si", "rt", "r"};
    segs[i] = "*";
    std::string text = segs[0];
    for (int j = 1; j < 10; ++j) text += ":" + segs[j];
    EXPECT_TRUE(CrnPattern::Parse(text, /*for_all_keys=*/false).ok()) << text;
    ExpectBad(CrnPattern::Parse(text, /*for_all_keys=*/true).status(),
              "urlEncodedResourceCRNQuery");
  }
  EXPECT_TRUE(CrnPattern::Parse("crn:v1:c:t:s:l:sc:si:*:r*", true).ok());
}

TEST(CrnPatternTest, MalformedPatternsAreBadBody) {
  for (std::string_view bad : {
           "",
           "crn:v1:c:t:s:l:sc:si:rt",      // nine segments
           "crn:v1:c:t:s:l:sc:si:rt:r:x",  // eleven
           "crn:v1:c:t:s*:l:sc:si:rt:r",   // prefix only in the last
           "crn:v1:c:t:s:l:sc:si:rt:*r",   // '*' only at the end
           "crn:v1:c:t:s:l:sc:si:rt:r*x",
           "crn:v1:c:t:s:l:sc:si:rt:**",
           "xrn:v1:c:t:s:l:sc:si:rt:r",
           "crn:v9:c:t:s:l:sc:si:rt:r",
           "crn:v1:c:t:s:l:sc:si:rt:r x",
           "crn:v1:c:t:s:l:sc:si:rt:\t",
       }) {
    ExpectBad(CrnPattern::Parse(bad, false).status(),
              "urlEncodedResourceCRNQuery");
  }
  std::string long_text = "crn:v1:c:t:s:l:sc:si:rt:";
  long_text.append(kMaxCrnLength + 1 - long_text.size(), 'r');
  ExpectBad(CrnPattern::Parse(long_text, false).status(),
            "urlEncodedResourceCRNQuery");
}

// --- Event type names --------------------------------------------------------

TEST(KeyEventTypeNameTest, StableCodesRoundTrip) {
  const std::pair<KeyEventType, std::string_view> expected[] = {
      {KeyEventType::kRotate, "rotate"},   {KeyEventType::kDisable, "disable"},
      {KeyEventType::kEnable, "enable"},   {KeyEventType::kDelete, "delete"},
      {KeyEventType::kRestore, "restore"}, {KeyEventType::kSync, "sync"},
  };
  for (const auto& [type, name] : expected) {
    EXPECT_EQ(KeyEventTypeName(type), name);
    EXPECT_EQ(KeyEventTypeFromName(name), type);
  }
}

TEST(KeyEventTypeNameTest, UnknownNamesAreRejected) {
  EXPECT_FALSE(KeyEventTypeFromName("").has_value());
  EXPECT_FALSE(KeyEventTypeFromName("Rotate").has_value());
  EXPECT_FALSE(KeyEventTypeFromName("rotation").has_value());
  EXPECT_EQ(KeyEventTypeName(static_cast<KeyEventType>(99)), "");
}

}  // namespace
}  // namespace keywarden::keys
