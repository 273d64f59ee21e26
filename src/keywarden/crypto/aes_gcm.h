#ifndef KEYWARDEN_CRYPTO_AES_GCM_H_
#define KEYWARDEN_CRYPTO_AES_GCM_H_

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {

inline constexpr size_t kGcmNonceSize = 12;  // 96-bit IV, NIST SP 800-38D §8.2
inline constexpr size_t kGcmTagSize = 16;    // 128-bit tag

// AES-GCM (NIST SP 800-38D) under one AES-128/192/256 key, via OpenSSL 3.
// Nonces are supplied by the caller; callers draw them from the CSPRNG
// (random 96-bit nonces, SP 800-38D §8.2.2). Immutable and thread-safe.
class AesGcm {
 public:
  // `key` must be 16, 24 or 32 bytes, else InvalidArgument.
  static absl::StatusOr<AesGcm> Create(std::span<const uint8_t> key);

  // Returns ciphertext || 16-byte tag. `nonce` must be 12 bytes.
  absl::StatusOr<std::vector<uint8_t>> Encrypt(
      std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
      std::span<const uint8_t> aad) const;

  // As Encrypt, but writes ciphertext || tag into `out`, which must be
  // exactly plaintext.size() + kGcmTagSize bytes (else InvalidArgument). Lets
  // a caller that frames the result (a header, a nonce) build it in one
  // buffer without a second allocation and copy.
  absl::Status EncryptInto(std::span<const uint8_t> nonce,
                           std::span<const uint8_t> plaintext,
                           std::span<const uint8_t> aad,
                           std::span<uint8_t> out) const;

  // Opens ciphertext || tag. Every failure (short input, wrong tag, wrong
  // key, wrong aad) returns the same InvalidArgument "decryption failed".
  absl::StatusOr<SecretBytes> Decrypt(std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> ciphertext_and_tag,
                                      std::span<const uint8_t> aad) const;

  // AES-256-GCM under a key that seals exactly one message: a key derived
  // per wrap (docs/formats/wdek.md, v2). `key` must be 32 bytes; otherwise
  // as EncryptInto and Decrypt. No AesGcm is built: each thread keeps one
  // context per direction with the cipher fetched and re-keys it per call,
  // which costs a key expansion but no allocation. The context keeps that
  // call's key schedule until the thread's next call overwrites it; a
  // one-time key opens only its own message, and the material it was
  // derived from sits in the key cache for far longer.
  static absl::Status EncryptOnceInto(std::span<const uint8_t> key,
                                      std::span<const uint8_t> nonce,
                                      std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> aad,
                                      std::span<uint8_t> out);
  static absl::StatusOr<SecretBytes> DecryptOnce(
      std::span<const uint8_t> key, std::span<const uint8_t> nonce,
      std::span<const uint8_t> ciphertext_and_tag,
      std::span<const uint8_t> aad);

 private:
  struct Templates;
  explicit AesGcm(std::shared_ptr<const Templates> templates)
      : templates_(std::move(templates)) {}
  // Two OpenSSL contexts keyed once at Create (one to encrypt, one to
  // decrypt). Each call copies one into a per-thread scratch context and
  // sets only the nonce: half the cost of keying a fresh context, which
  // matters on the wrap path. The templates are only read after Create, so
  // copies of an AesGcm share them across threads. Freeing them (last
  // copy gone) cleanses the key schedule.
  std::shared_ptr<const Templates> templates_;
};

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_AES_GCM_H_
