#include "keywarden/keys/envelope.h"

#include <algorithm>

#include "absl/status/status.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/random.h"

namespace keywarden::keys {
namespace {

constexpr std::string_view kWdekLabel = "keywarden/wdek/v1";
// Format 2 labels (docs/formats/wdek.md "Version 2"). The two HKDF-Expand
// infos differ at their 19th byte, so no fingerprint input equals a key
// input whatever the salt.
constexpr std::string_view kWdekV2Label = "keywarden/wdek/v2";
constexpr std::string_view kWdekV2FingerprintInfo =
    "keywarden/wdek/v2 fingerprint";
constexpr std::string_view kWdekV2KeyInfo = "keywarden/wdek/v2 key";
constexpr size_t kWdekV2KeySize = 32;  // AES-256 whatever the material size

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
constexpr std::string_view kMaterialLabel = "keywarden/material/v1";

void AppendU32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void AppendField(std::vector<uint8_t>& out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

absl::Status CheckAad(std::span<const std::string> aad) {
  if (aad.size() > kMaxAadItems) {
    return absl::InvalidArgumentError("too many aad items");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Wdek> ParseWdek(std::span<const uint8_t> bytes) {
  Wdek wdek;
  if (bytes.size() >= kWdekHeaderSize + crypto::kGcmTagSize &&
      bytes[0] == kWdekFormatV1) {
    wdek.format = kWdekFormatV1;
    wdek.version_id = UuidFromBytes(bytes.data() + 1);
    wdek.nonce = bytes.subspan(17, crypto::kGcmNonceSize);
    wdek.ciphertext_and_tag = bytes.subspan(kWdekHeaderSize);
    return wdek;
  }
  if (bytes.size() >= kWdekV2HeaderSize + crypto::kGcmTagSize &&
      bytes[0] == kWdekFormatV2) {
    wdek.format = kWdekFormatV2;
    wdek.fingerprint = bytes.subspan(1, kWdekFingerprintSize);
    wdek.salt = bytes.subspan(1 + kWdekFingerprintSize, kWdekSaltSize);
    wdek.nonce = bytes.subspan(1 + kWdekFingerprintSize + kWdekSaltSize,
                               crypto::kGcmNonceSize);
    wdek.ciphertext_and_tag = bytes.subspan(kWdekV2HeaderSize);
    return wdek;
  }
  return absl::InvalidArgumentError("not a wrapped key");
}

std::vector<uint8_t> WdekAad(std::string_view instance_id,
                             std::string_view key_id,
                             std::string_view version_id,
                             std::span<const std::string> aad) {
  std::vector<uint8_t> out;
  size_t size = 4 * (4 + aad.size()) + kWdekLabel.size() + instance_id.size() +
                key_id.size() + version_id.size() + 4;
  for (const std::string& item : aad) size += item.size();
  out.reserve(size);
  AppendField(out, kWdekLabel);
  AppendField(out, instance_id);
  AppendField(out, key_id);
  AppendField(out, version_id);
  AppendU32(out, static_cast<uint32_t>(aad.size()));
  for (const std::string& item : aad) AppendField(out, item);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> WrapDekWithNonceForTesting(
    const crypto::AesGcm& kek, std::string_view instance_id,
    std::string_view key_id, std::string_view version_id,
    std::span<const uint8_t> nonce, std::span<const uint8_t> dek,
    std::span<const std::string> aad) {
  KW_RETURN_IF_ERROR(CheckAad(aad));
  auto version_bytes = UuidToBytes(version_id);
  if (!version_bytes || nonce.size() != crypto::kGcmNonceSize) {
    return absl::InvalidArgumentError("bad version id or nonce");
  }
  KW_ASSIGN_OR_RETURN(
      std::vector<uint8_t> sealed,
      kek.Encrypt(nonce, dek, WdekAad(instance_id, key_id, version_id, aad)));
  std::vector<uint8_t> out;
  out.reserve(kWdekHeaderSize + sealed.size());
  out.push_back(kWdekFormatV1);
  out.insert(out.end(), version_bytes->begin(), version_bytes->end());
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

absl::StatusOr<std::vector<uint8_t>> WrapDek(const crypto::AesGcm& kek,
                                             std::string_view instance_id,
                                             std::string_view key_id,
                                             std::string_view version_id,
                                             std::span<const uint8_t> dek,
                                             std::span<const std::string> aad) {
  // Random 96-bit nonces (NIST SP 800-38D §8.2.2). Per-version usage stays
  // far below the 2^32 invocation bound for any realistic deployment; a
  // usage ceiling that forces rotation is future work.
  uint8_t nonce[crypto::kGcmNonceSize];
  crypto::RandomPublicBytes(nonce);
  return WrapDekWithNonceForTesting(kek, instance_id, key_id, version_id,
                                    nonce, dek, aad);
}

absl::StatusOr<SecretBytes> UnwrapDek(const crypto::AesGcm& kek,
                                      std::string_view instance_id,
                                      std::string_view key_id,
                                      const Wdek& wdek,
                                      std::span<const std::string> aad) {
  KW_RETURN_IF_ERROR(CheckAad(aad));
  if (wdek.format != kWdekFormatV1) {
    return absl::InvalidArgumentError("decryption failed");
  }
  return kek.Decrypt(wdek.nonce, wdek.ciphertext_and_tag,
                     WdekAad(instance_id, key_id, wdek.version_id, aad));
}

absl::StatusOr<WdekKey> WdekKey::Create(std::span<const uint8_t> material) {
  if (material.size() != 16 && material.size() != 24 &&
      material.size() != 32) {
    return absl::InvalidArgumentError("root key material must be 16, 24 or 32 bytes");
  }
  // RFC 5869 §2.2 with a fixed, public salt: the material is already a key,
  // the extract step only brings 16- and 24-byte material to a 32-byte PRK
  // (§3.3) and separates this use of the material from its use as a v1
  // key-encryption key.
  SecretBytes prk = crypto::HkdfSha256Extract(Bytes(kWdekV2Label), material);
  KW_ASSIGN_OR_RETURN(crypto::HkdfSha256Expander expander,
                      crypto::HkdfSha256Expander::Create(prk.span()));
  std::array<uint8_t, kWdekFingerprintSize> fingerprint;
  KW_RETURN_IF_ERROR(
      expander.Expand(Bytes(kWdekV2FingerprintInfo), {}, fingerprint));
  return WdekKey(std::move(expander), fingerprint);
}

bool WdekKey::Matches(std::span<const uint8_t> fingerprint) const {
  return fingerprint.size() == fingerprint_.size() &&
         std::equal(fingerprint.begin(), fingerprint.end(),
                    fingerprint_.begin());
}

absl::StatusOr<SecretBytes> WdekKey::KeyFor(
    std::span<const uint8_t> salt) const {
  // RFC 5869 §2.3: the random salt goes into `info` with the label, so the
  // PRK (and its HMAC key schedule) is computed once per version and a
  // wrap costs one HMAC. Distinct salts give independent keys: HMAC is a
  // PRF under the PRK.
  SecretBytes key(kWdekV2KeySize);
  KW_RETURN_IF_ERROR(expander_.Expand(Bytes(kWdekV2KeyInfo), salt,
                                      std::span<uint8_t>(key.data(), key.size())));
  return key;
}

std::vector<uint8_t> WdekAadV2(std::span<const uint8_t> fingerprint,
                               std::span<const std::string> aad) {
  std::vector<uint8_t> out;
  size_t size = 4 + kWdekV2Label.size() + fingerprint.size() + 4 +
                4 * aad.size();
  for (const std::string& item : aad) size += item.size();
  out.reserve(size);
  AppendField(out, kWdekV2Label);
  out.insert(out.end(), fingerprint.begin(), fingerprint.end());
  AppendU32(out, static_cast<uint32_t>(aad.size()));
  for (const std::string& item : aad) AppendField(out, item);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> WrapDekV2ForTesting(
    const WdekKey& key, std::span<const uint8_t> salt,
    std::span<const uint8_t> nonce, std::span<const uint8_t> dek,
    std::span<const std::string> aad) {
  KW_RETURN_IF_ERROR(CheckAad(aad));
  if (salt.size() != kWdekSaltSize || nonce.size() != crypto::kGcmNonceSize) {
    return absl::InvalidArgumentError("bad salt or nonce");
  }
  KW_ASSIGN_OR_RETURN(SecretBytes one_time_key, key.KeyFor(salt));
  // One buffer: the header, then GCM writes ciphertext || tag after it.
  std::vector<uint8_t> out(kWdekV2HeaderSize + dek.size() +
                           crypto::kGcmTagSize);
  auto it = out.begin();
  *it++ = kWdekFormatV2;
  it = std::copy(key.fingerprint_.begin(), key.fingerprint_.end(), it);
  it = std::copy(salt.begin(), salt.end(), it);
  std::copy(nonce.begin(), nonce.end(), it);
  KW_RETURN_IF_ERROR(crypto::AesGcm::EncryptOnceInto(
      one_time_key.span(), nonce, dek, WdekAadV2(key.fingerprint_, aad),
      std::span<uint8_t>(out).subspan(kWdekV2HeaderSize)));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> WrapDekV2(
    const WdekKey& key, std::span<const uint8_t> dek,
    std::span<const std::string> aad) {
  // Salt and nonce are public once written; both are random (NIST SP
  // 800-38D §8.2.2 for the nonce). With a fresh 256-bit salt every wrap
  // has its own key, so the 2^32 random-nonce bound of §8.3 applies per
  // wrap (one message), not per version.
  std::array<uint8_t, kWdekSaltSize + crypto::kGcmNonceSize> random;
  crypto::RandomPublicBytes(random);
  std::span<const uint8_t> r(random);
  return WrapDekV2ForTesting(key, r.first(kWdekSaltSize),
                             r.subspan(kWdekSaltSize), dek, aad);
}

absl::StatusOr<SecretBytes> UnwrapDekV2(const WdekKey& key, const Wdek& wdek,
                                        std::span<const std::string> aad) {
  KW_RETURN_IF_ERROR(CheckAad(aad));
  if (wdek.format != kWdekFormatV2 || !key.Matches(wdek.fingerprint) ||
      wdek.salt.size() != kWdekSaltSize) {
    return absl::InvalidArgumentError("decryption failed");
  }
  KW_ASSIGN_OR_RETURN(SecretBytes one_time_key, key.KeyFor(wdek.salt));
  return crypto::AesGcm::DecryptOnce(one_time_key.span(), wdek.nonce,
                                     wdek.ciphertext_and_tag,
                                     WdekAadV2(wdek.fingerprint, aad));
}

std::vector<uint8_t> MaterialAad(std::string_view instance_id,
                                 std::string_view key_id,
                                 std::string_view version_id) {
  std::vector<uint8_t> out;
  AppendField(out, kMaterialLabel);
  AppendField(out, instance_id);
  AppendField(out, key_id);
  AppendField(out, version_id);
  return out;
}

std::vector<uint8_t> ImportTokenAad(std::string_view instance_id,
                                    std::string_view token_id) {
  std::vector<uint8_t> out;
  AppendField(out, "keywarden/import-token/v1");
  AppendField(out, instance_id);
  AppendField(out, token_id);
  return out;
}

std::vector<uint8_t> WebhookSecretAad(std::string_view principal_id) {
  std::vector<uint8_t> out;
  AppendField(out, "keywarden/webhook-secret/v1");
  AppendField(out, principal_id);
  return out;
}

std::vector<uint8_t> SigningKeyAad(std::string_view kid) {
  constexpr std::string_view kPrefix = "keywarden/signing-key/v1/";
  std::vector<uint8_t> aad(kPrefix.begin(), kPrefix.end());
  aad.insert(aad.end(), kid.begin(), kid.end());
  return aad;
}

}  // namespace keywarden::keys
