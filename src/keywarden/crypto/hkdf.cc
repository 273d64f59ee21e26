#include "keywarden/crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {
namespace {

constexpr size_t kMaxOkm = 255 * kSha256Size;  // RFC 5869 §2.3 "L <= 255*HashLen"
constexpr size_t kHmacBlock = 64;              // B of RFC 2104 for SHA-256

// Fetched once: an implicit fetch per call takes the provider store's lock
// (OpenSSL 3 "Algorithm fetching"). Fetched algorithms are immutable and
// shared between threads.
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* fetched = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (fetched == nullptr) std::abort();  // no default provider: unusable.
    return fetched;
  }();
  return kdf;
}

EVP_MD* Sha256Algorithm() {
  static EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (fetched == nullptr) std::abort();
    return fetched;
  }();
  return md;
}

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// OpenSSL reads these pointers only for `size` bytes, but wants them
// non-null.
void* Ptr(std::span<const uint8_t> s) {
  static const uint8_t kEmpty = 0;
  return const_cast<uint8_t*>(s.empty() ? &kEmpty : s.data());
}

// One EVP_KDF derive. `mode` is EVP_KDF_HKDF_MODE_*; `key` is IKM for the
// extracting modes and PRK for expand-only.
absl::StatusOr<SecretBytes> Derive(int mode, std::span<const uint8_t> salt,
                                   std::span<const uint8_t> key,
                                   std::span<const uint8_t> info,
                                   size_t length) {
  if (length == 0 || length > kMaxOkm) {
    return absl::InvalidArgumentError("HKDF output must be 1 to 8160 bytes");
  }
  char digest[] = "SHA2-256";
  OSSL_PARAM params[6];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, Ptr(key),
                                                  key.size());
  // No salt parameter is the RFC's "not provided": HashLen zeros (§2.2).
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    Ptr(salt), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    Ptr(info), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(
      EVP_KDF_CTX_new(HkdfAlgorithm()));
  SecretBytes out(length);
  if (ctx == nullptr ||
      EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return absl::InternalError("HKDF failed");
  }
  return out;
}

}  // namespace

absl::StatusOr<SecretBytes> HkdfSha256(std::span<const uint8_t> salt,
                                       std::span<const uint8_t> ikm,
                                       std::span<const uint8_t> info,
                                       size_t length) {
  return Derive(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, salt, ikm, info, length);
}

SecretBytes HkdfSha256Extract(std::span<const uint8_t> salt,
                              std::span<const uint8_t> ikm) {
  absl::StatusOr<SecretBytes> prk =
      Derive(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, ikm, {}, kSha256Size);
  // HMAC cannot fail on valid input; a failure means a broken library.
  if (!prk.ok()) std::abort();
  return *std::move(prk);
}

absl::StatusOr<SecretBytes> HkdfSha256Expand(std::span<const uint8_t> prk,
                                             std::span<const uint8_t> info,
                                             size_t length) {
  if (prk.size() < kSha256Size) {
    return absl::InvalidArgumentError("HKDF PRK must be at least 32 bytes");
  }
  return Derive(EVP_KDF_HKDF_MODE_EXPAND_ONLY, {}, prk, info, length);
}

struct HkdfSha256Expander::State {
  MdCtxPtr inner;  // SHA-256 after absorbing K0 xor ipad (RFC 2104 §2 (1)-(2))
  MdCtxPtr outer;  // SHA-256 after absorbing K0 xor opad (RFC 2104 §2 (5))
};

absl::StatusOr<HkdfSha256Expander> HkdfSha256Expander::Create(
    std::span<const uint8_t> prk) {
  if (prk.size() < kSha256Size) {
    return absl::InvalidArgumentError("HKDF PRK must be at least 32 bytes");
  }
  // RFC 2104 §2: K0 is the key zero-padded to B bytes, or H(key) padded
  // when the key is longer than B.
  std::array<uint8_t, kHmacBlock> k0{};
  if (prk.size() > kHmacBlock) {
    unsigned int len = 0;
    if (EVP_Digest(prk.data(), prk.size(), k0.data(), &len, Sha256Algorithm(),
                   nullptr) != 1) {
      return absl::InternalError("SHA-256 failed");
    }
  } else {
    std::copy(prk.begin(), prk.end(), k0.begin());
  }
  std::array<uint8_t, kHmacBlock> ipad;
  std::array<uint8_t, kHmacBlock> opad;
  for (size_t i = 0; i < kHmacBlock; ++i) {
    ipad[i] = k0[i] ^ 0x36;
    opad[i] = k0[i] ^ 0x5c;
  }
  auto state = std::make_shared<State>();
  state->inner.reset(EVP_MD_CTX_new());
  state->outer.reset(EVP_MD_CTX_new());
  const bool ok =
      state->inner != nullptr && state->outer != nullptr &&
      EVP_DigestInit_ex2(state->inner.get(), Sha256Algorithm(), nullptr) == 1 &&
      EVP_DigestUpdate(state->inner.get(), ipad.data(), ipad.size()) == 1 &&
      EVP_DigestInit_ex2(state->outer.get(), Sha256Algorithm(), nullptr) == 1 &&
      EVP_DigestUpdate(state->outer.get(), opad.data(), opad.size()) == 1;
  OPENSSL_cleanse(k0.data(), k0.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  if (!ok) return absl::InternalError("HKDF key setup failed");
  return HkdfSha256Expander(std::move(state));
}

absl::Status HkdfSha256Expander::Expand(std::span<const uint8_t> info_a,
                                        std::span<const uint8_t> info_b,
                                        std::span<uint8_t> out) const {
  if (out.empty() || out.size() > kSha256Size) {
    return absl::InvalidArgumentError("HKDF one-block output is 1 to 32 bytes");
  }
  // The per-thread context each call copies a keyed state into. Copying
  // frees the previous contents (OpenSSL clears them), and the reset below
  // frees this call's before returning, so no derived value stays behind.
  thread_local MdCtxPtr scratch(EVP_MD_CTX_new());
  EVP_MD_CTX* ctx = scratch.get();
  if (ctx == nullptr) return absl::InternalError("HKDF context failed");
  static constexpr uint8_t kCounter = 0x01;  // T(1): RFC 5869 §2.3
  std::array<uint8_t, kSha256Size> inner_hash;
  std::array<uint8_t, kSha256Size> t1;
  unsigned int len = 0;
  bool ok =
      EVP_MD_CTX_copy_ex(ctx, state_->inner.get()) == 1 &&
      (info_a.empty() ||
       EVP_DigestUpdate(ctx, info_a.data(), info_a.size()) == 1) &&
      (info_b.empty() ||
       EVP_DigestUpdate(ctx, info_b.data(), info_b.size()) == 1) &&
      EVP_DigestUpdate(ctx, &kCounter, 1) == 1 &&
      EVP_DigestFinal_ex(ctx, inner_hash.data(), &len) == 1 &&
      EVP_MD_CTX_copy_ex(ctx, state_->outer.get()) == 1 &&
      EVP_DigestUpdate(ctx, inner_hash.data(), inner_hash.size()) == 1 &&
      EVP_DigestFinal_ex(ctx, t1.data(), &len) == 1;
  EVP_MD_CTX_reset(ctx);
  if (ok) std::copy(t1.begin(), t1.begin() + out.size(), out.begin());
  OPENSSL_cleanse(inner_hash.data(), inner_hash.size());
  OPENSSL_cleanse(t1.data(), t1.size());
  if (!ok) return absl::InternalError("HKDF expand failed");
  return absl::OkStatus();
}

}  // namespace keywarden::crypto
