#include "keywarden/api/keyprotect/token_form.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::api::keyprotect {
namespace {

absl::Status BadRequest(std::string_view message,
                        std::optional<std::string_view> field = std::nullopt) {
  return Error(Reason::kBadRequest, StrCat("Bad Request: ", message), field);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// application/x-www-form-urlencoded (WHATWG URL §5.1): '+' is a space and
// %XX escapes are decoded. Into SecretBytes: the value may be an API key.
absl::StatusOr<SecretBytes> FormDecode(std::string_view in) {
  SecretBytes out(in.size());  // decoding never grows
  size_t n = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size() || !absl::ascii_isxdigit(in[i + 1]) ||
          !absl::ascii_isxdigit(in[i + 2])) {
        return BadRequest("the form body has a malformed escape");
      }
      c = static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    }
    out.data()[n++] = static_cast<uint8_t>(c);
  }
  out.Truncate(n);
  return out;
}

// The value of the field `name`, decoded; nullopt if absent.
absl::StatusOr<std::optional<SecretBytes>> FormField(std::string_view body,
                                                     std::string_view name) {
  // A repeated field is refused rather than resolved: as with repeated JSON
  // members (RFC 7493 §2.3), two readers that pick different copies would
  // check one value and use another.
  std::optional<SecretBytes> found;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(start, end - start);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      if (found.has_value()) {
        return BadRequest(StrCat("`", name, "` is given more than once"),
                          name);
      }
      if (eq == std::string_view::npos) {
        found.emplace();
      } else {
        KW_ASSIGN_OR_RETURN(found, FormDecode(pair.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return found;
}

bool Equals(const SecretBytes& value, std::string_view text) {
  return std::string_view(reinterpret_cast<const char*>(value.data()),
                          value.size()) == text;
}

}  // namespace

absl::StatusOr<service::TokenRequest> DecodeTokenForm(std::string_view body) {
  KW_ASSIGN_OR_RETURN(std::optional<SecretBytes> grant,
                      FormField(body, "grant_type"));
  if (!grant.has_value() || !Equals(*grant, kApiKeyGrantType)) {
    return BadRequest(StrCat("`grant_type` must be ", kApiKeyGrantType),
                      "grant_type");
  }
  KW_ASSIGN_OR_RETURN(std::optional<SecretBytes> apikey,
                      FormField(body, "apikey"));
  if (!apikey.has_value() || apikey->empty()) {
    return BadRequest("`apikey` is required", "apikey");
  }
  return service::TokenRequest{*std::move(apikey)};
}

}  // namespace keywarden::api::keyprotect
