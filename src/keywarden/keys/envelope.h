#ifndef KEYWARDEN_KEYS_ENVELOPE_H_
#define KEYWARDEN_KEYS_ENVELOPE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/hkdf.h"

// The wrapped-DEK (WDEK) format and the AAD of stored material. Both are
// specified in docs/formats/wdek.md and docs/formats/material.md and frozen
// by golden vectors in envelope_test.cc: changing a byte here breaks every
// WDEK a client holds.
namespace keywarden::keys {

inline constexpr uint8_t kWdekFormatV1 = 0x01;
inline constexpr size_t kWdekHeaderSize = 1 + 16 + crypto::kGcmNonceSize;
// Format 2: format byte, keyed fingerprint of the material, per-wrap salt,
// nonce (docs/formats/wdek.md "Version 2").
inline constexpr uint8_t kWdekFormatV2 = 0x02;
inline constexpr size_t kWdekFingerprintSize = 16;
inline constexpr size_t kWdekSaltSize = 32;
inline constexpr size_t kWdekV2HeaderSize =
    1 + kWdekFingerprintSize + kWdekSaltSize + crypto::kGcmNonceSize;
// The most DEK bytes a WDEK may carry (4096 base64 characters).
inline constexpr size_t kMaxDekSize = 3072;
inline constexpr size_t kMaxAadItems = 126;
inline constexpr size_t kMaxAadItemSize = 255;

// A parsed WDEK: what names the version that made it (v1: its id; v2: the
// fingerprint of its material) and the AEAD parts. The spans point into the
// parsed input.
struct Wdek {
  uint8_t format = kWdekFormatV1;
  std::string version_id;                       // v1: canonical lower-case UUID
  std::span<const uint8_t> fingerprint;         // v2: 16 bytes
  std::span<const uint8_t> salt;                // v2: 32 bytes
  std::span<const uint8_t> nonce;               // 12 bytes
  std::span<const uint8_t> ciphertext_and_tag;
};

// Parses the binary WDEK layout of either format; InvalidArgument if it is
// not one (unknown format byte, too short for its format).
absl::StatusOr<Wdek> ParseWdek(std::span<const uint8_t> bytes);

// The GCM AAD of a WDEK: domain label, instance id, key id, version id and
// the caller's aad list, each length-prefixed so no two inputs collide.
std::vector<uint8_t> WdekAad(std::string_view instance_id,
                             std::string_view key_id,
                             std::string_view version_id,
                             std::span<const std::string> aad);

// Wraps `dek` with `kek` (the material of version `version_id`) under a
// fresh random nonce. Returns the binary WDEK.
absl::StatusOr<std::vector<uint8_t>> WrapDek(const crypto::AesGcm& kek,
                                             std::string_view instance_id,
                                             std::string_view key_id,
                                             std::string_view version_id,
                                             std::span<const uint8_t> dek,
                                             std::span<const std::string> aad);

// Wraps with a caller-chosen nonce: for golden vectors only.
absl::StatusOr<std::vector<uint8_t>> WrapDekWithNonceForTesting(
    const crypto::AesGcm& kek, std::string_view instance_id,
    std::string_view key_id, std::string_view version_id,
    std::span<const uint8_t> nonce, std::span<const uint8_t> dek,
    std::span<const std::string> aad);

// Opens a parsed v1 WDEK. Every failure (a v2 WDEK included) is the same
// InvalidArgument.
absl::StatusOr<SecretBytes> UnwrapDek(const crypto::AesGcm& kek,
                                      std::string_view instance_id,
                                      std::string_view key_id,
                                      const Wdek& wdek,
                                      std::span<const std::string> aad);

// What a root-key version needs to make and open v2 WDEKs, computed once
// from its material (16, 24 or 32 bytes) when the version enters the key
// cache (docs/formats/wdek.md "Version 2"):
//   PRK         = HKDF-Extract(salt = "keywarden/wdek/v2", IKM = material)
//   fingerprint = HKDF-Expand(PRK, "keywarden/wdek/v2 fingerprint", 16)
// and per wrap, from the WDEK's random salt,
//   key         = HKDF-Expand(PRK, "keywarden/wdek/v2 key" || salt, 32).
// The fingerprint is an HMAC under a key only the material's holder can
// compute: it tells versions apart without being a hash of the material.
// Keys imported with the same material in two instances get the same
// WdekKey, so each opens the other's WDEKs. Immutable; thread-safe.
class WdekKey {
 public:
  static absl::StatusOr<WdekKey> Create(std::span<const uint8_t> material);

  std::span<const uint8_t> fingerprint() const { return fingerprint_; }
  // Whether a WDEK's fingerprint names this material (not secret: a plain
  // comparison).
  bool Matches(std::span<const uint8_t> fingerprint) const;

 private:
  friend absl::StatusOr<std::vector<uint8_t>> WrapDekV2ForTesting(
      const WdekKey& key, std::span<const uint8_t> salt,
      std::span<const uint8_t> nonce, std::span<const uint8_t> dek,
      std::span<const std::string> aad);
  friend absl::StatusOr<SecretBytes> UnwrapDekV2(
      const WdekKey& key, const Wdek& wdek, std::span<const std::string> aad);
  WdekKey(crypto::HkdfSha256Expander expander,
          std::array<uint8_t, kWdekFingerprintSize> fingerprint)
      : expander_(std::move(expander)), fingerprint_(fingerprint) {}
  // The one-time AES-256 key of a wrap with `salt`.
  absl::StatusOr<SecretBytes> KeyFor(std::span<const uint8_t> salt) const;

  crypto::HkdfSha256Expander expander_;
  std::array<uint8_t, kWdekFingerprintSize> fingerprint_;
};

// The GCM AAD of a v2 WDEK: domain label, the material's fingerprint and
// the caller's aad list (count, then each item length-prefixed, in order).
// No instance, key or version id: the WDEK is bound to the material.
std::vector<uint8_t> WdekAadV2(std::span<const uint8_t> fingerprint,
                               std::span<const std::string> aad);

// Wraps `dek` in a v2 WDEK under a fresh random salt and nonce.
absl::StatusOr<std::vector<uint8_t>> WrapDekV2(
    const WdekKey& key, std::span<const uint8_t> dek,
    std::span<const std::string> aad);

// Wraps with a caller-chosen salt and nonce: for golden vectors only.
absl::StatusOr<std::vector<uint8_t>> WrapDekV2ForTesting(
    const WdekKey& key, std::span<const uint8_t> salt,
    std::span<const uint8_t> nonce, std::span<const uint8_t> dek,
    std::span<const std::string> aad);

// Opens a parsed v2 WDEK with the version whose fingerprint it carries.
// Every failure (a v1 WDEK, another fingerprint, a wrong aad, a changed
// byte) is the same InvalidArgument.
absl::StatusOr<SecretBytes> UnwrapDekV2(const WdekKey& key, const Wdek& wdek,
                                        std::span<const std::string> aad);

// The AAD that binds a stored piece of material to its row, so that sealed
// material copied to another key or version fails to decrypt.
std::vector<uint8_t> MaterialAad(std::string_view instance_id,
                                 std::string_view key_id,
                                 std::string_view version_id);

// The AADs of the other sealed secrets (docs/formats/material.md): an
// import token's RSA private key, bound to its instance and token id, and
// a service id's webhook signing secret, bound to the service id. Their
// labels differ from the material label, so no sealed blob opens as
// another kind.
std::vector<uint8_t> ImportTokenAad(std::string_view instance_id,
                                    std::string_view token_id);
std::vector<uint8_t> WebhookSecretAad(std::string_view principal_id);
// An identity token signing key's private key: "keywarden/signing-key/v1/"
// followed by its kid (no length prefix; kept as first written).
std::vector<uint8_t> SigningKeyAad(std::string_view kid);

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_ENVELOPE_H_
