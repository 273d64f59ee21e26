#include "keywarden/net/http_client.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "keywarden/api/http/server.h"
#include "keywarden/common/strings.h"

namespace keywarden::net {
namespace {

using api::http::Field;
using api::http::HttpServer;
using api::http::HttpServerOptions;
using api::http::HttpStatus;
using api::http::Request;
using api::http::Response;

// A kw_http_server on 127.0.0.1, port 0, that remembers the last request.
// "/status/N" answers N with body "status N"; "/big/N" answers N bytes;
// anything else echoes the body with 200.
class RecordingServer {
 public:
  explicit RecordingServer(HttpServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.threads = 1;
    auto s = HttpServer::Start(std::move(options),
                               [this](const Request& req, Response& res) {
                                 Handle(req, res);
                               });
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) server_ = *std::move(s);
  }

  Endpoint endpoint(std::string prefix = "") const {
    Endpoint e;
    e.tls = server_->tls();
    e.host = "127.0.0.1";
    e.port = std::to_string(server_->port());
    e.prefix = std::move(prefix);
    return e;
  }

  Request last() {
    std::lock_guard lock(mu_);
    return last_.value_or(Request{});
  }

  // Makes "/slow" wait until Release(); Entered() waits for it to start.
  void HoldSlowRequests() { hold_.emplace(1); }
  void Release() { hold_->count_down(); }
  void Entered() { entered_.wait(); }

  HttpServer& server() { return *server_; }

 private:
  void Handle(const Request& req, Response& res) {
    {
      std::lock_guard lock(mu_);
      last_ = req;
    }
    const std::string_view target(req.target().data(), req.target().size());
    if (target == "/slow") {
      entered_.count_down();
      if (hold_) hold_->wait();
    }
    if (target.starts_with("/status/")) {
      const int code = std::atoi(std::string(target.substr(8)).c_str());
      res.result(static_cast<unsigned>(code));
      // 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5).
      if (code != 204 && code != 304) {
        res.body() = "status " + std::to_string(code);
      }
      return;
    }
    if (target.starts_with("/big/")) {
      res.body() = std::string(std::atoi(std::string(target.substr(5)).c_str()), 'b');
      return;
    }
    res.set(Field::content_type, "text/plain");
    res.body() = req.body();
  }

  std::mutex mu_;
  std::optional<Request> last_;
  std::optional<std::latch> hold_;
  std::latch entered_{1};
  std::unique_ptr<HttpServer> server_;
};

std::string Header(const Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return "<absent>";
  return std::string(it->value());
}

TEST(SendTest, PostsHeadersAndBodyAndReturnsStatusAndBody) {
  RecordingServer server;
  HttpRequest req;
  req.method = "POST";
  req.target = "/hooks/key-events?attempt=1";
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Keywarden-Signature", "sha256=abcdef"}};
  req.body = R"({"event":"key.rotated"})";
  auto r = Send(server.endpoint("/base"), req, HttpOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, req.body);

  const Request seen = server.last();
  EXPECT_EQ(seen.method(), boost::beast::http::verb::post);
  EXPECT_EQ(seen.target(), "/base/hooks/key-events?attempt=1");
  EXPECT_EQ(seen.body(), req.body);
  EXPECT_EQ(Header(seen, "Content-Type"), "application/json");
  EXPECT_EQ(Header(seen, "X-Keywarden-Signature"), "sha256=abcdef");
  EXPECT_EQ(Header(seen, "Content-Length"), std::to_string(req.body.size()));
  EXPECT_EQ(Header(seen, "Host"),
            "127.0.0.1:" + std::to_string(server.server().port()));
  EXPECT_EQ(Header(seen, "User-Agent"), "keywarden/0.1");
  EXPECT_EQ(Header(seen, "Connection"), "close");
}

TEST(SendTest, CallerHeadersAndUserAgentReplaceTheDefaults) {
  RecordingServer server;
  HttpOptions options;
  options.user_agent = "keywarden-webhooks/1";
  auto r = Send(server.endpoint(), {"GET", "/x", {}, ""}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Header(server.last(), "User-Agent"), "keywarden-webhooks/1");

  r = Send(server.endpoint(), {"GET", "/x", {{"User-Agent", "mine/2"}}, ""},
           options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Header(server.last(), "User-Agent"), "mine/2");
  EXPECT_EQ(server.last().count(Field::user_agent), 1u);
}

TEST(SendTest, BodylessGetHasNoContentLengthButAnEmptyPostHasZero) {
  RecordingServer server;
  ASSERT_TRUE(Send(server.endpoint(), {"GET", "/x", {}, ""}, {}).ok());
  EXPECT_EQ(Header(server.last(), "Content-Length"), "<absent>");
  ASSERT_TRUE(Send(server.endpoint(), {"POST", "/x", {}, ""}, {}).ok());
  EXPECT_EQ(Header(server.last(), "Content-Length"), "0");
}

TEST(SendTest, NonSuccessStatusesAreResponsesNotErrors) {
  RecordingServer server;
  for (int code : {201, 204, 301, 400, 401, 404, 409, 418, 500, 503}) {
    auto r = Send(server.endpoint(),
                  {"POST", "/status/" + std::to_string(code), {}, "x"}, {});
    ASSERT_TRUE(r.ok()) << code << ": " << r.status();
    EXPECT_EQ(r->status, code);
    EXPECT_EQ(r->body, code == 204 ? "" : "status " + std::to_string(code));
  }
}

TEST(SendTest, ServerSlowerThanTheTimeoutIsDeadlineExceeded) {
  RecordingServer server;
  server.HoldSlowRequests();
  HttpOptions options;
  options.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto r = Send(server.endpoint(),
                {"POST", "/slow", {{"Authorization", "Bearer sekrit"}}, "body"},
                options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  server.Entered();  // the request did reach the handler
  server.Release();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(server.endpoint().Display()),
            absl::string_view::npos)
      << r.status();
  EXPECT_EQ(r.status().message().find("sekrit"), absl::string_view::npos);
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(SendTest, PeerThatNeverAnswersIsDeadlineExceeded) {
  // A listening socket nobody accepts on: the kernel completes the TCP
  // handshake and buffers the request, and no byte ever comes back.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent(
      io, boost::asio::ip::tcp::endpoint(
              boost::asio::ip::make_address("127.0.0.1"), 0));
  Endpoint e{false, "127.0.0.1", std::to_string(silent.local_endpoint().port()),
             ""};
  HttpOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto r = Send(e, {"GET", "/", {}, ""}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("timed out"), absl::string_view::npos);
}

TEST(SendTest, ResponseOverTheBodyLimitIsUnavailable) {
  RecordingServer server;
  HttpOptions options;
  options.max_body_bytes = 1024;
  auto r = Send(server.endpoint(), {"GET", "/big/1024", {}, ""}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body.size(), 1024u);
  r = Send(server.endpoint(), {"GET", "/big/4096", {}, ""}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

TEST(SendTest, IndependentCallsRunConcurrently) {
  RecordingServer server;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto r = Send(server.endpoint(), {"POST", "/echo", {}, body}, {});
        if (r.ok() && r->status == 200 && r->body == body) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
}

// A throwaway self-signed certificate for 127.0.0.1, made with the openssl
// CLI (as api/http/server_test.cc does).
class TlsSendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kw_net_tls_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 1 -subj /CN=localhost -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  HttpServerOptions TlsOptions() const {
    HttpServerOptions o;
    o.tls_cert_file = dir_ + "/cert.pem";
    o.tls_key_file = dir_ + "/key.pem";
    return o;
  }

  std::string dir_;
};

TEST_F(TlsSendTest, InsecureSkipsVerification) {
  RecordingServer server(TlsOptions());
  HttpOptions options;
  options.insecure = true;
  auto r = Send(server.endpoint(), {"POST", "/x", {}, "over tls"}, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "over tls");
}

TEST_F(TlsSendTest, UntrustedCertificateIsUnavailableWithTheCallersHint) {
  RecordingServer server(TlsOptions());
  HttpOptions options;
  auto r = Send(server.endpoint(), {"GET", "/x", {}, ""}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("not trusted"), absl::string_view::npos)
      << r.status();
  EXPECT_EQ(r.status().message().find("("), absl::string_view::npos)
      << r.status();
  options.untrusted_certificate_hint = "pass --insecure";
  r = Send(server.endpoint(), {"GET", "/x", {}, ""}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("(pass --insecure)"),
            absl::string_view::npos)
      << r.status();
}

TEST(SendTest, CheckAddressSeesResolvedAddressesAndRefusesBeforeConnecting) {
  RecordingServer server;
  std::vector<std::string> seen;
  HttpOptions options;
  options.check_address = [&seen](std::string_view ip) {
    seen.emplace_back(ip);
    return absl::PermissionDeniedError(StrCat("refused ", ip));
  };
  auto r = Send(server.endpoint(), {"POST", "/x", {}, "never sent"}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "refused 127.0.0.1");
  EXPECT_EQ(seen, std::vector<std::string>{"127.0.0.1"});  // no connect
  EXPECT_EQ(server.last().body(), "");
}

TEST(SendTest, CheckAddressRefusesTheConnectedPeerBeforeSending) {
  RecordingServer server;
  // Passes the resolved address, refuses the peer: what a name that
  // resolves differently on connect (DNS rebinding) would meet.
  int calls = 0;
  HttpOptions options;
  options.check_address = [&calls](std::string_view ip) {
    return ++calls == 1 ? absl::OkStatus()
                        : absl::PermissionDeniedError(StrCat("peer ", ip));
  };
  auto r = Send(server.endpoint(), {"POST", "/x", {}, "never sent"}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "peer 127.0.0.1");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(server.last().body(), "");
}

TEST(ResolveAddressesTest, AnIpLiteralResolvesToItself) {
  auto e = ParseEndpoint("https://[::1]:8443");
  ASSERT_TRUE(e.ok());
  auto ips = ResolveAddresses(*e, std::chrono::seconds(5));
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_EQ(*ips, std::vector<std::string>{"::1"});
}

TEST(ParseEndpointTest, HttpAndHttpsWithDefaultPorts) {
  auto e = ParseEndpoint("http://127.0.0.1:8080");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "8080");
  EXPECT_EQ(e->Display(), "http://127.0.0.1:8080");
  e = ParseEndpoint("https://kms.example.com/");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, "443");
  EXPECT_EQ(e->Display(), "https://kms.example.com:443");
  EXPECT_EQ(ParseEndpoint("http://h")->port, "80");
}

TEST(ParseEndpointTest, Ipv6AndPathPrefix) {
  auto e = ParseEndpoint("https://[::1]:8443/kms/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, "8443");
  EXPECT_EQ(e->prefix, "/kms");
  EXPECT_EQ(e->Display(), "https://[::1]:8443/kms");
}

TEST(ParseEndpointTest, EquivalentSpellingsDisplayAlike) {
  EXPECT_EQ(ParseEndpoint("http://localhost:08080/")->Display(),
            ParseEndpoint("http://localhost:8080")->Display());
}

TEST(ParseEndpointTest, RejectsWhatIsNotAnHttpAddress) {
  for (const char* bad :
       {"", "127.0.0.1:8080", "ftp://h", "http://", "http://:80",
        "http://h:", "http://h:0", "http://h:65536", "http://h:12a",
        "http://::1:80", "http://[::1", "http://[::1]x", "http://u@h",
        "http://h/?q", "http://h/#f", "http://h /"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseEndpoint(bad).status())) << bad;
  }
}

TEST(SendTest, UnreachableServerIsUnavailableAndNamesTheEndpoint) {
  // Port 1 on loopback: nothing listens there in a test environment.
  auto e = ParseEndpoint("http://127.0.0.1:1");
  ASSERT_TRUE(e.ok());
  HttpRequest req{"GET", "/healthz", {{"Authorization", "Bearer sekrit"}}, ""};
  auto r = Send(*e, req, HttpOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("http://127.0.0.1:1"),
            absl::string_view::npos);
  EXPECT_EQ(r.status().message().find("sekrit"), absl::string_view::npos);
}

TEST(SendTest, HostNamesAreResolved) {
  RecordingServer server;
  Endpoint e = server.endpoint();
  e.host = "localhost";  // may resolve to ::1 first; 127.0.0.1 answers
  auto r = Send(e, HttpRequest{"POST", "/echo", {}, "hello"}, HttpOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "hello");
}

TEST(SendTest, NameThatDoesNotResolveFailsWithinTheTimeout) {
  // .invalid never resolves (RFC 6761). Whether the system resolver says so
  // at once or waits on an unreachable name server, the request ends within
  // its deadline and names the endpoint.
  auto e = ParseEndpoint("http://keywarden-test.invalid:8080");
  ASSERT_TRUE(e.ok());
  HttpOptions options;
  options.timeout = std::chrono::milliseconds(500);
  const auto start = std::chrono::steady_clock::now();
  auto r = Send(*e, HttpRequest{"GET", "/", {}, ""}, options);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status()) ||
              absl::IsDeadlineExceeded(r.status()))
      << r.status();
  EXPECT_NE(r.status().message().find("keywarden-test.invalid"),
            absl::string_view::npos);
  EXPECT_LT(took, std::chrono::seconds(3));
}

}  // namespace
}  // namespace keywarden::net

namespace keywarden::net {
namespace {

using api::http::HttpServer;
using api::http::HttpServerOptions;

TEST(HttpClientTest, KeepsOneConnectionForSequentialRequests) {
  RecordingServer server;
  HttpClient client(server.endpoint(), HttpOptions{});
  for (int i = 0; i < 5; ++i) {
    auto r = client.Send({"POST", "/echo", {}, "n" + std::to_string(i)},
                         /*idempotent=*/false);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(Header(server.last(), "Connection"), "keep-alive");
}

TEST(HttpClientTest, ResponseHeadersAreReturned) {
  RecordingServer server;
  HttpClient client(server.endpoint(), HttpOptions{});
  auto r = client.Send({"GET", "/x", {}, ""}, true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(r->Header("x-absent"), "");
}

TEST(HttpClientTest, ConcurrentRequestsEachGetAConnectionAndAllAreKept) {
  RecordingServer server;
  HttpClient client(server.endpoint(), HttpOptions{}, /*max_idle=*/4);
  server.HoldSlowRequests();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {
      if (client.Send({"GET", "/slow", {}, ""}, true).ok()) ++ok;
    });
  }
  server.Entered();
  // The server has one thread, so the second request waits behind the
  // first on its own connection.
  server.Release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(client.connections_opened(), 2u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client.Send({"GET", "/x", {}, ""}, true).ok());
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClientTest, ConnectionClosedByTheServerIsReplaced) {
  auto first = std::make_unique<RecordingServer>();
  const Endpoint endpoint = first->endpoint();
  HttpClient client(endpoint, HttpOptions{});
  ASSERT_TRUE(client.Send({"POST", "/a", {}, "1"}, false).ok());
  // Stop() closes the idle keep-alive connection; a new server takes the
  // same port. Even a request that may not be repeated goes through: the
  // dead connection is noticed before it is used.
  first->server().Stop();
  first.reset();
  HttpServerOptions options;
  options.port = static_cast<uint16_t>(std::stoi(endpoint.port));
  RecordingServer second(options);
  ASSERT_EQ(second.endpoint().port, endpoint.port);
  auto r = client.Send({"POST", "/b", {}, "2"}, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "2");
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClientTest, ServerThatIsGoneIsUnavailable) {
  Endpoint endpoint;
  {
    RecordingServer server;
    endpoint = server.endpoint();
  }
  HttpOptions options;
  options.timeout = std::chrono::seconds(5);
  HttpClient client(endpoint, options);
  auto r = client.Send({"GET", "/", {}, ""}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

TEST_F(TlsSendTest, CaFileTrustsTheServerAndKeepsTheConnection) {
  RecordingServer server(TlsOptions());
  HttpOptions options;
  options.ca_file = dir_ + "/cert.pem";
  HttpClient client(server.endpoint(), options);
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send({"POST", "/x", {}, "over tls"}, false);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "over tls");
  }
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(TlsSendTest, CaFileThatDoesNotSignTheServerIsNotTrusted) {
  RecordingServer server(TlsOptions());
  const std::string other = dir_ + "/other.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt "
                         "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
                         "/CN=other -keyout " + dir_ + "/other-key.pem -out " +
                         other + " 2>/dev/null").c_str()),
            0);
  HttpOptions options;
  options.ca_file = other;
  auto r = Send(server.endpoint(), {"GET", "/x", {}, ""}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not trusted"), absl::string_view::npos)
      << r.status();
}

TEST_F(TlsSendTest, UnreadableCaFileIsInvalidArgumentNamingIt) {
  RecordingServer server(TlsOptions());
  HttpOptions options;
  options.ca_file = dir_ + "/missing.pem";
  HttpClient client(server.endpoint(), options);
  auto r = client.Send({"GET", "/x", {}, ""}, true);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("missing.pem"), absl::string_view::npos);
}

}  // namespace
}  // namespace keywarden::net
