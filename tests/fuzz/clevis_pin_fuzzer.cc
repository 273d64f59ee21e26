// Fuzz target: what the Clevis pin reads (integrations/clevis/pin_format.h):
// the JWE header member, which comes from a disk's LUKS header or any JWE
// handed to `clevis decrypt`; the configuration; the content-encryption JWK.
// The first byte picks the reader, the rest is its input.
//
// Properties (each checked with __builtin_trap()):
// - a header that parses formats to text that parses to the same header,
//   and formatting that again gives the same text (a fixed point);
// - a configuration that parses has its required members and absolute paths;
// - a JWK that parses holds exactly 32 bytes, and JwkOfCek of them reads
//   back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keywarden/common/secret_bytes.h"
#include "keywarden/integrations/clevis/pin_format.h"

namespace {

namespace clevis = keywarden::integrations::clevis;

void Header(std::string_view text) {
  auto h = clevis::ParsePinHeader(text);
  if (!h.ok()) return;
  if (h->url.empty() || h->instance.empty() || h->key.empty() || h->wdek.empty()) {
    __builtin_trap();
  }
  const std::string once = clevis::FormatPinHeader(*h);
  auto again = clevis::ParsePinHeader(once);
  if (!again.ok() || clevis::FormatPinHeader(*again) != once) __builtin_trap();
}

void Config(std::string_view text) {
  auto c = clevis::ParsePinConfig(text);
  if (!c.ok()) return;
  if (c->url.empty() || c->instance.empty() || c->key.empty()) __builtin_trap();
  if (!c->apikey_file.empty() && c->apikey_file[0] != '/') __builtin_trap();
  if (!c->cacert.empty() && c->cacert[0] != '/') __builtin_trap();
}

void Jwk(std::string_view text) {
  auto cek = clevis::CekOfJwk(text);
  if (!cek.ok()) return;
  if (cek->size() != clevis::kCekBytes) __builtin_trap();
  std::string jwk = clevis::JwkOfCek(*cek);
  auto back = clevis::CekOfJwk(jwk);
  keywarden::WipeString(jwk);
  if (!back.ok() || !(*back == *cek)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: Header(text); break;
    case 1: Config(text); break;
    default: Jwk(text); break;
  }
  return 0;
}
