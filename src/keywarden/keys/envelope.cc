#include "keywarden/keys/envelope.h"

#include <algorithm>

#include "absl/status/status.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/crypto/random.h"

namespace keywarden::keys {
namespace {

constexpr std::string_view kWdekLabel = "keywarden/wdek/v1";
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
  if (bytes.size() < kWdekHeaderSize + crypto::kGcmTagSize ||
      bytes[0] != kWdekFormatV1) {
    return absl::InvalidArgumentError("not a wrapped key");
  }
  Wdek wdek;
  wdek.version_id = UuidFromBytes(bytes.data() + 1);
  wdek.nonce = bytes.subspan(17, crypto::kGcmNonceSize);
  wdek.ciphertext_and_tag = bytes.subspan(kWdekHeaderSize);
  return wdek;
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
  return kek.Decrypt(wdek.nonce, wdek.ciphertext_and_tag,
                     WdekAad(instance_id, key_id, wdek.version_id, aad));
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

}  // namespace keywarden::keys
