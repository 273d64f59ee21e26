#include "keywarden/client/errors.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "absl/strings/cord.h"
#include "keywarden/common/strings.h"

namespace keywarden::client {
namespace {

namespace json = boost::json;

absl::StatusCode CodeOfHttp(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404:
    case 410: return absl::StatusCode::kNotFound;
    case 409:
    case 412: return absl::StatusCode::kFailedPrecondition;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default:
      return status >= 500 ? absl::StatusCode::kInternal
                           : absl::StatusCode::kUnknown;
  }
}

// The string at obj[key], or "" when absent or not a string.
std::string_view StringAt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return std::string_view(s.data(), s.size());
}

}  // namespace

absl::Status ErrorFromResponse(int http_status, std::string_view body) {
  std::string code, message;
  json::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec);
  if (!ec && v.is_object()) {
    const json::value* resources = v.get_object().if_contains("resources");
    if (resources != nullptr && resources->is_array() &&
        !resources->get_array().empty() &&
        resources->get_array()[0].is_object()) {
      const json::object& r0 = resources->get_array()[0].get_object();
      const json::value* reasons = r0.if_contains("reasons");
      if (reasons != nullptr && reasons->is_array() &&
          !reasons->get_array().empty() &&
          reasons->get_array()[0].is_object()) {
        const json::object& reason = reasons->get_array()[0].get_object();
        code = Printable(StringAt(reason, "code"));
        message = Printable(StringAt(reason, "message"));
      }
      if (message.empty()) message = Printable(StringAt(r0, "errorMsg"));
    }
  }
  std::string text;
  if (code.empty()) {
    text = StrCat("HTTP ", http_status);
  } else {
    text = code;
  }
  if (!message.empty()) StrAppend(&text, ": ", message);
  absl::Status status(CodeOfHttp(http_status), AbslView(text));
  if (!code.empty()) {
    status.SetPayload(AbslView(kReasonPayload), absl::Cord(AbslView(code)));
  }
  return status;
}

std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else if (c == 0xc2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out.push_back('?');  // a C1 control in UTF-8 (U+0080..U+009F)
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(AbslView(kReasonPayload));
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace keywarden::client
