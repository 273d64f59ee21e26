#ifndef KEYWARDEN_STORE_AUDIT_CHAIN_H_
#define KEYWARDEN_STORE_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/iam/identity.h"

// The audit log's hash chain, shared by every IdentityStore so that all of
// them produce and verify the same hashes: docs/formats/audit.md.
namespace keywarden::store {

// The canonical byte encoding of `record` (audit.md §2): every field except
// `prev_hash` and `hash`, length-prefixed, integers big-endian, time in
// microseconds (finer precision truncated toward the past, as stored).
std::string EncodeAuditRecord(const iam::AuditRecord& record);

// SHA-256(prev_hash || EncodeAuditRecord(record)) (audit.md §3).
absl::StatusOr<iam::SecretHash> AuditChainHash(const iam::SecretHash& prev_hash,
                                               const iam::AuditRecord& record);

// Checks a log record by record, oldest first (audit.md §4): seqs are
// 1, 2, 3, … without gaps, each `prev_hash` is the previous record's `hash`
// (32 zero bytes for the first), and each `hash` is recomputed from the
// record's fields. Not thread-safe; one per verification.
class AuditChainVerifier {
 public:
  // DataLoss naming the seq of the first record that does not verify.
  absl::Status Next(const iam::AuditRecord& record);

 private:
  int64_t expected_seq_ = 1;
  iam::SecretHash prev_hash_{};
};

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_AUDIT_CHAIN_H_
