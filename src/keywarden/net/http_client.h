#ifndef KEYWARDEN_NET_HTTP_CLIENT_H_
#define KEYWARDEN_NET_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

// A small blocking HTTP/1.1 (+TLS) client, bounded in time and response size:
// Send() makes one request on a connection of its own (webhook delivery), an
// HttpClient keeps connections to one endpoint alive between requests (the
// typed Key Protect client in client/, under the CLI and the integrations).
// It knows nothing of its callers (no JSON, no Key Protect), and depends on
// common only.
namespace keywarden::net {

// Endpoint is a parsed base address: scheme, host and port, and an optional
// path prefix (for a server behind a reverse proxy under /kms, say). It is a
// plain struct, so a caller with its own URL parser may fill it directly.
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
  // Sent after Host, User-Agent and Connection; each replaces any earlier
  // header of the same name, those three included (a webhook sender may set
  // its own User-Agent, say), so a name is sent at most once.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;    // sent with Content-Length when non-empty, or for POST/PUT
};

struct HttpResponse {
  int status = 0;  // whatever the server answered, 1xx-5xx
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;

  // The value of the first header named `name` (any case), "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpOptions {
  bool insecure = false;  // skip certificate and host name verification
  // PEM file of the certificate authorities to trust for https, instead of
  // the system store (SSL_CERT_FILE / SSL_CERT_DIR). A file that cannot be
  // read fails every request with InvalidArgument naming it.
  std::string ca_file;
  // One deadline for the whole request: name resolution, connect, TLS
  // handshake, writing the request and reading the response.
  std::chrono::milliseconds timeout{30000};
  std::size_t max_body_bytes = 16 << 20;  // larger responses are Unavailable
  std::string user_agent = "keywarden/0.1";
  // Appended in parentheses to the "not trusted" error of a certificate that
  // fails verification: how the caller's user can proceed.
  std::string untrusted_certificate_hint;
  // When set, called with every address the host resolves to, before any
  // connection, and again with the address actually connected to, before a
  // byte is sent (a name can resolve differently the second time, and a
  // connection can go elsewhere than asked). A non-OK status ends the request
  // with that status. Webhook delivery uses it to refuse private and
  // cloud-metadata destinations (net/address_policy.h).
  std::function<absl::Status(std::string_view ip)> check_address;
};

// Send performs one request on a new connection (Connection: close) and
// returns the response, whatever its status: a 404 or 500 is a response,
// not an error. Transport failures (resolve, connect, TLS verification,
// malformed or oversized response) are Unavailable, an expired timeout is
// DeadlineExceeded, each with a message naming the endpoint, never the
// request's headers or body. Blocks the calling thread for up to
// options.timeout: call it from a thread that may block,
// never from a server I/O thread. Calls are independent and may run on many
// threads at once; each uses its own io_context.
absl::StatusOr<HttpResponse> Send(const Endpoint& endpoint,
                                  const HttpRequest& request,
                                  const HttpOptions& options);

// HttpClient sends requests to one endpoint over HTTP/1.1 keep-alive
// connections: a request takes an idle connection when there is one and
// gives it back after a complete response that the server did not mark
// `Connection: close`; otherwise it opens a new one, as Send() does. At most
// `max_idle` connections wait, each for at most `max_idle_time` (below the
// server's own idle timeout, 60 s for Keywarden), so that a request rarely
// meets a connection the server is closing.
//
// A kept connection that the server has closed meanwhile is noticed before
// it is used (a zero-byte peek); one that fails anyway before any byte of
// the response arrived is retried once on a new connection, but only when
// the caller says the request may be repeated (`idempotent`), since the
// server may have acted on it.
//
// Errors are those of Send(). Thread-safe: many threads may send at once,
// each on a connection of its own; a connection is used by one request at a
// time. The TLS context is built once, at the first request.
class HttpClient {
 public:
  HttpClient(Endpoint endpoint, HttpOptions options, size_t max_idle = 16,
             std::chrono::milliseconds max_idle_time = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request,
                                    bool idempotent);

  const Endpoint& endpoint() const { return endpoint_; }
  const HttpOptions& options() const { return options_; }

  // Connections opened so far (for tests and metrics: keep-alive at work
  // shows as fewer connections than requests).
  size_t connections_opened() const;

  struct Connection;  // defined in http_client.cc
  struct Shared;      // the TLS context, built lazily

 private:
  std::unique_ptr<Connection> TakeIdle();
  void GiveBack(std::unique_ptr<Connection> c);

  const Endpoint endpoint_;
  const HttpOptions options_;
  const size_t max_idle_;
  const std::chrono::milliseconds max_idle_time_;
  std::unique_ptr<Shared> shared_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  size_t opened_ = 0;                              // guarded by mu_
};

// The IP addresses `endpoint`'s host resolves to now (the literal itself for
// an IP address), within `timeout`; errors as for Send. Blocks.
absl::StatusOr<std::vector<std::string>> ResolveAddresses(
    const Endpoint& endpoint, std::chrono::milliseconds timeout);

}  // namespace keywarden::net

#endif  // KEYWARDEN_NET_HTTP_CLIENT_H_
