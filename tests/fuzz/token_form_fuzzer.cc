// Fuzz target: the form body of POST /identity/token
// (api/keyprotect/token_form.h), read before any API key is looked up.
// Targets api::keyprotect::DecodeTokenForm.
//
// Properties (each checked with __builtin_trap()):
// - an accepted body names both fields (`grant_type=` and `apikey=`), and
//   the decoded API key is non-empty and no longer than the body (decoding
//   never grows);
// - the same body always decodes to the same key, and a refusal always
//   names a field or none, never crashes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "keywarden/api/keyprotect/token_form.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using keywarden::api::keyprotect::DecodeTokenForm;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto form = DecodeTokenForm(body);
  auto again = DecodeTokenForm(body);
  if (form.ok() != again.ok()) __builtin_trap();
  if (!form.ok()) return 0;
  if (body.find("grant_type=") == std::string_view::npos ||
      body.find("apikey=") == std::string_view::npos) {
    __builtin_trap();
  }
  const auto& key = form->api_key;
  if (key.size() == 0 || key.size() > size) __builtin_trap();
  if (again->api_key.size() != key.size() ||
      std::memcmp(again->api_key.data(), key.data(), key.size()) != 0) {
    __builtin_trap();
  }
  return 0;
}
