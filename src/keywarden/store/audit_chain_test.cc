#include "keywarden/store/audit_chain.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace keywarden::store {
namespace {

using ::testing::HasSubstr;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string Hex(const iam::SecretHash& h) {
  return Hex(
      std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

iam::AuditRecord First() {
  iam::AuditRecord r;
  r.seq = 1;
  r.time = absl::FromUnixMicros(1767225600123456);
  r.actor = "user-admin";
  r.action = "iam.apikey.create";
  r.target = "apikey:k1";
  r.outcome = iam::AuditOutcome::kSuccess;
  r.correlation_id = "c-1";
  r.source_address = "127.0.0.1";
  r.details = "name=ci";
  return r;
}

iam::AuditRecord Second() {
  iam::AuditRecord r;
  r.seq = 2;
  r.time = absl::FromUnixMicros(-1);
  r.actor = "anonymous";
  r.action = "auth.failure";
  r.outcome = iam::AuditOutcome::kFailure;
  return r;
}

// Golden vectors of docs/formats/audit.md §5, computed independently (with
// Python's struct and hashlib from the document's definition). Changing
// them breaks every stored log: never do.
TEST(AuditChainTest, EncodingAndHashMatchTheGoldenVectors) {
  iam::AuditRecord first = First();
  EXPECT_EQ(Hex(EncodeAuditRecord(first)),
            "4b5741554449540100000000000000010006474846222240000000000a757365"
            "722d61646d696e0000001169616d2e6170696b65792e63726561746500000009"
            "6170696b65793a6b3100000003632d31000000093132372e302e302e31000000"
            "076e616d653d6369");
  absl::StatusOr<iam::SecretHash> h1 = AuditChainHash(iam::SecretHash{}, first);
  ASSERT_TRUE(h1.ok());
  EXPECT_EQ(Hex(*h1),
            "214a374727bdc2ca60740fcf8508539c1afd1931857a6f46df9a83a7c1f5c0ca");
  iam::AuditRecord second = Second();
  EXPECT_EQ(Hex(EncodeAuditRecord(second)),
            "4b574155444954010000000000000002ffffffffffffffff0100000009616e6f"
            "6e796d6f75730000000c617574682e6661696c75726500000000000000000000"
            "000000000000");
  absl::StatusOr<iam::SecretHash> h2 = AuditChainHash(*h1, second);
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(Hex(*h2),
            "79f1eaded4f4e2cd421f6128067c3435a811cea956fdd1bca3efd0bd9b3a403a");
}

TEST(AuditChainTest, TimeIsEncodedInMicrosecondsTruncated) {
  iam::AuditRecord a = First();
  iam::AuditRecord b = First();
  b.time += absl::Nanoseconds(999);
  EXPECT_EQ(EncodeAuditRecord(a), EncodeAuditRecord(b));
}

// Moving bytes from one field to the next must change the encoding: the
// length prefixes make field boundaries part of what is hashed.
TEST(AuditChainTest, FieldBoundariesAreUnambiguous) {
  iam::AuditRecord a = First();
  iam::AuditRecord b = First();
  b.actor = "user-admini";
  b.action = "am.apikey.create";
  EXPECT_NE(EncodeAuditRecord(a), EncodeAuditRecord(b));
  iam::AuditRecord c = First();
  c.details = "";
  c.source_address = "127.0.0.1name=ci";
  EXPECT_NE(EncodeAuditRecord(a), EncodeAuditRecord(c));
}

TEST(AuditChainTest, EveryFieldIsCovered) {
  const std::string base = EncodeAuditRecord(First());
  auto changed = [&](auto mutate) {
    iam::AuditRecord r = First();
    mutate(r);
    return EncodeAuditRecord(r) != base;
  };
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.seq = 7; }));
  EXPECT_TRUE(
      changed([](iam::AuditRecord& r) { r.time += absl::Microseconds(1); }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.actor += "x"; }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.action += "x"; }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.target += "x"; }));
  EXPECT_TRUE(changed(
      [](iam::AuditRecord& r) { r.outcome = iam::AuditOutcome::kFailure; }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.correlation_id += "x"; }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.source_address += "x"; }));
  EXPECT_TRUE(changed([](iam::AuditRecord& r) { r.details += "x"; }));
  // The hashes are not part of the encoding (they are computed over it).
  EXPECT_FALSE(changed([](iam::AuditRecord& r) { r.hash[0] = 1; }));
  EXPECT_FALSE(changed([](iam::AuditRecord& r) { r.prev_hash[0] = 1; }));
}

// A chained pair of records as a store would write them.
std::vector<iam::AuditRecord> Chain() {
  std::vector<iam::AuditRecord> log = {First(), Second()};
  iam::SecretHash prev{};
  for (iam::AuditRecord& r : log) {
    r.prev_hash = prev;
    r.hash = AuditChainHash(prev, r).value();
    prev = r.hash;
  }
  return log;
}

TEST(AuditChainVerifierTest, AcceptsAnIntactChain) {
  AuditChainVerifier v;
  for (const iam::AuditRecord& r : Chain()) EXPECT_TRUE(v.Next(r).ok());
}

TEST(AuditChainVerifierTest, ChangedRecordIsDataLossNamingItsSeq) {
  std::vector<iam::AuditRecord> log = Chain();
  log[1].details = "edited";
  AuditChainVerifier v;
  ASSERT_TRUE(v.Next(log[0]).ok());
  absl::Status s = v.Next(log[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("seq 2"));
}

TEST(AuditChainVerifierTest, RemovedFirstRecordIsDataLoss) {
  std::vector<iam::AuditRecord> log = Chain();
  AuditChainVerifier v;
  absl::Status s = v.Next(log[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("seq 1"));
}

TEST(AuditChainVerifierTest, RenumberedRecordStillBreaksTheChain) {
  // Seq 2 removed and seq 3 renumbered to 2: its prev_hash no longer fits.
  std::vector<iam::AuditRecord> log = Chain();
  iam::AuditRecord third = Second();
  third.seq = 3;
  third.prev_hash = log[1].hash;
  third.hash = AuditChainHash(third.prev_hash, third).value();
  third.seq = 2;
  AuditChainVerifier v;
  ASSERT_TRUE(v.Next(log[0]).ok());
  EXPECT_EQ(v.Next(third).code(), absl::StatusCode::kDataLoss);
}

TEST(AuditChainVerifierTest, RecomputedHashIsCaughtByTheNextRecord) {
  // Whoever edits a record and recomputes its hash breaks the next link.
  std::vector<iam::AuditRecord> log = Chain();
  log[0].actor = "someone-else";
  log[0].hash = AuditChainHash(log[0].prev_hash, log[0]).value();
  AuditChainVerifier v;
  ASSERT_TRUE(v.Next(log[0]).ok());
  absl::Status s = v.Next(log[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("seq 2"));
}

}  // namespace
}  // namespace keywarden::store
