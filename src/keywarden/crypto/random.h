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

// Fills `out` (at most 64 bytes) with CSPRNG output for values that are
// public once used: GCM nonces and ids. A call to RAND_bytes costs about a
// microsecond whatever its length (locking, fork and reseed checks), which
// the wrap path cannot afford twice per request, so each thread draws 4 KiB
// at a time and hands it out in order; bytes are wiped as they are taken.
// Never use it for key material: use RandomSecret.
void RandomPublicBytes(std::span<uint8_t> out);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_RANDOM_H_
