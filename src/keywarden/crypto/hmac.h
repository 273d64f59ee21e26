#ifndef KEYWARDEN_CRYPTO_HMAC_H_
#define KEYWARDEN_CRYPTO_HMAC_H_

#include <array>
#include <cstdint>
#include <span>

namespace keywarden::crypto {

// HMAC-SHA256 (RFC 2104, FIPS 198-1) of `data` under `key` (any length).
std::array<uint8_t, 32> HmacSha256(std::span<const uint8_t> key,
                                   std::span<const uint8_t> data);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_HMAC_H_
