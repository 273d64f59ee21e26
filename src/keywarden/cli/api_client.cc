#include "keywarden/cli/api_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "keywarden/cli/output.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

absl::StatusCode CodeOfHttp(int status) {
  switch (status) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 409: return absl::StatusCode::kFailedPrecondition;
    case 429: return absl::StatusCode::kResourceExhausted;
    case 503: return absl::StatusCode::kUnavailable;
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
        code = std::string(StringAt(reason, "code"));
        message = std::string(StringAt(reason, "message"));
      }
      if (message.empty()) message = std::string(StringAt(r0, "errorMsg"));
    }
  }
  std::string text;
  if (code.empty()) {
    text = StrCat("HTTP ", http_status);
    if (!message.empty()) StrAppend(&text, ": ", message);
  } else {
    text = code;
    if (!message.empty()) StrAppend(&text, ": ", message);
  }
  return absl::Status(CodeOfHttp(http_status), AbslView(Printable(text)));
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

absl::StatusOr<json::value> ApiClient::Call(std::string_view method,
                                            const std::string& target,
                                            const json::value* body) const {
  net::HttpRequest req;
  req.method = std::string(method);
  req.target = target;
  // No token, no header: `operator unseal` with a share needs none.
  if (!token_.empty()) {
    req.headers.emplace_back("Authorization", StrCat("Bearer ", token_));
  }
  req.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = json::serialize(*body);
  }
  auto r = net::Send(endpoint_, req, options_);
  if (!r.ok()) return r.status();
  return Finish(*r);
}

absl::StatusOr<json::value> ApiClient::PostForm(const std::string& target,
                                                const std::string& form) const {
  net::HttpRequest req;
  req.method = "POST";
  req.target = target;
  req.headers.emplace_back("Content-Type",
                           "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  req.body = form;
  auto r = net::Send(endpoint_, req, options_);
  if (!r.ok()) return r.status();
  return Finish(*r);
}

absl::StatusOr<json::value> ApiClient::Finish(const net::HttpResponse& r) const {
  if (r.status < 200 || r.status > 299) {
    return ErrorFromResponse(r.status, r.body);
  }
  if (r.body.empty()) return json::value(nullptr);
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) {
    return absl::InternalError(StrCat("the server at ", endpoint_.Display(),
                                      " answered ", r.status,
                                      " with a body that is not JSON"));
  }
  return v;
}

}  // namespace keywarden::cli
