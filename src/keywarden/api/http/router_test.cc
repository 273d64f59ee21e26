#include "keywarden/api/http/router.h"

#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keywarden::api::http {
namespace {

using ::testing::ElementsAre;
using Result = RouteMatch::Result;

enum RouteId {
  kListKeys,
  kCreateKey,
  kGetKey,
  kDeleteKey,
  kKeyAction,
  kListRegistrations,
  kKeyRegistrations,
  kMetrics,
  kRoot,
};

Router KeyProtectLikeRouter() {
  Router r;
  EXPECT_TRUE(r.Add(Method::kGet, "/api/v2/keys", kListKeys).ok());
  EXPECT_TRUE(r.Add(Method::kPost, "/api/v2/keys", kCreateKey).ok());
  EXPECT_TRUE(r.Add(Method::kGet, "/api/v2/keys/{id}", kGetKey).ok());
  EXPECT_TRUE(r.Add(Method::kDelete, "/api/v2/keys/{id}", kDeleteKey).ok());
  EXPECT_TRUE(
      r.Add(Method::kPost, "/api/v2/keys/{id}/actions/{action}", kKeyAction)
          .ok());
  EXPECT_TRUE(r.Add(Method::kGet, "/api/v2/keys/registrations",
                    kListRegistrations)
                  .ok());
  EXPECT_TRUE(r.Add(Method::kGet, "/api/v2/keys/{id}/registrations",
                    kKeyRegistrations)
                  .ok());
  EXPECT_TRUE(r.Add("GET", "/metrics", kMetrics).ok());
  return r;
}

TEST(ParseMethodTest, KnownMethodsRoundTrip) {
  for (std::string_view name :
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    std::optional<Method> m = ParseMethod(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_EQ(MethodName(*m), name);
  }
}

TEST(ParseMethodTest, LowercaseAndUnknownRejected) {
  EXPECT_FALSE(ParseMethod("get").has_value());
  EXPECT_FALSE(ParseMethod("TRACE").has_value());
  EXPECT_FALSE(ParseMethod("").has_value());
}

TEST(PercentDecodeTest, DecodesEscapesOnceAndKeepsPlus) {
  EXPECT_EQ(*PercentDecode("a%20b"), "a b");
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("%2541"), "%41");  // decoded once, not twice
  EXPECT_EQ(*PercentDecode("%2f%2F"), "//");
  EXPECT_EQ(*PercentDecode(""), "");
}

TEST(PercentDecodeTest, MalformedEscapesRejected) {
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("%4").ok());
  EXPECT_FALSE(PercentDecode("abc%4").ok());
  EXPECT_FALSE(PercentDecode("%zz").ok());
  EXPECT_FALSE(PercentDecode("%4g").ok());
  EXPECT_FALSE(PercentDecode("%00").ok());
}

TEST(RouterTest, MatchesLiteralRoute) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m = r.Match(Method::kGet, "/api/v2/keys");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kListKeys);
  EXPECT_EQ(m.params.size(), 0u);
  EXPECT_EQ(r.Match(Method::kPost, "/api/v2/keys").route_id, kCreateKey);
}

TEST(RouterTest, CapturesParamsInOrder) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m = r.Match(Method::kPost, "/api/v2/keys/abc-123/actions/wrap");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kKeyAction);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "abc-123");
  EXPECT_EQ(*m.params.Get("action"), "wrap");
  EXPECT_FALSE(m.params.Get("nope").has_value());
}

TEST(RouterTest, ParamsArePercentDecodedOnceAfterSplitting) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m = r.Match(Method::kGet, "/api/v2/keys/a%2Fb%2541");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kGetKey);
  EXPECT_EQ(*m.params.Get("id"), "a/b%41");
}

TEST(RouterTest, LiteralSegmentsAreDecodedBeforeComparison) {
  Router r = KeyProtectLikeRouter();
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/%6beys").route_id, kListKeys);
}

TEST(RouterTest, LiteralBeatsCapture) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m = r.Match(Method::kGet, "/api/v2/keys/registrations");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kListRegistrations);
  EXPECT_EQ(m.params.size(), 0u);
}

TEST(RouterTest, BacktracksToCaptureWhenLiteralBranchDeadEnds) {
  Router r = KeyProtectLikeRouter();
  // "registrations" as a key id: the literal branch has no "/registrations"
  // child, so the {id} branch must be tried.
  RouteMatch m =
      r.Match(Method::kGet, "/api/v2/keys/registrations/registrations");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kKeyRegistrations);
  EXPECT_EQ(*m.params.Get("id"), "registrations");
}

TEST(RouterTest, UnknownPathIsNotFound) {
  Router r = KeyProtectLikeRouter();
  EXPECT_EQ(r.Match(Method::kGet, "/api/v3/keys").result, Result::kNotFound);
  EXPECT_EQ(r.Match(Method::kGet, "/").result, Result::kNotFound);
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2").result, Result::kNotFound);
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/keys/a/b/c/d").result,
            Result::kNotFound);
}

TEST(RouterTest, TrailingSlashAndEmptyCaptureAreNotFound) {
  Router r = KeyProtectLikeRouter();
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/keys/").result, Result::kNotFound);
  EXPECT_EQ(r.Match(Method::kPost, "/api/v2/keys//actions/wrap").result,
            Result::kNotFound);
}

TEST(RouterTest, WrongMethodIsMethodNotAllowedWithAllowList) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m = r.Match(Method::kPut, "/api/v2/keys/k1");
  ASSERT_EQ(m.result, Result::kMethodNotAllowed);
  EXPECT_THAT(m.allowed, ElementsAre(Method::kGet, Method::kDelete));
  EXPECT_EQ(m.AllowHeader(), "GET, DELETE");
  EXPECT_EQ(m.params.size(), 0u);
}

TEST(RouterTest, MethodNotAllowedDecidedByLiteralPathFirst) {
  Router r = KeyProtectLikeRouter();
  // DELETE exists for /keys/{id} but the literal /keys/registrations wins
  // the path match, so the answer is 405 with its own methods.
  RouteMatch m = r.Match(Method::kDelete, "/api/v2/keys/registrations");
  ASSERT_EQ(m.result, Result::kMethodNotAllowed);
  EXPECT_EQ(m.AllowHeader(), "GET");
}

TEST(RouterTest, RootPattern) {
  Router r;
  ASSERT_TRUE(r.Add(Method::kGet, "/", kRoot).ok());
  EXPECT_EQ(r.Match(Method::kGet, "/").route_id, kRoot);
  EXPECT_EQ(r.Match(Method::kGet, "/?x=1").route_id, kRoot);
  EXPECT_EQ(r.Match(Method::kGet, "/x").result, Result::kNotFound);
}

TEST(RouterTest, QueryIsSplitOffAndParsed) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m =
      r.Match(Method::kGet, "/api/v2/keys?limit=10&state=1&state=5&q=a%20b+c");
  ASSERT_EQ(m.result, Result::kMatched);
  EXPECT_EQ(m.route_id, kListKeys);
  EXPECT_EQ(*m.query.Get("limit"), "10");
  EXPECT_THAT(m.query.GetAll("state"), ElementsAre("1", "5"));
  EXPECT_EQ(*m.query.Get("q"), "a b c");  // + is a space in a query
  EXPECT_FALSE(m.query.Has("offset"));
}

TEST(RouterTest, MalformedTargetIsBadRequest) {
  Router r = KeyProtectLikeRouter();
  EXPECT_EQ(r.Match(Method::kGet, "").result, Result::kBadRequest);
  EXPECT_EQ(r.Match(Method::kGet, "*").result, Result::kBadRequest);
  EXPECT_EQ(r.Match(Method::kGet, "http://h/api/v2/keys").result,
            Result::kBadRequest);
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/keys/%zz").result,
            Result::kBadRequest);
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/keys?x=%4").result,
            Result::kBadRequest);
}

TEST(RouterTest, MatchIntoReusedResultResetsState) {
  Router r = KeyProtectLikeRouter();
  RouteMatch m;
  r.Match(Method::kPost, "/api/v2/keys/k/actions/wrap?a=b", m);
  ASSERT_EQ(m.params.size(), 2u);
  r.Match(Method::kGet, "/metrics", m);
  EXPECT_EQ(m.route_id, kMetrics);
  EXPECT_EQ(m.params.size(), 0u);
  EXPECT_EQ(m.query.size(), 0u);
  r.Match(Method::kPut, "/metrics", m);
  EXPECT_EQ(m.route_id, -1);
  r.Match(Method::kGet, "/metrics", m);
  EXPECT_TRUE(m.allowed.empty());
}

TEST(RouterAddTest, ExactDuplicateRejected) {
  Router r = KeyProtectLikeRouter();
  size_t before = r.size();
  absl::Status s = r.Add(Method::kGet, "/api/v2/keys/{id}", 99);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(r.size(), before);
  // The original route is untouched.
  EXPECT_EQ(r.Match(Method::kGet, "/api/v2/keys/x").route_id, kGetKey);
}

TEST(RouterAddTest, OverlappingCaptureWithDifferentNameRejected) {
  Router r = KeyProtectLikeRouter();
  // Same shape as GET /api/v2/keys/{id}: would be ambiguous.
  EXPECT_EQ(r.Add(Method::kGet, "/api/v2/keys/{key_id}", 99).code(),
            absl::StatusCode::kInvalidArgument);
  // Different method, different name at the same position: still rejected,
  // because params would be named differently depending on the method.
  EXPECT_EQ(r.Add(Method::kPatch, "/api/v2/keys/{key_id}", 99).code(),
            absl::StatusCode::kInvalidArgument);
  // A rejected Add left nothing behind.
  EXPECT_EQ(r.Match(Method::kPatch, "/api/v2/keys/x").result,
            Result::kMethodNotAllowed);
}

TEST(RouterAddTest, SameShapeDifferentMethodAccepted) {
  Router r = KeyProtectLikeRouter();
  EXPECT_TRUE(r.Add(Method::kPatch, "/api/v2/keys/{id}", 42).ok());
  EXPECT_EQ(r.Match(Method::kPatch, "/api/v2/keys/x").route_id, 42);
}

TEST(RouterAddTest, MalformedPatternsRejected) {
  Router r;
  for (std::string_view bad :
       {"", "api/v2", "/api//keys", "/api/", "/api/{}", "/api/{1x}",
        "/api/{id}/x/{id}", "/api/a{id}", "/api/{id", "/api/x?y",
        "/api/{a-b}"}) {
    EXPECT_FALSE(r.Add(Method::kGet, bad, 1).ok()) << bad;
  }
  EXPECT_FALSE(r.Add("FETCH", "/x", 1).ok());
  EXPECT_FALSE(r.Add(Method::kGet, "/x", -1).ok());
  EXPECT_EQ(r.size(), 0u);
}

// The table a real deployment registers must be unambiguous: every pair of
// distinct routes is distinguishable by Match. Probing each pattern with its
// captures filled in must land on that exact route.
TEST(RouterAddTest, RegisteredTableIsUnambiguous) {
  struct Entry {
    Method method;
    std::string_view pattern;
    std::string_view probe;
    int id;
  };
  const Entry table[] = {
      {Method::kGet, "/api/v2/keys", "/api/v2/keys", kListKeys},
      {Method::kPost, "/api/v2/keys", "/api/v2/keys", kCreateKey},
      {Method::kGet, "/api/v2/keys/{id}", "/api/v2/keys/k", kGetKey},
      {Method::kDelete, "/api/v2/keys/{id}", "/api/v2/keys/k", kDeleteKey},
      {Method::kPost, "/api/v2/keys/{id}/actions/{action}",
       "/api/v2/keys/k/actions/wrap", kKeyAction},
      {Method::kGet, "/api/v2/keys/registrations",
       "/api/v2/keys/registrations", kListRegistrations},
      {Method::kGet, "/api/v2/keys/{id}/registrations",
       "/api/v2/keys/k/registrations", kKeyRegistrations},
  };
  Router r;
  for (const Entry& e : table) {
    ASSERT_TRUE(r.Add(e.method, e.pattern, e.id).ok()) << e.pattern;
  }
  for (const Entry& e : table) {
    EXPECT_EQ(r.Match(e.method, e.probe).route_id, e.id) << e.probe;
    // Registering it again is always rejected.
    EXPECT_FALSE(r.Add(e.method, e.pattern, 100).ok()) << e.pattern;
  }
}

// Untrusted targets: arbitrary bytes must yield one of the four results and
// never crash or match with an out-of-table id.
TEST(RouterTest, ArbitraryTargetsAreHandledSafely) {
  Router r = KeyProtectLikeRouter();
  std::mt19937 rng(12345);
  static constexpr char kChars[] = "/%?&=+{}ab0F\0\xff.";
  const std::string alphabet(kChars, sizeof(kChars) - 1);  // keeps the NUL
  for (int i = 0; i < 20000; ++i) {
    std::string target = (i % 2 == 0) ? "/api/v2/keys/" : "";
    int len = static_cast<int>(rng() % 24);
    for (int j = 0; j < len; ++j) target += alphabet[rng() % alphabet.size()];
    RouteMatch m = r.Match(static_cast<Method>(rng() % kMethodCount), target);
    if (m.matched()) {
      EXPECT_GE(m.route_id, 0);
      EXPECT_LE(m.route_id, kRoot);
    } else {
      EXPECT_EQ(m.route_id, -1);
    }
  }
}

TEST(QueryParamsTest, EdgeCases) {
  absl::StatusOr<QueryParams> q = QueryParams::Parse("a&&b=&=v&c=1=2");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ(*q->Get("a"), "");
  EXPECT_EQ(*q->Get("b"), "");
  EXPECT_EQ(*q->Get(""), "v");
  EXPECT_EQ(*q->Get("c"), "1=2");
  EXPECT_EQ(QueryParams::Parse("")->size(), 0u);
}

TEST(QueryParamsTest, KeysAndValuesDecoded) {
  absl::StatusOr<QueryParams> q = QueryParams::Parse("k%20ey=v%2Bal+ue");
  ASSERT_TRUE(q.ok());
  // %2B is a plus, a bare + a space (form encoding).
  EXPECT_EQ(*q->Get("k ey"), "v+al ue");
}

TEST(QueryParamsTest, TooManyParamsRejected) {
  std::string query;
  for (size_t i = 0; i <= QueryParams::kMaxParams; ++i) query += "a=1&";
  EXPECT_FALSE(QueryParams::Parse(query).ok());
}

}  // namespace
}  // namespace keywarden::api::http
