#ifndef KEYWARDEN_API_HTTP_METRICS_H_
#define KEYWARDEN_API_HTTP_METRICS_H_

// Prometheus metrics for the HTTP API: per (operation, status code) request
// counters and latency histograms, plus callback metrics (cache size, seal
// state) read at scrape time. Rendered in the text exposition format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace keywarden::api::http {

// Upper bounds (seconds) of the latency histogram buckets, +Inf implied.
inline constexpr std::array<double, 16> kLatencyBucketsSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};

// The HTTP request metrics of one process.
//
// Operations are fixed at construction (the route table knows them), so the
// hot path indexes a pre-allocated per-operation array by operation index and
// status code: no map lookup, no lock, a few relaxed atomic adds. The
// (operation, code) cell is allocated on the first request with that code and
// published with a CAS, so memory is spent only on codes that occur.
//
// Thread-safety: RecordRequest is lock-free and may be called from any
// thread. AddCallback and RenderPrometheusText take an internal mutex (never
// taken by RecordRequest). A render concurrent with recording sees each
// counter atomically but not a snapshot across counters, which Prometheus
// tolerates.
class HttpMetrics {
 public:
  // `operations` are label values such as "wrap_key"; they must be unique.
  explicit HttpMetrics(std::vector<std::string> operations);
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // Index for RecordRequest, or nullopt for an unknown name. Resolve once at
  // start-up, not per request.
  std::optional<int> OperationIndex(std::string_view operation) const;
  size_t operation_count() const { return operations_.size(); }

  // Counts one finished request. An out-of-range `operation` is ignored (a
  // metrics bug must not fail a request); a status code outside 100..599 is
  // counted under code="other".
  void RecordRequest(int operation, int status_code, double latency_seconds);

  // Counts one request of an instance whose metrics policy is enabled
  // (keyprotect-api.md §7.2), as keywarden_instance_requests_total{instance,
  // operation, code}. Takes a mutex: only metered instances pay for it.
  void RecordInstanceRequest(std::string_view instance_id, int operation,
                             int status_code);

  enum class CallbackType { kGauge, kCounter };
  // Registers a metric whose value is read by calling `value` at render time
  // (e.g. cache size, seal state, cache hits kept elsewhere). `name` must be a
  // valid Prometheus metric name and unique in this registry; `value` must be
  // thread-safe and must not call back into this object.
  absl::Status AddCallback(std::string name, std::string help,
                           CallbackType type, std::function<double()> value);
  absl::Status AddGauge(std::string name, std::string help,
                        std::function<double()> value) {
    return AddCallback(std::move(name), std::move(help), CallbackType::kGauge,
                       std::move(value));
  }

  // The whole registry in text format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4; charset=utf-8"). Families appear in a fixed
  // order; within a family series are ordered by operation, then code.
  std::string RenderPrometheusText() const;

  static constexpr std::string_view kContentType =
      "text/plain; version=0.0.4; charset=utf-8";
  static constexpr std::string_view kRequestsName =
      "keywarden_http_requests_total";
  static constexpr std::string_view kDurationName =
      "keywarden_http_request_duration_seconds";
  static constexpr std::string_view kInstanceRequestsName =
      "keywarden_instance_requests_total";

 private:
  // Codes 100..599 map to cells 0..499; anything else to the last cell.
  static constexpr int kCodeCells = 501;

  struct Cell {
    // Non-cumulative bucket counts; the last one is +Inf. Cumulated at render.
    std::array<std::atomic<uint64_t>, kLatencyBucketsSeconds.size() + 1>
        buckets{};
    // Integer nanoseconds so the sum is a plain fetch_add, not a CAS loop.
    std::atomic<uint64_t> sum_nanos{0};
  };
  struct Operation {
    std::string name;
    std::array<std::atomic<Cell*>, kCodeCells> cells{};
  };
  struct Callback {
    std::string name;
    std::string help;
    CallbackType type;
    std::function<double()> value;
  };

  std::vector<std::unique_ptr<Operation>> operations_;
  mutable absl::Mutex mu_;
  std::vector<Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  // (instance, operation, code) -> count, ordered for rendering.
  absl::btree_map<std::tuple<std::string, int, int>, uint64_t> instance_counts_
      ABSL_GUARDED_BY(mu_);
};

// Formats a sample value as Prometheus expects: shortest round-trip decimal,
// "+Inf", "-Inf", "NaN". Exposed for tests.
std::string FormatPrometheusValue(double value);

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_METRICS_H_
