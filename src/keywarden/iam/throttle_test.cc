#include "keywarden/iam/throttle.h"

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "keywarden/common/clock.h"

namespace keywarden::iam {
namespace {

FailureThrottle::Options Limit(int n, absl::Duration window,
                               size_t max_keys = 100) {
  return {.max_failures = n, .window = window, .max_tracked_keys = max_keys};
}

TEST(FailureThrottleTest, DefaultsMatchTheContract) {
  EXPECT_EQ(FailureThrottle::ApiKeyPrefixOptions().max_failures, 5);
  EXPECT_EQ(FailureThrottle::ApiKeyPrefixOptions().window, absl::Minutes(1));
  EXPECT_EQ(FailureThrottle::SourceAddressOptions().max_failures, 20);
  EXPECT_EQ(FailureThrottle::SourceAddressOptions().window, absl::Minutes(1));
}

TEST(FailureThrottleTest, UnknownKeyMayTry) {
  FailureThrottle throttle;
  EXPECT_EQ(throttle.RetryAfter("kwk_00000000", FakeClock().Now()),
            std::nullopt);
}

TEST(FailureThrottleTest, BlocksAtTheLimitAndNotBefore) {
  FakeClock clock;
  FailureThrottle throttle(FailureThrottle::ApiKeyPrefixOptions());
  for (int i = 0; i < 4; ++i) {
    throttle.RecordFailure("kwk_ab12cd34", clock.Now());
    EXPECT_EQ(throttle.RetryAfter("kwk_ab12cd34", clock.Now()), std::nullopt)
        << i;
    clock.Advance(absl::Seconds(1));
  }
  throttle.RecordFailure("kwk_ab12cd34", clock.Now());  // 5th, at t0 + 4 s
  // The first failure (t0) leaves the window at t0 + 60 s: 56 s from now.
  EXPECT_EQ(throttle.RetryAfter("kwk_ab12cd34", clock.Now()),
            absl::Seconds(56));
  // Other keys are not affected.
  EXPECT_EQ(throttle.RetryAfter("kwk_ffffffff", clock.Now()), std::nullopt);
}

TEST(FailureThrottleTest, WindowSlides) {
  FakeClock clock;
  const absl::Time t0 = clock.Now();
  FailureThrottle throttle(Limit(3, absl::Minutes(1)));
  throttle.RecordFailure("k", t0);
  throttle.RecordFailure("k", t0 + absl::Seconds(30));
  throttle.RecordFailure("k", t0 + absl::Seconds(40));
  EXPECT_EQ(throttle.RetryAfter("k", t0 + absl::Seconds(40)),
            absl::Seconds(20));
  EXPECT_EQ(throttle.RetryAfter("k", t0 + absl::Seconds(59)),
            absl::Seconds(1));
  // At t0 + 60 s the first failure is out: two left, below the limit.
  EXPECT_EQ(throttle.RetryAfter("k", t0 + absl::Seconds(60)), std::nullopt);
  // One more failure blocks again until the t0 + 30 s failure leaves.
  throttle.RecordFailure("k", t0 + absl::Seconds(61));
  EXPECT_EQ(throttle.RetryAfter("k", t0 + absl::Seconds(61)),
            absl::Seconds(29));
  // Long after, everything has left the window.
  EXPECT_EQ(throttle.RetryAfter("k", t0 + absl::Minutes(5)), std::nullopt);
}

TEST(FailureThrottleTest, ContinuedFailuresKeepTheKeyBlocked) {
  FakeClock clock;
  FailureThrottle throttle(Limit(5, absl::Minutes(1)));
  for (int i = 0; i < 600; ++i) {
    throttle.RecordFailure("k", clock.Now());
    clock.Advance(absl::Seconds(1));
    if (i >= 4) {
      auto wait = throttle.RetryAfter("k", clock.Now());
      ASSERT_TRUE(wait.has_value()) << i;
      EXPECT_GT(*wait, absl::ZeroDuration());
      EXPECT_LE(*wait, absl::Minutes(1));
    }
  }
}

TEST(FailureThrottleTest, ResetForgetsTheKey) {
  FakeClock clock;
  FailureThrottle throttle(Limit(2, absl::Minutes(1)));
  throttle.RecordFailure("k", clock.Now());
  throttle.RecordFailure("k", clock.Now());
  ASSERT_TRUE(throttle.RetryAfter("k", clock.Now()).has_value());
  throttle.Reset("k");
  EXPECT_EQ(throttle.RetryAfter("k", clock.Now()), std::nullopt);
  EXPECT_EQ(throttle.tracked_keys(), 0u);
  throttle.Reset("never-seen");  // no-op
}

TEST(FailureThrottleTest, EvictsTheLeastRecentlyFailedKeyAtTheCap) {
  FakeClock clock;
  FailureThrottle throttle(Limit(1, absl::Minutes(10), /*max_keys=*/3));
  throttle.RecordFailure("a", clock.Now());
  clock.Advance(absl::Seconds(1));
  throttle.RecordFailure("b", clock.Now());
  clock.Advance(absl::Seconds(1));
  throttle.RecordFailure("c", clock.Now());
  clock.Advance(absl::Seconds(1));
  // "a" fails again: now "b" is the oldest.
  throttle.RecordFailure("a", clock.Now());
  clock.Advance(absl::Seconds(1));
  throttle.RecordFailure("d", clock.Now());
  EXPECT_EQ(throttle.tracked_keys(), 3u);
  EXPECT_EQ(throttle.RetryAfter("b", clock.Now()), std::nullopt);
  EXPECT_TRUE(throttle.RetryAfter("a", clock.Now()).has_value());
  EXPECT_TRUE(throttle.RetryAfter("c", clock.Now()).has_value());
  EXPECT_TRUE(throttle.RetryAfter("d", clock.Now()).has_value());
}

TEST(FailureThrottleTest, MemoryStaysBoundedUnderASpray) {
  FakeClock clock;
  FailureThrottle throttle(Limit(5, absl::Minutes(1), /*max_keys=*/1000));
  for (int i = 0; i < 20000; ++i) {
    throttle.RecordFailure("addr-" + std::to_string(i), clock.Now());
  }
  EXPECT_EQ(throttle.tracked_keys(), 1000u);
  // One key hammered keeps at most max_failures timestamps (checked by its
  // behaviour: it unblocks one window after its 5th-newest failure).
  for (int i = 0; i < 10000; ++i) throttle.RecordFailure("hot", clock.Now());
  EXPECT_EQ(throttle.RetryAfter("hot", clock.Now()), absl::Minutes(1));
}

TEST(FailureThrottleTest, ExpiredKeysAreDroppedAsTimePasses) {
  FakeClock clock;
  FailureThrottle throttle(Limit(5, absl::Minutes(1)));
  for (int i = 0; i < 50; ++i) {
    throttle.RecordFailure("k" + std::to_string(i), clock.Now());
  }
  clock.Advance(absl::Minutes(2));
  throttle.RecordFailure("fresh", clock.Now());
  EXPECT_EQ(throttle.tracked_keys(), 1u);
}

TEST(FailureThrottleTest, NonsenseOptionsAreRaisedToTheMinimum) {
  FakeClock clock;
  FailureThrottle throttle(Limit(0, absl::ZeroDuration(), 0));
  throttle.RecordFailure("k", clock.Now());
  auto wait = throttle.RetryAfter("k", clock.Now());
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Seconds(1));
}

TEST(FailureThrottleTest, ClockSteppingBackStillGivesABoundedWait) {
  FakeClock clock;
  const absl::Time t0 = clock.Now();
  FailureThrottle throttle(Limit(1, absl::Minutes(1)));
  throttle.RecordFailure("k", t0);
  auto wait = throttle.RetryAfter("k", t0 - absl::Hours(1));
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, absl::Minutes(1));
}

TEST(FailureThrottleTest, ThreadSafeUnderConcurrentUse) {
  FakeClock clock;
  FailureThrottle throttle(Limit(5, absl::Minutes(1), 64));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = "k" + std::to_string((i * 7 + t) % 100);
        throttle.RecordFailure(key, clock.Now());
        (void)throttle.RetryAfter(key, clock.Now());
        if (i % 13 == 0) throttle.Reset(key);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(throttle.tracked_keys(), 64u);
}

}  // namespace
}  // namespace keywarden::iam
