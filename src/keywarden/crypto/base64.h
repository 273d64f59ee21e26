#ifndef KEYWARDEN_CRYPTO_BASE64_H_
#define KEYWARDEN_CRYPTO_BASE64_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {

// Standard base64 (RFC 4648 §4) with '=' padding.
std::string Base64Encode(std::span<const uint8_t> bytes);

// Strict decoding of RFC 4648 §4 text: the standard alphabet only, padding
// required and only at the end, no whitespace, and the unused bits of the
// last symbol zero (so every byte string has exactly one encoding). On
// failure returns InvalidArgument with the message
// "illegal base64 data at input byte N" (N = 0-based offset of the first bad
// symbol, as Go's encoding/base64 reports it). Decodes into a SecretBytes so
// that decoded material is wiped when dropped.
absl::StatusOr<SecretBytes> Base64Decode(std::string_view text);

// base64url (RFC 4648 §5: '-' and '_' for 62 and 63) without padding, as JOSE
// uses it (RFC 7515 §2, Appendix C).
std::string Base64UrlEncode(std::span<const uint8_t> bytes);

// Strict decoding of unpadded RFC 4648 §5 text: the URL-safe alphabet only,
// no '=' anywhere, no whitespace, a length that is not 1 mod 4, and the
// unused bits of the last symbol zero, so each byte string has exactly one
// accepted encoding (JWS signing inputs are compared as text). On failure
// returns InvalidArgument "illegal base64url data at input byte N" (N is the
// 0-based offset of the first bad symbol, or the length for a bad length).
// Returns plain bytes: JOSE segments are public; decode secrets with care.
absl::StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_BASE64_H_
