#ifndef KEYWARDEN_API_HTTP_REQUEST_READER_H_
#define KEYWARDEN_API_HTTP_REQUEST_READER_H_

// The request framing rules the server enforces on top of Beast's HTTP/1.1
// parser (docs/api.md "Strict HTTP and JSON"). Socket-free, so that the
// request fuzzer (tests/fuzz/http_request_fuzzer.cc) runs exactly the code
// the server runs.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "absl/status/status.h"
#include "keywarden/api/http/http_types.h"

namespace keywarden::api::http {

// RFC 9112 §7.1.1 chunk extensions. No client of the API sends any; a small
// bound per chunk and per message keeps a peer from making the server read
// and scan extensions at will. Beast only sees an extension once its whole
// chunk-size line has arrived, so RequestReader also bounds the bytes it
// holds for an incomplete chunk-size line or trailer section (by the header
// limit: trailer fields are header fields, RFC 9112 §7.1.2).
inline constexpr size_t kMaxChunkExtensionBytes = 256;
inline constexpr size_t kMaxChunkExtensionTotalBytes = 1024;

// RFC 9112 §3.2: an HTTP/1.1 request without Host, any request with more
// than one Host field line, or a Host whose value is not
// `uri-host [":" port]` (RFC 3986 §3.2.2, §3.2.3) is invalid. HTTP/1.0
// requests may omit Host. The error message is safe to show.
absl::Status CheckHost(const Request& header);

struct RequestLimits {
  size_t header_bytes = 16 << 10;  // beyond: 431
  uint64_t body_bytes = 1 << 20;   // beyond: 413
};

// Reads one request at a time from a connection's buffer. Start() before
// each request (Beast's parser cannot be reset). Not thread-safe; it must
// not move while a request is read (the parser holds a callback into it).
class RequestReader {
 public:
  RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  void Start(const RequestLimits& limits);

  // Parses the bytes in `buffer` and consumes what it used; bytes after a
  // complete request (pipelining) stay. Returns the status to answer, after
  // which the connection closes, when the request is malformed or over a
  // limit; nullopt when more bytes are needed or the request is done().
  std::optional<HttpStatus> Parse(boost::beast::flat_buffer& buffer);

  bool header_done() const { return parser_->is_header_done(); }
  bool done() const { return parser_->is_done(); }
  // The header so far; only after header_done().
  const Request& header() const { return parser_->get(); }
  // The HTTP version to answer an error in (1.1 before the start line).
  unsigned version() const;
  Request Release() { return parser_->release(); }
  // The body read so far, to wipe when a request is refused part-way.
  std::string& body() { return parser_->get().body(); }

 private:
  void OnChunkHeader(uint64_t size, std::string_view extensions,
                     boost::system::error_code& ec);

  std::optional<
      boost::beast::http::request_parser<boost::beast::http::string_body>>
      parser_;
  // Beast keeps a reference to this callback, hence a member.
  std::function<void(uint64_t, boost::beast::string_view,
                     boost::system::error_code&)>
      on_chunk_header_;
  RequestLimits limits_;
  size_t extension_bytes_ = 0;
  bool header_checked_ = false;
};

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_REQUEST_READER_H_
