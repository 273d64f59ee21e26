#ifndef KEYWARDEN_COMMON_SECRET_BYTES_H_
#define KEYWARDEN_COMMON_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keywarden/common/secret_allocator.h"

namespace keywarden {

// Overwrites `n` bytes at `p` in a way the compiler may not drop as a dead
// store (explicit_bzero: glibc's vectorised memset behind a barrier, several
// times faster than OPENSSL_cleanse's word loop on the request path).
void WipeMemory(void* p, size_t n);

// Overwrites a string's whole allocation (its capacity, not only its size)
// and empties it; the capacity stays for reuse. For strings that held key
// material or a request or response that may carry it.
void WipeString(std::string& s);

// SecretBytes holds key material or plaintext. The buffer lives on pages
// left out of core dumps (secret_allocator.h) and is wiped with
// OPENSSL_cleanse on destruction, on move-from and on reassignment; there is
// deliberately no operator<< and no implicit conversion to a string, so a
// secret cannot reach a log line by accident. Thread-compatible.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(const uint8_t* data, size_t size);
  explicit SecretBytes(std::span<const uint8_t> bytes)
      : SecretBytes(bytes.data(), bytes.size()) {}
  ~SecretBytes();

  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  std::span<const uint8_t> span() const { return {bytes_.data(), bytes_.size()}; }

  // Shrinks to `size` bytes, wiping what is cut off.
  void Truncate(size_t size);

  // Constant-time equality (CRYPTO_memcmp); sizes are not secret.
  friend bool operator==(const SecretBytes& a, const SecretBytes& b);

 private:
  void Wipe();
  std::vector<uint8_t, SecretAllocator<uint8_t>> bytes_;
};

// Constant-time comparison of two byte strings of public length.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_SECRET_BYTES_H_
