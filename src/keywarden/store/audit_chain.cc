#include "keywarden/store/audit_chain.h"

#include <openssl/evp.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace keywarden::store {

namespace {

// Domain separation: "KWAUDIT" and the encoding version (audit.md §2).
constexpr std::string_view kMagic("KWAUDIT\x01", 8);

void AppendUint(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

void AppendField(std::string& out, std::string_view field) {
  AppendUint(out, field.size(), 4);
  out.append(field);
}

std::string Hex(const iam::SecretHash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace

std::string EncodeAuditRecord(const iam::AuditRecord& record) {
  std::string out(kMagic);
  AppendUint(out, static_cast<uint64_t>(record.seq), 8);
  AppendUint(out, static_cast<uint64_t>(absl::ToUnixMicros(record.time)), 8);
  AppendUint(out, record.outcome == iam::AuditOutcome::kSuccess ? 0 : 1, 1);
  AppendField(out, record.actor);
  AppendField(out, record.action);
  AppendField(out, record.target);
  AppendField(out, record.correlation_id);
  AppendField(out, record.source_address);
  AppendField(out, record.details);
  return out;
}

absl::StatusOr<iam::SecretHash> AuditChainHash(const iam::SecretHash& prev_hash,
                                               const iam::AuditRecord& record) {
  std::string input(prev_hash.begin(), prev_hash.end());
  input += EncodeAuditRecord(record);
  iam::SecretHash out{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &len, EVP_sha256(),
                 nullptr) != 1 ||
      len != out.size()) {
    return absl::InternalError("audit: SHA-256 failed");
  }
  return out;
}

absl::Status AuditChainVerifier::Next(const iam::AuditRecord& record) {
  if (record.seq != expected_seq_) {
    // A removed record (or a renumbered one): name the first missing seq.
    return absl::DataLossError(absl::StrCat(
        "audit log: expected record seq ", expected_seq_, " but found seq ",
        record.seq, " (a record was removed or reordered)"));
  }
  if (record.prev_hash != prev_hash_) {
    return absl::DataLossError(absl::StrCat(
        "audit log: record seq ", record.seq,
        " does not chain to its predecessor (prev_hash ", Hex(record.prev_hash),
        ", expected ", Hex(prev_hash_), ")"));
  }
  absl::StatusOr<iam::SecretHash> hash = AuditChainHash(prev_hash_, record);
  if (!hash.ok()) return hash.status();
  if (*hash != record.hash) {
    return absl::DataLossError(
        absl::StrCat("audit log: record seq ", record.seq,
                     " was changed (its hash does not match its contents)"));
  }
  prev_hash_ = record.hash;
  ++expected_seq_;
  return absl::OkStatus();
}

}  // namespace keywarden::store
