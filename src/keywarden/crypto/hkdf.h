#ifndef KEYWARDEN_CRYPTO_HKDF_H_
#define KEYWARDEN_CRYPTO_HKDF_H_

#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {

inline constexpr size_t kSha256Size = 32;  // HashLen of RFC 5869 §2 for SHA-256

// HKDF with SHA-256 (RFC 5869): Extract (§2.2) then Expand (§2.3), through
// OpenSSL 3's EVP_KDF "HKDF" (fetched once). `length` is 1 to 255 * 32
// bytes, else InvalidArgument. An empty `salt` is HashLen zero bytes (§2.2).
absl::StatusOr<SecretBytes> HkdfSha256(std::span<const uint8_t> salt,
                                       std::span<const uint8_t> ikm,
                                       std::span<const uint8_t> info,
                                       size_t length);

// RFC 5869 §2.2 alone: PRK = HMAC-SHA256(salt, IKM), 32 bytes.
SecretBytes HkdfSha256Extract(std::span<const uint8_t> salt,
                              std::span<const uint8_t> ikm);

// RFC 5869 §2.3 alone, under a PRK of at least 32 bytes (else
// InvalidArgument), for any `length` from 1 to 255 * 32.
absl::StatusOr<SecretBytes> HkdfSha256Expand(std::span<const uint8_t> prk,
                                             std::span<const uint8_t> info,
                                             size_t length);

// HKDF-Expand (RFC 5869 §2.3) under one fixed PRK, for outputs of at most
// one hash block: OKM = the first L bytes of T(1) = HMAC-SHA256(PRK, info ||
// 0x01). This is the per-request form: the HMAC key schedule (the SHA-256
// states after PRK xor ipad and PRK xor opad, RFC 2104 §2) is computed once
// at Create, so a call costs two SHA-256 compressions and two context
// copies instead of a provider fetch, an HMAC keying and several
// allocations (what EVP_KDF does per derive). Agrees byte for byte with
// HkdfSha256Expand for L <= 32 (hkdf_test.cc).
//
// Immutable after Create; copies share the keyed states, which are wiped
// when the last copy goes. Thread-safe: a call works in a per-thread
// scratch context that it resets (freeing and cleansing it) before
// returning.
class HkdfSha256Expander {
 public:
  // `prk` must be at least 32 bytes (RFC 5869 §2.3 "at least HashLen").
  static absl::StatusOr<HkdfSha256Expander> Create(
      std::span<const uint8_t> prk);

  // Writes OKM for info = info_a || info_b (two parts so a caller can pass a
  // label and a per-call value without joining them) into `out`, which must
  // be 1 to 32 bytes long (else InvalidArgument).
  absl::Status Expand(std::span<const uint8_t> info_a,
                      std::span<const uint8_t> info_b,
                      std::span<uint8_t> out) const;

 private:
  struct State;
  explicit HkdfSha256Expander(std::shared_ptr<const State> state)
      : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_HKDF_H_
