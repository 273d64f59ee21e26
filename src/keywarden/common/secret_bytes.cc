#include "keywarden/common/secret_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <span>
#include <utility>

namespace keywarden {

SecretBytes::SecretBytes(size_t size) : bytes_(size, 0) {}

SecretBytes::SecretBytes(const uint8_t* data, size_t size)
    : bytes_(data, data + size) {}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this == &other) return *this;
  // Wipe first: assigning may reallocate and free the old buffer unwiped.
  Wipe();
  bytes_ = other.bytes_;
  return *this;
}

// A moved-from vector hands over its buffer, so nothing is left to wipe in
// `other`; the explicit Wipe() covers the case where an implementation copies.
SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this == &other) return *this;
  Wipe();
  bytes_ = std::move(other.bytes_);
  other.Wipe();
  return *this;
}

void SecretBytes::Truncate(size_t size) {
  if (size >= bytes_.size()) return;
  WipeMemory(bytes_.data() + size, bytes_.size() - size);
  bytes_.resize(size);
}

void SecretBytes::Wipe() {
  // WipeMemory cannot be optimised away the way a plain memset before free
  // can be.
  if (!bytes_.empty()) WipeMemory(bytes_.data(), bytes_.size());
  bytes_.clear();
}

void WipeMemory(void* p, size_t n) {
  if (n != 0) explicit_bzero(p, n);
}

void WipeString(std::string& s) {
  s.resize(s.capacity());
  WipeMemory(s.data(), s.size());
  s.clear();
}

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  return ConstantTimeEquals(a.span(), b.span());
}

bool ConstantTimeEquals(std::span<const uint8_t> a,
                        std::span<const uint8_t> b) {
  // Lengths are public (header contract); only the contents are compared in
  // constant time.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace keywarden
