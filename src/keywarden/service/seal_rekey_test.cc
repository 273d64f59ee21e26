// The rekey on real stores (seal_rekey.cc; docs/operations.md "Rekey the
// master key"): two nodes, each its own SqliteStore, SealService and
// KeyManager, on one SQLite file, the way two processes share one database
// (the writers' lock is SQLite's BEGIN IMMEDIATE). tests/crash/
// rekey-multinode.test.js runs the same race as processes on PostgreSQL.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/crypto/random.h"
#include "keywarden/iam/access.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/data_plane.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/service/seal_service.h"
#include "keywarden/store/sqlite/sqlite_store.h"

namespace keywarden::service {
namespace {

namespace fs = std::filesystem;
using seal::SealType;
using ::testing::ElementsAre;

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

// A KeyWrapper in process (AES-256-GCM under a key it holds) standing in
// for the PKCS#11 token both nodes share, as in seal_service_test.cc;
// pkcs11_seal_test.cc runs the real one against SoftHSM2.
class SoftWrapper final : public seal::KeyWrapper {
 public:
  SoftWrapper() : key_(crypto::RandomSecret(32)) {}
  absl::StatusOr<std::vector<uint8_t>> Wrap(
      std::span<const uint8_t> key, std::span<const uint8_t> aad) override {
    auto slot = *seal::MasterKey::Create("w", key_.span());
    return slot->Encrypt(key, aad);
  }
  absl::StatusOr<SecretBytes> Unwrap(std::span<const uint8_t> wrapped,
                                     std::span<const uint8_t> aad) override {
    auto slot = *seal::MasterKey::Create("w", key_.span());
    return slot->Decrypt(wrapped, aad);
  }
  SecretBytes key_;
};

RequestContext Admin() {
  RequestContext ctx;
  ctx.principal = {"user-admin", true};
  ctx.correlation_id = "test";
  ctx.instance_id = std::string(kInstance);
  return ctx;
}

// One node: its own store connection, master key slot, seal and managers.
struct Node {
  Node(const std::string& db, SealType type, const std::string& data_dir,
       seal::KeyWrapper* wrapper, const FakeClock* clock)
      : store(*store::SqliteStore::Open(db)),
        access_control(store.get(), &access, nullptr),
        plane({store.get(), &slot, &access_control, clock}, 100) {
    access.PutInstance({std::string(kInstance), "test", clock->Now(), "t"});
    SealServiceOptions o;
    o.type = type;
    if (type == SealType::kFile) o.file = seal::NewFileSeal(data_dir);
    o.wrapper = wrapper;
    o.reseal = store.get();
    o.clock = clock;
    seals = std::make_unique<SealService>(store.get(), &slot, std::move(o));
    KeyManagerDeps deps;
    deps.store = store.get();
    deps.master_key = &slot;
    deps.access = &access_control;
    deps.clock = clock;
    deps.data_plane = &plane;
    keys = std::make_unique<KeyManager>(deps, KeyManagerOptions{});
  }

  absl::StatusOr<KeyResult> CreateKey(std::string name) {
    CreateKeyRequest req;
    req.name = std::move(name);
    req.extractable = false;
    return keys->CreateKey(Admin(), req);
  }

  std::unique_ptr<store::SqliteStore> store;
  seal::MasterKey slot;
  iam::AccessIndex access;
  AccessControl access_control;
  DataPlaneService plane;
  std::unique_ptr<SealService> seals;
  std::unique_ptr<KeyManager> keys;
};

class SealRekeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("kw-rekey-" + NewUuid());
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Db() const { return (dir_ / "keywarden.db").string(); }
  std::string DataDir(const char* node) const {
    return (dir_ / node).string();
  }

  // Runs the rekey on `node` to its end.
  static void Finish(Node& node) {
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<bool> done = node.seals->RekeyStep();
      ASSERT_TRUE(done.ok()) << done.status();
      if (*done) return;
    }
    FAIL() << "the rekey did not finish";
  }

  // Every key wraps on `wrap_on` and the WDEK unwraps on `unwrap_on`.
  static void ExpectRoundTrips(Node& wrap_on, Node& unwrap_on,
                               const std::vector<std::string>& key_ids) {
    for (const std::string& id : key_ids) {
      absl::StatusOr<WrapResult> w = wrap_on.plane.Wrap(Admin(), id, {});
      ASSERT_TRUE(w.ok()) << id << ": " << w.status();
      UnwrapRequest req;
      req.ciphertext = w->ciphertext;
      absl::StatusOr<UnwrapResult> u = unwrap_on.plane.Unwrap(Admin(), id, req);
      ASSERT_TRUE(u.ok()) << id << ": " << u.status();
      EXPECT_EQ(u->plaintext.span().size(), 32u);
    }
  }

  fs::path dir_;
  FakeClock clock_;
};

// The race of docs/operations.md "Several nodes": node B has not heard of
// the rekey node A ran to its end; B's next write is sealed under the
// retired key, refused by the store, and B learns the new key (the pkcs11
// seal can: the new seal record carries it wrapped) and writes again.
TEST_F(SealRekeyTest, AStaleNodeWritesUnderTheNewKeyAfterARekeyElsewhere) {
  SoftWrapper token;
  Node a(Db(), SealType::kPkcs11, "", &token, &clock_);
  ASSERT_TRUE(a.seals->Start().ok());
  Node b(Db(), SealType::kPkcs11, "", &token, &clock_);
  ASSERT_TRUE(b.seals->Start().ok());
  const std::string old_id = a.slot.id();
  ASSERT_EQ(b.slot.id(), old_id);
  absl::StatusOr<KeyResult> before = b.CreateKey("before");
  ASSERT_TRUE(before.ok()) << before.status();

  absl::StatusOr<RekeyResult> started = a.seals->Rekey(Admin(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->status.rekey_to;
  Finish(a);
  ASSERT_EQ(a.seals->Status().key_id, new_id);
  EXPECT_EQ(b.slot.id(), old_id) << "B is stale";

  absl::StatusOr<KeyResult> after = b.CreateKey("after");
  ASSERT_TRUE(after.ok()) << after.status();
  absl::StatusOr<keys::Key> stored = a.store->GetKey(kInstance, after->key.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->versions[0].master_key_id, new_id);
  EXPECT_EQ(b.slot.id(), new_id);
  EXPECT_THAT(b.slot.ids(), ElementsAre(new_id)) << "the old key is retired";
  EXPECT_EQ(*a.store->CountSealedRows(new_id), 0);

  ExpectRoundTrips(a, b, {before->key.id, after->key.id});
  ExpectRoundTrips(b, a, {before->key.id, after->key.id});
}

// The file seal cannot learn a key that only another node's data dir holds:
// the stale node answers 503 and writes nothing; restarted with the new
// master.key it writes under the new key.
TEST_F(SealRekeyTest, AStaleFileSealNodeAnswersUnavailableAndWritesNothing) {
  auto a = std::make_unique<Node>(Db(), SealType::kFile, DataDir("a"),
                                  nullptr, &clock_);
  ASSERT_TRUE(a->seals->Start().ok());
  fs::copy_file(dir_ / "a" / "master.key", dir_ / "b" / "master.key");
  auto b = std::make_unique<Node>(Db(), SealType::kFile, DataDir("b"),
                                  nullptr, &clock_);
  ASSERT_TRUE(b->seals->Start().ok());
  const std::string old_id = a->slot.id();
  absl::StatusOr<KeyResult> before = b->CreateKey("before");
  ASSERT_TRUE(before.ok()) << before.status();

  absl::StatusOr<RekeyResult> started = a->seals->Rekey(Admin(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->status.rekey_to;
  Finish(*a);

  absl::StatusOr<KeyResult> refused = b->CreateKey("refused");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ReasonOf(refused.status()), Reason::kUnavailable)
      << refused.status();
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 0)
      << "nothing was written under the retired key";
  store::KeyQuery all;
  all.instance_id = std::string(kInstance);
  EXPECT_EQ(a->store->ListKeys(all)->size(), 1u);

  // Restarted with the new key file, as the docs say.
  b.reset();
  fs::copy_file(dir_ / "a" / "master.key", dir_ / "b" / "master.key",
                fs::copy_options::overwrite_existing);
  b = std::make_unique<Node>(Db(), SealType::kFile, DataDir("b"), nullptr,
                             &clock_);
  ASSERT_TRUE(b->seals->Start().ok());
  absl::StatusOr<KeyResult> after = b->CreateKey("after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(a->store->GetKey(kInstance, after->key.id)->versions[0].master_key_id,
            new_id);
  ExpectRoundTrips(*a, *b, {before->key.id, after->key.id});
  EXPECT_NE(old_id, new_id);
}

// docs/formats/material.md §4 v2: the batch size and pause given at start
// are in the rekey record, so a node restarted midway runs the same
// batches; a resume that gives new ones records them. Start, each resume
// and the finish are audit records.
TEST_F(SealRekeyTest, BatchSettingsSurviveARestartAndEveryStepIsAudited) {
  auto a = std::make_unique<Node>(Db(), SealType::kFile, DataDir("a"),
                                  nullptr, &clock_);
  ASSERT_TRUE(a->seals->Start().ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a->CreateKey("k" + std::to_string(i)).ok());
  }
  const std::string old_id = a->slot.id();
  RekeyOptions options;
  options.batch_size = 3;
  options.pause = absl::Milliseconds(7);
  absl::StatusOr<RekeyResult> started = a->seals->Rekey(Admin(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->status.rekey_to;
  ASSERT_FALSE(*a->seals->RekeyStep());
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 7);
  std::optional<std::string> record = *a->store->GetMeta("rekey");
  ASSERT_TRUE(record.has_value());
  EXPECT_THAT(*record, ::testing::StartsWith("keywarden-rekey v3\n"));
  EXPECT_THAT(*record,
              ::testing::EndsWith("\nbatch=3\npause_ms=7\nverified=1\n"));

  // A restart: a new process with nothing but the database and its file.
  a.reset();
  a = std::make_unique<Node>(Db(), SealType::kFile, DataDir("a"), nullptr,
                             &clock_);
  ASSERT_TRUE(a->seals->Start().ok());
  ASSERT_FALSE(*a->seals->RekeyStep());
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 4) << "batches of 3 again";

  // An administrator's resume with another batch size: recorded.
  RekeyOptions bigger;
  bigger.batch_size = 50;
  ASSERT_TRUE(a->seals->Rekey(Admin(), bigger).ok());
  EXPECT_THAT(**a->store->GetMeta("rekey"),
              ::testing::EndsWith("\nbatch=50\npause_ms=7\nverified=1\n"));
  RekeyOptions bad;
  bad.batch_size = 0;
  EXPECT_EQ(ReasonOf(a->seals->Rekey(Admin(), bad).status()),
            Reason::kBadBody);
  RekeyOptions shares;
  shares.shares = 3;
  EXPECT_EQ(ReasonOf(a->seals->Rekey(Admin(), shares).status()),
            Reason::kBadBody)
      << "the file seal has no shares";
  Finish(*a);
  EXPECT_EQ(*a->store->GetMeta("rekey"), std::nullopt);

  absl::StatusOr<std::vector<iam::AuditRecord>> audit =
      a->store->ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::vector<std::string> rekey_actions;
  for (const iam::AuditRecord& r : *audit) {
    if (r.action.starts_with("kms.masterkey.")) {
      rekey_actions.push_back(r.action + " " + r.actor + " " + r.target);
    }
  }
  EXPECT_THAT(rekey_actions,
              ElementsAre("kms.masterkey.rekey.start user-admin masterkey:" +
                              old_id,
                          "kms.masterkey.rekey.resume system masterkey:" +
                              old_id,
                          "kms.masterkey.rekey.resume user-admin masterkey:" +
                              old_id,
                          "kms.masterkey.rekey.finish system masterkey:" +
                              new_id));
  EXPECT_TRUE(a->store->VerifyAuditChain().ok());
}

// Shamir (issue 13 §4): the rekey hands out a new share set once and
// re-seals nothing until T of the new shares were entered; a restart
// before that unseals with the old shares and verification still works;
// after the finish only the new shares unseal.
class ShamirRekeyTest : public SealRekeyTest {
 protected:
  std::unique_ptr<Node> NewNode() {
    auto node =
        std::make_unique<Node>(Db(), SealType::kShamir, "", nullptr, &clock_);
    EXPECT_TRUE(node->seals->Start().ok());
    return node;
  }
  static void UnsealWith(Node& node, const std::vector<std::string>& shares) {
    for (const std::string& share : shares) {
      absl::StatusOr<SealStatus> s = node.seals->Unseal(Admin(), share);
      ASSERT_TRUE(s.ok()) << s.status();
    }
    ASSERT_FALSE(node.seals->sealed());
  }
  // The WDEKs wrapped before the rekey unwrap on `node`.
  static void ExpectUnwraps(Node& node, const std::vector<std::string>& key_ids,
                            const std::vector<std::vector<uint8_t>>& wdeks) {
    for (size_t i = 0; i < key_ids.size(); ++i) {
      UnwrapRequest req;
      req.ciphertext = wdeks[i];
      absl::StatusOr<UnwrapResult> u =
          node.plane.Unwrap(Admin(), key_ids[i], req);
      ASSERT_TRUE(u.ok()) << key_ids[i] << ": " << u.status();
    }
  }
};

TEST_F(ShamirRekeyTest, NewSharesAreVerifiedBeforeTheOldOnesStopWorking) {
  std::unique_ptr<Node> a = NewNode();
  absl::StatusOr<SealInitResult> init = a->seals->Init(Admin(), 5, 3);
  ASSERT_TRUE(init.ok()) << init.status();
  const std::vector<std::string>& old_shares = init->shares;
  UnsealWith(*a, {old_shares[0], old_shares[1], old_shares[2]});
  const std::string old_id = a->slot.id();
  std::vector<std::string> key_ids;
  std::vector<std::vector<uint8_t>> wdeks;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<KeyResult> k = a->CreateKey("k" + std::to_string(i));
    ASSERT_TRUE(k.ok()) << k.status();
    absl::StatusOr<WrapResult> w = a->plane.Wrap(Admin(), k->key.id, {});
    ASSERT_TRUE(w.ok()) << w.status();
    key_ids.push_back(k->key.id);
    wdeks.push_back(w->ciphertext);
  }

  RekeyOptions options;
  options.shares = 4;
  options.threshold = 2;
  absl::StatusOr<RekeyResult> started = a->seals->Rekey(Admin(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->shares.size(), 4u);
  EXPECT_EQ(started->threshold, 2);
  const std::string new_id = started->key_id;
  EXPECT_EQ(started->status.rekey_to, new_id);
  EXPECT_FALSE(started->status.rekey_verified);
  EXPECT_EQ(started->status.rekey_threshold, 2);
  const std::vector<std::string> new_shares = started->shares;
  EXPECT_THAT(**a->store->GetMeta("rekey"),
              ::testing::EndsWith("\nverified=0\n"));

  // Unverified: nothing is re-sealed, new rows stay under the old key.
  absl::StatusOr<bool> idle = a->seals->RekeyStep();
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_TRUE(*idle);
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 3);
  absl::StatusOr<KeyResult> during = a->CreateKey("during");
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(
      a->store->GetKey(kInstance, during->key.id)->versions[0].master_key_id,
      old_id);
  EXPECT_EQ(ReasonOf(a->seals->Rekey(Admin(), options).status()),
            Reason::kConflict)
      << "new shares cannot be drawn over the ones handed out";

  // Refused shares keep progress: an old share, a repeat, a typo.
  absl::StatusOr<SealStatus> v = a->seals->VerifyRekey(Admin(), old_shares[3]);
  EXPECT_EQ(ReasonOf(v.status()), Reason::kBadBody) << v.status();
  v = a->seals->VerifyRekey(Admin(), new_shares[0]);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->rekey_verify_progress, 1);
  EXPECT_FALSE(v->rekey_verified);
  EXPECT_EQ(ReasonOf(a->seals->VerifyRekey(Admin(), new_shares[0]).status()),
            Reason::kConflict);
  std::string typo = new_shares[1];
  char& c = typo[typo.size() / 2];  // in the value, not the index
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(ReasonOf(a->seals->VerifyRekey(Admin(), typo).status()),
            Reason::kBadBody);
  EXPECT_EQ(a->seals->Status().rekey_verify_progress, 1);
  RequestContext reader = Admin();
  reader.principal.is_admin = false;
  EXPECT_EQ(ReasonOf(a->seals->VerifyRekey(reader, new_shares[1]).status()),
            Reason::kForbidden);

  // A crash before verification: the old shares unseal, the rekey waits
  // on, and the new shares (checked with the record's check key) verify.
  a.reset();
  a = NewNode();
  EXPECT_EQ(ReasonOf(a->seals->Unseal(Admin(), new_shares[0]).status()),
            Reason::kBadBody)
      << "the new shares do not unseal before the finish";
  UnsealWith(*a, {old_shares[2], old_shares[3], old_shares[4]});
  EXPECT_EQ(a->slot.id(), old_id);
  SealStatus waiting = a->seals->Status();
  EXPECT_TRUE(waiting.rekey_in_progress);
  EXPECT_FALSE(waiting.rekey_verified);
  EXPECT_EQ(waiting.rekey_verify_progress, 0) << "progress is per process";
  ExpectUnwraps(*a, key_ids, wdeks);
  v = a->seals->VerifyRekey(Admin(), new_shares[3]);
  ASSERT_TRUE(v.ok()) << v.status();
  v = a->seals->VerifyRekey(Admin(), new_shares[1]);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->rekey_verified);
  EXPECT_EQ(a->slot.id(), new_id) << "the next key is current once verified";
  EXPECT_EQ(ReasonOf(a->seals->CancelRekey(Admin()).status()),
            Reason::kConflict)
      << "a verified rekey is not cancelled";
  Finish(*a);
  SealStatus done = a->seals->Status();
  EXPECT_FALSE(done.rekey_in_progress);
  EXPECT_EQ(done.key_id, new_id);
  EXPECT_EQ(done.shares, 4);
  EXPECT_EQ(done.threshold, 2);
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 0);
  ExpectUnwraps(*a, key_ids, wdeks);

  // After the finish a restart needs the new shares.
  a.reset();
  a = NewNode();
  absl::StatusOr<SealStatus> old = a->seals->Unseal(Admin(), old_shares[0]);
  EXPECT_EQ(ReasonOf(old.status()), Reason::kBadBody);
  EXPECT_THAT(std::string(old.status().message()),
              ::testing::HasSubstr("earlier init"));
  UnsealWith(*a, {new_shares[2], new_shares[0]});
  EXPECT_EQ(a->slot.id(), new_id);
  ExpectUnwraps(*a, key_ids, wdeks);
  key_ids.push_back(during->key.id);
  ExpectRoundTrips(*a, *a, key_ids);

  absl::StatusOr<std::vector<iam::AuditRecord>> audit =
      a->store->ListAudit(0, 1000);
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::vector<std::string> actions;
  for (const iam::AuditRecord& r : *audit) {
    if (r.action.starts_with("kms.masterkey.")) actions.push_back(r.action);
  }
  EXPECT_THAT(
      actions,
      ElementsAre("kms.masterkey.rekey.start", "kms.masterkey.rekey.resume",
                  "kms.masterkey.rekey.verify", "kms.masterkey.rekey.finish"));
  EXPECT_TRUE(a->store->VerifyAuditChain().ok());
}

TEST_F(ShamirRekeyTest, CancelBeforeVerificationDiscardsTheNewKey) {
  std::unique_ptr<Node> a = NewNode();
  absl::StatusOr<SealInitResult> init = a->seals->Init(Admin(), 3, 2);
  ASSERT_TRUE(init.ok()) << init.status();
  UnsealWith(*a, {init->shares[0], init->shares[1]});
  const std::string old_id = a->slot.id();
  absl::StatusOr<KeyResult> k = a->CreateKey("kept");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(ReasonOf(a->seals->CancelRekey(Admin()).status()),
            Reason::kConflict)
      << "no rekey";

  RekeyOptions bad;
  bad.threshold = 4;  // more than the 3 shares
  EXPECT_EQ(ReasonOf(a->seals->Rekey(Admin(), bad).status()), Reason::kBadBody);
  EXPECT_EQ(*a->store->GetMeta("rekey"), std::nullopt)
      << "bad input changes nothing";

  absl::StatusOr<RekeyResult> started = a->seals->Rekey(Admin(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->shares.size(), 3u) << "the current split by default";
  EXPECT_EQ(started->threshold, 2);
  ASSERT_TRUE(a->seals->VerifyRekey(Admin(), started->shares[0]).ok());
  absl::StatusOr<SealStatus> cancelled = a->seals->CancelRekey(Admin());
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_FALSE(cancelled->rekey_in_progress);
  EXPECT_EQ(*a->store->GetMeta("rekey"), std::nullopt);
  EXPECT_EQ(*a->store->GetMeta(store::kMasterKeysMetaName), old_id);
  EXPECT_THAT(a->slot.ids(), ElementsAre(old_id));
  EXPECT_EQ(
      ReasonOf(a->seals->VerifyRekey(Admin(), started->shares[1]).status()),
      Reason::kConflict)
      << "the discarded shares verify nothing";
  ExpectRoundTrips(*a, *a, {k->key.id});

  // The old shares still unseal after a restart; a new rekey starts.
  a.reset();
  a = NewNode();
  UnsealWith(*a, {init->shares[2], init->shares[0]});
  absl::StatusOr<RekeyResult> again = a->seals->Rekey(Admin(), {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->key_id, started->key_id);
  ASSERT_TRUE(a->seals->VerifyRekey(Admin(), again->shares[2]).ok());
  ASSERT_TRUE(a->seals->VerifyRekey(Admin(), again->shares[1]).ok());
  Finish(*a);
  EXPECT_EQ(a->seals->Status().key_id, again->key_id);
  ExpectRoundTrips(*a, *a, {k->key.id});
}

}  // namespace
}  // namespace keywarden::service
