#include "keywarden/crypto/ciphers.h"

#include <cstdlib>

namespace keywarden::crypto {
namespace {

const EVP_CIPHER* FetchOrDie(const char* name) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (cipher == nullptr) std::abort();  // no default provider: unusable.
  return cipher;
}

// One function-local static per name: fetched on first use, never freed.
template <const char* k128, const char* k192, const char* k256>
const EVP_CIPHER* ForKeySize(size_t key_size) {
  switch (key_size) {
    case 16: {
      static const EVP_CIPHER* const c = FetchOrDie(k128);
      return c;
    }
    case 24: {
      static const EVP_CIPHER* const c = FetchOrDie(k192);
      return c;
    }
    case 32: {
      static const EVP_CIPHER* const c = FetchOrDie(k256);
      return c;
    }
    default:
      return nullptr;
  }
}

constexpr char kGcm128[] = "AES-128-GCM";
constexpr char kGcm192[] = "AES-192-GCM";
constexpr char kGcm256[] = "AES-256-GCM";
constexpr char kCbc128[] = "AES-128-CBC";
constexpr char kCbc192[] = "AES-192-CBC";
constexpr char kCbc256[] = "AES-256-CBC";

}  // namespace

const EVP_CIPHER* AesGcmCipher(size_t key_size) {
  return ForKeySize<kGcm128, kGcm192, kGcm256>(key_size);
}

const EVP_CIPHER* AesCbcCipher(size_t key_size) {
  return ForKeySize<kCbc128, kCbc192, kCbc256>(key_size);
}

}  // namespace keywarden::crypto
