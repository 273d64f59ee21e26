#ifndef KEYWARDEN_CLI_HTTP_CLIENT_H_
#define KEYWARDEN_CLI_HTTP_CLIENT_H_

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace keywarden::cli {

// Endpoint is a parsed --addr: scheme, host and port, and an optional path
// prefix (for a server behind a reverse proxy under /kms, say).
struct Endpoint {
  bool tls = false;
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // always set (80/443 when the address has none)
  std::string prefix;  // "" or "/something" without a trailing slash

  // The address as the user would write it, for messages and the token cache.
  std::string Display() const;
};

// ParseEndpoint accepts http://HOST[:PORT][/PREFIX] and https://…; anything
// else (other schemes, user info, queries, no host) is InvalidArgument.
absl::StatusOr<Endpoint> ParseEndpoint(const std::string& addr);

struct HttpRequest {
  std::string method;  // "GET", "POST", "DELETE"
  std::string target;  // path and query, without the endpoint prefix
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // sent with Content-Length when non-empty
};

struct HttpResponse {
  int status = 0;
  std::string body;
};

struct HttpOptions {
  bool insecure = false;  // skip certificate and host name verification
  std::chrono::milliseconds timeout{30000};  // whole request, connect to body
  std::size_t max_body_bytes = 16 << 20;
};

// Send performs one request on a new connection (Connection: close) and
// returns the response, whatever its status. Transport failures (resolve,
// connect, TLS verification, timeout, malformed response) are Unavailable or
// DeadlineExceeded with a message naming the endpoint, never the request's
// headers or body. Not thread-safe per call; calls are independent.
absl::StatusOr<HttpResponse> Send(const Endpoint& endpoint,
                                  const HttpRequest& request,
                                  const HttpOptions& options);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_HTTP_CLIENT_H_
