#include "keywarden/api/http/request_reader.h"

#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "gtest/gtest.h"

namespace keywarden::api::http {
namespace {

namespace beast = boost::beast;

// Feeds `bytes` to a fresh reader in pieces of `step` bytes, as reads from
// a socket would; returns the status it answers, or nullopt when the
// request parsed (`done` tells whether it completed).
std::optional<HttpStatus> Feed(std::string_view bytes, size_t step,
                               bool* done = nullptr,
                               RequestLimits limits = {}) {
  RequestReader reader;
  reader.Start(limits);
  beast::flat_buffer buffer;
  for (size_t i = 0; i < bytes.size(); i += step) {
    std::string_view piece = bytes.substr(i, step);
    buffer.commit(boost::asio::buffer_copy(
        buffer.prepare(piece.size()),
        boost::asio::buffer(piece.data(), piece.size())));
    if (std::optional<HttpStatus> status = reader.Parse(buffer)) return status;
    if (reader.done()) break;
  }
  if (done != nullptr) *done = reader.done();
  return std::nullopt;
}

Request Header(unsigned version = 11) {
  Request r;
  r.version(version);
  r.method(Verb::get);
  r.target("/");
  return r;
}

TEST(CheckHostTest, Http11NeedsExactlyOneValidHost) {
  Request r = Header();
  EXPECT_FALSE(CheckHost(r).ok());  // RFC 9112 §3.2: none
  r.insert(Field::host, "example.com:8443");
  EXPECT_TRUE(CheckHost(r).ok());
  r.insert(Field::host, "example.com:8443");
  EXPECT_FALSE(CheckHost(r).ok());  // two, even equal
}

TEST(CheckHostTest, Http10MayOmitHostButNotRepeatIt) {
  Request r = Header(10);
  EXPECT_TRUE(CheckHost(r).ok());
  r.insert(Field::host, "a");
  r.insert(Field::host, "b");
  EXPECT_FALSE(CheckHost(r).ok());
}

TEST(CheckHostTest, ValueIsUriHostAndPort) {
  for (std::string_view good : {"", "localhost", "127.0.0.1:8080", "[::1]:443",
                                "[::1]", "a-b.c_d~e", "x%41y", "host:"}) {
    Request r = Header();
    r.set(Field::host, good);
    EXPECT_TRUE(CheckHost(r).ok()) << good;
  }
  for (std::string_view bad :
       {"user@host", "a b", "host/path", "host:80x", "[::1", "[]", "x%4",
        "x%zz", "host?q", "a:1:2", "[::1]x"}) {
    Request r = Header();
    r.set(Field::host, bad);
    EXPECT_FALSE(CheckHost(r).ok()) << bad;
  }
}

constexpr std::string_view kChunkedHead =
    "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(RequestReaderTest, ParsesWholeAndPiecewise) {
  const std::string req =
      std::string(kChunkedHead) + "3;a=b\r\nabc\r\n0\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{7}, req.size()}) {
    bool done = false;
    EXPECT_EQ(Feed(req, step, &done), std::nullopt) << step;
    EXPECT_TRUE(done) << step;
  }
}

TEST(RequestReaderTest, MissingOrRepeatedHostIs400) {
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\n\r\n", 64), HttpStatus::bad_request);
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 64),
            HttpStatus::bad_request);
  // Refused as soon as the header is in, before any body.
  EXPECT_EQ(Feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 64),
            HttpStatus::bad_request);
  bool done = false;
  EXPECT_EQ(Feed("GET / HTTP/1.0\r\n\r\n", 64, &done), std::nullopt);
  EXPECT_TRUE(done);
}

TEST(RequestReaderTest, HostInATrailerIs400) {
  // Found by http_request_fuzzer: the trailer's Host joined the header's.
  const std::string req =
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nHost: y\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{7}, req.size()}) {
    EXPECT_EQ(Feed(req, step), HttpStatus::bad_request) << step;
  }
  bool done = false;
  EXPECT_EQ(Feed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
                 64, &done),
            std::nullopt);
  EXPECT_TRUE(done);
}

TEST(RequestReaderTest, ChunkExtensionOverBoundIs400) {
  const std::string at = std::string(kChunkedHead) + "1;" +
                         std::string(kMaxChunkExtensionBytes - 1, 'e') +
                         "\r\na\r\n0\r\n\r\n";
  bool done = false;
  EXPECT_EQ(Feed(at, at.size(), &done), std::nullopt);
  EXPECT_TRUE(done);
  const std::string over = std::string(kChunkedHead) + "1;" +
                           std::string(kMaxChunkExtensionBytes, 'e') +
                           "\r\na\r\n0\r\n\r\n";
  EXPECT_EQ(Feed(over, over.size()), HttpStatus::bad_request);
  // Also on the last chunk.
  const std::string last = std::string(kChunkedHead) + "0;" +
                           std::string(kMaxChunkExtensionBytes, 'e') +
                           "\r\n\r\n";
  EXPECT_EQ(Feed(last, last.size()), HttpStatus::bad_request);
}

TEST(RequestReaderTest, ChunkExtensionsBoundedPerMessage) {
  std::string req(kChunkedHead);
  const std::string ext(100, 'e');
  for (size_t total = 0; total <= kMaxChunkExtensionTotalBytes;
       total += ext.size() + 1) {
    req += "1;" + ext + "\r\na\r\n";
  }
  req += "0\r\n\r\n";
  EXPECT_EQ(Feed(req, req.size()), HttpStatus::bad_request);
}

TEST(RequestReaderTest, UnendingChunkLineRefusedAtHeaderLimit) {
  // A 100 kB extension that never ends its line: refused once the held
  // bytes pass the header limit, not buffered until the read timeout.
  RequestLimits limits;
  limits.header_bytes = 4096;
  const std::string req =
      std::string(kChunkedHead) + "1;" + std::string(100 * 1024, 'e');
  EXPECT_EQ(Feed(req, 1024, nullptr, limits), HttpStatus::bad_request);
}

TEST(RequestReaderTest, LimitsKeepTheirStatuses) {
  RequestLimits limits;
  limits.body_bytes = 4;
  EXPECT_EQ(Feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
                 "hello",
                 64, nullptr, limits),
            HttpStatus::payload_too_large);
  limits = {};
  limits.header_bytes = 64;
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(200, 'a') +
                     "\r\n\r\n",
                 16, nullptr, limits),
            HttpStatus::request_header_fields_too_large);
  EXPECT_EQ(Feed("NOT HTTP\r\n\r\n", 64), HttpStatus::bad_request);
}

}  // namespace
}  // namespace keywarden::api::http
