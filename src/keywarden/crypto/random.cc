#include "keywarden/crypto/random.h"

#include <openssl/rand.h>

#include <openssl/crypto.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
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

namespace {

// One thread's buffer of CSPRNG output for RandomPublicBytes. Only ever
// touched by its own thread; wiped on thread exit.
struct PublicRandomPool {
  static constexpr size_t kSize = 4096;
  std::array<uint8_t, kSize> bytes;
  size_t used = kSize;  // empty until first use
  ~PublicRandomPool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void RandomPublicBytes(std::span<uint8_t> out) {
  constexpr size_t kMaxRequest = 64;
  if (out.size() > kMaxRequest) {
    RandomBytes(out);
    return;
  }
  thread_local PublicRandomPool pool;
  if (pool.kSize - pool.used < out.size()) {
    RandomBytes(pool.bytes);
    pool.used = 0;
  }
  uint8_t* taken = pool.bytes.data() + pool.used;
  std::memcpy(out.data(), taken, out.size());
  // Each byte is handed out once: wipe it so the pool never holds a nonce
  // that was already used.
  OPENSSL_cleanse(taken, out.size());
  pool.used += out.size();
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes secret(size);
  RandomBytes(std::span<uint8_t>(secret.data(), secret.size()));
  return secret;
}

}  // namespace keywarden::crypto
