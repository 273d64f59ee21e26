#ifndef KEYWARDEN_CRYPTO_AES_GCM_SEGMENTS_H_
#define KEYWARDEN_CRYPTO_AES_GCM_SEGMENTS_H_

#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/crypto/aes_gcm.h"

namespace keywarden::crypto {

// AES-256-GCM (NIST SP 800-38D) for the many messages of one stream under
// one key: the segments of an envelope-encrypted object
// (docs/formats/envelope.md). One OpenSSL context per direction is keyed
// once; each call sets only the segment's nonce and writes into the
// caller's buffer, so a segment costs no allocation and no context copy
// (AesGcm copies a keyed template per call to be thread-safe). The caller
// supplies unique nonces (the STREAM counter). Thread-compatible: one
// stream, one thread. Destruction cleanses the key schedules.
class AesGcmSegments {
 public:
  // `key` must be 32 bytes, else InvalidArgument.
  static absl::StatusOr<AesGcmSegments> Create(std::span<const uint8_t> key);
  ~AesGcmSegments();
  AesGcmSegments(AesGcmSegments&&) noexcept;
  AesGcmSegments& operator=(AesGcmSegments&&) noexcept;

  // As AesGcm::EncryptInto: `out` is plaintext.size() + kGcmTagSize bytes.
  absl::Status SealInto(std::span<const uint8_t> nonce,
                        std::span<const uint8_t> plaintext,
                        std::span<const uint8_t> aad, std::span<uint8_t> out);
  // Opens ciphertext || tag into `out`, which must be exactly
  // ciphertext_and_tag.size() - kGcmTagSize bytes. Every failure is the
  // same InvalidArgument "decryption failed", and `out` is then wiped (GCM
  // decrypts before the tag is checked).
  absl::Status OpenInto(std::span<const uint8_t> nonce,
                        std::span<const uint8_t> ciphertext_and_tag,
                        std::span<const uint8_t> aad, std::span<uint8_t> out);

 private:
  struct Contexts;
  explicit AesGcmSegments(std::unique_ptr<Contexts> contexts);
  std::unique_ptr<Contexts> contexts_;
};

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_AES_GCM_SEGMENTS_H_
