// The server overwrites what an exchange may have carried in plaintext (the
// request and response bodies) once the response is written.
#include <algorithm>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "gtest/gtest.h"
#include "keywarden/api/http/server.h"

namespace keywarden::api::http {
namespace {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

// Whether the whole allocation of `s` (not only its size) is zero.
bool AllocationIsZero(const std::string& s) {
  return std::all_of(s.data(), s.data() + s.capacity(),
                     [](char c) { return c == 0; });
}

struct Seen {
  std::mutex mu;
  std::vector<std::string> problems;
  int exchanges = 0;
};

TEST(HttpServerWipeTest, BodiesAreOverwrittenOnceTheResponseIsWritten) {
  const std::string secret(300, 'K');  // stands for a base64 DEK
  Seen seen;
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.threads = 1;
  o.after_response = [&](const Request& req, const Response& res) {
    std::lock_guard lock(seen.mu);
    ++seen.exchanges;
    if (!req.body().empty() || !AllocationIsZero(req.body())) {
      seen.problems.push_back("request body not wiped");
    }
    if (!res.body().empty() || !AllocationIsZero(res.body())) {
      seen.problems.push_back("response body not wiped");
    }
    if (req.body().capacity() < 300 || res.body().capacity() < 300) {
      seen.problems.push_back("the bodies were freed, not wiped in place");
    }
  };
  auto server = HttpServer::Start(o, [](const Request& req, Response& res) {
    res.body() = req.body();  // like unwrap: plaintext in the response
  });
  ASSERT_TRUE(server.ok()) << server.status();

  net::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                               (*server)->port()));
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {  // keep-alive: the same buffers again
    Request req{bhttp::verb::post, "/wrap", 11};
    req.set(Field::host, "localhost");
    req.body() = secret;
    req.prepare_payload();
    bhttp::write(socket, req);
    Response res;
    bhttp::read(socket, buffer, res);
    EXPECT_EQ(res.body(), secret);  // the client got it before the wipe
  }
  (*server)->Stop();
  std::lock_guard lock(seen.mu);
  EXPECT_EQ(seen.exchanges, 3);
  EXPECT_TRUE(seen.problems.empty()) << seen.problems.front();
}

}  // namespace
}  // namespace keywarden::api::http
