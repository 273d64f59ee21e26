#include "keywarden/api/http/access_log.h"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace keywarden::api::http {
namespace {

constexpr size_t kFlushAt = 32 << 10;
constexpr size_t kChunk = 4096;  // PIPE_BUF: atomic writes to a pipe

// "YYYY-MM-DDTHH:MM:SS" of the current second, formatted once per second
// per thread, then ".uuuuuuZ".
void AppendTimestamp(std::string& out) {
  thread_local time_t cached_second = -1;
  thread_local char cached[32];
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    now.time_since_epoch())
                    .count();
  time_t second = static_cast<time_t>(micros / 1000000);
  if (second != cached_second) {
    struct tm tm;
    gmtime_r(&second, &tm);
    strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_second = second;
  }
  char frac[16];
  int n = std::snprintf(frac, sizeof frac, ".%06dZ",
                        static_cast<int>(micros % 1000000));
  out.append(cached);
  out.append(frac, static_cast<size_t>(n));
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void AppendField(std::string& out, std::string_view name,
                 std::string_view value) {
  if (value.empty()) return;
  out.append(",\"");
  out.append(name);
  out.append("\":");
  AppendJsonString(out, value);
}

}  // namespace

std::string FormatAccessEvent(const AccessEvent& e) {
  std::string out;
  out.reserve(256);
  out.append("{\"msg\":\"access\"");
  AppendField(out, "correlation_id", e.correlation_id);
  AppendField(out, "method", e.method);
  AppendField(out, "op", e.op);
  AppendField(out, "principal", e.principal);
  AppendField(out, "instance", e.instance);
  AppendField(out, "key", e.key);
  AppendField(out, "remote", e.remote);
  out.append(",\"status\":");
  out.append(std::to_string(e.status));
  out.append(",\"duration_us\":");
  out.append(std::to_string(e.duration_us));
  out.push_back('}');
  return out;
}

AccessLog::AccessLog(int fd, std::chrono::milliseconds flush_interval)
    : fd_(fd),
      flush_interval_(flush_interval),
      flusher_([this] { RunFlusher(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  flusher_.join();
  Flush();
}

AccessLog::Buffer& AccessLog::ThreadBuffer() {
  // One buffer per (thread, log); I/O threads live as long as the server.
  thread_local const AccessLog* owner = nullptr;
  thread_local Buffer* buffer = nullptr;
  if (owner != this) {
    auto fresh = std::make_unique<Buffer>();
    buffer = fresh.get();
    owner = this;
    absl::MutexLock lock(&registry_mu_);
    buffers_.push_back(std::move(fresh));
  }
  return *buffer;
}

void AccessLog::Write(std::string_view event) {
  Buffer& b = ThreadBuffer();
  absl::MutexLock lock(&b.mu);  // uncontended except against the flusher
  b.data.append("{\"ts\":\"");
  AppendTimestamp(b.data);
  b.data.append("\",\"level\":\"info\",\"event\":");
  b.data.append(event);
  b.data.append("}\n");
  if (b.data.size() >= kFlushAt) WriteOut(b.data);
}

void AccessLog::WriteOut(std::string& data) {
  size_t start = 0;
  while (start < data.size()) {
    size_t end = std::min(data.size(), start + kChunk);
    if (end < data.size()) {
      size_t nl = data.rfind('\n', end - 1);
      if (nl != std::string::npos && nl >= start) end = nl + 1;
    }
    ssize_t n = ::write(fd_, data.data() + start, end - start);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nowhere to log to: drop rather than stall serving
    start += static_cast<size_t>(n);
  }
  data.clear();
}

void AccessLog::Flush() {
  absl::MutexLock registry(&registry_mu_);
  for (const auto& b : buffers_) {
    absl::MutexLock lock(&b->mu);
    if (!b->data.empty()) WriteOut(b->data);
  }
}

void AccessLog::RunFlusher() {
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, flush_interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Flush();
    lock.lock();
  }
}

}  // namespace keywarden::api::http
