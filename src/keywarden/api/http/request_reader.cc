#include "keywarden/api/http/request_reader.h"

#include <utility>

#include <boost/beast/http/error.hpp>

#include "absl/strings/ascii.h"

namespace keywarden::api::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using ErrorCode = boost::system::error_code;

// RFC 3986 §2.3 unreserved and §2.2 sub-delims: what a reg-name is made of
// besides pct-encoded octets.
bool IsRegNameChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-':
    case '.':
    case '_':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

bool IsHex(char c) {
  return absl::ascii_isxdigit(static_cast<unsigned char>(c));
}

// `uri-host [":" port]` (RFC 9112 §3.2, RFC 3986 §3.2.2-§3.2.3). An
// IP-literal is checked for its alphabet only (IPv6address and IPvFuture
// both fit in it); an empty value is valid (RFC 9112 §3.2).
bool IsHostValue(std::string_view v) {
  size_t i = 0;
  if (!v.empty() && v[0] == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1)) {
      if (!IsRegNameChar(c) && c != ':') return false;
    }
    i = close + 1;
  } else {
    while (i < v.size() && v[i] != ':') {
      if (v[i] == '%') {
        if (i + 2 >= v.size() || !IsHex(v[i + 1]) || !IsHex(v[i + 2])) {
          return false;
        }
        i += 3;
        continue;
      }
      if (!IsRegNameChar(v[i])) return false;
      ++i;
    }
  }
  if (i == v.size()) return true;
  if (v[i] != ':') return false;
  for (char c : v.substr(i + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<HttpStatus> StatusForParseError(const ErrorCode& ec) {
  if (ec == bhttp::error::body_limit) return HttpStatus::payload_too_large;
  if (ec == bhttp::error::header_limit) {
    return HttpStatus::request_header_fields_too_large;
  }
  // Any other framing error: malformed start line, field, chunk, or a
  // chunk extension over its bound.
  return HttpStatus::bad_request;
}

}  // namespace

absl::Status CheckHost(const Request& header) {
  size_t count = header.count(Field::host);
  if (count > 1) {
    return absl::InvalidArgumentError("more than one Host field");
  }
  if (count == 0) {
    if (header.version() >= 11) {
      return absl::InvalidArgumentError("an HTTP/1.1 request needs Host");
    }
    return absl::OkStatus();
  }
  beast::string_view value = header[Field::host];
  if (!IsHostValue(std::string_view(value.data(), value.size()))) {
    return absl::InvalidArgumentError("the Host value is not host[:port]");
  }
  return absl::OkStatus();
}

RequestReader::RequestReader()
    : on_chunk_header_([this](uint64_t size, beast::string_view extensions,
                              ErrorCode& ec) {
        OnChunkHeader(
            size, std::string_view(extensions.data(), extensions.size()), ec);
      }) {}

void RequestReader::Start(const RequestLimits& limits) {
  limits_ = limits;
  extension_bytes_ = 0;
  header_checked_ = false;
  parser_.emplace();
  parser_->header_limit(
      static_cast<uint32_t>(std::min<size_t>(limits.header_bytes, UINT32_MAX)));
  parser_->body_limit(limits.body_bytes);
  parser_->eager(true);
  parser_->on_chunk_header(on_chunk_header_);
}

unsigned RequestReader::version() const {
  return parser_.has_value() && parser_->is_header_done()
             ? parser_->get().version()
             : 11;
}

void RequestReader::OnChunkHeader(uint64_t /*size*/,
                                  std::string_view extensions, ErrorCode& ec) {
  extension_bytes_ += extensions.size();
  if (extensions.size() > kMaxChunkExtensionBytes ||
      extension_bytes_ > kMaxChunkExtensionTotalBytes) {
    ec = bhttp::error::bad_chunk_extension;
  }
}

std::optional<HttpStatus> RequestReader::Parse(beast::flat_buffer& buffer) {
  ErrorCode ec;
  // In the common case the whole request arrived in one read and is parsed
  // here in one go.
  while (buffer.size() > 0 && !parser_->is_done()) {
    size_t used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
  if (ec) return StatusForParseError(ec);
  if (!parser_->is_header_done()) return std::nullopt;
  if (!header_checked_) {
    // Before any body is read or 100 Continue is sent.
    header_checked_ = true;
    if (!CheckHost(parser_->get()).ok()) return HttpStatus::bad_request;
  }
  // Beast merges trailer fields into the header, so a Host sent in the
  // trailer shows up only now, as a second one. RFC 9110 §6.5.1: fields
  // needed for routing must not be trailers; the request is refused before
  // anything reads the merged header.
  if (parser_->is_done() && parser_->chunked() &&
      !CheckHost(parser_->get()).ok()) {
    return HttpStatus::bad_request;
  }
  // What Beast leaves unconsumed in a chunked body is an incomplete
  // chunk-size line or trailer section: chunk data is always consumed.
  if (!parser_->is_done() && parser_->chunked() &&
      buffer.size() > limits_.header_bytes) {
    return HttpStatus::bad_request;
  }
  return std::nullopt;
}

}  // namespace keywarden::api::http
