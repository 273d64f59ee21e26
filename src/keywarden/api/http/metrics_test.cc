#include "keywarden/api/http/metrics.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keywarden::api::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FormatPrometheusValueTest, ShortestRoundTripAndSpecials) {
  EXPECT_EQ(FormatPrometheusValue(3), "3");
  EXPECT_EQ(FormatPrometheusValue(0.25), "0.25");
  EXPECT_EQ(FormatPrometheusValue(123456789), "123456789");
  EXPECT_EQ(FormatPrometheusValue(-1.5), "-1.5");
  EXPECT_EQ(FormatPrometheusValue(std::numeric_limits<double>::infinity()),
            "+Inf");
  EXPECT_EQ(FormatPrometheusValue(-std::numeric_limits<double>::infinity()),
            "-Inf");
  EXPECT_EQ(FormatPrometheusValue(std::nan("")), "NaN");
}

TEST(HttpMetricsTest, OperationIndexResolvesKnownNames) {
  HttpMetrics m({"wrap_key", "unwrap_key"});
  EXPECT_EQ(m.operation_count(), 2u);
  EXPECT_EQ(m.OperationIndex("wrap_key"), 0);
  EXPECT_EQ(m.OperationIndex("unwrap_key"), 1);
  EXPECT_FALSE(m.OperationIndex("nope").has_value());
}

TEST(HttpMetricsTest, EmptyRegistryRendersHeadersOnly) {
  HttpMetrics m({"wrap_key"});
  EXPECT_EQ(m.RenderPrometheusText(),
            "# HELP keywarden_http_requests_total HTTP requests by operation "
            "and status code.\n"
            "# TYPE keywarden_http_requests_total counter\n"
            "# HELP keywarden_http_request_duration_seconds HTTP request "
            "latency by operation and status code.\n"
            "# TYPE keywarden_http_request_duration_seconds histogram\n");
}

TEST(HttpMetricsTest, RenderGolden) {
  HttpMetrics m({"wrap_key", "get_key"});
  int wrap = *m.OperationIndex("wrap_key");
  m.RecordRequest(wrap, 200, 0.0002);  // bucket le=0.00025
  m.RecordRequest(wrap, 200, 0.003);   // bucket le=0.005
  m.RecordRequest(wrap, 200, 42);      // +Inf only
  m.RecordRequest(wrap, 422, 0.0001);  // exactly on a bound: le=0.0001
  ASSERT_TRUE(m.AddGauge("keywarden_key_cache_entries", "Unwrapped key "
                         "versions in the cache.", [] { return 7.0; })
                  .ok());
  ASSERT_TRUE(m.AddCallback("keywarden_key_cache_hits_total", "Cache hits.",
                            HttpMetrics::CallbackType::kCounter,
                            [] { return 12345.0; })
                  .ok());

  auto bucket_lines = [](std::string_view code,
                         const std::vector<int>& cumulative) {
    static constexpr std::string_view kLe[] = {
        "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
        "0.01",   "0.025",   "0.05",   "0.1",   "0.25",   "0.5",
        "1",      "2.5",     "5",      "10",    "+Inf"};
    std::string out;
    for (size_t i = 0; i < 17; ++i) {
      out += "keywarden_http_request_duration_seconds_bucket{operation=\""
             "wrap_key\",code=\"";
      out += code;
      out += "\",le=\"";
      out += kLe[i];
      out += "\"} " + std::to_string(cumulative[i]) + "\n";
    }
    return out;
  };

  std::string expected =
      "# HELP keywarden_http_requests_total HTTP requests by operation and "
      "status code.\n"
      "# TYPE keywarden_http_requests_total counter\n"
      "keywarden_http_requests_total{operation=\"wrap_key\",code=\"200\"} 3\n"
      "keywarden_http_requests_total{operation=\"wrap_key\",code=\"422\"} 1\n"
      "# HELP keywarden_http_request_duration_seconds HTTP request latency "
      "by operation and status code.\n"
      "# TYPE keywarden_http_request_duration_seconds histogram\n";
  expected += bucket_lines(
      "200", {0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3});
  expected +=
      "keywarden_http_request_duration_seconds_sum{operation=\"wrap_key\","
      "code=\"200\"} 42.003200000\n"
      "keywarden_http_request_duration_seconds_count{operation=\"wrap_key\","
      "code=\"200\"} 3\n";
  expected += bucket_lines(
      "422", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  expected +=
      "keywarden_http_request_duration_seconds_sum{operation=\"wrap_key\","
      "code=\"422\"} 0.000100000\n"
      "keywarden_http_request_duration_seconds_count{operation=\"wrap_key\","
      "code=\"422\"} 1\n"
      "# HELP keywarden_key_cache_entries Unwrapped key versions in the "
      "cache.\n"
      "# TYPE keywarden_key_cache_entries gauge\n"
      "keywarden_key_cache_entries 7\n"
      "# HELP keywarden_key_cache_hits_total Cache hits.\n"
      "# TYPE keywarden_key_cache_hits_total counter\n"
      "keywarden_key_cache_hits_total 12345\n";
  EXPECT_EQ(m.RenderPrometheusText(), expected);
}

TEST(HttpMetricsTest, OddStatusCodesGoToOther) {
  HttpMetrics m({"op"});
  m.RecordRequest(0, 99, 0.001);
  m.RecordRequest(0, 600, 0.001);
  m.RecordRequest(0, 599, 0.001);
  std::string text = m.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("keywarden_http_requests_total{operation=\"op\","
                              "code=\"other\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("keywarden_http_requests_total{operation=\"op\","
                              "code=\"599\"} 1\n"));
}

TEST(HttpMetricsTest, BadOperationIndexAndLatencyIgnoredSafely) {
  HttpMetrics m({"op"});
  m.RecordRequest(-1, 200, 0.1);
  m.RecordRequest(1, 200, 0.1);
  m.RecordRequest(0, 200, -5);            // clamped to 0
  m.RecordRequest(0, 200, std::nan(""));  // clamped to 0
  m.RecordRequest(0, 200, 1e300);         // does not overflow the sum
  std::string text = m.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("keywarden_http_requests_total{operation=\"op\","
                              "code=\"200\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("code=\"200\",le=\"0.0001\"} 2\n"));
}

TEST(HttpMetricsTest, LabelValuesAndHelpAreEscaped) {
  HttpMetrics m({"a\"b\\c\nd"});
  m.RecordRequest(0, 200, 0);
  ASSERT_TRUE(m.AddGauge("g", "line1\nback\\slash \"q\"", [] { return 1; })
                  .ok());
  std::string text = m.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("{operation=\"a\\\"b\\\\c\\nd\",code=\"200\"}"));
  EXPECT_THAT(text, HasSubstr("# HELP g line1\\nback\\\\slash \"q\"\n"));
}

TEST(HttpMetricsTest, AddCallbackValidates) {
  HttpMetrics m({"op"});
  EXPECT_EQ(m.AddGauge("", "h", [] { return 1; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.AddGauge("1abc", "h", [] { return 1; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.AddGauge("a-b", "h", [] { return 1; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.AddGauge("ok", "h", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(m.AddGauge("ns:ok_1", "h", [] { return 1; }).ok());
  EXPECT_EQ(m.AddGauge("ns:ok_1", "h", [] { return 1; }).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(m.AddGauge("keywarden_http_requests_total", "h", [] { return 1; })
                .code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(HttpMetricsTest, GaugeReadAtRenderTime) {
  HttpMetrics m({});
  double sealed = 1;
  ASSERT_TRUE(m.AddGauge("keywarden_sealed", "1 if sealed.",
                         [&sealed] { return sealed; })
                  .ok());
  EXPECT_THAT(m.RenderPrometheusText(), HasSubstr("\nkeywarden_sealed 1\n"));
  sealed = 0;
  EXPECT_THAT(m.RenderPrometheusText(), HasSubstr("\nkeywarden_sealed 0\n"));
  EXPECT_THAT(m.RenderPrometheusText(), Not(HasSubstr("\nkeywarden_sealed 1\n")));
}

TEST(HttpMetricsTest, ConcurrentRecordingLosesNothing) {
  HttpMetrics m({"a", "b"});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kPerThread; ++i) {
        m.RecordRequest(i % 2, 200 + (i % 3), 0.001 * t);
      }
    });
  }
  std::thread renderer([&m] {
    for (int i = 0; i < 20; ++i) (void)m.RenderPrometheusText();
  });
  for (auto& th : threads) th.join();
  renderer.join();
  std::string text = m.RenderPrometheusText();
  // 20000 requests over 2 ops x 3 codes; i%2 and i%3 cover all 6 pairs of a
  // 6-cycle evenly: 5000/6 rounds down, so check the total instead.
  uint64_t total = 0;
  size_t pos = 0;
  const std::string prefix = "keywarden_http_requests_total{";
  while ((pos = text.find(prefix, pos)) != std::string::npos) {
    size_t space = text.find("} ", pos);
    size_t eol = text.find('\n', space);
    total += std::stoull(text.substr(space + 2, eol - space - 2));
    pos = eol;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace keywarden::api::http
