#include "keywarden/client/transport.h"

#include <atomic>
#include <deque>
#include <mutex>

#include <boost/json/object.hpp>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/api/http/server.h"
#include "keywarden/client/errors.h"
#include "keywarden/common/strings.h"

namespace keywarden::client {
namespace {

using api::http::HttpServer;
using api::http::HttpServerOptions;
using api::http::Request;
using api::http::Response;
using std::chrono::milliseconds;
namespace json = boost::json;

// An HTTP server on port 0 that plays a script: each request to the API
// takes the next scripted answer (status, Retry-After); POST /identity/token
// hands out tokens "tok-1", "tok-2", … valid for `token_lifetime_s`.
class ScriptedServer {
 public:
  struct Answer {
    int status = 200;
    std::string retry_after;
  };

  ScriptedServer() {
    HttpServerOptions o;
    o.threads = 1;
    server_ = *HttpServer::Start(o, [this](const Request& q, Response& r) {
      Handle(q, r);
    });
  }

  std::string url() const {
    return StrCat("http://127.0.0.1:", server_->port());
  }
  void Script(std::initializer_list<Answer> answers) {
    std::lock_guard lock(mu_);
    script_.assign(answers);
  }
  int api_requests() const { return api_requests_; }
  int token_requests() const { return token_requests_; }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return last_authorization_;
  }
  std::string last_token_form() {
    std::lock_guard lock(mu_);
    return last_token_form_;
  }
  int token_lifetime_s = 3600;
  // Tokens at or below this number are refused with 401 on the API.
  std::atomic<int> refuse_tokens_upto{0};

 private:
  void Handle(const Request& q, Response& r) {
    std::lock_guard lock(mu_);
    const std::string target(q.target());
    if (target == "/identity/token") {
      ++token_requests_;
      last_token_form_ = std::string(q.body());
      if (q.body().find("apikey=good") == std::string::npos) {
        r.result(401);
        r.body() = R"({"resources":[{"reasons":[{"code":"UNAUTHORIZED_ERR",
            "message":"The API key is not valid"}]}]})";
        return;
      }
      r.body() = StrCat(R"({"access_token":"tok-)", token_requests_.load(),
                        R"(","expires_in":)", token_lifetime_s, "}");
      return;
    }
    ++api_requests_;
    auto auth = q.find("Authorization");
    last_authorization_ = auth == q.end() ? "" : std::string(auth->value());
    for (int n = 1; n <= refuse_tokens_upto; ++n) {
      if (last_authorization_ == StrCat("Bearer tok-", n)) {
        r.result(401);
        return;
      }
    }
    Answer a;
    if (!script_.empty()) {
      a = script_.front();
      script_.pop_front();
    }
    r.result(static_cast<unsigned>(a.status));
    if (!a.retry_after.empty()) r.set("Retry-After", a.retry_after);
    r.body() = R"({"ok":true})";
  }

  std::mutex mu_;
  std::deque<Answer> script_;
  std::atomic<int> api_requests_{0};
  std::atomic<int> token_requests_{0};
  std::string last_authorization_;
  std::string last_token_form_;
  std::unique_ptr<HttpServer> server_;
};

struct Fixture {
  ScriptedServer server;
  FakeClock clock;
  std::vector<milliseconds> waits;

  std::unique_ptr<Transport> Make(Credentials c, RetryPolicy retry = {}) {
    TransportOptions o;
    o.retry = retry;
    o.clock = &clock;
    o.sleep = [this](milliseconds d) { waits.push_back(d); };
    return *Transport::Create(server.url(), std::move(c), o);
  }
};

RetryPolicy Retry(int attempts, milliseconds initial = milliseconds(200),
                  milliseconds max = milliseconds(5000)) {
  RetryPolicy r;
  r.max_attempts = attempts;
  r.initial_backoff = initial;
  r.max_backoff = max;
  return r;
}

Credentials Token(std::string t) { return Credentials{"", std::move(t)}; }
Credentials ApiKey(std::string k) { return Credentials{std::move(k), ""}; }

TEST(TransportTest, RetriesIdempotentCallsOn429HonoringRetryAfter) {
  Fixture f;
  f.server.Script({{429, "2"}, {503, ""}, {200, ""}});
  auto t = f.Make(Token("t"));
  auto r = t->Call("GET", "/api/v2/keys", nullptr, Idempotency::kIdempotent);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(f.server.api_requests(), 3);
  ASSERT_EQ(f.waits.size(), 2u);
  EXPECT_EQ(f.waits[0], milliseconds(2000));
  // No Retry-After: the second backoff step, 400 ms with jitter in [200, 400].
  EXPECT_GE(f.waits[1], milliseconds(200));
  EXPECT_LE(f.waits[1], milliseconds(400));
}

TEST(TransportTest, NeverRetriesWhatIsNotIdempotent) {
  Fixture f;
  f.server.Script({{503, "1"}, {200, ""}});
  auto t = f.Make(Token("t"));
  json::value body = json::object{};
  auto r = t->Call("POST", "/api/v2/keys/k/actions/rotate", &body,
                   Idempotency::kNotIdempotent);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(f.server.api_requests(), 1);
  EXPECT_TRUE(f.waits.empty());
}

TEST(TransportTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  Fixture f;
  f.server.Script({{503, ""}, {503, ""}, {429, ""}, {200, ""}});
  auto t = f.Make(Token("t"), Retry(3));
  auto r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_EQ(f.server.api_requests(), 3);
  EXPECT_EQ(f.waits.size(), 2u);
}

TEST(TransportTest, RetryAfterBeyondTheLimitIsNotWaitedFor) {
  Fixture f;
  f.server.Script({{429, "3600"}, {200, ""}});
  auto t = f.Make(Token("t"));
  auto r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_EQ(f.server.api_requests(), 1);
  EXPECT_TRUE(f.waits.empty());
}

TEST(TransportTest, BackoffGrowsAndIsCapped) {
  Fixture f;
  f.server.Script({{503, ""}, {503, ""}, {503, ""}, {503, ""}, {200, ""}});
  auto t = f.Make(Token("t"), Retry(5, milliseconds(100), milliseconds(250)));
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  ASSERT_EQ(f.waits.size(), 4u);
  const milliseconds lo[] = {milliseconds(50), milliseconds(100),
                             milliseconds(125), milliseconds(125)};
  const milliseconds hi[] = {milliseconds(100), milliseconds(200),
                             milliseconds(250), milliseconds(250)};
  for (int i = 0; i < 4; ++i) {
    EXPECT_GE(f.waits[i], lo[i]) << i;
    EXPECT_LE(f.waits[i], hi[i]) << i;
  }
}

TEST(TransportTest, UnreachableServerIsRetriedThenUnavailable) {
  std::string url;
  {
    ScriptedServer gone;
    url = gone.url();
  }
  std::vector<milliseconds> waits;
  TransportOptions o;
  o.sleep = [&](milliseconds d) { waits.push_back(d); };
  auto t = *Transport::Create(url, Token("t"), o);
  auto r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(waits.size(), 3u);
}

TEST(TransportTest, TokenFromApiKeyIsReusedThenRenewedBeforeExpiry) {
  Fixture f;
  auto t = f.Make(ApiKey("good"));
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  EXPECT_EQ(f.server.token_requests(), 1);
  EXPECT_EQ(f.server.last_authorization(), "Bearer tok-1");
  EXPECT_NE(f.server.last_token_form().find(
                "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey"),
            std::string::npos);
  // 80% of an hour is 48 minutes: still the first token at 47.
  f.clock.Advance(absl::Minutes(47));
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  EXPECT_EQ(f.server.token_requests(), 1);
  f.clock.Advance(absl::Minutes(2));
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  EXPECT_EQ(f.server.token_requests(), 2);
  EXPECT_EQ(f.server.last_authorization(), "Bearer tok-2");
}

TEST(TransportTest, ShortLivedTokensAreRenewedInTheirLastMinute) {
  Fixture f;
  f.server.token_lifetime_s = 90;
  auto t = f.Make(ApiKey("good"));
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  f.clock.Advance(absl::Seconds(31));  // 59 s left
  ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  EXPECT_EQ(f.server.token_requests(), 2);
}

TEST(TransportTest, RefusedTokenIsRenewedOnceAndTheCallRepeated) {
  Fixture f;
  f.server.refuse_tokens_upto = 1;
  auto t = f.Make(ApiKey("good"));
  auto r = t->Call("POST", "/x", nullptr, Idempotency::kNotIdempotent);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(f.server.token_requests(), 2);
  EXPECT_EQ(f.server.api_requests(), 2);
  // A second refusal is the answer.
  f.server.refuse_tokens_upto = 100;
  r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  EXPECT_TRUE(absl::IsUnauthenticated(r.status())) << r.status();
  EXPECT_EQ(f.server.token_requests(), 3);
}

TEST(TransportTest, BadApiKeyIsUnauthenticatedAndNeverInTheMessage) {
  Fixture f;
  auto t = f.Make(ApiKey("kwk_wrong_secret_value"));
  auto r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  ASSERT_TRUE(absl::IsUnauthenticated(r.status())) << r.status();
  EXPECT_EQ(f.server.api_requests(), 0);
  EXPECT_EQ(std::string(r.status().message()).find("kwk_wrong"),
            std::string::npos);
  EXPECT_NE(std::string(r.status().message()).find("UNAUTHORIZED_ERR"),
            std::string::npos);
}

// Without an API key or a token a call goes without Authorization (the
// seal endpoints take a share instead); the server decides.
TEST(TransportTest, NoCredentialsSendsNoAuthorization) {
  Fixture f;
  f.server.Script({{401, ""}});
  auto t = f.Make(Credentials{});
  auto r = t->Call("GET", "/x", nullptr, Idempotency::kIdempotent);
  EXPECT_TRUE(absl::IsUnauthenticated(r.status())) << r.status();
  EXPECT_EQ(f.server.api_requests(), 1);
  EXPECT_EQ(f.server.last_authorization(), "");
  EXPECT_EQ(f.server.token_requests(), 0);
}

TEST(TransportTest, ConnectionsAreKeptAcrossCalls) {
  Fixture f;
  auto t = f.Make(ApiKey("good"));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(t->Call("GET", "/x", nullptr, Idempotency::kIdempotent).ok());
  }
  EXPECT_EQ(t->connections_opened(), 1u);
}

TEST(ParseRetryAfterTest, SecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(784111777);  // 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now),
            milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:00 GMT", now),
            milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_GE(*ParseRetryAfter("99999999999999999999", now), milliseconds(3600000));
}

}  // namespace
}  // namespace keywarden::client
