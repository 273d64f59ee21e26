#ifndef KEYWARDEN_CLI_API_CLIENT_H_
#define KEYWARDEN_CLI_API_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "absl/status/statusor.h"
#include "keywarden/client/errors.h"
#include "keywarden/client/transport.h"
#include "keywarden/net/http_client.h"

namespace keywarden::cli {

using client::ErrorFromResponse;
using client::PercentEncode;

// ApiClient is the CLI's view of client::Transport (client/transport.h) for
// the admin API (docs/admin-api.md): JSON in and out, the bearer token it was
// given, reads retried on 429/503, writes never. It never puts the token in a
// status or message. Movable; thread-safe like the transport.
class ApiClient {
 public:
  ApiClient(net::Endpoint endpoint, std::string token,
            net::HttpOptions options);

  // Sends `method target` with the token and, when `body` is given, that
  // JSON. A 2xx answer yields its JSON (null when the body is empty, as for
  // 204); any other answer is ErrorFromResponse(). GET is retried, POST and
  // DELETE are not.
  absl::StatusOr<boost::json::value> Call(
      std::string_view method, const std::string& target,
      const boost::json::value* body = nullptr) const;

  // POSTs an application/x-www-form-urlencoded body without a token (the
  // IAM-style POST /identity/token).
  absl::StatusOr<boost::json::value> PostForm(const std::string& target,
                                              std::string form) const;

  const net::Endpoint& endpoint() const { return transport_->endpoint(); }
  client::Transport& transport() const { return *transport_; }

 private:
  std::unique_ptr<client::Transport> transport_;
};

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_API_CLIENT_H_
