#ifndef KEYWARDEN_SEAL_SEAL_RECORD_H_
#define KEYWARDEN_SEAL_SEAL_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/seal/seal.h"

namespace keywarden::seal {

enum class SealType { kFile, kShamir, kPkcs11 };

std::string_view SealTypeName(SealType type);
std::optional<SealType> ParseSealType(std::string_view name);

// SealRecord is what the database keeps about its master key (store meta
// `seal`, written once by the first node; docs/formats/material.md §3):
// which seal holds the key, the key's id, and a verifier, so that a node
// with another master key (another master.key file, a wrong PKCS#11 key,
// Shamir shares of another init) is refused at once instead of failing
// later on the first stored secret. Nothing in it is secret.
struct SealRecord {
  SealType type = SealType::kFile;
  std::string key_id;
  // MasterKey::Encrypt of kVerifierText under AAD "keywarden seal
  // verifier" || key_id: opens only under the right key.
  std::vector<uint8_t> verifier;
  // shamir: the split and the key of the shares' checks (shamir.h).
  int shares = 0;
  int threshold = 0;
  std::vector<uint8_t> share_check_key;
  // pkcs11: the master key under the token's AES key (pkcs11_seal.h).
  std::vector<uint8_t> wrapped_key;
};

// Text form: "keywarden-seal v1\n" then one "name=value\n" per field
// (binary fields in standard base64). Parse is strict: known names once
// each, the fields its type needs, nothing else.
std::string EncodeSealRecord(const SealRecord& record);
absl::StatusOr<SealRecord> ParseSealRecord(std::string_view text);

// The verifier of the key in `key` (installed).
absl::StatusOr<std::vector<uint8_t>> MakeVerifier(const MasterKey& key);
// OK if `key` holds the record's master key; FailedPrecondition naming the
// mismatch otherwise.
absl::Status CheckVerifier(const SealRecord& record, const MasterKey& key);

}  // namespace keywarden::seal

#endif  // KEYWARDEN_SEAL_SEAL_RECORD_H_
