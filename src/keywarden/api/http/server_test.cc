#include "keywarden/api/http/server.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/api/http/request_reader.h"

namespace keywarden::api::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using std::chrono::milliseconds;
using ErrorCode = boost::system::error_code;

// Echoes the request body and reports the target; "/fail" throws.
void EchoHandler(const Request& req, Response& res) {
  if (req.target() == "/fail") throw std::runtime_error("boom");
  res.set(Field::content_type, "text/plain");
  res.set("X-Target", req.target());
  res.body() = req.body();
}

HttpServerOptions TestOptions() {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  return o;
}

std::unique_ptr<HttpServer> StartOrDie(HttpServerOptions o, Handler h) {
  absl::StatusOr<std::unique_ptr<HttpServer>> s =
      HttpServer::Start(std::move(o), std::move(h));
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// A blocking client over one TCP connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  void SendRaw(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
  }

  void Send(bhttp::verb verb, std::string target, std::string body = "",
            bool keep_alive = true) {
    Request req{verb, target, 11};
    req.set(Field::host, "localhost");
    req.body() = std::move(body);
    req.keep_alive(keep_alive);
    req.prepare_payload();
    bhttp::write(socket_, req);
  }

  // Reads one response; returns false with `ec` set if the connection failed.
  bool Read(Response& res, ErrorCode& ec) {
    res = {};
    bhttp::read(socket_, buffer_, res, ec);
    return !ec;
  }

  Response RoundTrip(bhttp::verb verb, std::string target,
                     std::string body = "") {
    Send(verb, std::move(target), std::move(body));
    Response res;
    ErrorCode ec;
    EXPECT_TRUE(Read(res, ec)) << ec.message();
    return res;
  }

  // True if the server closed the connection (EOF or reset) rather than
  // sending more bytes.
  bool ReadUntilClosed() {
    std::array<char, 4096> buf;
    for (;;) {
      ErrorCode ec;
      socket_.read_some(net::buffer(buf), ec);
      if (ec) return ec == net::error::eof || ec == net::error::connection_reset;
    }
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

TEST(HttpServerTest, StartsOnEphemeralPort) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->host(), "127.0.0.1");
  EXPECT_EQ(server->endpoint(), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_FALSE(server->tls());
}

TEST(HttpServerTest, RejectsBadOptions) {
  HttpServerOptions o = TestOptions();
  EXPECT_FALSE(HttpServer::Start(o, nullptr).ok());
  o.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_FALSE(HttpServer::Start(o, EchoHandler).ok());  // key missing
  o.tls_key_file = "/nonexistent/key.pem";
  EXPECT_FALSE(HttpServer::Start(o, EchoHandler).ok());  // unreadable
  HttpServerOptions bad_host = TestOptions();
  bad_host.host = "256.1.1.1";
  EXPECT_FALSE(HttpServer::Start(bad_host, EchoHandler).ok());
}

TEST(HttpServerTest, KeepAliveServes100RequestsOnOneConnection) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  for (int i = 0; i < 100; ++i) {
    std::string body = "payload-" + std::to_string(i);
    Response res =
        client.RoundTrip(bhttp::verb::post, "/api/v2/keys/k/actions/wrap", body);
    ASSERT_EQ(res.result(), HttpStatus::ok);
    EXPECT_EQ(res.body(), body);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[Field::content_length], std::to_string(body.size()));
    EXPECT_EQ(res.count(Field::server), 0u);
  }
  EXPECT_EQ(server->connection_count(), 1u);
}

TEST(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    batch += "POST /r" + std::to_string(i) +
             " HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n" +
             std::to_string(i);
  }
  client.SendRaw(batch);
  for (int i = 0; i < 3; ++i) {
    Response res;
    ErrorCode ec;
    ASSERT_TRUE(client.Read(res, ec)) << ec.message();
    EXPECT_EQ(res["X-Target"], "/r" + std::to_string(i));
    EXPECT_EQ(res.body(), std::to_string(i));
  }
}

TEST(HttpServerTest, ConnectionCloseRequestClosesAfterResponse) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  client.Send(bhttp::verb::get, "/x", "", /*keep_alive=*/false);
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.ReadUntilClosed());
}

TEST(HttpServerTest, BodyOverLimitGets413AndClose) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = StartOrDie(o, [&calls](const Request&, Response&) { ++calls; });
  Client client(server->port());
  client.Send(bhttp::verb::post, "/x", std::string(4096, 'a'));
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(client.ReadUntilClosed());
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, BodyAtLimitAccepted) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1024;
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  Response res =
      client.RoundTrip(bhttp::verb::post, "/x", std::string(1024, 'a'));
  EXPECT_EQ(res.result(), HttpStatus::ok);
  EXPECT_EQ(res.body().size(), 1024u);
}

TEST(HttpServerTest, ChunkedBodyOverLimitGets413) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 16;
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  client.SendRaw(
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "20\r\n01234567890123456789012345678901\r\n0\r\n\r\n");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::payload_too_large);
}

TEST(HttpServerTest, HeaderOverLimitGets431) {
  HttpServerOptions o = TestOptions();
  o.max_header_bytes = 1024;
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  client.SendRaw("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " +
                 std::string(2048, 'b') + "\r\n\r\n");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::request_header_fields_too_large);
  EXPECT_TRUE(client.ReadUntilClosed());
}

TEST(HttpServerTest, ErrorResponderShapesTransportErrors) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 8;
  o.error_responder = [](HttpStatus status, Response& res) {
    res.set(Field::content_type, "application/json");
    res.body() = R"({"code":)" + std::to_string(static_cast<int>(status)) + "}";
  };
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  client.Send(bhttp::verb::post, "/x", std::string(100, 'a'));
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec));
  EXPECT_EQ(res.result(), HttpStatus::payload_too_large);
  EXPECT_EQ(res.body(), R"({"code":413})");
  EXPECT_EQ(res[Field::content_type], "application/json");
}

TEST(HttpServerTest, MalformedRequestGets400AndClose) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  client.SendRaw("NOT HTTP AT ALL\r\n\r\n");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::bad_request);
  EXPECT_TRUE(client.ReadUntilClosed());
}

// RFC 9112 §3.2: the answer goes through the error responder (the Key
// Protect envelope in the real server), then the connection closes, as for
// any other malformed request; the handler never runs.
TEST(HttpServerTest, Http11WithoutOrWithTwoHostsGets400AndClose) {
  HttpServerOptions o = TestOptions();
  o.error_responder = [](HttpStatus status, Response& res) {
    res.body() = "code " + std::to_string(static_cast<int>(status));
  };
  std::atomic<int> handled{0};
  auto server = StartOrDie(o, [&](const Request& req, Response& res) {
    ++handled;
    EchoHandler(req, res);
  });
  for (std::string_view raw :
       {"GET /x HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
        "GET /x HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: user@a\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"}) {
    Client client(server->port());
    client.SendRaw(raw);
    Response res;
    ErrorCode ec;
    ASSERT_TRUE(client.Read(res, ec)) << raw << ": " << ec.message();
    EXPECT_EQ(res.result(), HttpStatus::bad_request) << raw;
    EXPECT_EQ(res.body(), "code 400") << raw;
    EXPECT_TRUE(client.ReadUntilClosed()) << raw;
  }
  EXPECT_EQ(handled.load(), 0);
}

TEST(HttpServerTest, Http10WithoutHostIsServed) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  client.SendRaw("GET /old HTTP/1.0\r\n\r\n");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::ok);
  EXPECT_EQ(res["X-Target"], "/old");
}

TEST(HttpServerTest, OversizedChunkExtensionGets400AndClose) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  // One line over the per-chunk bound, and a 100 kB line that is still
  // arriving: both refused.
  for (const std::string& tail :
       {"1;" + std::string(kMaxChunkExtensionBytes + 1, 'e') +
            "\r\na\r\n0\r\n\r\n",
        "1;" + std::string(100 * 1024, 'e')}) {
    Client client(server->port());
    client.SendRaw(
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        tail);
    Response res;
    ErrorCode ec;
    ASSERT_TRUE(client.Read(res, ec)) << ec.message();
    EXPECT_EQ(res.result(), HttpStatus::bad_request);
    EXPECT_TRUE(client.ReadUntilClosed());
  }
  // A small extension is still fine.
  Client client(server->port());
  client.SendRaw(
      "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n0\r\n\r\n");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::ok);
  EXPECT_EQ(res.body(), "hello");
}

TEST(HttpServerTest, HandlerExceptionBecomes500AndConnectionSurvives) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/fail").result(),
            HttpStatus::internal_server_error);
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/ok").result(),
            HttpStatus::ok);
}

TEST(HttpServerTest, HeadSendsLengthButNoBody) {
  auto server = StartOrDie(TestOptions(), [](const Request&, Response& res) {
    res.body() = "hello";
  });
  Client client(server->port());
  client.SendRaw("HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n");
  // Read the HEAD response with a parser told to expect no body.
  bhttp::response_parser<bhttp::string_body> head_parser;
  head_parser.skip(true);
  beast::flat_buffer buf;
  bhttp::read(client.socket(), buf, head_parser);
  EXPECT_EQ(head_parser.get()[Field::content_length], "5");
  Response next;
  bhttp::read(client.socket(), buf, next);
  EXPECT_EQ(next.body(), "hello");  // framing intact after the HEAD
}

TEST(HttpServerTest, ExpectContinueGets100BeforeBody) {
  auto server = StartOrDie(TestOptions(), EchoHandler);
  Client client(server->port());
  client.SendRaw(
      "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  std::string interim(25, '\0');
  net::read(client.socket(), net::buffer(interim));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  client.SendRaw("hello");
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec));
  EXPECT_EQ(res.body(), "hello");
}

TEST(HttpServerTest, StalledRequestClosedAfterReadTimeout) {
  HttpServerOptions o = TestOptions();
  o.read_timeout = milliseconds(200);
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  auto start = std::chrono::steady_clock::now();
  client.SendRaw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Len");  // stalls
  EXPECT_TRUE(client.ReadUntilClosed());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST(HttpServerTest, IdleKeepAliveClosedAfterIdleTimeout) {
  HttpServerOptions o = TestOptions();
  o.idle_timeout = milliseconds(200);
  auto server = StartOrDie(o, EchoHandler);
  Client client(server->port());
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/x").result(), HttpStatus::ok);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ReadUntilClosed());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST(HttpServerTest, ConnectionsBeyondMaxAreClosed) {
  HttpServerOptions o = TestOptions();
  o.max_connections = 1;
  auto server = StartOrDie(o, EchoHandler);
  Client first(server->port());
  // A completed request proves the first connection is accepted and counted.
  EXPECT_EQ(first.RoundTrip(bhttp::verb::get, "/x").result(), HttpStatus::ok);
  Client second(server->port());
  EXPECT_TRUE(second.ReadUntilClosed());
  EXPECT_EQ(first.RoundTrip(bhttp::verb::get, "/y").result(), HttpStatus::ok);
}

TEST(HttpServerTest, StopFinishesInFlightRequestBeforeReturning) {
  std::promise<void> entered;
  std::atomic<bool> finished{false};
  auto server = StartOrDie(TestOptions(), [&](const Request&, Response& res) {
    entered.set_value();
    std::this_thread::sleep_for(milliseconds(300));  // the slow handler
    res.body() = "done";
    finished = true;
  });
  Client client(server->port());
  client.Send(bhttp::verb::post, "/slow", "x");
  entered.get_future().wait();
  server->Stop();
  EXPECT_TRUE(finished.load());
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.body(), "done");
  EXPECT_FALSE(res.keep_alive());  // the server is going away
  EXPECT_TRUE(client.ReadUntilClosed());
}

TEST(HttpServerTest, StopClosesIdleConnectionsPromptly) {
  HttpServerOptions o = TestOptions();
  o.threads = 2;
  auto server = StartOrDie(o, EchoHandler);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    EXPECT_EQ(clients.back()->RoundTrip(bhttp::verb::get, "/x").result(),
              HttpStatus::ok);
  }
  auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  for (auto& c : clients) EXPECT_TRUE(c->ReadUntilClosed());
  EXPECT_EQ(server->connection_count(), 0u);
  // New connections are refused once stopped.
  net::io_context io;
  tcp::socket s(io);
  ErrorCode ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server->port()),
            ec);
  EXPECT_TRUE(ec);
}

TEST(HttpServerTest, StopFromHandlerThenWait) {
  std::unique_ptr<HttpServer> server;
  server = StartOrDie(TestOptions(), [&server](const Request&, Response& res) {
    server->Stop();  // must not deadlock by joining its own thread
    res.body() = "bye";
  });
  Client client(server->port());
  Response res = client.RoundTrip(bhttp::verb::get, "/stop");
  EXPECT_EQ(res.body(), "bye");
  server->Wait();
  server->Stop();  // idempotent
}

TEST(HttpServerTest, ManyConnectionsOnSeveralThreads) {
  HttpServerOptions o = TestOptions();
  o.threads = 3;
  auto server = StartOrDie(o, EchoHandler);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Client client(server->port());
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        if (client.RoundTrip(bhttp::verb::post, "/x", body).body() == body) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 300);
}

TEST(HttpServerTest, StopUnderLoadReturnsAndEveryRequestIsAnsweredOrClosed) {
  HttpServerOptions o = TestOptions();
  o.threads = 2;
  auto server = StartOrDie(o, EchoHandler);
  std::atomic<bool> go{true};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Client client(server->port());
      while (go.load()) {
        client.Send(bhttp::verb::post, "/x", "load");
        Response res;
        ErrorCode ec;
        // After Stop the server answers the request in flight (with
        // Connection: close) or closes an idle connection; either ends here.
        if (!client.Read(res, ec)) return;
        EXPECT_EQ(res.body(), "load");
        ++answered;
        if (!res.keep_alive()) return;
      }
    });
  }
  while (answered.load() < 200) std::this_thread::yield();
  server->Stop();
  go = false;
  for (auto& th : threads) th.join();
  EXPECT_EQ(server->connection_count(), 0u);
}

// A server with one I/O thread that offloads "/slow*" to a pool of one.
HttpServerOptions OffloadOptions() {
  HttpServerOptions o = TestOptions();
  o.threads = 1;
  o.blocking_threads = 1;
  o.offload = [](const Request& req) { return req.target().starts_with("/slow"); };
  return o;
}

// How long a test waits for something that must happen before it gives up
// and fails (rather than hangs). Nothing here waits for time to pass.
constexpr auto kPatience = std::chrono::seconds(20);

TEST(HttpServerOffloadTest, OffloadedHandlerLeavesItsIoThreadServing) {
  std::latch entered(1);
  std::latch release(1);
  std::string slow_peer;
  std::thread::id slow_thread;
  std::thread::id fast_thread;
  std::string fast_peer_after;
  auto server = StartOrDie(OffloadOptions(), [&](const Request& req,
                                                Response& res) {
    if (req.target() == "/slow") {
      slow_peer = std::string(CurrentPeerAddress());
      slow_thread = std::this_thread::get_id();
      entered.count_down();
      release.wait();  // stands in for a second of RSA-4096 key generation
      res.body() = "slow done";
      return;
    }
    fast_thread = std::this_thread::get_id();
    fast_peer_after = std::string(CurrentPeerAddress());
    res.body() = "fast";
  });
  ASSERT_NE(server, nullptr);

  Client slow(server->port());
  slow.Send(bhttp::verb::post, "/slow", "x");
  entered.wait();

  // While the slow handler blocks, the only I/O thread accepts a second
  // connection and answers it. Were the handler on the I/O thread, this
  // would not be answered until the latch is released.
  auto fast = std::async(std::launch::async, [&] {
    Client client(server->port());
    return client.RoundTrip(bhttp::verb::get, "/fast").body();
  });
  const bool answered_while_blocked =
      fast.wait_for(kPatience) == std::future_status::ready;
  release.count_down();
  EXPECT_TRUE(answered_while_blocked)
      << "an ordinary request waited for the offloaded handler";
  EXPECT_EQ(fast.get(), "fast");

  Response res;
  ErrorCode ec;
  ASSERT_TRUE(slow.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.result(), HttpStatus::ok);
  EXPECT_EQ(res.body(), "slow done");
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res[Field::content_length], "9");
  EXPECT_EQ(slow_peer, "127.0.0.1");
  EXPECT_EQ(fast_peer_after, "127.0.0.1");
  EXPECT_NE(slow_thread, fast_thread);

  // The connection goes on after an offloaded request, offloaded or not
  // (the latch stays released).
  EXPECT_EQ(slow.RoundTrip(bhttp::verb::get, "/fast").body(), "fast");
  EXPECT_EQ(slow.RoundTrip(bhttp::verb::get, "/slow").body(), "slow done");
}

TEST(HttpServerOffloadTest, PipelinedRequestsStayInOrderAcrossThePool) {
  auto server = StartOrDie(OffloadOptions(), EchoHandler);
  Client client(server->port());
  client.SendRaw(
      "POST /slow-1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
      "POST /fast-2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb"
      "POST /slow-3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nc");
  for (std::string_view expected : {"/slow-1", "/fast-2", "/slow-3"}) {
    Response res;
    ErrorCode ec;
    ASSERT_TRUE(client.Read(res, ec)) << ec.message();
    EXPECT_EQ(res["X-Target"], expected);
  }
}

TEST(HttpServerOffloadTest, OffloadedHandlerExceptionBecomes500) {
  auto server = StartOrDie(OffloadOptions(), [](const Request& req, Response&) {
    if (req.target() == "/slow-throw") throw std::runtime_error("boom");
    if (req.target() == "/slow-int") throw 42;
  });
  Client client(server->port());
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/slow-throw").result(),
            HttpStatus::internal_server_error);
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/slow-int").result(),
            HttpStatus::internal_server_error);
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/slow-ok").result(),
            HttpStatus::ok);
}

TEST(HttpServerOffloadTest, ThrowingPredicateIs500WithoutCallingTheHandler) {
  HttpServerOptions o = OffloadOptions();
  o.offload = [](const Request& req) -> bool {
    if (req.target() == "/bad") throw std::runtime_error("predicate bug");
    return false;
  };
  std::atomic<int> calls{0};
  auto server = StartOrDie(o, [&](const Request&, Response&) { ++calls; });
  Client client(server->port());
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/bad").result(),
            HttpStatus::internal_server_error);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(client.RoundTrip(bhttp::verb::get, "/good").result(),
            HttpStatus::ok);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpServerOffloadTest, StopWaitsForOffloadedHandler) {
  std::latch entered(1);
  std::latch release(1);
  std::atomic<bool> finished{false};
  auto server = StartOrDie(OffloadOptions(), [&](const Request&, Response& res) {
    entered.count_down();
    release.wait();
    res.body() = "done";
    finished = true;
  });
  Client client(server->port());
  client.Send(bhttp::verb::post, "/slow", "x");
  entered.wait();
  auto stopped = std::async(std::launch::async, [&] { server->Stop(); });
  // Stop() has begun once the listening socket is closed, which the I/O
  // thread does while the handler is still blocked; only then release it,
  // so the response is written by a stopping server.
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  bool acceptor_closed = false;
  while (!acceptor_closed && std::chrono::steady_clock::now() < give_up) {
    net::io_context io;
    tcp::socket probe(io);
    ErrorCode ec;
    probe.connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), server->port()), ec);
    acceptor_closed = static_cast<bool>(ec);
    if (!acceptor_closed) std::this_thread::yield();
  }
  release.count_down();
  EXPECT_TRUE(acceptor_closed) << "the acceptor stayed open during Stop()";
  ASSERT_EQ(stopped.wait_for(kPatience), std::future_status::ready);
  EXPECT_TRUE(finished.load());  // Stop() returned after the handler did
  Response res;
  ErrorCode ec;
  ASSERT_TRUE(client.Read(res, ec)) << ec.message();
  EXPECT_EQ(res.body(), "done");
  EXPECT_FALSE(res.keep_alive());  // the server is going away
  EXPECT_TRUE(client.ReadUntilClosed());
  EXPECT_EQ(server->connection_count(), 0u);
}

TEST(HttpServerOffloadTest, StopFromOffloadedHandlerThenWait) {
  std::unique_ptr<HttpServer> server;
  server = StartOrDie(OffloadOptions(), [&server](const Request&, Response& res) {
    server->Stop();  // on a pool thread: must not join the pool it runs on
    res.body() = "bye";
  });
  Client client(server->port());
  Response res = client.RoundTrip(bhttp::verb::get, "/slow");
  EXPECT_EQ(res.body(), "bye");
  server->Wait();
}

TEST(HttpServerOffloadTest, OffloadNeedsABlockingThread) {
  HttpServerOptions o = OffloadOptions();
  o.blocking_threads = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(HttpServer::Start(o, EchoHandler).status()));
  // Without a predicate the pool size is not looked at.
  HttpServerOptions plain = TestOptions();
  plain.blocking_threads = 0;
  EXPECT_TRUE(HttpServer::Start(plain, EchoHandler).ok());
}

// Generates a throwaway self-signed certificate with the openssl CLI.
class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kw_http_tls_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 1 -subj /CN=localhost -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(TlsServerTest, ServesHttpsWithKeepAlive) {
  HttpServerOptions o = TestOptions();
  o.tls_cert_file = dir_ + "/cert.pem";
  o.tls_key_file = dir_ + "/key.pem";
  auto server = StartOrDie(o, EchoHandler);
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(server->tls());

  net::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(dir_ + "/cert.pem");
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.next_layer().connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), server->port()));
  stream.handshake(ssl::stream_base::client);
  EXPECT_GE(SSL_version(stream.native_handle()), TLS1_2_VERSION);

  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    Request req{bhttp::verb::post, "/tls", 11};
    req.set(Field::host, "localhost");
    req.body() = "secret-" + std::to_string(i);
    req.prepare_payload();
    bhttp::write(stream, req);
    Response res;
    bhttp::read(stream, buf, res);
    EXPECT_EQ(res.body(), req.body());
  }
  server->Stop();
}

TEST_F(TlsServerTest, Tls11ClientRejected) {
  HttpServerOptions o = TestOptions();
  o.tls_cert_file = dir_ + "/cert.pem";
  o.tls_key_file = dir_ + "/key.pem";
  auto server = StartOrDie(o, EchoHandler);
  net::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_1_VERSION);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.next_layer().connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), server->port()));
  ErrorCode ec;
  stream.handshake(ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
}

TEST_F(TlsServerTest, KeyNotMatchingCertRejected) {
  std::string cmd = "openssl genpkey -algorithm ec -pkeyopt "
                    "ec_paramgen_curve:prime256v1 -out " +
                    dir_ + "/other.pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  HttpServerOptions o = TestOptions();
  o.tls_cert_file = dir_ + "/cert.pem";
  o.tls_key_file = dir_ + "/other.pem";
  EXPECT_FALSE(HttpServer::Start(o, EchoHandler).ok());
}

}  // namespace
}  // namespace keywarden::api::http
