#ifndef KEYWARDEN_CRYPTO_RANDOM_H_
#define KEYWARDEN_CRYPTO_RANDOM_H_

#include <cstdint>
#include <span>

#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {

// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). A CSPRNG failure is not
// recoverable: it aborts the process rather than hand out weak bytes.
void RandomBytes(std::span<uint8_t> out);

// `size` fresh random bytes as a secret.
SecretBytes RandomSecret(size_t size);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_RANDOM_H_
