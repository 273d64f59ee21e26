#include "keywarden/integrations/clevis/pin_format.h"

#include <array>
#include <exception>
#include <initializer_list>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"

namespace keywarden::integrations::clevis {
namespace {

namespace json = boost::json;

// Longest id, alias, URL, path or CRN accepted (Key Protect's CRNs and ids
// are far shorter; the bound keeps messages and headers small).
constexpr size_t kMaxFieldBytes = 1024;
// A WDEK of a 32-byte CEK is about 100 base64 characters.
constexpr size_t kMaxWdekBytes = 4096;

// A member name for a message: control and non-ASCII bytes as '?', at most
// 64 characters, so a hostile header cannot forge terminal or log output.
std::string Shown(std::string_view name) {
  std::string out(name.substr(0, 64));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  return out;
}

struct Field {
  std::string_view name;
  std::string* out;
  bool required;
  bool path;  // must be absolute
};

absl::StatusOr<json::value> ParseObject(std::string_view text,
                                        std::string_view what) {
  if (text.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(
        AbslView(StrCat("the ", what, " is larger than ", kMaxInputBytes,
                        " bytes")));
  }
  json::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) {
    return absl::InvalidArgumentError(
        AbslView(StrCat("the ", what, " is not a JSON object")));
  }
  return v;
}

// Reads the members named in `fields` from `v` (an object), refusing any
// other member and any value that is not a non-empty string within bounds.
absl::Status ReadFields(const json::value& v, std::string_view what,
                        std::initializer_list<Field> fields) {
  const json::object& obj = v.get_object();
  for (const auto& [name, value] : obj) {
    bool known = false;
    for (const Field& f : fields) known = known || f.name == std::string_view(name);
    if (!known) {
      return absl::InvalidArgumentError(AbslView(StrCat(
          "the ", what, " has an unknown member \"",
          Shown(std::string_view(name)), "\"")));
    }
  }
  for (const Field& f : fields) {
    const json::value* m = obj.if_contains(json::string_view(f.name.data(), f.name.size()));
    if (m == nullptr) {
      if (f.required) {
        return absl::InvalidArgumentError(AbslView(
            StrCat("the ", what, " has no \"", f.name, "\" member")));
      }
      continue;
    }
    const json::string* s = m->if_string();
    const size_t limit = f.name == "wdek" ? kMaxWdekBytes : kMaxFieldBytes;
    if (s == nullptr || s->empty() || s->size() > limit) {
      return absl::InvalidArgumentError(AbslView(
          StrCat("the ", what, "'s \"", f.name, "\" must be a string of 1 to ",
                 limit, " characters")));
    }
    if (f.path && (*s)[0] != '/') {
      return absl::InvalidArgumentError(AbslView(
          StrCat("the ", what, "'s \"", f.name,
                 "\" must be an absolute path (the pin also runs at boot, "
                 "from another directory)")));
    }
    f.out->assign(s->data(), s->size());
  }
  return absl::OkStatus();
}

void Put(json::object& obj, std::string_view name, const std::string& value) {
  if (!value.empty()) obj[json::string_view(name.data(), name.size())] = value;
}

}  // namespace

absl::StatusOr<PinConfig> ParsePinConfig(std::string_view text) {
  auto v = ParseObject(text, "configuration");
  if (!v.ok()) return v.status();
  PinConfig c;
  KW_RETURN_IF_ERROR(ReadFields(*v, "configuration",
                                {{"url", &c.url, true, false},
                                 {"instance", &c.instance, true, false},
                                 {"key", &c.key, true, false},
                                 {"apikey_file", &c.apikey_file, false, true},
                                 {"cacert", &c.cacert, false, true},
                                 {"crn", &c.crn, false, false}}));
  return c;
}

absl::StatusOr<PinHeader> ParsePinHeader(std::string_view text) {
  auto v = ParseObject(text, "JWE's keywarden header");
  if (!v.ok()) return v.status();
  PinHeader h;
  KW_RETURN_IF_ERROR(ReadFields(*v, "JWE's keywarden header",
                                {{"url", &h.url, true, false},
                                 {"instance", &h.instance, true, false},
                                 {"key", &h.key, true, false},
                                 {"key_version", &h.key_version, false, false},
                                 {"wdek", &h.wdek, true, false},
                                 {"apikey_file", &h.apikey_file, false, true},
                                 {"cacert", &h.cacert, false, true},
                                 {"crn", &h.crn, false, false}}));
  return h;
}

std::string FormatPinHeader(const PinHeader& h) {
  json::object obj;
  Put(obj, "url", h.url);
  Put(obj, "instance", h.instance);
  Put(obj, "key", h.key);
  Put(obj, "key_version", h.key_version);
  Put(obj, "wdek", h.wdek);
  Put(obj, "apikey_file", h.apikey_file);
  Put(obj, "cacert", h.cacert);
  Put(obj, "crn", h.crn);
  return json::serialize(obj);
}

absl::StatusOr<SecretBytes> CekOfJwk(std::string_view text) {
  const absl::Status malformed = absl::InvalidArgumentError(
      "the content-encryption key is not an A256GCM JWK");
  if (text.size() > kMaxInputBytes) return malformed;
  // Every allocation of the parse lands in this buffer (no heap: the null
  // upstream throws instead), so wiping it leaves no copy of the key.
  std::array<unsigned char, 4 * kMaxInputBytes> buffer;
  struct Wipe {
    std::array<unsigned char, 4 * kMaxInputBytes>& b;
    ~Wipe() { WipeMemory(b.data(), b.size()); }
  } wipe{buffer};
  json::monotonic_resource arena(buffer.data(), buffer.size(),
                                 json::get_null_resource());
  std::vector<uint8_t> raw;
  try {
    json::error_code ec;
    json::value v =
        json::parse(json::string_view(text.data(), text.size()), ec, &arena);
    const json::object* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr) return malformed;
    const json::value* kty = obj->if_contains("kty");
    const json::value* alg = obj->if_contains("alg");
    const json::value* k = obj->if_contains("k");
    if (kty == nullptr || !kty->is_string() || kty->get_string() != "oct" ||
        (alg != nullptr && (!alg->is_string() || alg->get_string() != "A256GCM")) ||
        k == nullptr || !k->is_string()) {
      return malformed;
    }
    auto decoded = crypto::Base64UrlDecode(
        std::string_view(k->get_string().data(), k->get_string().size()));
    if (!decoded.ok()) return malformed;
    raw = *std::move(decoded);
  } catch (const std::exception&) {  // the arena is full: not a small JWK
    return malformed;
  }
  SecretBytes cek(raw.data(), raw.size());
  WipeMemory(raw.data(), raw.size());
  if (cek.size() != kCekBytes) return malformed;
  return cek;
}

std::string JwkOfCek(const SecretBytes& cek) {
  std::string k = crypto::Base64UrlEncode(cek.span());
  std::string jwk;
  jwk.reserve(64 + k.size());
  jwk.append(R"({"alg":"A256GCM","k":")").append(k).append(R"(","kty":"oct"})");
  WipeString(k);
  return jwk;
}

}  // namespace keywarden::integrations::clevis
