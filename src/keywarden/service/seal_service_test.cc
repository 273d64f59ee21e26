#include "keywarden/service/seal_service.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/random.h"
#include "keywarden/iam/access.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using seal::SealType;

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

// A KeyWrapper in process (AES-256-GCM under a key it holds), standing in
// for the token here only: pkcs11_seal_test.cc runs the real one against
// SoftHSM2.
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
  return ctx;
}

RequestContext Anonymous() {
  RequestContext ctx;
  ctx.correlation_id = "test";
  return ctx;
}

class SealServiceTest : public ::testing::Test {
 protected:
  std::unique_ptr<SealService> Shamir(seal::MasterKey* slot) {
    SealServiceOptions o;
    o.type = SealType::kShamir;
    return std::make_unique<SealService>(&store_, slot, std::move(o));
  }

  store::InMemoryStore store_;
  seal::MasterKey slot_;
};

TEST_F(SealServiceTest, ShamirStartsSealedAndUninitialized) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  SealStatus s = seals->Status();
  EXPECT_TRUE(s.sealed);
  EXPECT_FALSE(s.initialized);
  EXPECT_EQ(s.type, SealType::kShamir);
  EXPECT_THAT(seals->Unseal(Anonymous(), "kw1-1-AAAA").status().message(),
              HasSubstr("not initialized"));
}

TEST_F(SealServiceTest, InitUnsealSealUnsealWithEveryThresholdSubset) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  EXPECT_EQ(ReasonOf(seals->Init(Anonymous(), 3, 2).status()),
            Reason::kForbidden);
  absl::StatusOr<SealInitResult> init = seals->Init(Admin(), 3, 2);
  ASSERT_TRUE(init.ok()) << init.status();
  ASSERT_EQ(init->shares.size(), 3u);
  EXPECT_TRUE(seals->sealed());  // init does not unseal
  // Shares are never stored: the record holds none of them.
  std::string record = **store_.GetMeta(SealService::kMetaName);
  for (const std::string& share : init->shares) {
    EXPECT_THAT(record, ::testing::Not(HasSubstr(share.substr(6, 20))));
  }
  EXPECT_EQ(ReasonOf(seals->Init(Admin(), 3, 2).status()), Reason::kConflict);

  std::vector<uint8_t> sealed_by_first;
  for (auto [a, b] : std::vector<std::pair<int, int>>{{0, 1}, {0, 2}, {2, 1}}) {
    absl::StatusOr<SealStatus> one = seals->Unseal(Anonymous(), init->shares[a]);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(one->sealed);
    EXPECT_EQ(one->progress, 1);
    absl::StatusOr<SealStatus> two = seals->Unseal(Anonymous(), init->shares[b]);
    ASSERT_TRUE(two.ok()) << two.status();
    EXPECT_FALSE(two->sealed);
    EXPECT_EQ(two->progress, 0);
    EXPECT_EQ(slot_.id(), init->key_id);
    if (sealed_by_first.empty()) {
      sealed_by_first = *slot_.Encrypt({}, {});
    } else {
      EXPECT_TRUE(slot_.Decrypt(sealed_by_first, {}).ok());  // same key
    }
    EXPECT_EQ(ReasonOf(seals->Seal(Anonymous()).status()), Reason::kForbidden);
    ASSERT_TRUE(seals->Seal(Admin()).ok());
    EXPECT_TRUE(slot_.sealed());
  }
}

TEST_F(SealServiceTest, WrongDuplicateAndCorruptSharesKeepProgress) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  SealInitResult init = *seals->Init(Admin(), 5, 3);
  ASSERT_EQ(seals->Unseal(Anonymous(), init.shares[4])->progress, 1);

  // Entered twice.
  absl::Status dup = seals->Unseal(Anonymous(), init.shares[4]).status();
  EXPECT_EQ(ReasonOf(dup), Reason::kConflict);
  EXPECT_THAT(dup.message(), HasSubstr("already entered"));
  // One character changed.
  std::string corrupt = init.shares[1];
  corrupt[corrupt.size() - 3] = corrupt[corrupt.size() - 3] == 'A' ? 'B' : 'A';
  absl::Status bad = seals->Unseal(Anonymous(), corrupt).status();
  EXPECT_EQ(ReasonOf(bad), Reason::kBadBody);
  EXPECT_THAT(bad.message(), HasSubstr("kept"));
  // A share of another deployment (another init on another database).
  store::InMemoryStore other_store;
  seal::MasterKey other_slot;
  SealServiceOptions o;
  o.type = SealType::kShamir;
  SealService other(&other_store, &other_slot, std::move(o));
  ASSERT_TRUE(other.Start().ok());
  SealInitResult foreign = *other.Init(Admin(), 5, 3);
  EXPECT_EQ(ReasonOf(seals->Unseal(Anonymous(), foreign.shares[0]).status()),
            Reason::kBadBody);
  // Garbage.
  EXPECT_FALSE(seals->Unseal(Anonymous(), "hello").ok());
  EXPECT_FALSE(seals->Unseal(Anonymous(), "").ok());

  EXPECT_EQ(seals->Status().progress, 1);
  EXPECT_EQ(seals->Unseal(Anonymous(), init.shares[0])->progress, 2);
  absl::StatusOr<SealStatus> done = seals->Unseal(Anonymous(), init.shares[2]);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->sealed);
}

TEST_F(SealServiceTest, SealClearsProgressAndANewNodeUnsealsWithTheSameShares) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  SealInitResult init = *seals->Init(Admin(), 3, 2);
  ASSERT_TRUE(seals->Unseal(Anonymous(), init.shares[0]).ok());
  ASSERT_TRUE(seals->Seal(Admin()).ok());
  EXPECT_EQ(seals->Status().progress, 0);

  // A second node on the same database (or this one restarted).
  seal::MasterKey slot2;
  auto node2 = Shamir(&slot2);
  ASSERT_TRUE(node2->Start().ok());
  EXPECT_TRUE(node2->Status().initialized);
  ASSERT_TRUE(node2->Unseal(Anonymous(), init.shares[2]).ok());
  ASSERT_FALSE(node2->Unseal(Anonymous(), init.shares[1])->sealed);
}

TEST_F(SealServiceTest, AnotherSealTypeOnTheSameDatabaseIsRefused) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  ASSERT_TRUE(seals->Init(Admin(), 1, 1).ok());
  SoftWrapper wrapper;
  SealServiceOptions o;
  o.type = SealType::kPkcs11;
  o.wrapper = &wrapper;
  seal::MasterKey slot2;
  SealService pkcs11(&store_, &slot2, std::move(o));
  absl::Status s = pkcs11.Start();
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_THAT(s.message(), HasSubstr("start it with --seal shamir"));
}

TEST_F(SealServiceTest, WrapperSealUnsealsAtStartAndRefusesAnotherTokenKey) {
  SoftWrapper wrapper;
  auto make = [&](seal::KeyWrapper* w, seal::MasterKey* slot) {
    SealServiceOptions o;
    o.type = SealType::kPkcs11;
    o.wrapper = w;
    return std::make_unique<SealService>(&store_, slot, std::move(o));
  };
  auto first = make(&wrapper, &slot_);
  ASSERT_TRUE(first->Start().ok());
  EXPECT_FALSE(slot_.sealed());
  std::vector<uint8_t> sealed = *slot_.Encrypt({}, {});
  // Restart with the same token key: the same master key.
  seal::MasterKey slot2;
  ASSERT_TRUE(make(&wrapper, &slot2)->Start().ok());
  EXPECT_TRUE(slot2.Decrypt(sealed, {}).ok());
  // Another token key: refused at start, with the reason.
  SoftWrapper other;
  seal::MasterKey slot3;
  absl::Status s = make(&other, &slot3)->Start();
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_THAT(s.message(), HasSubstr("same token key"));
  EXPECT_TRUE(slot3.sealed());
  // Seal, then an administrator unseals again (no share).
  ASSERT_TRUE(first->Seal(Admin()).ok());
  EXPECT_TRUE(slot_.sealed());
  EXPECT_EQ(ReasonOf(first->Unseal(Anonymous(), "").status()),
            Reason::kForbidden);
  EXPECT_EQ(ReasonOf(first->Unseal(Admin(), "kw1-1-AA").status()),
            Reason::kBadBody);
  ASSERT_FALSE(first->Unseal(Admin(), "")->sealed);
  EXPECT_TRUE(slot_.Decrypt(sealed, {}).ok());
}

TEST_F(SealServiceTest, FileSealWritesItsRecordAndRefusesAnotherKeyFile) {
  const fs::path dir =
      fs::temp_directory_path() / ("kw_seal_svc_" + NewUuid());
  auto make = [&](const fs::path& d, seal::MasterKey* slot) {
    SealServiceOptions o;
    o.type = SealType::kFile;
    o.file = seal::NewFileSeal(d.string());
    return std::make_unique<SealService>(&store_, slot, std::move(o));
  };
  ASSERT_TRUE(make(dir / "a", &slot_)->Start().ok());
  EXPECT_FALSE(slot_.sealed());
  EXPECT_TRUE(store_.GetMeta(SealService::kMetaName)->has_value());
  seal::MasterKey again;
  EXPECT_TRUE(make(dir / "a", &again)->Start().ok());
  // Another node with its own master.key on this database.
  seal::MasterKey other;
  absl::Status s = make(dir / "b", &other)->Start();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("same master key"));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Sealing drops the key cache: a wrap that was served from the cache fails
// with the sealed error until the unseal, then works with the same key.
TEST_F(SealServiceTest, SealedKeyManagerAnswersSealedUntilUnsealed) {
  auto seals = Shamir(&slot_);
  ASSERT_TRUE(seals->Start().ok());
  SealInitResult init = *seals->Init(Admin(), 2, 2);
  ASSERT_TRUE(seals->Unseal(Anonymous(), init.shares[0]).ok());
  ASSERT_TRUE(seals->Unseal(Anonymous(), init.shares[1]).ok());

  FakeClock clock;
  iam::AccessIndex access;
  access.PutInstance({std::string(kInstance), "test", clock.Now(), "t"});
  AccessControl access_control(&store_, &access, nullptr);
  DataPlaneService plane({&store_, &slot_, &access_control, &clock}, 100);
  KeyManagerDeps deps;
  deps.store = &store_;
  deps.master_key = &slot_;
  deps.access = &access_control;
  deps.clock = &clock;
  deps.data_plane = &plane;
  KeyManager keys(deps, KeyManagerOptions{});
  seals->set_on_change([&plane](bool sealed) {
    if (sealed) plane.DropCache();
  });
  RequestContext ctx = Admin();
  ctx.instance_id = std::string(kInstance);
  CreateKeyRequest req;
  req.name = "root";
  req.extractable = false;
  absl::StatusOr<KeyResult> key = keys.CreateKey(ctx, req);
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<WrapResult> first = plane.Wrap(ctx, key->key.id, {});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(plane.CacheSize(), 1u);

  ASSERT_TRUE(seals->Seal(Admin()).ok());
  EXPECT_EQ(plane.CacheSize(), 0u);
  EXPECT_TRUE(slot_.sealed());
  EXPECT_TRUE(seal::IsSealedError(slot_.Decrypt(std::vector<uint8_t>(40), {}).status()));
  absl::Status wrap = plane.Wrap(ctx, key->key.id, {}).status();
  EXPECT_TRUE(seal::IsSealedError(wrap)) << wrap;
  EXPECT_EQ(ReasonOf(wrap), Reason::kUnavailable);
  EXPECT_TRUE(seal::IsSealedError(keys.CreateKey(ctx, req).status()));

  ASSERT_TRUE(seals->Unseal(Anonymous(), init.shares[1]).ok());
  ASSERT_TRUE(seals->Unseal(Anonymous(), init.shares[0]).ok());
  EXPECT_TRUE(plane.Wrap(ctx, key->key.id, {}).ok());
}

}  // namespace
}  // namespace keywarden::service
