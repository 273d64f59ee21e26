#include "keywarden/crypto/sha256.h"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <span>

namespace keywarden::crypto {
namespace {

// Fetched once (OpenSSL 3 provider lookup is not free); EVP_MD objects are
// immutable and safe to share between threads.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (fetched == nullptr) std::abort();  // no default provider: unusable.
    return fetched;
  }();
  return md;
}

}  // namespace

// FIPS 180-4 §6.2 via OpenSSL's one-shot EVP_Digest.
std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  static const uint8_t kEmpty = 0;
  const uint8_t* p = data.empty() ? &kEmpty : data.data();
  unsigned int len = 0;
  if (EVP_Digest(p, data.size(), out.data(), &len, Sha256Md(), nullptr) != 1 ||
      len != out.size()) {
    // Hashing cannot fail on valid input; a failure means a broken library.
    std::abort();
  }
  return out;
}

}  // namespace keywarden::crypto
