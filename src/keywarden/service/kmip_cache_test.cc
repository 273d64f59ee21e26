// KmipCache: what the KMIP listener keeps between requests, and every
// change that must drop it (kmip_cache.h; docs/performance.md "KMIP").
#include "keywarden/service/kmip_cache.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/key_ops.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/sha256.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

// A self-signed EC P-256 certificate, in PEM.
std::string MakeCertificatePem(const std::string& cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string pem(p, static_cast<size_t>(n));
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

// What the TLS listener hands Identify: the raw SHA-256 of the DER.
std::string RawSha256(const std::string& pem) {
  std::vector<uint8_t> der = *crypto::CertificatePemToDer(pem);
  std::array<uint8_t, 32> h = crypto::Sha256(der);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

class KmipCacheTest : public ::testing::Test {
 protected:
  KmipCacheTest() {
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
    adapters_ = NewNode(&cache_);
    ctx_.instance_id = std::string(kInstance);
    ctx_.principal = {"tester", true};
  }

  // A node's KmipAdapters over the shared store, with its own cache.
  std::unique_ptr<KmipAdapters> NewNode(KmipCache* cache) {
    return std::make_unique<KmipAdapters>(
        KmipAdapters::Deps{&store_, store_.kmip(), plane_.get(),
                           &access_control_, &clock_, cache});
  }

  std::string RootKey() {
    CreateKeyRequest req;
    req.name = "crk";
    req.extractable = false;
    auto key = manager_->CreateKey(ctx_, req);
    EXPECT_TRUE(key.ok()) << key.status();
    return key->key.id;
  }

  std::string Adapter(const std::string& crk) {
    auto a = adapters_->CreateAdapter(
        ctx_, {.name = std::nullopt, .profile = "native_1.0", .crk_id = crk});
    EXPECT_TRUE(a.ok()) << a.status();
    return a->id;
  }

  // Registers a new certificate to `adapter`; its raw SHA-256.
  std::string Certificate(const std::string& adapter, const std::string& name) {
    std::string pem = MakeCertificatePem(name);
    auto c = adapters_->CreateCertificate(ctx_, adapter,
                                          {.name = name, .pem = pem});
    EXPECT_TRUE(c.ok()) << c.status();
    return RawSha256(pem);
  }

  // A caller of a new adapter on a new root key, and one Pre-Active
  // object of it with 32 bytes of material.
  struct Fixture {
    std::string crk;
    KmipCaller caller;
    store::KmipObject object;
    SecretBytes material;
  };
  Fixture MakeObject() {
    Fixture f;
    f.crk = RootKey();
    std::string adapter = Adapter(f.crk);
    auto caller = adapters_->Identify(Certificate(adapter, "c-" + adapter.substr(0, 8)));
    EXPECT_TRUE(caller.ok()) << caller.status();
    f.caller = *caller;
    f.material = crypto::RandomSecret(32);
    store::KmipObject o;
    o.object_type = 2;
    o.state = static_cast<int32_t>(KmipState::kPreActive);
    auto created = adapters_->CreateObject(f.caller, o, f.material, "c");
    EXPECT_TRUE(created.ok()) << created.status();
    f.object = *created;
    return f;
  }

  // Writes `o` with `state`, as the KMIP backend does; the object reloaded.
  store::KmipObject SetState(const KmipCaller& caller,
                             const store::KmipObject& o, KmipState state) {
    store::KmipObject changed = o;
    changed.state = static_cast<int32_t>(state);
    EXPECT_TRUE(adapters_->UpdateObject(caller, changed, "s").ok());
    auto reloaded = adapters_->LoadObject(caller, o.id);
    EXPECT_TRUE(reloaded.ok()) << reloaded.status();
    return *reloaded;
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  AccessControl access_control_{&store_, &access_, nullptr};
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<DataPlaneService> plane_;
  std::unique_ptr<KeyManager> manager_;
  KmipCache cache_{KmipCache::Options{}};
  std::unique_ptr<KmipAdapters> adapters_;
  RequestContext ctx_;
};

TEST_F(KmipCacheTest, CallerIsCachedAndCertificateDeletionIsEffectiveAtOnce) {
  std::string adapter = Adapter(RootKey());
  std::string sha = Certificate(adapter, "cert-a");
  ASSERT_TRUE(adapters_->Identify(sha).ok());
  EXPECT_EQ(cache_.CallerCount(), 1u);
  auto again = adapters_->Identify(sha);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->adapter_id, adapter);

  ASSERT_TRUE(adapters_->DeleteCertificate(ctx_, adapter, "cert-a").ok());
  EXPECT_EQ(cache_.CallerCount(), 0u);
  EXPECT_TRUE(absl::IsPermissionDenied(adapters_->Identify(sha).status()));
}

TEST_F(KmipCacheTest, AdapterDeletionDropsItsCallers) {
  std::string adapter = Adapter(RootKey());
  std::string sha = Certificate(adapter, "cert-a");
  ASSERT_TRUE(adapters_->Identify(sha).ok());
  ASSERT_EQ(cache_.CallerCount(), 1u);
  ASSERT_TRUE(adapters_->DeleteAdapter(ctx_, adapter).ok());
  EXPECT_EQ(cache_.CallerCount(), 0u);
  EXPECT_TRUE(absl::IsPermissionDenied(adapters_->Identify(sha).status()));
}

TEST_F(KmipCacheTest, UnregisteredCertificatesAreNotCached) {
  std::string unknown(32, '\x07');
  EXPECT_TRUE(absl::IsPermissionDenied(adapters_->Identify(unknown).status()));
  EXPECT_EQ(cache_.CallerCount(), 0u);
}

// Another node's deletion reaches this node's cache through the change
// feed (store::Change::Kind::kKmip; run_server.cc calls DropAll).
TEST_F(KmipCacheTest, AnotherNodesDeletionTakesEffectWithTheChangeFeed) {
  KmipCache other_cache{KmipCache::Options{}};
  std::unique_ptr<KmipAdapters> other = NewNode(&other_cache);
  std::string adapter = Adapter(RootKey());
  std::string sha = Certificate(adapter, "cert-a");
  ASSERT_TRUE(other->Identify(sha).ok());

  ASSERT_TRUE(adapters_->DeleteCertificate(ctx_, adapter, "cert-a").ok());
  // Until the notice arrives the other node still knows the caller ...
  EXPECT_TRUE(other->Identify(sha).ok());
  // ... and forgets it when it does.
  other_cache.DropAll();
  EXPECT_TRUE(absl::IsPermissionDenied(other->Identify(sha).status()));
}

TEST_F(KmipCacheTest, FillThatRacedWithADropIsRefused) {
  KmipCache cache{KmipCache::Options{}};
  KmipCaller caller{std::string(kInstance), "a", "k", "c"};
  uint64_t before = cache.Generation();
  cache.DropCallers();  // e.g. a certificate deleted while it was read
  cache.PutCaller("ff", caller, before);
  EXPECT_FALSE(cache.FindCaller("ff").has_value());
  cache.PutCaller("ff", caller, cache.Generation());
  EXPECT_TRUE(cache.FindCaller("ff").has_value());

  auto material = std::make_shared<const SecretBytes>(crypto::RandomSecret(8));
  before = cache.Generation();
  cache.DropRootKey(kInstance, "k");
  cache.PutMaterial(kInstance, "a", "o", 1, "k", material, before);
  EXPECT_EQ(cache.MaterialCount(), 0u);
}

TEST_F(KmipCacheTest, MaterialIsCachedPerRevision) {
  Fixture f = MakeObject();
  auto first = adapters_->OpenMaterial(f.caller, f.object);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(cache_.MaterialCount(), 1u);
  auto second = adapters_->OpenMaterial(f.caller, f.object);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(*second == f.material);
  // Another revision of the object, or another adapter's view, misses.
  EXPECT_EQ(cache_.FindMaterial(kInstance, f.caller.adapter_id, f.object.id,
                                f.object.revision + 1),
            nullptr);
  EXPECT_EQ(cache_.FindMaterial(kInstance, "another-adapter", f.object.id,
                                f.object.revision),
            nullptr);
  EXPECT_NE(cache_.FindMaterial(kInstance, f.caller.adapter_id, f.object.id,
                                f.object.revision),
            nullptr);
}

TEST_F(KmipCacheTest, ObjectStateChangesDropTheMaterial) {
  Fixture f = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  // Activate, then Revoke (Deactivated), then an attribute change: each
  // write drops the entry and moves the revision.
  store::KmipObject o = SetState(f.caller, f.object, KmipState::kActive);
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  EXPECT_GT(o.revision, f.object.revision);
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, o).ok());
  ASSERT_EQ(cache_.MaterialCount(), 1u);
  o = SetState(f.caller, o, KmipState::kDeactivated);
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, o).ok());
  store::KmipObject modified = o;
  modified.names = {"renamed"};
  ASSERT_TRUE(adapters_->UpdateObject(f.caller, modified, "m").ok());
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  // The stale copy of the object (an old revision) does not hit.
  EXPECT_EQ(cache_.FindMaterial(kInstance, f.caller.adapter_id, o.id,
                                o.revision + 1),
            nullptr);
}

TEST_F(KmipCacheTest, DestroyDropsTheMaterial) {
  Fixture f = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  ASSERT_EQ(cache_.MaterialCount(), 1u);
  // Over REST (Pre-Active: destroyable).
  ASSERT_TRUE(
      adapters_->DeleteObject(ctx_, f.caller.adapter_id, f.object.id).ok());
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  auto destroyed = adapters_->LoadObject(f.caller, f.object.id);
  ASSERT_TRUE(destroyed.ok());
  EXPECT_FALSE(adapters_->OpenMaterial(f.caller, *destroyed).ok());

  // Over KMIP (Destroy writes state 5).
  Fixture g = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(g.caller, g.object).ok());
  store::KmipObject gone = SetState(g.caller, g.object, KmipState::kDestroyed);
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  EXPECT_FALSE(adapters_->OpenMaterial(g.caller, gone).ok());
}

TEST_F(KmipCacheTest, DisabledRootKeyStopsCachedMaterialAtOnce) {
  Fixture f = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  ASSERT_EQ(cache_.MaterialCount(), 1u);
  ASSERT_TRUE(manager_->Disable(ctx_, f.crk).ok());
  auto refused = adapters_->OpenMaterial(f.caller, f.object);
  EXPECT_EQ(ReasonOf(refused.status()), Reason::kKeyActionInvalidState)
      << refused.status();
  // The refusal also dropped what was opened under the key.
  EXPECT_EQ(cache_.MaterialCount(), 0u);
  ASSERT_TRUE(manager_->Enable(ctx_, f.crk).ok());
  auto back = adapters_->OpenMaterial(f.caller, f.object);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == f.material);
}

TEST_F(KmipCacheTest, DeletedRootKeyStopsCachedMaterial) {
  Fixture f = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  ASSERT_TRUE(manager_->DeleteKey(ctx_, f.crk, DeleteKeyRequest{}).ok());
  EXPECT_FALSE(adapters_->OpenMaterial(f.caller, f.object).ok());
  EXPECT_EQ(cache_.MaterialCount(), 0u);
}

// Another node changed the root key: its notice (Change::Kind::kKey)
// drops the material opened under that key only.
TEST_F(KmipCacheTest, RootKeyNoticeDropsThatKeysMaterialOnly) {
  Fixture f = MakeObject();
  Fixture g = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  ASSERT_TRUE(adapters_->OpenMaterial(g.caller, g.object).ok());
  ASSERT_EQ(cache_.MaterialCount(), 2u);
  cache_.DropRootKey(kInstance, f.crk);
  EXPECT_EQ(cache_.MaterialCount(), 1u);
  EXPECT_NE(cache_.FindMaterial(kInstance, g.caller.adapter_id, g.object.id,
                                g.object.revision),
            nullptr);
}

// What run_server.cc calls on seal, on a kKmip notice and on a lost feed.
TEST_F(KmipCacheTest, DropAllForgetsCallersAndMaterial) {
  Fixture f = MakeObject();
  ASSERT_TRUE(adapters_->OpenMaterial(f.caller, f.object).ok());
  ASSERT_GE(cache_.CallerCount(), 1u);
  plane_->DropCache();
  cache_.DropAll();
  EXPECT_EQ(cache_.CallerCount(), 0u);
  EXPECT_EQ(cache_.MaterialCount(), 0u);
}

TEST_F(KmipCacheTest, SizeIsBounded) {
  KmipCache cache{KmipCache::Options{.max_callers = 2, .max_objects = 2}};
  for (int i = 0; i < 5; ++i) {
    std::string id = std::to_string(i);
    cache.PutCaller(id, KmipCaller{"i", "a", "k", id}, cache.Generation());
    cache.PutMaterial("i", "a", id, 1, "k",
                      std::make_shared<const SecretBytes>(crypto::RandomSecret(8)),
                      cache.Generation());
  }
  EXPECT_EQ(cache.CallerCount(), 2u);
  EXPECT_EQ(cache.MaterialCount(), 2u);
}

TEST_F(KmipCacheTest, NoCacheStillWorks) {
  std::unique_ptr<KmipAdapters> plain = NewNode(nullptr);
  Fixture f = MakeObject();
  auto opened = plain->OpenMaterial(f.caller, f.object);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(*opened == f.material);
}

}  // namespace
}  // namespace keywarden::service
