#ifndef KEYWARDEN_STORE_RESEAL_CONFORMANCE_TEST_H_
#define KEYWARDEN_STORE_RESEAL_CONFORMANCE_TEST_H_

// ResealStore (reseal_store.h) on the store conformance fixture: the
// queries of a master-key rekey, on every backend that implements it
// (SQLite, PostgreSQL); others skip. Included by store_conformance_test.h
// and instantiated by KW_INSTANTIATE_STORE_CONFORMANCE.

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/store/reseal_store.h"
#include "keywarden/store/store_conformance_test.h"

namespace keywarden::store {

using conformance_internal::MakeFullKey;
using conformance_internal::MakeKey;

class ResealConformanceTest : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    reseal_ = dynamic_cast<ResealStore*>(&store());
    if (reseal_ == nullptr) GTEST_SKIP() << "no ResealStore";
  }

  // Re-seals `rows` as a rekey would: new id, bytes + 100.
  std::vector<Resealed> Moved(const std::vector<SealedRow>& rows,
                              const std::string& to) {
    std::vector<Resealed> out;
    for (const SealedRow& r : rows) {
      std::vector<uint8_t> sealed = r.sealed;
      for (uint8_t& b : sealed) b = static_cast<uint8_t>(b + 100);
      sealed.push_back(7);
      out.push_back(Resealed{r, to, sealed});
    }
    return out;
  }

  int64_t Remaining(const std::string& to) {
    absl::StatusOr<int64_t> n = reseal_->CountSealedRows(to);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  ResealStore* reseal_ = nullptr;
};

TEST_P(ResealConformanceTest, BatchesMoveEveryRowOnceAndResumeIdempotently) {
  // Four keys, three versions each except the one-version ones: rows under
  // "mk-1" and "mk-2" (MakeFullKey's second version).
  Create(MakeFullKey("inst", "k1"));
  Create(MakeFullKey("inst", "k2"));
  Create(MakeKey("inst", "k3"));
  Create(MakeKey("other", "k4"));
  const int64_t total = Remaining("mk-new");
  ASSERT_EQ(total, 8);

  // One batch of 3, applied twice (a crash after the commit, then a
  // resume that read the same rows): the second time changes nothing.
  absl::StatusOr<std::vector<SealedRow>> batch =
      reseal_->ListSealedRows("mk-new", 3);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 3u);
  for (const SealedRow& r : *batch) {
    EXPECT_EQ(r.kind, SealedKind::kKeyMaterial);
    EXPECT_EQ(r.ids.size(), 3u);
  }
  const std::vector<Resealed> moved = Moved(*batch, "mk-new");
  absl::StatusOr<int64_t> changed = reseal_->ResealRows(moved);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 3);
  changed = reseal_->ResealRows(moved);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 0);
  EXPECT_EQ(Remaining("mk-new"), total - 3);

  // The rest, in batches, as a resumed rekey does.
  for (int i = 0; i < 10 && Remaining("mk-new") > 0; ++i) {
    batch = reseal_->ListSealedRows("mk-new", 2);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const SealedRow& r : *batch) EXPECT_NE(r.master_key_id, "mk-new");
    ASSERT_TRUE(reseal_->ResealRows(Moved(*batch, "mk-new")).ok());
  }
  EXPECT_EQ(Remaining("mk-new"), 0);

  // What the keys read back: every version under the new id, with the
  // bytes the rekey wrote.
  const keys::Key k1 = Get("inst", "k1");
  const keys::Key full = MakeFullKey("inst", "k1");
  ASSERT_EQ(k1.versions.size(), full.versions.size());
  for (size_t i = 0; i < k1.versions.size(); ++i) {
    EXPECT_EQ(k1.versions[i].master_key_id, "mk-new");
    std::vector<uint8_t> want = full.versions[i].sealed_material;
    for (uint8_t& b : want) b = static_cast<uint8_t>(b + 100);
    want.push_back(7);
    EXPECT_EQ(k1.versions[i].sealed_material, want);
  }
}

TEST_P(ResealConformanceTest, ARowChangedSinceItWasReadIsLeftAlone) {
  Create(MakeKey("inst", "k1"));
  absl::StatusOr<std::vector<SealedRow>> batch =
      reseal_->ListSealedRows("mk-new", 10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  std::vector<Resealed> moved = Moved(*batch, "mk-new");
  moved[0].row.sealed = {9, 9, 9};  // not what the row holds
  absl::StatusOr<int64_t> changed = reseal_->ResealRows(moved);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(*changed, 0);
  EXPECT_EQ(Get("inst", "k1").versions[0].master_key_id, "mk-1");
}

TEST_P(ResealConformanceTest, FinishRekeyOnlyWhenNoRowRemains) {
  Create(MakeKey("inst", "k1"));
  ASSERT_TRUE(store().PutMetaIfAbsent("seal", "old record").ok());
  absl::StatusOr<bool> put =
      reseal_->SwapMeta("rekey", std::nullopt, "rekey record");
  ASSERT_TRUE(put.ok() && *put);
  // A second rekey cannot start over the first.
  put = reseal_->SwapMeta("rekey", std::nullopt, "another");
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(*put);

  absl::StatusOr<bool> done = reseal_->FinishRekey(
      "mk-new", "seal", "new record", "rekey", "rekey record",
      std::nullopt);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(*done) << "a row is still under mk-1";
  EXPECT_EQ(*store().GetMeta("seal"), std::optional<std::string>("old record"));

  absl::StatusOr<std::vector<SealedRow>> rows =
      reseal_->ListSealedRows("mk-new", 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE(reseal_->ResealRows(Moved(*rows, "mk-new")).ok());
  // Not the rekey in the record: nothing changes.
  done = reseal_->FinishRekey("mk-new", "seal", "new record", "rekey", "other",
                              std::nullopt);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  done = reseal_->FinishRekey("mk-new", "seal", "new record", "rekey",
                              "rekey record", std::nullopt);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_EQ(*store().GetMeta("seal"), std::optional<std::string>("new record"));
  EXPECT_EQ(*store().GetMeta("rekey"), std::nullopt);
}


// A row sealed under a key the database no longer accepts is refused in
// the write's own transaction (meta `master_keys`): the multi-node race of
// docs/operations.md "Rekey the master key", Several nodes.
TEST_P(ResealConformanceTest, ARowUnderARetiredMasterKeyIsRefused) {
  auto under = [](std::string id, std::string master_key_id) {
    keys::Key k = MakeKey("inst", std::move(id));
    k.versions[0].master_key_id = std::move(master_key_id);
    return k;
  };
  // Never rekeyed: any id (a database with one key).
  Create(under("k1", "mk-1"));
  Create(under("k2", "mk-elsewhere"));

  absl::StatusOr<bool> started =
      reseal_->StartRekey("rekey", "rekey record", "mk-1", "mk-new",
                          conformance_internal::StoreAudit("kms.masterkey.rekey.start"));
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_TRUE(*started);
  started = reseal_->StartRekey("rekey", "another", "mk-1", "mk-other",
                                conformance_internal::StoreAudit("kms.masterkey.rekey.start"));
  ASSERT_TRUE(started.ok());
  EXPECT_FALSE(*started) << "a second rekey cannot start over the first";
  EXPECT_EQ(*store().GetMeta("rekey"),
            std::optional<std::string>("rekey record"));

  // During the rekey: the old key and the new one, nothing else.
  Create(under("k3", "mk-1"));
  Create(under("k4", "mk-new"));
  absl::Status s = store().CreateKey(under("k5", "mk-other"));
  EXPECT_TRUE(IsRetiredMasterKeyError(s)) << s;
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_TRUE(absl::IsNotFound(store().GetKey("inst", "k5").status()));

  absl::StatusOr<std::vector<SealedRow>> rows =
      reseal_->ListSealedRows("mk-new", 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE(reseal_->ResealRows(Moved(*rows, "mk-new")).ok());
  absl::StatusOr<bool> done = reseal_->FinishRekey(
      "mk-new", "seal", "new record", "rekey", "rekey record",
      std::nullopt);
  ASSERT_TRUE(done.ok() && *done);

  // After it: only the new key. A stale node's row under the old one is
  // refused and nothing of it is stored.
  s = store().CreateKey(under("k6", "mk-1"));
  EXPECT_TRUE(IsRetiredMasterKeyError(s)) << s;
  EXPECT_TRUE(absl::IsNotFound(store().GetKey("inst", "k6").status()));
  keys::Key rotated = Get("inst", "k4");
  keys::KeyVersion v = rotated.versions[0];
  v.id = "k4-v2";
  v.master_key_id = "mk-1";
  rotated.versions.push_back(v);
  s = store().UpdateKey(rotated, rotated.last_update_time);
  EXPECT_TRUE(IsRetiredMasterKeyError(s)) << s;
  EXPECT_EQ(Get("inst", "k4").versions.size(), 1u);
  Create(under("k7", "mk-new"));
  EXPECT_EQ(Remaining("mk-new"), 0);
}

}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_RESEAL_CONFORMANCE_TEST_H_
