// Fuzz target: the server's request framing (api/http/request_reader.h):
// Beast's HTTP/1.1 parser with the limits and checks the server adds
// (RFC 9112 §3.2 Host, §7.1.1 chunk extensions, the bytes held for an
// incomplete chunk-size line or trailer).
//
// Input: byte 0 picks the read size (1 to 256 bytes per read, as a socket
// would deliver them); the rest is the byte stream of one connection, read
// as pipelined requests until one is refused or the bytes run out.
//
// Properties (each checked with __builtin_trap()):
// - every request the reader completes passes CheckHost (one valid Host
//   for HTTP/1.1; at most one, valid, for HTTP/1.0);
// - a completed body is within the body limit;
// - the bytes the reader holds between reads never exceed the header limit
//   plus one read (nothing is buffered without bound);
// - a refusal is 400, 413 or 431.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "keywarden/api/http/request_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::api::http;
  if (size == 0) return 0;
  const size_t step = 1 + data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  RequestLimits limits;
  limits.header_bytes = 2048;
  limits.body_bytes = 4096;
  RequestReader reader;
  boost::beast::flat_buffer buffer;
  reader.Start(limits);
  size_t offset = 0;
  for (;;) {
    if (offset < stream.size()) {
      std::string_view piece = stream.substr(offset, step);
      offset += piece.size();
      buffer.commit(boost::asio::buffer_copy(
          buffer.prepare(piece.size()),
          boost::asio::buffer(piece.data(), piece.size())));
    }
    const size_t before = buffer.size();
    std::optional<HttpStatus> status = reader.Parse(buffer);
    if (status.has_value()) {
      if (*status != HttpStatus::bad_request &&
          *status != HttpStatus::payload_too_large &&
          *status != HttpStatus::request_header_fields_too_large) {
        __builtin_trap();
      }
      return 0;
    }
    if (reader.done()) {
      Request request = reader.Release();
      if (!CheckHost(request).ok()) __builtin_trap();
      if (request.body().size() > limits.body_bytes) __builtin_trap();
      reader.Start(limits);
      continue;
    }
    if (buffer.size() > limits.header_bytes + step) __builtin_trap();
    // No progress and no more bytes: the stream ends mid-request.
    if (offset >= stream.size() && buffer.size() == before) return 0;
  }
}
