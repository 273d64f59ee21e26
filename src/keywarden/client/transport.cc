#include "keywarden/client/transport.h"

#include <algorithm>
#include <random>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "keywarden/client/errors.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::client {
namespace {

namespace json = boost::json;

bool Retryable(int http_status) {
  return http_status == 429 || http_status == 503;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         absl::Time now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return std::chrono::hours(24 * 365);  // "forever"
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  // IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
  absl::Time when;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", AbslView(value),
                       absl::UTCTimeZone(), &when, &err)) {
    return std::nullopt;
  }
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(when - now));
}

absl::StatusOr<std::unique_ptr<Transport>> Transport::Create(
    const std::string& addr, Credentials credentials,
    TransportOptions options) {
  KW_ASSIGN_OR_RETURN(net::Endpoint endpoint, net::ParseEndpoint(addr));
  return std::make_unique<Transport>(std::move(endpoint),
                                     std::move(credentials),
                                     std::move(options));
}

Transport::Transport(net::Endpoint endpoint, Credentials credentials,
                     TransportOptions options)
    : http_(std::move(endpoint), options.http, options.max_idle_connections),
      options_(std::move(options)) {
  absl::MutexLock lock(&mu_);
  apikey_ = std::move(credentials.apikey);
  token_ = std::move(credentials.token);
  token_from_apikey_ = !apikey_.empty();
  if (!token_from_apikey_) renew_at_ = expires_at_ = absl::InfiniteFuture();
  WipeString(credentials.apikey);
  WipeString(credentials.token);
}

Transport::~Transport() {
  absl::MutexLock lock(&mu_);
  WipeString(apikey_);
  WipeString(token_);
}

absl::Time Transport::Now() const {
  return options_.clock != nullptr ? options_.clock->Now()
                                   : system_clock_.Now();
}

std::chrono::milliseconds Transport::Backoff(int attempt) {
  // Exponential, capped, with "equal jitter": uniform in [d/2, d], so that
  // many clients refused at once do not come back at once.
  auto d = options_.retry.initial_backoff;
  for (int i = 1; i < attempt && d < options_.retry.max_backoff; ++i) d *= 2;
  d = std::min(d, options_.retry.max_backoff);
  thread_local std::minstd_rand rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist(d.count() / 2, d.count());
  return std::chrono::milliseconds(dist(rng));
}

absl::StatusOr<net::HttpResponse> Transport::SendWithRetries(
    const net::HttpRequest& req, Idempotency idempotency) {
  const bool idempotent = idempotency == Idempotency::kIdempotent;
  const int attempts = idempotent ? std::max(1, options_.retry.max_attempts) : 1;
  for (int attempt = 1;; ++attempt) {
    auto r = http_.Send(req, idempotent);
    const bool last = attempt >= attempts;
    std::chrono::milliseconds wait{0};
    if (!r.ok()) {
      if (last || !absl::IsUnavailable(r.status())) return r;
      wait = Backoff(attempt);
    } else if (Retryable(r->status) && !last) {
      auto after = ParseRetryAfter(r->Header("Retry-After"), Now());
      if (after.has_value()) {
        if (*after > options_.retry.max_retry_after) return r;
        wait = *after;
      } else {
        wait = Backoff(attempt);
      }
    } else {
      return r;
    }
    if (options_.sleep) {
      options_.sleep(wait);
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
}

absl::StatusOr<json::value> Transport::Decode(const net::HttpResponse& r) const {
  if (r.status < 200 || r.status > 299) {
    return ErrorFromResponse(r.status, r.body);
  }
  if (r.body.empty()) return json::value(nullptr);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) {
    return absl::InternalError(AbslView(StrCat(
        "the server at ", http_.endpoint().Display(), " answered ", r.status,
        " with a body that is not JSON")));
  }
  return v;
}

absl::StatusOr<json::value> Transport::PostForm(const std::string& target,
                                                std::string form) {
  net::HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.headers.emplace_back("Content-Type",
                           "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  req.body = std::move(form);
  WipeString(form);
  auto r = SendWithRetries(req, Idempotency::kIdempotent);
  WipeString(req.body);
  if (!r.ok()) return r.status();
  auto decoded = Decode(*r);
  WipeString(r->body);  // an access token
  return decoded;
}

absl::Status Transport::RenewToken(absl::Time now) {
  std::string form = StrCat(
      "grant_type=", PercentEncode("urn:ibm:params:oauth:grant-type:apikey"),
      "&apikey=", PercentEncode(apikey_));
  auto answer = PostForm("/identity/token", std::move(form));
  if (!answer.ok()) {
    return absl::Status(
        answer.status().code(),
        AbslView(StrCat("cannot get a token with the API key: ",
                        StdView(answer.status().message()))));
  }
  const json::object* obj = answer->if_object();
  const json::value* token =
      obj != nullptr ? obj->if_contains("access_token") : nullptr;
  if (token == nullptr || !token->is_string() ||
      token->get_string().empty()) {
    return absl::InternalError(AbslView(
        StrCat("the token answer of ", http_.endpoint().Display(),
               " has no access_token")));
  }
  absl::Duration lifetime = absl::Hours(1);
  if (const json::value* in = obj->if_contains("expires_in");
      in != nullptr && in->is_int64() && in->get_int64() > 0) {
    lifetime = absl::Seconds(in->get_int64());
  } else if (const json::value* exp = obj->if_contains("expiration");
             exp != nullptr && exp->is_int64()) {
    lifetime = absl::FromUnixSeconds(exp->get_int64()) - now;
  }
  WipeString(token_);
  token_.assign(token->get_string().data(), token->get_string().size());
  json::string& stored = answer->as_object()["access_token"].as_string();
  WipeMemory(stored.data(), stored.size());
  expires_at_ = now + lifetime;
  renew_at_ = now + std::min(lifetime * 4 / 5, lifetime - absl::Minutes(1));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Transport::Token() {
  absl::MutexLock lock(&mu_);
  // Without an API key the token is what was given, possibly none: calls
  // that need no credential (`operator unseal` with a share) go without an
  // Authorization header, and the server answers the others 401.
  if (!token_from_apikey_) return token_;
  const absl::Time now = Now();
  if (token_.empty() || now >= renew_at_) {
    KW_RETURN_IF_ERROR(RenewToken(now));
  }
  return token_;
}

absl::StatusOr<json::value> Transport::Call(std::string_view method,
                                            const std::string& target,
                                            const json::value* body,
                                            Idempotency idempotency,
                                            const Headers& headers,
                                            std::string_view content_type) {
  net::HttpRequest req;
  req.method = std::string(method);
  req.target = target;
  req.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    req.headers.emplace_back(
        "Content-Type",
        content_type.empty() ? "application/json" : std::string(content_type));
    req.body = json::serialize(*body);
  }
  for (const auto& h : headers) req.headers.push_back(h);
  for (int round = 0;; ++round) {
    KW_ASSIGN_OR_RETURN(std::string token, Token());
    const bool with_token = !token.empty();
    if (with_token) {
      req.headers.emplace_back("Authorization", StrCat("Bearer ", token));
    }
    WipeString(token);
    auto r = SendWithRetries(req, idempotency);
    if (with_token) {
      WipeString(req.headers.back().second);
      req.headers.pop_back();
    }
    if (!r.ok()) {
      WipeString(req.body);
      return r.status();
    }
    // A token the server no longer takes (revoked signing key, a restore
    // from backup) is renewed once; the request was refused before it did
    // anything, so repeating it is safe whatever it is.
    if (r->status == 401 && token_from_apikey_ && round == 0) {
      absl::MutexLock lock(&mu_);
      renew_at_ = absl::InfinitePast();
      continue;
    }
    WipeString(req.body);  // may hold plaintext (wrap) or key material
    auto decoded = Decode(*r);
    WipeString(r->body);   // may hold plaintext (unwrap) or a payload
    return decoded;
  }
}

}  // namespace keywarden::client
