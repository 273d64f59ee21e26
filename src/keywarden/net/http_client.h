#ifndef KEYWARDEN_NET_HTTP_CLIENT_H_
#define KEYWARDEN_NET_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

// A small blocking HTTP/1.1 (+TLS) client: one request per connection, bounded
// in time and response size. Used by the CLI for the public API and by the
// server for webhook delivery; it knows nothing of either (no JSON, no Key
// Protect), and depends on common only.
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
  std::string body;
};

struct HttpOptions {
  bool insecure = false;  // skip certificate and host name verification
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

// The IP addresses `endpoint`'s host resolves to now (the literal itself for
// an IP address), within `timeout`; errors as for Send. Blocks.
absl::StatusOr<std::vector<std::string>> ResolveAddresses(
    const Endpoint& endpoint, std::chrono::milliseconds timeout);

}  // namespace keywarden::net

#endif  // KEYWARDEN_NET_HTTP_CLIENT_H_
