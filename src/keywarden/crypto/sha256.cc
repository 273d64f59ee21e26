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
  // One context per thread, re-initialised per call: EVP_Digest would create
  // and free a provider context each time, several times the cost of
  // hashing a token, and tokens are hashed on every request.
  struct MdCtx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~MdCtx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local MdCtx md;
  if (md.ctx == nullptr ||
      EVP_DigestInit_ex(md.ctx, Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(md.ctx, p, data.size()) != 1 ||
      EVP_DigestFinal_ex(md.ctx, out.data(), &len) != 1 || len != out.size()) {
    // Hashing cannot fail on valid input; a failure means a broken library.
    std::abort();
  }
  return out;
}

}  // namespace keywarden::crypto
