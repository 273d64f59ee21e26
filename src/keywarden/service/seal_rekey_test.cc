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

  absl::StatusOr<SealStatus> started = a.seals->Rekey(Admin(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->rekey_to;
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

  absl::StatusOr<SealStatus> started = a->seals->Rekey(Admin(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->rekey_to;
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
  absl::StatusOr<SealStatus> started = a->seals->Rekey(Admin(), options);
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string new_id = started->rekey_to;
  ASSERT_FALSE(*a->seals->RekeyStep());
  EXPECT_EQ(*a->store->CountSealedRows(new_id), 7);
  std::optional<std::string> record = *a->store->GetMeta("rekey");
  ASSERT_TRUE(record.has_value());
  EXPECT_THAT(*record, ::testing::StartsWith("keywarden-rekey v2\n"));
  EXPECT_THAT(*record, ::testing::EndsWith("\nbatch=3\npause_ms=7\n"));

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
              ::testing::EndsWith("\nbatch=50\npause_ms=7\n"));
  RekeyOptions bad;
  bad.batch_size = 0;
  EXPECT_EQ(ReasonOf(a->seals->Rekey(Admin(), bad).status()),
            Reason::kBadBody);
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

}  // namespace
}  // namespace keywarden::service
