#include "keywarden/cli/api_client.h"

namespace keywarden::cli {

ApiClient::ApiClient(net::Endpoint endpoint, std::string token,
                     net::HttpOptions options) {
  client::TransportOptions o;
  o.http = std::move(options);
  o.max_idle_connections = 1;
  transport_ = std::make_unique<client::Transport>(
      std::move(endpoint), client::Credentials{"", std::move(token)},
      std::move(o));
}

absl::StatusOr<boost::json::value> ApiClient::Call(
    std::string_view method, const std::string& target,
    const boost::json::value* body) const {
  return transport_->Call(method, target, body,
                          method == "GET" ? client::Idempotency::kIdempotent
                                          : client::Idempotency::kNotIdempotent);
}

absl::StatusOr<boost::json::value> ApiClient::PostForm(const std::string& target,
                                                       std::string form) const {
  return transport_->PostForm(target, std::move(form));
}

}  // namespace keywarden::cli
