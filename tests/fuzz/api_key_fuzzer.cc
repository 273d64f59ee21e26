// Fuzz target: API key text (iam/api_key.h), read from /identity/token
// requests before anything is looked up. Targets iam::ParseApiKey.
//
// Properties (each checked with __builtin_trap()):
// - an accepted key is exactly kApiKeySize bytes, "kwk_" + 8 lower-case hex
//   + "_" + 43 base64url characters, and its prefix is its first 12 bytes;
// - the same text always gives the same hash, and a text differing in its
//   last byte does not parse to the same hash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keywarden/iam/api_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::iam;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseApiKey(text);
  if (!parsed.ok()) return 0;
  if (size != kApiKeySize || text.substr(0, kApiKeyTag.size()) != kApiKeyTag ||
      parsed->prefix != text.substr(0, kApiKeyPrefixSize) ||
      text[kApiKeyPrefixSize] != '_') {
    __builtin_trap();
  }
  for (size_t i = kApiKeyTag.size(); i < kApiKeyPrefixSize; ++i) {
    const char c = text[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) __builtin_trap();
  }
  auto again = ParseApiKey(text);
  if (!again.ok() || again->hash != parsed->hash) __builtin_trap();

  std::string other(text);
  other.back() = other.back() == 'A' ? 'Q' : 'A';
  auto changed = ParseApiKey(other);
  if (changed.ok() && changed->hash == parsed->hash) __builtin_trap();
  return 0;
}
