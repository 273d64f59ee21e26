#include "keywarden/api/http/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"

namespace keywarden::api::http {
namespace {

// Label values for `le`, written out so the rendered text is stable.
constexpr std::array<std::string_view, kLatencyBucketsSeconds.size()>
    kBucketLabels = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                     "0.005",  "0.01",    "0.025",  "0.05",  "0.1",
                     "0.25",   "0.5",     "1",      "2.5",   "5",
                     "10"};

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  auto ok = [](char c, bool first) {
    return absl::ascii_isalpha(c) || c == '_' || c == ':' ||
           (!first && absl::ascii_isdigit(c));
  };
  if (!ok(name[0], true)) return false;
  for (char c : name.substr(1)) {
    if (!ok(c, false)) return false;
  }
  return true;
}

// Label values escape backslash, double quote and newline (format 0.0.4).
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes only backslash and newline.
void AppendHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void AppendHeader(std::string& out, std::string_view name,
                  std::string_view help, std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendHelp(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

// Seconds from integer nanoseconds, exactly: "<s>.<9 digits>".
void AppendNanosAsSeconds(std::string& out, uint64_t nanos) {
  char buf[48];
  int n = std::snprintf(buf, sizeof(buf), "%llu.%09llu",
                        static_cast<unsigned long long>(nanos / 1000000000),
                        static_cast<unsigned long long>(nanos % 1000000000));
  out.append(buf, static_cast<size_t>(n));
}

void AppendCode(std::string& out, int cell, int other_cell) {
  if (cell == other_cell) {
    out += "other";
  } else {
    AppendUint(out, static_cast<uint64_t>(cell + 100));
  }
}

}  // namespace

std::string FormatPrometheusValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, end);
}

HttpMetrics::HttpMetrics(std::vector<std::string> operations) {
  operations_.reserve(operations.size());
  for (std::string& name : operations) {
    auto op = std::make_unique<Operation>();
    op->name = std::move(name);
    operations_.push_back(std::move(op));
  }
}

HttpMetrics::~HttpMetrics() {
  for (auto& op : operations_) {
    for (auto& cell : op->cells) delete cell.load(std::memory_order_relaxed);
  }
}

std::optional<int> HttpMetrics::OperationIndex(
    std::string_view operation) const {
  for (size_t i = 0; i < operations_.size(); ++i) {
    if (operations_[i]->name == operation) return static_cast<int>(i);
  }
  return std::nullopt;
}

void HttpMetrics::RecordRequest(int operation, int status_code,
                                double latency_seconds) {
  if (operation < 0 || static_cast<size_t>(operation) >= operations_.size()) {
    return;
  }
  int index = (status_code >= 100 && status_code <= 599) ? status_code - 100
                                                          : kCodeCells - 1;
  std::atomic<Cell*>& slot = operations_[operation]->cells[index];
  Cell* cell = slot.load(std::memory_order_acquire);
  if (cell == nullptr) {
    // First request with this code: publish a fresh cell; if another thread
    // won the race, use its cell and drop ours.
    auto fresh = std::make_unique<Cell>();
    Cell* expected = nullptr;
    if (slot.compare_exchange_strong(expected, fresh.get(),
                                     std::memory_order_acq_rel)) {
      cell = fresh.release();
    } else {
      cell = expected;
    }
  }
  if (!(latency_seconds >= 0)) latency_seconds = 0;  // also catches NaN
  size_t bucket = 0;
  while (bucket < kLatencyBucketsSeconds.size() &&
         latency_seconds > kLatencyBucketsSeconds[bucket]) {
    ++bucket;
  }
  cell->buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  // Clamp so an absurd value cannot overflow the conversion (~584 years).
  double nanos = std::min(latency_seconds * 1e9, 1.8e19);
  cell->sum_nanos.fetch_add(static_cast<uint64_t>(nanos + 0.5),
                            std::memory_order_relaxed);
}

void HttpMetrics::RecordInstanceRequest(std::string_view instance_id,
                                        int operation, int status_code) {
  if (operation < 0 || operation >= static_cast<int>(operations_.size())) {
    return;
  }
  absl::MutexLock lock(&mu_);
  ++instance_counts_[{std::string(instance_id), operation, status_code}];
}

absl::Status HttpMetrics::AddCallback(std::string name, std::string help,
                                      CallbackType type,
                                      std::function<double()> value) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError("invalid metric name: " + name);
  }
  if (!value) return absl::InvalidArgumentError("empty metric callback");
  if (name == kRequestsName || name == kDurationName ||
      name == kInstanceRequestsName) {
    return absl::AlreadyExistsError("metric name is reserved: " + name);
  }
  absl::MutexLock lock(&mu_);
  for (const Callback& c : callbacks_) {
    if (c.name == name) {
      return absl::AlreadyExistsError("metric already registered: " + name);
    }
  }
  callbacks_.push_back(
      Callback{std::move(name), std::move(help), type, std::move(value)});
  return absl::OkStatus();
}

std::string HttpMetrics::RenderPrometheusText() const {
  std::string out;
  out.reserve(4096);
  constexpr int kOther = kCodeCells - 1;

  AppendHeader(out, kRequestsName, "HTTP requests by operation and status code.",
               "counter");
  for (const auto& op : operations_) {
    for (int i = 0; i < kCodeCells; ++i) {
      const Cell* cell = op->cells[i].load(std::memory_order_acquire);
      if (cell == nullptr) continue;
      uint64_t count = 0;
      for (const auto& b : cell->buckets) {
        count += b.load(std::memory_order_relaxed);
      }
      out += kRequestsName;
      out += "{operation=\"";
      AppendLabelValue(out, op->name);
      out += "\",code=\"";
      AppendCode(out, i, kOther);
      out += "\"} ";
      AppendUint(out, count);
      out += '\n';
    }
  }

  AppendHeader(out, kDurationName,
               "HTTP request latency by operation and status code.",
               "histogram");
  for (const auto& op : operations_) {
    for (int i = 0; i < kCodeCells; ++i) {
      const Cell* cell = op->cells[i].load(std::memory_order_acquire);
      if (cell == nullptr) continue;
      std::string labels = "operation=\"";
      AppendLabelValue(labels, op->name);
      labels += "\",code=\"";
      AppendCode(labels, i, kOther);
      labels += '"';
      uint64_t cumulative = 0;
      for (size_t b = 0; b <= kLatencyBucketsSeconds.size(); ++b) {
        cumulative += cell->buckets[b].load(std::memory_order_relaxed);
        out += kDurationName;
        out += "_bucket{";
        out += labels;
        out += ",le=\"";
        out += b < kBucketLabels.size() ? kBucketLabels[b] : "+Inf";
        out += "\"} ";
        AppendUint(out, cumulative);
        out += '\n';
      }
      out += kDurationName;
      out += "_sum{";
      out += labels;
      out += "} ";
      AppendNanosAsSeconds(out, cell->sum_nanos.load(std::memory_order_relaxed));
      out += '\n';
      out += kDurationName;
      out += "_count{";
      out += labels;
      out += "} ";
      AppendUint(out, cumulative);
      out += '\n';
    }
  }

  absl::MutexLock lock(&mu_);
  if (!instance_counts_.empty()) {
    AppendHeader(out, kInstanceRequestsName,
                 "Requests of instances whose metrics policy is enabled, by "
                 "operation and status code.",
                 "counter");
    for (const auto& [k, count] : instance_counts_) {
      const auto& [instance, op, code] = k;
      out += kInstanceRequestsName;
      out += "{instance=\"";
      AppendLabelValue(out, instance);
      out += "\",operation=\"";
      AppendLabelValue(out, operations_[op]->name);
      out += "\",code=\"";
      out += std::to_string(code);
      out += "\"} ";
      AppendUint(out, count);
      out += '\n';
    }
  }
  for (const Callback& c : callbacks_) {
    AppendHeader(out, c.name, c.help,
                 c.type == CallbackType::kGauge ? "gauge" : "counter");
    out += c.name;
    out += ' ';
    out += FormatPrometheusValue(c.value());
    out += '\n';
  }
  return out;
}

}  // namespace keywarden::api::http
