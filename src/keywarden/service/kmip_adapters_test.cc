// KmipAdapters: management rules and how the adapter's root key governs its
// objects (keyprotect-api.md §13, docs/formats/kmip.md "Object material").
#include "keywarden/service/kmip_adapters.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/random.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

class KmipAdaptersTest : public ::testing::Test {
 protected:
  KmipAdaptersTest() {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    access_.PutInstance({std::string(kInstance), "test", clock_.Now(), "t"});
    plane_ = std::make_unique<DataPlaneService>(
        DataPlaneDeps{&store_, master_.get(), &access_control_, &clock_}, 1000);
    KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = &access_control_;
    deps.clock = &clock_;
    deps.data_plane = plane_.get();
    KeyManagerOptions options;
    options.timers.state_change_cooldown = absl::ZeroDuration();
    manager_ = std::make_unique<KeyManager>(deps, options);
    adapters_ = std::make_unique<KmipAdapters>(KmipAdapters::Deps{
        &store_, store_.kmip(), plane_.get(), &access_control_, &clock_});
    ctx_.instance_id = std::string(kInstance);
    ctx_.principal = {"tester", true};
  }

  std::string RootKey() {
    CreateKeyRequest req;
    req.name = "crk";
    req.extractable = false;
    auto key = manager_->CreateKey(ctx_, req);
    EXPECT_TRUE(key.ok()) << key.status();
    return key->key.id;
  }

  // An adapter on a fresh root key and a caller of it (as the KMIP
  // listener would identify it).
  KmipCaller Caller(std::string crk) {
    auto a = adapters_->CreateAdapter(
        ctx_, {.name = std::nullopt, .profile = "native_1.0", .crk_id = crk});
    EXPECT_TRUE(a.ok()) << a.status();
    return KmipCaller{std::string(kInstance), a->id, crk, "cert-1"};
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  AccessControl access_control_{&store_, &access_, nullptr};
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<DataPlaneService> plane_;
  std::unique_ptr<KeyManager> manager_;
  std::unique_ptr<KmipAdapters> adapters_;
  RequestContext ctx_;
};

TEST_F(KmipAdaptersTest, ObjectOpensOnlyWhileTheRootKeyIsUsable) {
  const std::string crk = RootKey();
  KmipCaller caller = Caller(crk);
  SecretBytes material = crypto::RandomSecret(32);
  store::KmipObject o;
  o.object_type = 2;
  auto created = adapters_->CreateObject(caller, o, material, "kmip.object.create");
  ASSERT_TRUE(created.ok()) << created.status();
  // Sealed: the store never holds the material in the clear.
  EXPECT_EQ(created->sealed_material.find(std::string(
                reinterpret_cast<const char*>(material.data()), material.size())),
            std::string::npos);
  auto opened = adapters_->OpenMaterial(caller, *created);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(*opened == material);

  ASSERT_TRUE(manager_->Disable(ctx_, crk).ok());
  EXPECT_FALSE(adapters_->OpenMaterial(caller, *created).ok());
  ASSERT_TRUE(manager_->Enable(ctx_, crk).ok());
  EXPECT_TRUE(adapters_->OpenMaterial(caller, *created).ok());
  // A new object cannot be sealed under a disabled key either.
  ASSERT_TRUE(manager_->Disable(ctx_, crk).ok());
  EXPECT_FALSE(adapters_->CreateObject(caller, o, material, "x").ok());
}

TEST_F(KmipAdaptersTest, SealedMaterialIsBoundToItsObject) {
  KmipCaller caller = Caller(RootKey());
  store::KmipObject o;
  o.object_type = 2;
  auto a = adapters_->CreateObject(caller, o, crypto::RandomSecret(16), "c");
  auto b = adapters_->CreateObject(caller, o, crypto::RandomSecret(16), "c");
  ASSERT_TRUE(a.ok() && b.ok());
  store::KmipObject swapped = *b;
  swapped.sealed_material = a->sealed_material;
  EXPECT_FALSE(adapters_->OpenMaterial(caller, swapped).ok());
  // Another adapter does not see it.
  KmipCaller other = Caller(RootKey());
  EXPECT_TRUE(absl::IsNotFound(adapters_->LoadObject(other, a->id).status()));
  EXPECT_TRUE(adapters_->LoadObject(caller, a->id).ok());
}

TEST_F(KmipAdaptersTest, DeletedRootKeyShredsTheObjects) {
  const std::string crk = RootKey();
  KmipCaller caller = Caller(crk);
  store::KmipObject o;
  o.object_type = 2;
  auto created = adapters_->CreateObject(caller, o, crypto::RandomSecret(32), "c");
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(manager_->DeleteKey(ctx_, crk, DeleteKeyRequest{}).ok());
  EXPECT_FALSE(adapters_->OpenMaterial(caller, *created).ok());
}

TEST_F(KmipAdaptersTest, AdapterNeedsAnActiveRootKeyAndTheNativeProfile) {
  const std::string crk = RootKey();
  auto bad_profile = adapters_->CreateAdapter(
      ctx_, {.name = "a1", .profile = "vmware", .crk_id = crk});
  EXPECT_EQ(ReasonOf(bad_profile.status()), Reason::kInvalidField);
  auto no_key = adapters_->CreateAdapter(
      ctx_, {.name = "a1", .profile = "native_1.0",
             .crk_id = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e99"});
  EXPECT_EQ(ReasonOf(no_key.status()), Reason::kInvalidField);
  auto bad_name = adapters_->CreateAdapter(
      ctx_, {.name = "a", .profile = "native_1.0", .crk_id = crk});
  EXPECT_EQ(ReasonOf(bad_name.status()), Reason::kInvalidField);
  ASSERT_TRUE(manager_->Disable(ctx_, crk).ok());
  auto disabled = adapters_->CreateAdapter(
      ctx_, {.name = "a1", .profile = "native_1.0", .crk_id = crk});
  EXPECT_EQ(ReasonOf(disabled.status()), Reason::kKeyActionInvalidState);
}

TEST_F(KmipAdaptersTest, CertificateIdentifiesItsAdapterOnly) {
  KmipCaller caller = Caller(RootKey());
  auto bad = adapters_->CreateCertificate(ctx_, caller.adapter_id,
                                          {.name = "c1", .pem = "not a pem"});
  EXPECT_EQ(ReasonOf(bad.status()), Reason::kInvalidField);
  std::string unknown(32, '\x01');
  EXPECT_TRUE(absl::IsPermissionDenied(adapters_->Identify(unknown).status()));
}

}  // namespace
}  // namespace keywarden::service
