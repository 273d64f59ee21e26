#ifndef KEYWARDEN_KEYS_ENVELOPE_H_
#define KEYWARDEN_KEYS_ENVELOPE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/aes_gcm.h"

// The wrapped-DEK (WDEK) format and the AAD of stored material. Both are
// specified in docs/formats/wdek.md and docs/formats/material.md and frozen
// by golden vectors in envelope_test.cc: changing a byte here breaks every
// WDEK a client holds.
namespace keywarden::keys {

inline constexpr uint8_t kWdekFormatV1 = 0x01;
inline constexpr size_t kWdekHeaderSize = 1 + 16 + crypto::kGcmNonceSize;
// The most DEK bytes a WDEK may carry (4096 base64 characters).
inline constexpr size_t kMaxDekSize = 3072;
inline constexpr size_t kMaxAadItems = 126;
inline constexpr size_t kMaxAadItemSize = 255;

// A parsed WDEK: which version made it and the AEAD parts.
struct Wdek {
  std::string version_id;  // canonical lower-case UUID
  std::span<const uint8_t> nonce;               // 12 bytes, into the input
  std::span<const uint8_t> ciphertext_and_tag;  // into the input
};

// Parses the binary WDEK layout; InvalidArgument if it is not one (wrong
// format byte, too short). The spans point into `bytes`.
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

// Opens a parsed WDEK. Every failure is the same InvalidArgument.
absl::StatusOr<SecretBytes> UnwrapDek(const crypto::AesGcm& kek,
                                      std::string_view instance_id,
                                      std::string_view key_id,
                                      const Wdek& wdek,
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

}  // namespace keywarden::keys

#endif  // KEYWARDEN_KEYS_ENVELOPE_H_
