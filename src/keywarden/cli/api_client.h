#ifndef KEYWARDEN_CLI_API_CLIENT_H_
#define KEYWARDEN_CLI_API_CLIENT_H_

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/net/http_client.h"

namespace keywarden::cli {

// ApiClient calls the public HTTP API (docs/admin-api.md) with JSON bodies.
// It holds the bearer token but never puts it in a status or message.
// Immutable after construction; each call is one connection.
class ApiClient {
 public:
  ApiClient(net::Endpoint endpoint, std::string token,
            net::HttpOptions options)
      : endpoint_(std::move(endpoint)),
        token_(std::move(token)),
        options_(options) {}

  // Sends `method target` with `Authorization: Bearer <token>` and, when
  // `body` is given, that JSON. A 2xx answer yields its JSON (null when the
  // body is empty, as for 204); any other answer is ErrorFromResponse().
  absl::StatusOr<boost::json::value> Call(
      std::string_view method, const std::string& target,
      const boost::json::value* body = nullptr) const;

  // POSTs an application/x-www-form-urlencoded body without a token (the
  // IAM-style POST /identity/token).
  absl::StatusOr<boost::json::value> PostForm(const std::string& target,
                                              const std::string& form) const;

  const net::Endpoint& endpoint() const { return endpoint_; }

 private:
  absl::StatusOr<boost::json::value> Finish(const net::HttpResponse& r) const;

  net::Endpoint endpoint_;
  std::string token_;
  net::HttpOptions options_;
};

// ErrorFromResponse turns a non-2xx answer into a status whose message is
// "<REASON_CODE>: <message>" from the Key Protect error envelope
// (resources[0].reasons[0].code/message, docs/api.md "Errors"), or
// "HTTP <status>" when the body is not an envelope. The absl code follows the
// HTTP status (401 Unauthenticated, 403 PermissionDenied, 404 NotFound, …).
// Control characters from the server are replaced, so a hostile server
// cannot drive the terminal.
absl::Status ErrorFromResponse(int http_status, std::string_view body);

// PercentEncode escapes everything but RFC 3986 unreserved characters, for
// path segments, query values and form values.
std::string PercentEncode(std::string_view s);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_API_CLIENT_H_
