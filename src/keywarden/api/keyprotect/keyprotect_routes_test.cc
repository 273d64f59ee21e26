// The operation table's invariants and what is derived from it.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "keywarden/api/keyprotect/keyprotect_api.h"
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect {
namespace {

BeastRequest RequestOf(beast_http::verb verb, std::string_view target) {
  BeastRequest req;
  req.method(verb);
  req.target(boost::beast::string_view(target.data(), target.size()));
  return req;
}

TEST(OperationTableTest, ActionSelectedRowsNameTheirAction) {
  for (const Operation& row : Operations()) {
    EXPECT_EQ(row.Has(kSelectedByAction), !row.action.empty()) << row.pattern;
    EXPECT_NE(row.handler, nullptr) << row.pattern;
  }
}

TEST(OperationTableTest, MetricsLabelEachOperationOnceThenUnknown) {
  std::set<std::string_view> names;
  for (const Operation& row : Operations()) {
    if (row.name != kUnknownOperation) names.insert(row.name);
  }
  // Constructing builds the router from the table; a clash would abort.
  KeyProtectApi api(ApiServices{}, ApiOptions{});
  EXPECT_EQ(api.metrics().operation_count(), names.size() + 1);
  EXPECT_EQ(api.metrics().OperationIndex("unknown"),
            static_cast<int>(names.size()));
  EXPECT_EQ(api.metrics().OperationIndex("healthz"), 0);
}

TEST(OperationTableTest, IsBlockingPicksTheBlockingRowsOnly) {
  using beast_http::verb;
  EXPECT_TRUE(KeyProtectApi::IsBlocking(
      RequestOf(verb::post, "/api/v2/import_token")));
  EXPECT_TRUE(KeyProtectApi::IsBlocking(
      RequestOf(verb::post, "/api/v2/import_token/?x=1")));
  EXPECT_TRUE(KeyProtectApi::IsBlocking(
      RequestOf(verb::put, "/admin/v1/service_ids/abc/webhook")));
  EXPECT_TRUE(KeyProtectApi::IsBlocking(
      RequestOf(verb::put, "/admin/v1/service_ids/abc/webhook/")));
  EXPECT_FALSE(KeyProtectApi::IsBlocking(
      RequestOf(verb::get, "/api/v2/import_token")));
  EXPECT_FALSE(KeyProtectApi::IsBlocking(
      RequestOf(verb::get, "/admin/v1/service_ids/abc/webhook")));
  EXPECT_FALSE(KeyProtectApi::IsBlocking(
      RequestOf(verb::post, "/api/v2/keys/abc/actions/wrap")));
  EXPECT_FALSE(KeyProtectApi::IsBlocking(
      RequestOf(verb::put, "/admin/v1/service_ids//webhook")));
  EXPECT_FALSE(KeyProtectApi::IsBlocking(RequestOf(verb::post, "/")));
}

}  // namespace
}  // namespace keywarden::api::keyprotect
