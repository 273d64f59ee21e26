#ifndef KEYWARDEN_API_HTTP_ACCESS_LOG_H_
#define KEYWARDEN_API_HTTP_ACCESS_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace keywarden::api::http {

// What the access-log line of one request says: enough to attribute every
// operation (who, on which instance and key, what, from where, with what
// outcome) and nothing secret. There is deliberately no field for headers,
// the query or a body, which carry tokens, API keys, plaintext and
// ciphertext; ids are public (they are in URLs and audit records).
struct AccessEvent {
  std::string_view correlation_id;
  std::string_view method;
  std::string_view op;         // the operation's metric name, "wrap_key"
  std::string_view principal;  // "" before authentication
  std::string_view instance;   // "" when the route has none
  std::string_view key;        // the key id or alias of the path, or ""
  std::string_view remote;     // the peer's IP address
  int status = 0;
  int64_t duration_us = 0;
};

// The event as a JSON object's text (strings escaped, so a hostile path
// segment cannot forge fields or lines); empty strings are omitted.
std::string FormatAccessEvent(const AccessEvent& event);

// AccessLog writes one JSON line per request, in the same shape as the
// server's other log lines ({"ts":…,"level":"info","event":{…}}), without a
// system call or a thread hand-off per request: each thread appends to its
// own buffer, which is written out (in line-aligned chunks of at most 4 KiB,
// so lines never interleave on a pipe) when it holds 32 KiB, and by a
// flusher thread at least every `flush_interval`. A kill -9 can lose the
// last interval of access log; audit records are in the database, not here.
// Thread-safe.
class AccessLog {
 public:
  explicit AccessLog(int fd = 2,
                     std::chrono::milliseconds flush_interval =
                         std::chrono::seconds(1));
  ~AccessLog();  // flushes everything
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Appends one line; `event` is a JSON object's text.
  void Write(std::string_view event);
  void Flush();

 private:
  struct Buffer {
    absl::Mutex mu;
    std::string data ABSL_GUARDED_BY(mu);
  };
  Buffer& ThreadBuffer();
  void WriteOut(std::string& data);
  void RunFlusher();

  const int fd_;
  const std::chrono::milliseconds flush_interval_;
  absl::Mutex registry_mu_;
  std::vector<std::unique_ptr<Buffer>> buffers_ ABSL_GUARDED_BY(registry_mu_);
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_ACCESS_LOG_H_
