#ifndef KEYWARDEN_CRYPTO_SHA256_H_
#define KEYWARDEN_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <span>

namespace keywarden::crypto {

// SHA-256 (FIPS 180-4) of `data`.
std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_SHA256_H_
