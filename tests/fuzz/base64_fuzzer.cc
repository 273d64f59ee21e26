// Fuzz target: strict base64 and base64url (crypto/base64.h).
// Targets crypto::Base64Decode, Base64Encode, Base64UrlDecode and
// Base64UrlEncode on the same input, read both as text and as bytes.
//
// Properties (each checked with __builtin_trap()):
// - decode(encode(x)) == x for both alphabets;
// - any accepted text re-encodes to itself (one encoding per byte string);
// - a rejection says "illegal base64(url) data at input byte N", as documented.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "keywarden/crypto/base64.h"

namespace {

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keywarden::crypto;
  const std::span<const uint8_t> bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Standard alphabet, padded.
  const std::string encoded = Base64Encode(bytes);
  if (encoded.size() != (size + 2) / 3 * 4) __builtin_trap();
  auto round = Base64Decode(encoded);
  if (!round.ok() || !SameBytes(round->span(), bytes)) __builtin_trap();

  auto decoded = Base64Decode(text);
  if (decoded.ok()) {
    if (Base64Encode(decoded->span()) != text) __builtin_trap();
  } else if (decoded.status().message().find(
                 "illegal base64 data at input byte ") != 0) {
    __builtin_trap();
  }

  // URL-safe alphabet, unpadded.
  const std::string url = Base64UrlEncode(bytes);
  if (url.find('=') != std::string::npos) __builtin_trap();
  auto url_round = Base64UrlDecode(url);
  if (!url_round.ok() || !SameBytes(*url_round, bytes)) __builtin_trap();

  auto url_decoded = Base64UrlDecode(text);
  if (url_decoded.ok()) {
    if (Base64UrlEncode(*url_decoded) != text) __builtin_trap();
  } else if (url_decoded.status().message().find(
                 "illegal base64url data at input byte ") != 0) {
    __builtin_trap();
  }
  return 0;
}
