#include "keywarden/crypto/random.h"

#include <openssl/rand.h>

#include <climits>
#include <cstdlib>
#include <span>

namespace keywarden::crypto {

void RandomBytes(std::span<uint8_t> out) {
  // RAND_bytes takes an int length; fill in chunks so any span size works.
  uint8_t* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    const size_t chunk = left > static_cast<size_t>(INT_MAX)
                             ? static_cast<size_t>(INT_MAX)
                             : left;
    // A failing CSPRNG is not an error a caller can handle sensibly: aborting
    // is safer than returning predictable nonces or keys (random.h).
    if (RAND_bytes(p, static_cast<int>(chunk)) != 1) std::abort();
    p += chunk;
    left -= chunk;
  }
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes secret(size);
  RandomBytes(std::span<uint8_t>(secret.data(), secret.size()));
  return secret;
}

}  // namespace keywarden::crypto
