#ifndef KEYWARDEN_CLIENT_TRANSPORT_H_
#define KEYWARDEN_CLIENT_TRANSPORT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/net/http_client.h"

// The authenticated JSON transport under the typed Key Protect client: one
// keep-alive connection pool to one server, a bearer token (given, or
// obtained from an API key at POST /identity/token and renewed before it
// expires), retries with backoff, and Key Protect errors as absl::Status.
namespace keywarden::client {

// How a caller authenticates. At most one is set; neither is for the token
// endpoint itself and the health probes.
struct Credentials {
  std::string apikey;  // exchanged at POST /identity/token, renewed
  std::string token;   // used as it is (a JWT or the bootstrap token)
};

// Retries apply to requests the caller marks idempotent (repeating them
// cannot change the outcome), and to nothing else: on a 429 or a 503, and on
// a transport failure (Unavailable: no connection, reset). The wait is the
// server's Retry-After (seconds or an HTTP date) when it sends one, else
// exponential backoff with jitter; a Retry-After beyond max_retry_after is
// not waited for (the error is returned at once).
struct RetryPolicy {
  int max_attempts = 4;  // the first try included; 1 disables retries
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_retry_after{30000};
};

struct TransportOptions {
  net::HttpOptions http;  // TLS (ca_file, insecure), timeout, body limit
  RetryPolicy retry;
  // "now" for token renewal; nullptr: the system clock.
  const Clock* clock = nullptr;
  // Waits between retries; nullptr: std::this_thread::sleep_for. Tests
  // record the waits instead of sleeping.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Keep-alive connections kept idle (the KMS plugin sets it to its
  // concurrency).
  size_t max_idle_connections = 16;
};

// Whether a request may be sent again after a failure that may have reached
// the server.
enum class Idempotency { kIdempotent, kNotIdempotent };

// A request header besides Authorization, Accept and Content-Type.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Transport is thread-safe: any number of threads may call at once, each
// request on a connection of its own. The API key and token are held in
// memory only, wiped on destruction, and never put in a status message.
class Transport {
 public:
  // `addr` as net::ParseEndpoint reads it (http[s]://HOST[:PORT][/PREFIX]).
  static absl::StatusOr<std::unique_ptr<Transport>> Create(
      const std::string& addr, Credentials credentials,
      TransportOptions options);
  Transport(net::Endpoint endpoint, Credentials credentials,
            TransportOptions options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Sends `method target` with the bearer token, `headers` and, when `body`
  // is given, that JSON (Content-Type `content_type`, application/json when
  // empty). A 2xx answer yields its JSON (null when the body is empty, as for
  // 204); any other answer is ErrorFromResponse(). A token from an API key
  // that the server refuses (401) is renewed once and the request repeated.
  absl::StatusOr<boost::json::value> Call(std::string_view method,
                                          const std::string& target,
                                          const boost::json::value* body,
                                          Idempotency idempotency,
                                          const Headers& headers = {},
                                          std::string_view content_type = {});

  // POSTs an application/x-www-form-urlencoded body without a token (the
  // IAM-style POST /identity/token); retried like an idempotent call. The
  // form may hold an API key: it is wiped after sending.
  absl::StatusOr<boost::json::value> PostForm(const std::string& target,
                                              std::string form);

  // The bearer token for the next request: the given one, or one from the
  // API key that is renewed once 80% of its lifetime has passed (and within
  // its last minute, whatever its lifetime). Unauthenticated when there are
  // no credentials.
  absl::StatusOr<std::string> Token();

  const net::Endpoint& endpoint() const { return http_.endpoint(); }
  // Connections opened so far (keep-alive at work: fewer than requests).
  size_t connections_opened() const { return http_.connections_opened(); }

 private:
  // One request with the retry policy applied; returns the last response
  // or transport error.
  absl::StatusOr<net::HttpResponse> SendWithRetries(const net::HttpRequest& req,
                                                    Idempotency idempotency);
  absl::StatusOr<boost::json::value> Decode(const net::HttpResponse& r) const;
  absl::Status RenewToken(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::chrono::milliseconds Backoff(int attempt);
  absl::Time Now() const;

  net::HttpClient http_;
  TransportOptions options_;
  SystemClock system_clock_;

  absl::Mutex mu_;
  std::string apikey_ ABSL_GUARDED_BY(mu_);
  std::string token_ ABSL_GUARDED_BY(mu_);
  bool token_from_apikey_ = false;  // immutable after construction
  absl::Time renew_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time expires_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// RetryAfter reads a Retry-After value (RFC 9110 §10.2.3): delay-seconds,
// or an HTTP date relative to `now`. Absent or unreadable: nullopt.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         absl::Time now);

}  // namespace keywarden::client

#endif  // KEYWARDEN_CLIENT_TRANSPORT_H_
