#include "keywarden/keys/search.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::keys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

KeySearch MustParseSearch(std::string_view text) {
  absl::StatusOr<KeySearch> s = ParseSearch(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status();
  return s.ok() ? *s : KeySearch();
}

KeyFilter MustParseFilter(std::string_view text) {
  absl::StatusOr<KeyFilter> f = ParseFilter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status();
  return f.ok() ? *f : KeyFilter();
}

void ExpectBadParam(const absl::Status& status, std::string_view param) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(ReasonOf(status), Reason::kBadBody) << status;
  EXPECT_EQ(FieldOf(status).value_or(""), param) << status;
  // The core words no protocol: the param and what it must be travel as a
  // field error, which api/keyprotect renders "The param `x` must be: ...".
  std::optional<FieldErrorParts> parts = FieldErrorOf(status);
  ASSERT_TRUE(parts.has_value()) << status;
  EXPECT_EQ(parts->kind, FieldKind::kQuery) << status;
  EXPECT_FALSE(parts->requirement.empty()) << status;
  EXPECT_EQ(status.message(), StrCat(param, ": ", parts->requirement));
}

Key Named(std::string name, std::vector<std::string> aliases = {}) {
  Key k;
  k.name = std::move(name);
  k.aliases = std::move(aliases);
  return k;
}

// --- ParseSearch ------------------------------------------------------------

TEST(ParseSearchTest, PlainTermSearchesNameAndAliasesAsSubstring) {
  KeySearch s = MustParseSearch("Foo");
  EXPECT_EQ(s.query, "Foo");
  EXPECT_EQ(s.term, "Foo");
  EXPECT_FALSE(s.negate);
  EXPECT_FALSE(s.exact);
  EXPECT_TRUE(s.in_name);
  EXPECT_TRUE(s.in_aliases);
  EXPECT_THAT(s.scopes, IsEmpty());
}

TEST(ParseSearchTest, ModifiersCombineInAnyOrder) {
  for (std::string_view q : {"not:exact:name:foo", "exact:not:name:foo",
                             "name:exact:not:foo", "NOT:Exact:NAME:foo"}) {
    KeySearch s = MustParseSearch(q);
    EXPECT_TRUE(s.negate) << q;
    EXPECT_TRUE(s.exact) << q;
    EXPECT_TRUE(s.in_name) << q;
    EXPECT_FALSE(s.in_aliases) << q;
    EXPECT_THAT(s.scopes, ElementsAre("name")) << q;
    EXPECT_EQ(s.term, "foo") << q;
    EXPECT_EQ(s.query, q);
  }
}

TEST(ParseSearchTest, AliasScopeAloneSearchesOnlyAliases) {
  KeySearch s = MustParseSearch("alias:x");
  EXPECT_FALSE(s.in_name);
  EXPECT_TRUE(s.in_aliases);
  EXPECT_THAT(s.scopes, ElementsAre("alias"));
}

TEST(ParseSearchTest, BothScopesAreKeptInTheirOrderOnce) {
  KeySearch s = MustParseSearch("alias:name:alias:x");
  EXPECT_TRUE(s.in_name);
  EXPECT_TRUE(s.in_aliases);
  EXPECT_THAT(s.scopes, ElementsAre("alias", "name"));
}

TEST(ParseSearchTest, EscapeEndsTheModifiers) {
  KeySearch s = MustParseSearch("escape:not:x");
  EXPECT_EQ(s.term, "not:x");
  EXPECT_FALSE(s.negate);
  s = MustParseSearch("not:escape:escape:x");
  EXPECT_TRUE(s.negate);
  EXPECT_EQ(s.term, "escape:x");
  s = MustParseSearch("escape:nmae:x");
  EXPECT_EQ(s.term, "nmae:x");
}

TEST(ParseSearchTest, ColonAfterNonLettersIsPartOfTheTerm) {
  EXPECT_EQ(MustParseSearch("db1:prod").term, "db1:prod");
  EXPECT_EQ(MustParseSearch(":x").term, ":x");
  EXPECT_EQ(MustParseSearch("name::x").term, ":x");
  EXPECT_EQ(MustParseSearch("a b").term, "a b");
}

TEST(ParseSearchTest, OneTrailingCommaIsDropped) {
  KeySearch s = MustParseSearch("foo,");
  EXPECT_EQ(s.term, "foo");
  EXPECT_EQ(s.query, "foo");
  EXPECT_EQ(MustParseSearch("foo,,").term, "foo,");
  EXPECT_EQ(MustParseSearch("a,b").term, "a,b");
}

TEST(ParseSearchTest, UnknownScopeIsBadParam) {
  ExpectBadParam(ParseSearch("nmae:foo").status(), "search");
  ExpectBadParam(ParseSearch("tag:foo").status(), "search");
  ExpectBadParam(ParseSearch("not:http://x").status(), "search");
}

TEST(ParseSearchTest, EmptyTermIsBadParam) {
  for (std::string_view q :
       {"", ",", "not:", "exact:name:", "escape:", "alias:escape:,"}) {
    ExpectBadParam(ParseSearch(q).status(), "search");
  }
}

TEST(ParseSearchTest, LengthLimitIsInclusive) {
  std::string at_limit(kMaxSearchLength, 'a');
  EXPECT_TRUE(ParseSearch(at_limit).ok());
  EXPECT_TRUE(ParseSearch(at_limit + ",").ok());
  ExpectBadParam(ParseSearch(at_limit + "a").status(), "search");
}

// --- SearchMatches -----------------------------------------------------------

TEST(SearchMatchesTest, SubstringOfNameOrAnyAliasAsciiCaseInsensitive) {
  KeySearch s = MustParseSearch("Pay");
  EXPECT_TRUE(SearchMatches(s, Named("my-PAYROLL-key")));
  EXPECT_TRUE(SearchMatches(s, Named("other", {"a", "x-payments"})));
  EXPECT_FALSE(SearchMatches(s, Named("other", {"a", "b"})));
  EXPECT_FALSE(SearchMatches(s, Named("")));
}

TEST(SearchMatchesTest, CaseFoldingIsAsciiOnly) {
  // SQLite's lower() folds A-Z only; so does the reference.
  EXPECT_TRUE(SearchMatches(MustParseSearch("ÜBER"), Named("xÜBERx")));
  EXPECT_FALSE(SearchMatches(MustParseSearch("über"), Named("ÜBER")));
  EXPECT_TRUE(SearchMatches(MustParseSearch("ÜBer"), Named("Übermut")));
}

TEST(SearchMatchesTest, ExactMatchesWholeValuesOnly) {
  KeySearch s = MustParseSearch("exact:Prod");
  EXPECT_TRUE(SearchMatches(s, Named("prod")));
  EXPECT_FALSE(SearchMatches(s, Named("prod-1")));
  EXPECT_TRUE(SearchMatches(s, Named("x", {"PROD"})));
  EXPECT_FALSE(SearchMatches(s, Named("x", {"PROD2"})));
}

TEST(SearchMatchesTest, ScopesRestrictTheFields) {
  Key k = Named("alpha", {"beta"});
  EXPECT_TRUE(SearchMatches(MustParseSearch("name:alp"), k));
  EXPECT_FALSE(SearchMatches(MustParseSearch("name:bet"), k));
  EXPECT_TRUE(SearchMatches(MustParseSearch("alias:bet"), k));
  EXPECT_FALSE(SearchMatches(MustParseSearch("alias:alp"), k));
  EXPECT_TRUE(SearchMatches(MustParseSearch("alias:name:bet"), k));
}

TEST(SearchMatchesTest, NotInvertsLast) {
  Key k = Named("alpha", {"beta"});
  EXPECT_FALSE(SearchMatches(MustParseSearch("not:alp"), k));
  EXPECT_TRUE(SearchMatches(MustParseSearch("not:gamma"), k));
  // Negation applies to the scoped match: the name does not contain "bet".
  EXPECT_TRUE(SearchMatches(MustParseSearch("not:name:bet"), k));
  EXPECT_TRUE(SearchMatches(MustParseSearch("not:exact:alp"), k));
  EXPECT_TRUE(SearchMatches(MustParseSearch("not:x"), Named("")));
}

TEST(SearchMatchesTest, EscapedTermIsLiteral) {
  EXPECT_TRUE(SearchMatches(MustParseSearch("escape:not:x"), Named("a-not:x")));
  EXPECT_FALSE(SearchMatches(MustParseSearch("escape:not:x"), Named("x")));
}

// --- ParseFilter -------------------------------------------------------------

absl::Time Rfc3339(std::string_view s) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, AbslView(s), &t, &err))
      << err;
  return t;
}

TEST(ParseFilterTest, DateClausesWithEveryOperator) {
  KeyFilter f = MustParseFilter(
      "creationDate=\"2022-02-15T00:00:00Z\" deletionDate=lt:\"2022-02-15T00:"
      "00:00Z\" expirationDate=lte:\"2022-02-15T01:00:00+01:00\" "
      "lastRotateDate=gt:\"2022-02-15T00:00:00.25Z\" "
      "lastUpdateDate=gte:\"2022-02-15T00:00:00Z\"");
  ASSERT_EQ(f.time_clauses.size(), 5u);
  const absl::Time t = Rfc3339("2022-02-15T00:00:00Z");
  EXPECT_EQ(f.time_clauses[0].field, DateField::kCreationDate);
  EXPECT_EQ(f.time_clauses[0].op, CompareOp::kEq);
  EXPECT_EQ(f.time_clauses[0].value, t);
  EXPECT_EQ(f.time_clauses[1].field, DateField::kDeletionDate);
  EXPECT_EQ(f.time_clauses[1].op, CompareOp::kLt);
  EXPECT_EQ(f.time_clauses[2].field, DateField::kExpirationDate);
  EXPECT_EQ(f.time_clauses[2].op, CompareOp::kLte);
  EXPECT_EQ(f.time_clauses[2].value, t);  // the offset is applied
  EXPECT_EQ(f.time_clauses[3].field, DateField::kLastRotateDate);
  EXPECT_EQ(f.time_clauses[3].op, CompareOp::kGt);
  EXPECT_EQ(f.time_clauses[3].value, t + absl::Milliseconds(250));
  EXPECT_EQ(f.time_clauses[4].field, DateField::kLastUpdateDate);
  EXPECT_EQ(f.time_clauses[4].op, CompareOp::kGte);
  EXPECT_EQ(f.time_clauses[4].value, t);
  EXPECT_THAT(f.states, IsEmpty());
  EXPECT_FALSE(f.extractable.has_value());
}

TEST(ParseFilterTest, NoneMeansAbsentWithoutOperator) {
  KeyFilter f = MustParseFilter("deletionDate=none");
  ASSERT_EQ(f.time_clauses.size(), 1u);
  EXPECT_EQ(f.time_clauses[0].op, CompareOp::kEq);
  EXPECT_FALSE(f.time_clauses[0].value.has_value());
  ExpectBadParam(ParseFilter("deletionDate=lt:none").status(), "filter");
  ExpectBadParam(ParseFilter("deletionDate=NONE").status(), "filter");
  ExpectBadParam(ParseFilter("deletionDate=\"none\"").status(), "filter");
}

TEST(ParseFilterTest, KeyProtectExampleParses) {
  KeyFilter f = MustParseFilter(
      "lastRotateDate=gte:\"2022-02-15T00:00:00Z\" "
      "lastRotateDate=lt:\"2022-03-15T00:00:00Z\" state=1,5");
  EXPECT_EQ(f.time_clauses.size(), 2u);
  EXPECT_THAT(f.states, ElementsAre(KeyState::kActive, KeyState::kDestroyed));
}

TEST(ParseFilterTest, ExtractableInAnyCase) {
  EXPECT_EQ(MustParseFilter("extractable=true").extractable, true);
  EXPECT_EQ(MustParseFilter("extractable=FALSE").extractable, false);
  EXPECT_EQ(MustParseFilter("extractable=TrUe").extractable, true);
  for (std::string_view bad :
       {"extractable=1", "extractable=yes", "extractable=", "extractable"}) {
    ExpectBadParam(ParseFilter(bad).status(), "filter");
  }
}

TEST(ParseFilterTest, StateListFromTheFiveStates) {
  EXPECT_THAT(MustParseFilter("state=0,1,2,3,5").states,
              ElementsAre(KeyState::kPreActivation, KeyState::kActive,
                          KeyState::kSuspended, KeyState::kDeactivated,
                          KeyState::kDestroyed));
  EXPECT_THAT(MustParseFilter("state=5,5").states,
              ElementsAre(KeyState::kDestroyed));
  for (std::string_view bad :
       {"state=4", "state=1,", "state=,1", "state=1,,2", "state=", "state=10",
        "state=a", "state=-1", "state=1;2"}) {
    ExpectBadParam(ParseFilter(bad).status(), "filter");
  }
}

TEST(ParseFilterTest, ClausesSplitOnRunsOfSpaces) {
  KeyFilter f = MustParseFilter("  state=1    extractable=true  ");
  EXPECT_THAT(f.states, ElementsAre(KeyState::kActive));
  EXPECT_EQ(f.extractable, true);
}

TEST(ParseFilterTest, AtMostThreeClausesPerDateProperty) {
  const std::string c = "creationDate=gt:\"2022-01-01T00:00:00Z\" ";
  EXPECT_EQ(MustParseFilter(c + c + c).time_clauses.size(), 3u);
  ExpectBadParam(ParseFilter(c + c + c + c).status(), "filter");
  // The limit is per property.
  const std::string d = "deletionDate=none ";
  EXPECT_EQ(MustParseFilter(c + c + c + d + d + d).time_clauses.size(), 6u);
}

TEST(ParseFilterTest, AtMostOneStateAndOneExtractable) {
  ExpectBadParam(ParseFilter("state=1 state=2").status(), "filter");
  ExpectBadParam(ParseFilter("extractable=true extractable=true").status(),
                 "filter");
}

TEST(ParseFilterTest, MalformedClausesAreBadParam) {
  for (std::string_view bad : {
           "",
           "   ",
           "creationDate",
           "creationDate=",
           "=1",
           "CreationDate=none",
           "keyRingID=x",
           "creationDate=2022-01-01T00:00:00Z",         // not quoted
           "creationDate=\"2022-01-01T00:00:00Z",       // unterminated
           "creationDate=\"2022-01-01\"",               // no time
           "creationDate=\"2022-01-01 00:00:00Z\"",     // splits at space
           "creationDate=\"2022-13-01T00:00:00Z\"",     // no month 13
           "creationDate=\"2022-01-01T00:00:00\"",      // no offset
           "creationDate=eq:\"2022-01-01T00:00:00Z\"",  // no eq operator
           "creationDate=LT:\"2022-01-01T00:00:00Z\"",
           "creationDate=lt\"2022-01-01T00:00:00Z\"",
           "creationDate=\"\"",
           "creationDate=\"",
       }) {
    ExpectBadParam(ParseFilter(bad).status(), "filter");
  }
}

TEST(ParseFilterTest, LengthLimitIsInclusive) {
  std::string at_limit = "state=1";
  at_limit.append(kMaxFilterLength - at_limit.size(), ' ');
  EXPECT_TRUE(ParseFilter(at_limit).ok());
  ExpectBadParam(ParseFilter(at_limit + " ").status(), "filter");
}

// --- DateOf / ClausesMatch ---------------------------------------------------

TEST(DateOfTest, ReadsEachField) {
  Key k;
  k.creation_time = absl::FromUnixSeconds(1);
  k.last_update_time = absl::FromUnixSeconds(2);
  EXPECT_EQ(DateOf(k, DateField::kCreationDate), absl::FromUnixSeconds(1));
  EXPECT_EQ(DateOf(k, DateField::kLastUpdateDate), absl::FromUnixSeconds(2));
  EXPECT_FALSE(DateOf(k, DateField::kDeletionDate).has_value());
  EXPECT_FALSE(DateOf(k, DateField::kExpirationDate).has_value());
  EXPECT_FALSE(DateOf(k, DateField::kLastRotateDate).has_value());
  k.deletion_time = absl::FromUnixSeconds(3);
  k.expiration_time = absl::FromUnixSeconds(4);
  k.last_rotate_time = absl::FromUnixSeconds(5);
  EXPECT_EQ(DateOf(k, DateField::kDeletionDate), absl::FromUnixSeconds(3));
  EXPECT_EQ(DateOf(k, DateField::kExpirationDate), absl::FromUnixSeconds(4));
  EXPECT_EQ(DateOf(k, DateField::kLastRotateDate), absl::FromUnixSeconds(5));
}

TimeClause Clause(CompareOp op, std::optional<absl::Time> value,
                  DateField field = DateField::kCreationDate) {
  TimeClause c;
  c.field = field;
  c.op = op;
  c.value = value;
  return c;
}

Key CreatedAt(absl::Time t) {
  Key k;
  k.creation_time = t;
  return k;
}

TEST(ClausesMatchTest, KeyDateIsTruncatedToItsSecond) {
  const absl::Time s = absl::FromUnixSeconds(1'700'000'000);
  const Key k = CreatedAt(s + absl::Milliseconds(900));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kEq, s)}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kLte, s)}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kGte, s)}, k));
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kGt, s)}, k));
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kLt, s)}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kLt, s + absl::Seconds(1))}, k));
}

TEST(ClausesMatchTest, ValueIsNotTruncated) {
  const absl::Time s = absl::FromUnixSeconds(1'700'000'000);
  const Key k = CreatedAt(s + absl::Milliseconds(100));
  const absl::Time half = s + absl::Milliseconds(500);
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kEq, half)}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kLt, half)}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kLte, half)}, k));
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kGt, half)}, k));
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kGte, half)}, k));
}

TEST(ClausesMatchTest, TimesBeforeTheEpochRoundTowardThePast) {
  // -0.5 s lies in the second that starts at -1 s.
  const Key k = CreatedAt(absl::FromUnixMillis(-500));
  EXPECT_TRUE(
      ClausesMatch({Clause(CompareOp::kEq, absl::FromUnixSeconds(-1))}, k));
  EXPECT_FALSE(ClausesMatch({Clause(CompareOp::kEq, absl::UnixEpoch())}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kLt, absl::UnixEpoch())}, k));
}

TEST(ClausesMatchTest, NoneMatchesOnlyAbsentDates) {
  Key k = CreatedAt(absl::FromUnixSeconds(10));
  EXPECT_TRUE(ClausesMatch(
      {Clause(CompareOp::kEq, std::nullopt, DateField::kDeletionDate)}, k));
  EXPECT_FALSE(ClausesMatch(
      {Clause(CompareOp::kEq, std::nullopt, DateField::kCreationDate)}, k));
  // A dated clause never holds for an absent date, whatever the operator.
  for (CompareOp op : {CompareOp::kEq, CompareOp::kLt, CompareOp::kLte,
                       CompareOp::kGt, CompareOp::kGte}) {
    EXPECT_FALSE(ClausesMatch(
        {Clause(op, absl::FromUnixSeconds(10), DateField::kDeletionDate)}, k));
  }
}

TEST(ClausesMatchTest, EveryClauseMustHold) {
  const Key k = CreatedAt(absl::FromUnixSeconds(100));
  EXPECT_TRUE(ClausesMatch({}, k));
  EXPECT_TRUE(ClausesMatch({Clause(CompareOp::kGt, absl::FromUnixSeconds(50)),
                            Clause(CompareOp::kLt, absl::FromUnixSeconds(150))},
                           k));
  EXPECT_FALSE(
      ClausesMatch({Clause(CompareOp::kGt, absl::FromUnixSeconds(50)),
                    Clause(CompareOp::kLt, absl::FromUnixSeconds(100))},
                   k));
}

TEST(ClausesMatchTest, ParsedFilterAppliesToKeys) {
  Key k = CreatedAt(Rfc3339("2022-02-20T12:00:00.999Z"));
  k.last_rotate_time = Rfc3339("2022-03-01T00:00:00Z");
  KeyFilter f = MustParseFilter(
      "lastRotateDate=gte:\"2022-02-15T00:00:00Z\" "
      "lastRotateDate=lt:\"2022-03-15T00:00:00Z\" "
      "creationDate=\"2022-02-20T12:00:00Z\" deletionDate=none");
  EXPECT_TRUE(ClausesMatch(f.time_clauses, k));
  k.deletion_time = k.last_rotate_time;
  EXPECT_FALSE(ClausesMatch(f.time_clauses, k));
}

}  // namespace
}  // namespace keywarden::keys
