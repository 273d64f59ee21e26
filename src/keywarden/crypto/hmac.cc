#include "keywarden/crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

namespace keywarden::crypto {
namespace {

// Fetched once (OpenSSL 3 provider lookup is not free); an EVP_MAC is
// immutable and safe to share between threads.
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = [] {
    EVP_MAC* fetched = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (fetched == nullptr) std::abort();  // no default provider: unusable.
    return fetched;
  }();
  return mac;
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

// RFC 2104 §2 with H = SHA-256 (B = 64, L = 32): a key longer than B is
// hashed first and a shorter one zero-padded, both inside OpenSSL. A fresh
// context per call, freed (and with it the ipad/opad key state, which
// OpenSSL cleanses) before returning: HMAC here signs webhook bodies, not a
// per-request hot path, so there is no per-thread context to keep keyed.
std::array<uint8_t, 32> HmacSha256(std::span<const uint8_t> key,
                                   std::span<const uint8_t> data) {
  // OpenSSL wants non-null pointers even for empty inputs.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  const uint8_t* data_ptr = data.empty() ? &kEmpty : data.data();

  char digest[] = "SHA2-256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(
      EVP_MAC_CTX_new(HmacAlgorithm()));
  std::array<uint8_t, 32> out{};
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data_ptr, data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 ||
      len != out.size()) {
    // HMAC cannot fail on valid input; a failure means a broken library.
    std::abort();
  }
  return out;
}

}  // namespace keywarden::crypto
