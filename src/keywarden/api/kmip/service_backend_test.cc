// ServiceBackend over the real service (KmipAdapters, DataPlaneService,
// KeyManager) and the real store (SQLite behind InMemoryStore's kmip()):
// what one KMIP operation writes, and the result reason a root key's state
// gives (keyprotect-api.md §13, result_reason.h).
#include "keywarden/api/kmip/service_backend.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "keywarden/api/kmip/result_reason.h"
#include "keywarden/crypto/random.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::api::kmip {
namespace {

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";

// A self-signed P-256 certificate: its PEM (to register) and DER (what TLS
// presents).
struct Certificate {
  std::string pem, der;
};

Certificate MakeCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("vsan"), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  Certificate c;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  c.pem.assign(p, static_cast<size_t>(n));
  BIO_free(b);
  int len = i2d_X509(x, nullptr);
  c.der.resize(static_cast<size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(c.der.data());
  i2d_X509(x, &out);
  X509_free(x);
  EVP_PKEY_free(key);
  return c;
}

std::string Sha256(const std::string& data) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

class ServiceBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    access_.PutInstance({std::string(kInstance), "test", clock_.Now(), "t"});
    plane_ = std::make_unique<service::DataPlaneService>(
        service::DataPlaneDeps{&store_, master_.get(), &access_control_,
                               &clock_},
        1000);
    service::KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = &access_control_;
    deps.clock = &clock_;
    deps.data_plane = plane_.get();
    service::KeyManagerOptions options;
    options.timers.state_change_cooldown = absl::ZeroDuration();
    manager_ = std::make_unique<service::KeyManager>(deps, options);
    adapters_ = std::make_unique<service::KmipAdapters>(
        service::KmipAdapters::Deps{&store_, store_.kmip(), plane_.get(),
                                    &access_control_, &clock_});
    backend_ = std::make_unique<ServiceBackend>(*adapters_);
    ctx_.instance_id = std::string(kInstance);
    ctx_.principal = {"tester", true};

    service::CreateKeyRequest req;
    req.name = "crk";
    req.extractable = false;
    auto key = manager_->CreateKey(ctx_, req);
    ASSERT_TRUE(key.ok()) << key.status();
    crk_ = key->key.id;
    auto adapter = adapters_->CreateAdapter(
        ctx_, {.name = "vsan", .profile = "native_1.0", .crk_id = crk_});
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    adapter_id_ = adapter->id;
    Certificate cert = MakeCertificate();
    auto registered = adapters_->CreateCertificate(
        ctx_, adapter_id_, {.name = "host-1", .pem = cert.pem});
    ASSERT_TRUE(registered.ok()) << registered.status();
    client_.certificate_der = cert.der;
    client_.certificate_sha256 = Sha256(cert.der);
  }

  KmipContext Ctx(ProtocolVersion version = {2, 0}) const {
    return KmipContext{&client_, version};
  }

  static CreateRequest Aes256(std::string name) {
    CreateRequest req;
    req.attributes.AddEnum(Tag::kCryptographicAlgorithm,
                           static_cast<uint32_t>(CryptographicAlgorithm::kAes));
    req.attributes.AddInteger(Tag::kCryptographicLength, 256);
    req.attributes.AddName(std::move(name));
    return req;
  }

  static CreateKeyPairRequest Rsa2048() {
    CreateKeyPairRequest req;
    req.common_attributes.AddEnum(
        Tag::kCryptographicAlgorithm,
        static_cast<uint32_t>(CryptographicAlgorithm::kRsa));
    req.common_attributes.AddInteger(Tag::kCryptographicLength, 2048);
    return req;
  }

  static RegisterRequest SecretData() {
    RegisterRequest req;
    req.object_type = ObjectType::kSecretData;
    req.object.object_type = ObjectType::kSecretData;
    req.object.key_format_type = KeyFormatType::kOpaque;
    req.object.secret_data_type = SecretDataType::kPassword;
    req.object.material = crypto::RandomSecret(24);
    return req;
  }

  store::KmipObject Stored(const std::string& id) {
    auto o = store_.kmip()->GetKmipObject(kInstance, adapter_id_, id);
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : store::KmipObject();
  }

  int64_t ObjectCount() {
    store::KmipObjectQuery q;
    q.instance_id = std::string(kInstance);
    q.adapter_id = adapter_id_;
    auto n = store_.kmip()->CountKmipObjects(q);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  size_t AuditCount(std::string_view action) {
    auto records = store_.ListAudit(0, 10000);
    EXPECT_TRUE(records.ok()) << records.status();
    size_t n = 0;
    if (records.ok()) {
      for (const auto& r : *records) n += r.action == action;
    }
    return n;
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  service::AccessControl access_control_{&store_, &access_, nullptr};
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<service::DataPlaneService> plane_;
  std::unique_ptr<service::KeyManager> manager_;
  std::unique_ptr<service::KmipAdapters> adapters_;
  std::unique_ptr<ServiceBackend> backend_;
  service::RequestContext ctx_;
  std::string crk_;
  std::string adapter_id_;
  KmipClient client_;
};

// One Create is one insert: the stored row is at its first revision and
// already carries the attributes that name it (no second write that a crash
// could separate from the first), with one audit record.
TEST_F(ServiceBackendTest, CreateWritesTheObjectOnce) {
  auto created = backend_->Create(Ctx(), Aes256("disk-1"));
  ASSERT_TRUE(created.ok()) << created.status();
  store::KmipObject o = Stored(created->unique_identifier);
  EXPECT_EQ(o.revision, 1);
  EXPECT_EQ(o.names, std::vector<std::string>{"disk-1"});
  EXPECT_EQ(AuditCount("kmip.object.create"), 1u);
  auto attrs = backend_->GetAttributes(
      Ctx(), GetAttributesRequest{.unique_identifier = created->unique_identifier});
  ASSERT_TRUE(attrs.ok()) << attrs.status();
  const Attribute* uid = attrs->attributes.Find(Tag::kUniqueIdentifier);
  ASSERT_NE(uid, nullptr);
  EXPECT_EQ(uid->value.bytes(), created->unique_identifier);
  EXPECT_NE(attrs->attributes.Find(Tag::kInitialDate), nullptr);
  EXPECT_EQ(attrs->attributes.state(), State::kPreActive);

  auto pair = backend_->CreateKeyPair(Ctx(), Rsa2048());
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_EQ(Stored(pair->private_key_unique_identifier).revision, 1);
  EXPECT_EQ(Stored(pair->public_key_unique_identifier).revision, 1);
  auto registered = backend_->Register(Ctx(), SecretData());
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(Stored(registered->unique_identifier).revision, 1);
  // A later change is the second revision.
  ASSERT_TRUE(backend_->Activate(Ctx(), {created->unique_identifier}).ok());
  EXPECT_EQ(Stored(created->unique_identifier).revision, 2);
}

// keyprotect-api.md §13: objects are made under the adapter's root key,
// which must be Active. Disabled, Create, Create Key Pair and Register
// answer Wrong Key Lifecycle State (KMIP 2.0; 1.x has no such reason and
// answers Illegal Operation), store nothing, and work again once enabled.
TEST_F(ServiceBackendTest, DisabledRootKeyRefusesNewObjectsWithWrongState) {
  ASSERT_TRUE(manager_->Disable(ctx_, crk_).ok());
  for (ProtocolVersion v : {ProtocolVersion{2, 0}, ProtocolVersion{1, 4},
                            ProtocolVersion{1, 2}}) {
    SCOPED_TRACE(testing::Message() << v.major << "." << v.minor);
    const ResultReason want = v.major >= 2 ? ResultReason::kWrongKeyLifecycleState
                                           : ResultReason::kIllegalOperation;
    auto created = backend_->Create(Ctx(v), Aes256("disk-1"));
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(MapStatus(created.status(), v).reason, want);
    auto pair = backend_->CreateKeyPair(Ctx(v), Rsa2048());
    ASSERT_FALSE(pair.ok());
    EXPECT_EQ(MapStatus(pair.status(), v).reason, want);
    auto registered = backend_->Register(Ctx(v), SecretData());
    ASSERT_FALSE(registered.ok());
    EXPECT_EQ(MapStatus(registered.status(), v).reason, want);
  }
  EXPECT_EQ(ObjectCount(), 0);
  EXPECT_EQ(AuditCount("kmip.object.create"), 0u);

  ASSERT_TRUE(manager_->Enable(ctx_, crk_).ok());
  auto created = backend_->Create(Ctx(), Aes256("disk-1"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(ObjectCount(), 1);
}

// A deleted root key refuses new objects the same way (not Item Not Found:
// the client named no item).
TEST_F(ServiceBackendTest, DeletedRootKeyRefusesNewObjectsWithWrongState) {
  ASSERT_TRUE(manager_->DeleteKey(ctx_, crk_, service::DeleteKeyRequest{}).ok());
  auto created = backend_->Create(Ctx(), Aes256("disk-1"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(MapStatus(created.status(), {2, 0}).reason,
            ResultReason::kWrongKeyLifecycleState);
  EXPECT_EQ(ObjectCount(), 0);
}

// Locate with only column criteria is paged by the store: Maximum Items and
// Offset Items cut the same list, and Located Items counts every match.
TEST_F(ServiceBackendTest, LocateByNamePagesInTheStore) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(1));
    auto c = backend_->Create(Ctx(), Aes256(i < 4 ? "vm" : "other"));
    ASSERT_TRUE(c.ok()) << c.status();
    if (i < 4) ids.push_back(c->unique_identifier);
  }
  LocateRequest req;
  req.attributes.AddName("vm");
  auto all = backend_->Locate(Ctx(), req);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->unique_identifiers, ids);
  EXPECT_EQ(all->located_items, 4);
  req.maximum_items = 2;
  req.offset_items = 1;
  auto page = backend_->Locate(Ctx(), req);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->unique_identifiers,
            (std::vector<std::string>{ids[1], ids[2]}));
  EXPECT_EQ(page->located_items, 4);
  req.attributes.AddName("other");
  auto none = backend_->Locate(Ctx(), req);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->unique_identifiers.empty());
  EXPECT_EQ(none->located_items, 0);
}

}  // namespace
}  // namespace keywarden::api::kmip
