#include "keywarden/service/auth_failures.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

class AuthFailureLogTest : public ::testing::Test {
 protected:
  RequestContext From(std::string address, std::string correlation) {
    RequestContext ctx;
    ctx.source_address = std::move(address);
    ctx.correlation_id = std::move(correlation);
    return ctx;
  }
  std::vector<iam::AuditRecord> Records() {
    auto records = store_.ListAudit(0, 1000);
    EXPECT_TRUE(records.ok());
    return records.ok() ? *records : std::vector<iam::AuditRecord>{};
  }

  // 12:00:10 UTC, so a bucket boundary is 50 s away.
  FakeClock clock_{absl::FromUnixSeconds(1767225600 + 10)};
  store::InMemoryStore store_;
};

TEST_F(AuthFailureLogTest, FailuresOfAMinuteBecomeOneRecordPerAddress) {
  AuthFailureLog log(&store_, &clock_);
  for (int i = 0; i < 50; ++i) {
    log.Record(From("10.0.0.1", "c" + std::to_string(i)), "list_keys: UNAUTHORIZED_ERR");
    clock_.Advance(absl::Milliseconds(500));
  }
  log.Record(From("10.0.0.2", "other"), "get_key: UNAUTHORIZED_ERR");
  // Nothing is written while the minute runs: no write per failure.
  EXPECT_EQ(log.Flush(), 0);
  EXPECT_TRUE(Records().empty());
  EXPECT_EQ(log.pending(), 2u);

  clock_.Advance(absl::Seconds(30));  // into the next minute
  EXPECT_EQ(log.Flush(), 2);
  std::vector<iam::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 2u);
  const iam::AuditRecord* one = nullptr;
  for (const auto& r : records) {
    EXPECT_EQ(r.action, "auth.failure");
    EXPECT_EQ(r.outcome, iam::AuditOutcome::kFailure);
    EXPECT_EQ(r.actor, "anonymous");
    if (r.source_address == "10.0.0.1") one = &r;
  }
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->target, "address:10.0.0.1");
  EXPECT_EQ(one->correlation_id, "c0");
  EXPECT_NE(one->details.find("50 failed authentications"), std::string::npos)
      << one->details;
  EXPECT_NE(one->details.find("first 2026-01-01T00:00:10Z"), std::string::npos)
      << one->details;
  EXPECT_NE(one->details.find("(correlation c0)"), std::string::npos);
  EXPECT_NE(one->details.find("last 2026-01-01T00:00:34Z"), std::string::npos)
      << one->details;
  EXPECT_NE(one->details.find("(correlation c49)"), std::string::npos);
  EXPECT_EQ(log.pending(), 0u);
  EXPECT_EQ(log.Flush(), 0);
  EXPECT_TRUE(store_.VerifyAuditChain().ok());
}

TEST_F(AuthFailureLogTest, ANewMinuteStartsANewRecord) {
  AuthFailureLog log(&store_, &clock_);
  log.Record(From("10.0.0.1", "a"), "x");
  clock_.Advance(absl::Minutes(1));
  log.Record(From("10.0.0.1", "b"), "x");  // ends the first bucket
  EXPECT_EQ(log.Flush(), 1);
  EXPECT_EQ(log.Flush(/*all=*/true), 1);  // shutdown writes the open one
  ASSERT_EQ(Records().size(), 2u);
  EXPECT_EQ(Records()[0].correlation_id, "a");
  EXPECT_NE(Records()[0].details.find("1 failed authentication from"),
            std::string::npos);
  EXPECT_EQ(Records()[1].correlation_id, "b");
}

TEST_F(AuthFailureLogTest, ThrottlesAnAddressPastTheLimitOnly) {
  AuthFailureLog log(&store_, &clock_, {.max_failures_per_minute = 5});
  for (int i = 0; i < 4; ++i) log.Record(From("10.0.0.1", "c"), "x");
  EXPECT_FALSE(log.RetryAfter("10.0.0.1").has_value());
  log.Record(From("10.0.0.1", "c"), "x");
  std::optional<absl::Duration> wait = log.RetryAfter("10.0.0.1");
  ASSERT_TRUE(wait.has_value());
  EXPECT_GT(*wait, absl::ZeroDuration());
  EXPECT_LE(*wait, absl::Minutes(1));
  EXPECT_FALSE(log.RetryAfter("10.0.0.2").has_value());
  clock_.Advance(absl::Seconds(61));
  EXPECT_FALSE(log.RetryAfter("10.0.0.1").has_value());
}

TEST_F(AuthFailureLogTest, MemoryIsBoundedByAnOverflowBucket) {
  AuthFailureLog log(&store_, &clock_, {.max_pending_addresses = 2});
  for (int i = 0; i < 10; ++i) {
    log.Record(From("10.0.1." + std::to_string(i), "c"), "x");
  }
  EXPECT_EQ(log.pending(), 3u);  // two addresses and the overflow
  EXPECT_EQ(log.Flush(/*all=*/true), 3);
  bool overflow = false;
  for (const auto& r : Records()) {
    if (r.source_address == AuthFailureLog::kOverflowAddress) {
      overflow = true;
      EXPECT_NE(r.details.find("8 failed authentications"), std::string::npos)
          << r.details;
    }
  }
  EXPECT_TRUE(overflow);
}

}  // namespace
}  // namespace keywarden::service
