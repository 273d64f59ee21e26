#include "keywarden/seal/seal_record.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"

namespace keywarden::seal {
namespace {

constexpr std::string_view kHeader = "keywarden-seal v1";
constexpr std::string_view kVerifierText = "keywarden master key verifier v1";
constexpr size_t kMaxRecord = 16384;

std::vector<uint8_t> VerifierAad(std::string_view key_id) {
  constexpr std::string_view kLabel = "keywarden seal verifier";
  std::vector<uint8_t> aad(kLabel.begin(), kLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), key_id.begin(), key_id.end());
  return aad;
}

absl::Status Malformed(std::string_view why) {
  return absl::DataLossError(
      StrCat("the database's seal record is malformed (", why, ")"));
}

absl::StatusOr<std::vector<uint8_t>> Binary(std::string_view text,
                                            std::string_view name) {
  absl::StatusOr<SecretBytes> bytes = crypto::Base64Decode(text);
  if (!bytes.ok() || bytes->empty()) {
    return Malformed(StrCat(name, " is not base64"));
  }
  return std::vector<uint8_t>(bytes->span().begin(), bytes->span().end());
}

}  // namespace

std::string_view SealTypeName(SealType type) {
  switch (type) {
    case SealType::kFile:
      return "file";
    case SealType::kShamir:
      return "shamir";
    case SealType::kPkcs11:
      return "pkcs11";
  }
  return "file";
}

std::optional<SealType> ParseSealType(std::string_view name) {
  if (name == "file") return SealType::kFile;
  if (name == "shamir") return SealType::kShamir;
  if (name == "pkcs11") return SealType::kPkcs11;
  return std::nullopt;
}

std::string EncodeSealRecord(const SealRecord& r) {
  std::string out = StrCat(kHeader, "\n", "type=", SealTypeName(r.type), "\n",
                           "key_id=", r.key_id, "\n", "verifier=",
                           crypto::Base64Encode(r.verifier), "\n");
  if (r.type == SealType::kShamir) {
    out += StrCat("shares=", r.shares, "\n", "threshold=", r.threshold, "\n",
                  "share_check_key=",
                  crypto::Base64Encode(r.share_check_key), "\n");
  }
  if (r.type == SealType::kPkcs11) {
    out += StrCat("wrapped_key=", crypto::Base64Encode(r.wrapped_key), "\n");
  }
  return out;
}

absl::StatusOr<SealRecord> ParseSealRecord(std::string_view text) {
  if (text.size() > kMaxRecord) return Malformed("too large");
  if (!text.starts_with(StrCat(kHeader, "\n"))) return Malformed("bad header");
  text.remove_prefix(kHeader.size() + 1);
  std::map<std::string, std::string, std::less<>> fields;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Malformed("unterminated line");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Malformed("a line is not name=value");
    }
    if (!fields.emplace(std::string(line.substr(0, eq)),
                        std::string(line.substr(eq + 1)))
             .second) {
      return Malformed("a field appears twice");
    }
  }
  auto take = [&fields](std::string_view name) -> std::optional<std::string> {
    auto it = fields.find(name);
    if (it == fields.end()) return std::nullopt;
    std::string v = std::move(it->second);
    fields.erase(it);
    return v;
  };
  SealRecord r;
  std::optional<std::string> type = take("type");
  std::optional<SealType> parsed = type ? ParseSealType(*type) : std::nullopt;
  if (!parsed) return Malformed("unknown or missing type");
  r.type = *parsed;
  std::optional<std::string> key_id = take("key_id");
  if (!key_id || !IsUuid(*key_id)) return Malformed("key_id is not a UUID");
  r.key_id = *key_id;
  std::optional<std::string> verifier = take("verifier");
  if (!verifier) return Malformed("no verifier");
  KW_ASSIGN_OR_RETURN(r.verifier, Binary(*verifier, "verifier"));
  if (r.type == SealType::kShamir) {
    std::optional<std::string> shares = take("shares");
    std::optional<std::string> threshold = take("threshold");
    std::optional<std::string> check_key = take("share_check_key");
    if (!shares || !threshold || !check_key ||
        !absl::SimpleAtoi(*shares, &r.shares) ||
        !absl::SimpleAtoi(*threshold, &r.threshold) || r.shares < 1 ||
        r.shares > 255 || r.threshold < 1 || r.threshold > r.shares) {
      return Malformed("bad shamir fields");
    }
    KW_ASSIGN_OR_RETURN(r.share_check_key,
                        Binary(*check_key, "share_check_key"));
  }
  if (r.type == SealType::kPkcs11) {
    std::optional<std::string> wrapped = take("wrapped_key");
    if (!wrapped) return Malformed("no wrapped_key");
    KW_ASSIGN_OR_RETURN(r.wrapped_key, Binary(*wrapped, "wrapped_key"));
  }
  if (!fields.empty()) {
    return Malformed(StrCat("unknown field ", fields.begin()->first));
  }
  return r;
}

absl::StatusOr<std::vector<uint8_t>> MakeVerifier(const MasterKey& key) {
  const std::string id = key.id();
  return key.Encrypt(
      std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(kVerifierText.data()),
          kVerifierText.size()),
      VerifierAad(id));
}

absl::Status CheckVerifier(const SealRecord& record, const MasterKey& key) {
  if (key.id() != record.key_id) {
    return absl::FailedPreconditionError(
        StrCat("this node's master key (id ", key.id(),
               ") is not the database's (id ", record.key_id,
               "); every node on one database needs the same master key "
               "(docs/operations.md, Seals)"));
  }
  absl::StatusOr<SecretBytes> text =
      key.Decrypt(record.verifier, VerifierAad(record.key_id));
  if (IsSealedError(text.status())) return text.status();
  if (!text.ok() ||
      !ConstantTimeEquals(
          text->span(),
          std::span<const uint8_t>(
              reinterpret_cast<const uint8_t*>(kVerifierText.data()),
              kVerifierText.size()))) {
    return absl::FailedPreconditionError(
        StrCat("the master key with id ", record.key_id,
               " does not open the database's seal verifier: it is not the "
               "key this database was sealed with"));
  }
  return absl::OkStatus();
}

}  // namespace keywarden::seal
