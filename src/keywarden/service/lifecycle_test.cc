// The key lifecycle of issue 4 at the service layer, over the in-memory
// store and a fake clock: dual-authorization deletion, purge, key and
// instance policies, automatic rotation and purge, secure import,
// registrations, events and their delivery, search and filter.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/rsa_oaep.h"
#include "keywarden/service/event_dispatcher.h"
#include "keywarden/service/import_tokens.h"
#include "keywarden/service/instance_policies.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/service/lifecycle_jobs.h"
#include "keywarden/service/registrations.h"
#include "keywarden/service/webhooks.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

using keys::KeyState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";
constexpr absl::Duration kDay = absl::Hours(24);

Reason R(const absl::Status& s) { return ReasonOf(s); }
template <typename T>
Reason R(const absl::StatusOr<T>& s) {
  return ReasonOf(s.status());
}


CreateImportTokenRequest Token(std::optional<int64_t> expiration,
                               std::optional<int64_t> retrievals) {
  CreateImportTokenRequest req;
  req.expiration_seconds = expiration;
  req.max_retrievals = retrievals;
  return req;
}

// Records deliveries (from any thread). Deliveries to a URL in
// `unreachable` fail as a transport error would. The first delivery to each
// URL in `rendezvous` waits until one to every other such URL has begun:
// only deliveries that run at the same time meet; otherwise the wait gives
// up after 10 s and sets `rendezvous_missed`.
class RecordingSink : public EventSink {
 public:
  struct Delivery {
    std::string url;
    std::string event_id;
    keys::KeyEventType type;
    int64_t attempt;
  };

  Outcome Deliver(const WebhookTarget& target, const keys::KeyEvent& event,
                  int64_t attempt, absl::Time) override {
    absl::MutexLock lock(&mu_);
    if (rendezvous.contains(target.url)) {
      arrived_.insert(target.url);
      auto all_arrived = [this] {
        return arrived_.size() == rendezvous.size();
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&all_arrived),
                                absl::Seconds(10))) {
        rendezvous_missed = true;
      }
    }
    delivered_.push_back({target.url, event.id, event.type, attempt});
    Outcome o;
    o.unreachable = unreachable.contains(target.url);
    o.delivered = succeed && !o.unreachable;
    if (o.unreachable) {
      o.error = "cannot connect to " + target.url;
    } else if (!succeed) {
      o.error = "test sink refused";
    }
    return o;
  }

  std::vector<Delivery> Deliveries() {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }

  // Set between passes only.
  bool succeed = true;
  std::set<std::string> unreachable;
  std::set<std::string> rendezvous;
  bool rendezvous_missed = false;

 private:
  absl::Mutex mu_;
  std::set<std::string> arrived_ ABSL_GUARDED_BY(mu_);
  std::vector<Delivery> delivered_ ABSL_GUARDED_BY(mu_);
};

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() {
    access_.PutInstance({std::string(kInstance), "test", clock_.Now(), "t"});
    AddUser("user-a", {iam::Role::kManager});
    AddUser("user-b", {iam::Role::kManager});
    AddUser("user-w", {iam::Role::kWriter});
    AddUser("user-p", {iam::Role::kKeyPurge});
    AddService("serviceid-s");

    KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = &access_control_;
    deps.instance_policies = &index_;
    deps.import_tokens = &tokens_;
    deps.clock = &clock_;
    plane_ = std::make_unique<DataPlaneService>(
        DataPlaneDeps{&store_, master_.get(), &access_control_, &clock_},
        1000);
    deps.data_plane = plane_.get();
    keys_ = std::make_unique<KeyManager>(deps, KeyManagerOptions{});
  }

  // A service id (type object-storage) authorized as Reader on the instance.
  void AddService(const std::string& id) {
    iam::PrincipalRecord svc;
    svc.id = id;
    svc.kind = iam::PrincipalKind::kServiceId;
    svc.name = id;
    svc.service_type = "object-storage";
    access_.PutPrincipal(svc);
    // The identity store holds it too (webhooks belong to stored service ids).
    iam::AuditRecord audit;
    audit.time = clock_.Now();
    audit.actor = "test";
    audit.action = "iam.principal.create";
    audit.target = "principal:" + svc.id;
    EXPECT_TRUE(store_.CreatePrincipal(svc, audit).ok());
    iam::ServiceAuthorizationRecord auth;
    auth.id = "auth-" + id;
    auth.source_service_id = svc.id;
    auth.target.instance_id = std::string(kInstance);
    auth.role = iam::Role::kReader;
    access_.PutAuthorization(auth);
  }

  void AddUser(std::string id, std::vector<iam::Role> roles) {
    iam::PrincipalRecord p;
    p.id = id;
    p.name = id;
    access_.PutPrincipal(p);
    iam::AccessPolicyRecord policy;
    policy.id = "policy-" + id;
    policy.principal_id = id;
    policy.scope.instance_id = std::string(kInstance);
    policy.roles = std::move(roles);
    access_.PutPolicy(policy);
  }

  RequestContext As(std::string id, bool service = false) {
    RequestContext ctx;
    ctx.instance_id = std::string(kInstance);
    ctx.principal.id = std::move(id);
    ctx.principal.is_service = service;
    ctx.principal.service_type = service ? "object-storage" : "";
    ctx.correlation_id = "test";
    ctx.source_address = "10.1.2.3";
    return ctx;
  }

  KeyResult Create(const RequestContext& ctx, CreateKeyRequest req = {}) {
    if (req.name.empty()) req.name = "key";
    auto k = keys_->CreateKey(ctx, req);
    EXPECT_TRUE(k.ok()) << k.status();
    return *std::move(k);
  }
  KeyResult CreateRoot(const RequestContext& ctx) {
    CreateKeyRequest req;
    req.extractable = false;
    return Create(ctx, req);
  }

  void EnableDualAuth(std::string_view key_id) {
    PutKeyPoliciesRequest req;
    req.dual_auth_delete = true;
    ASSERT_TRUE(keys_->PutKeyPolicies(As("user-a"), key_id, req).ok());
  }

  std::vector<keys::KeyEvent> DueEvents() {
    return *store_.ListDueEvents(clock_.Now() + absl::Hours(1000), 100);
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  std::unique_ptr<seal::MasterKey> master_ =
      *seal::MasterKey::Create("mk-1", crypto::RandomSecret(32).span());
  InstancePolicyIndex index_{{*Cidr::Parse("10.0.0.0/8")}};
  AccessControl access_control_{&store_, &access_, &index_};
  // 2048-bit import keys keep the unit tests fast; the server and its
  // integration tests use 4096.
  ImportTokenManager tokens_{&store_, master_.get(), &access_control_, &clock_,
                             ImportTokenOptions{2048}};
  InstancePolicyManager instance_policies_{&store_, &index_, &access_control_,
                                           &clock_};
  RegistrationManager registrations_{&store_, &access_control_, &clock_};
  std::unique_ptr<DataPlaneService> plane_;
  std::unique_ptr<KeyManager> keys_;
};

// --- Dual-authorization deletion (keyprotect-api.md §14) ---------------------

TEST_F(LifecycleTest, DualAuthDeleteNeedsAnotherUsersPriorApproval) {
  KeyResult k = CreateRoot(As("user-a"));
  EnableDualAuth(k.key.id);
  EXPECT_EQ(R(keys_->DeleteKey(As("user-a"), k.key.id, {})),
            Reason::kAuthorizationsNotMet);
  ASSERT_TRUE(keys_->SetKeyForDeletion(As("user-a"), k.key.id).ok());
  auto md = keys_->GetKeyMetadata(As("user-a"), k.key.id);
  EXPECT_EQ(md->key.deletion_authorized_by, "user-a");
  EXPECT_EQ(*md->key.deletion_authorization_expiration, clock_.Now() + 7 * kDay);
  // The approver may not delete it themselves.
  absl::Status own = keys_->DeleteKey(As("user-a"), k.key.id, {}).status();
  EXPECT_EQ(R(own), Reason::kAuthorizationsNotMet);
  EXPECT_THAT(std::string(own.message()), HasSubstr("different user"));
  auto deleted = keys_->DeleteKey(As("user-b"), k.key.id, {});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->key.state, KeyState::kDestroyed);
  EXPECT_TRUE(deleted->key.deletion_authorized_by.empty());
}

TEST_F(LifecycleTest, DualAuthApprovalLapsesAfterSevenDaysAndCanBeUnset) {
  KeyResult k = CreateRoot(As("user-a"));
  EnableDualAuth(k.key.id);
  ASSERT_TRUE(keys_->SetKeyForDeletion(As("user-w"), k.key.id).ok());
  clock_.Advance(7 * kDay);
  EXPECT_EQ(R(keys_->DeleteKey(As("user-b"), k.key.id, {})),
            Reason::kAuthorizationsNotMet);
  ASSERT_TRUE(keys_->SetKeyForDeletion(As("user-w"), k.key.id).ok());
  ASSERT_TRUE(keys_->UnsetKeyForDeletion(As("user-w"), k.key.id).ok());
  EXPECT_EQ(R(keys_->DeleteKey(As("user-b"), k.key.id, {})),
            Reason::kAuthorizationsNotMet);
}

TEST_F(LifecycleTest, SetForDeletionNeedsTheDualAuthPolicyAndAnActiveKey) {
  KeyResult k = CreateRoot(As("user-a"));
  EXPECT_EQ(R(keys_->SetKeyForDeletion(As("user-a"), k.key.id)),
            Reason::kNotDualAuth);
  EXPECT_EQ(R(keys_->UnsetKeyForDeletion(As("user-a"), k.key.id)),
            Reason::kNotDualAuth);
  EnableDualAuth(k.key.id);
  ASSERT_TRUE(keys_->Disable(As("user-a"), k.key.id).ok());
  EXPECT_EQ(R(keys_->SetKeyForDeletion(As("user-a"), k.key.id)),
            Reason::kKeyActionInvalidState);
  // Readers may not approve.
  AddUser("user-r", {iam::Role::kReader});
  EXPECT_EQ(R(keys_->SetKeyForDeletion(As("user-r"), k.key.id)),
            Reason::kForbidden);
}

TEST_F(LifecycleTest, DualAuthPolicyCannotBeDisabledOnceEnabled) {
  KeyResult k = CreateRoot(As("user-a"));
  EnableDualAuth(k.key.id);
  PutKeyPoliciesRequest off;
  off.dual_auth_delete = false;
  EXPECT_EQ(R(keys_->PutKeyPolicies(As("user-a"), k.key.id, off)),
            Reason::kConflict);
  auto policies = keys_->GetKeyPolicies(As("user-a"), k.key.id, std::nullopt);
  ASSERT_TRUE(policies->dual_auth.has_value());
  EXPECT_TRUE(policies->dual_auth->enabled);
  EXPECT_FALSE(policies->rotation.has_value());
  // Writers do not manage policies.
  EXPECT_EQ(R(keys_->GetKeyPolicies(As("user-w"), k.key.id, std::nullopt)),
            Reason::kForbidden);
}

// --- Purge (keyprotect-api.md §3.7) ------------------------------------------

TEST_F(LifecycleTest, PurgeNeedsKeyPurgeDestroyedAndFourHours) {
  KeyResult k = CreateRoot(As("user-a"));
  auto wrapped = plane_->Wrap(As("user-a"), k.key.id, {});
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(R(keys_->PurgeKey(As("user-p"), k.key.id)),
            Reason::kKeyActionInvalidState);
  ASSERT_TRUE(keys_->DeleteKey(As("user-a"), k.key.id, {}).ok());
  // Not even a Manager (nor an administrator) holds KeyPurge.
  EXPECT_EQ(R(keys_->PurgeKey(As("user-a"), k.key.id)), Reason::kForbidden);
  clock_.Advance(absl::Hours(4) - absl::Seconds(1));
  EXPECT_EQ(R(keys_->PurgeKey(As("user-p"), k.key.id)),
            Reason::kRequestTooEarly);
  clock_.Advance(absl::Seconds(1));
  auto purged = keys_->PurgeKey(As("user-p"), k.key.id);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->key.id, k.key.id);
  // Gone everywhere: the WDEK can never be unwrapped again.
  EXPECT_EQ(R(keys_->GetKeyMetadata(As("user-a"), k.key.id)),
            Reason::kNotFound);
  EXPECT_EQ(R(keys_->RestoreKey(As("user-a"), k.key.id)), Reason::kNotFound);
  UnwrapRequest unwrap;
  unwrap.ciphertext = wrapped->ciphertext;
  EXPECT_EQ(R(plane_->Unwrap(As("user-a"), k.key.id, unwrap)),
            Reason::kNotFound);
  EXPECT_TRUE(absl::IsNotFound(store_.GetKey(kInstance, k.key.id).status()));
}

TEST_F(LifecycleTest, DeletedKeysArePurgedAutomaticallyAfterNinetyDays) {
  KeyResult old_key = CreateRoot(As("user-a"));
  KeyResult young_key = CreateRoot(As("user-a"));
  ASSERT_TRUE(keys_->DeleteKey(As("user-a"), old_key.key.id, {}).ok());
  clock_.Advance(10 * kDay);
  ASSERT_TRUE(keys_->DeleteKey(As("user-a"), young_key.key.id, {}).ok());
  clock_.Advance(80 * kDay);
  EXPECT_EQ(*keys_->PurgeDueKeys(), 1);
  EXPECT_TRUE(absl::IsNotFound(store_.GetKey(kInstance, old_key.key.id).status()));
  EXPECT_TRUE(store_.GetKey(kInstance, young_key.key.id).ok());
  EXPECT_EQ(*keys_->PurgeDueKeys(), 0);
}

// --- Key policies and automatic rotation (keyprotect-api.md §7.1) ------------

TEST_F(LifecycleTest, RotationPolicyRulesAndAutomaticRotation) {
  KeyResult standard = Create(As("user-a"));  // extractable by default
  PutKeyPoliciesRequest rotation;
  rotation.rotation = RotationPolicyInput{true, 2};
  EXPECT_EQ(R(keys_->PutKeyPolicies(As("user-a"), standard.key.id, rotation)),
            Reason::kKeyRootRequired);
  CreateKeyRequest imported;
  imported.extractable = false;
  imported.payload = crypto::RandomSecret(32);
  KeyResult imp = Create(As("user-a"), imported);
  EXPECT_EQ(R(keys_->PutKeyPolicies(As("user-a"), imp.key.id, rotation)),
            Reason::kBadBody);

  KeyResult k = CreateRoot(As("user-a"));
  auto set = keys_->PutKeyPolicies(As("user-a"), k.key.id, rotation);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->rotation->interval_months, 2);
  clock_.Advance(60 * kDay - absl::Minutes(1));
  EXPECT_EQ(*keys_->RotateDueKeys(), 0);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(*keys_->RotateDueKeys(), 1);
  auto md = keys_->GetKeyMetadata(As("user-a"), k.key.id);
  EXPECT_EQ(md->key.versions.size(), 2u);
  EXPECT_EQ(md->key.last_rotate_time, clock_.Now());
  EXPECT_EQ(*keys_->RotateDueKeys(), 0);  // the clock restarted
  // Disabled policies do not rotate.
  rotation.rotation = RotationPolicyInput{false, std::nullopt};
  ASSERT_TRUE(keys_->PutKeyPolicies(As("user-a"), k.key.id, rotation).ok());
  clock_.Advance(61 * kDay);
  EXPECT_EQ(*keys_->RotateDueKeys(), 0);
}

TEST_F(LifecycleTest, InstancePoliciesShapeNewKeysOnly) {
  KeyResult before = CreateRoot(As("user-a"));
  PutInstancePoliciesRequest req;
  InstancePolicyInput rotation;
  rotation.type = keys::InstancePolicyType::kRotation;
  rotation.enabled = true;
  rotation.has_attributes = true;
  rotation.interval_month = 3;
  InstancePolicyInput dual;
  dual.type = keys::InstancePolicyType::kDualAuthDelete;
  dual.enabled = true;
  req.policies = {rotation, dual};
  ASSERT_TRUE(instance_policies_.Put(As("user-a"), req).ok());
  EXPECT_FALSE(keys_->GetKeyMetadata(As("user-a"), before.key.id)
                   ->key.DualAuthEnabled());
  KeyResult after = CreateRoot(As("user-a"));
  EXPECT_TRUE(after.key.DualAuthEnabled());
  ASSERT_TRUE(after.key.rotation_policy.has_value());
  EXPECT_EQ(after.key.rotation_policy->interval_months, 3);
  // Standard keys get no rotation policy; overrides replace the instance's.
  EXPECT_FALSE(Create(As("user-a")).key.rotation_policy.has_value());
  CreateKeyRequest overridden;
  overridden.extractable = false;
  overridden.with_policy_overrides = true;
  overridden.dual_auth_delete = false;
  overridden.rotation = RotationPolicyInput{true, 12};
  KeyResult own = Create(As("user-a"), overridden);
  EXPECT_FALSE(own.key.DualAuthEnabled());
  EXPECT_EQ(own.key.rotation_policy->interval_months, 12);
  // Overrides are a Manager's.
  EXPECT_EQ(R(keys_->CreateKey(As("user-w"), overridden)), Reason::kForbidden);
}

TEST_F(LifecycleTest, InstancePolicyBodyRules) {
  auto put = [&](std::vector<InstancePolicyInput> in,
                 std::optional<keys::InstancePolicyType> selected =
                     std::nullopt) {
    PutInstancePoliciesRequest req;
    req.selected = selected;
    req.policies = std::move(in);
    return instance_policies_.Put(As("user-a"), req);
  };
  InstancePolicyInput dual;
  dual.type = keys::InstancePolicyType::kDualAuthDelete;
  dual.enabled = true;
  InstancePolicyInput with_attrs = dual;
  with_attrs.has_attributes = true;
  EXPECT_EQ(R(put({with_attrs})), Reason::kBadBody);
  EXPECT_EQ(R(put({dual, dual})), Reason::kNumCollectionResource);
  EXPECT_EQ(R(put({dual}, keys::InstancePolicyType::kRotation)),
            Reason::kBodyQueryParamMismatch);
  InstancePolicyInput rotation;
  rotation.type = keys::InstancePolicyType::kRotation;
  rotation.enabled = true;
  EXPECT_EQ(R(put({rotation})), Reason::kBadBody);  // no interval
  rotation.interval_month = 13;
  EXPECT_EQ(R(put({rotation})), Reason::kBadBody);
  InstancePolicyInput ip;
  ip.type = keys::InstancePolicyType::kAllowedIp;
  ip.enabled = true;
  ip.allowed_ip = std::vector<std::string>{"10.0.0.0/33"};
  EXPECT_EQ(R(put({ip})), Reason::kBadBody);
  ip.allowed_ip = std::vector<std::string>{};
  EXPECT_EQ(R(put({ip})), Reason::kBadBody);
  EXPECT_EQ(R(instance_policies_.Get(As("user-w"), std::nullopt)),
            Reason::kForbidden);
  EXPECT_TRUE(instance_policies_.Get(As("user-a"), std::nullopt)->empty());
}

TEST_F(LifecycleTest, AllowedIpRefusesOtherAddressesButNotServices) {
  KeyResult k = CreateRoot(As("user-a"));
  InstancePolicyInput ip;
  ip.type = keys::InstancePolicyType::kAllowedIp;
  ip.enabled = true;
  ip.has_attributes = true;
  ip.allowed_ip = std::vector<std::string>{"10.1.0.0/16", "2001:db8::/32"};
  PutInstancePoliciesRequest req;
  req.policies = {ip};
  ASSERT_TRUE(instance_policies_.Put(As("user-a"), req).ok());
  EXPECT_TRUE(keys_->GetKeyMetadata(As("user-a"), k.key.id).ok());
  RequestContext outside = As("user-a");
  outside.source_address = "192.0.2.7";
  EXPECT_EQ(R(keys_->GetKeyMetadata(outside, k.key.id)), Reason::kUnauthorized);
  RequestContext v6 = As("user-a");
  v6.source_address = "2001:db8::1";
  EXPECT_TRUE(keys_->GetKeyMetadata(v6, k.key.id).ok());
  // Service-to-service calls bypass it (§7.2).
  RequestContext service = As("serviceid-s", true);
  service.source_address = "192.0.2.7";
  EXPECT_TRUE(plane_->Wrap(service, k.key.id, {}).ok());
  EXPECT_EQ(**instance_policies_.AllowedIpPort(As("user-a")), 0);
}

TEST_F(LifecycleTest, KeyCreateImportAccessIsEnforced) {
  InstancePolicyInput access;
  access.type = keys::InstancePolicyType::kKeyCreateImportAccess;
  access.enabled = true;
  access.has_attributes = true;
  access.create_standard_key = false;
  access.import_root_key = false;
  PutInstancePoliciesRequest req;
  req.policies = {access};
  ASSERT_TRUE(instance_policies_.Put(As("user-a"), req).ok());
  CreateKeyRequest standard;
  standard.name = "standard";
  EXPECT_EQ(R(keys_->CreateKey(As("user-a"), standard)),
            Reason::kKeyCreateImportAccess);
  CreateKeyRequest imported;
  imported.name = "imported";
  imported.extractable = false;
  imported.payload = crypto::RandomSecret(32);
  EXPECT_EQ(R(keys_->CreateKey(As("user-a"), imported)),
            Reason::kKeyCreateImportAccess);
  CreateRoot(As("user-a"));  // generated root keys stay allowed
  access.import_root_key = true;
  access.enforce_token = true;
  req.policies = {access};
  ASSERT_TRUE(instance_policies_.Put(As("user-a"), req).ok());
  EXPECT_EQ(R(keys_->CreateKey(As("user-a"), imported)),
            Reason::kKeyCreateImportAccess);
}

// --- Secure import (keyprotect-api.md §8) -----------------------------------

struct Sealed {
  SecretBytes payload, nonce, iv;
};

Sealed SealForImport(const ImportTokenResult& token, const SecretBytes& material,
                     std::span<const uint8_t> nonce) {
  auto ct = crypto::RsaOaepSha256Encrypt(*token.public_key_pem, material.span());
  EXPECT_TRUE(ct.ok()) << ct.status();
  std::vector<uint8_t> iv(12);
  crypto::RandomBytes(iv);
  auto aead = *crypto::AesGcm::Create(material.span());
  auto sealed = *aead.Encrypt(iv, nonce, {});
  return {SecretBytes(*ct), SecretBytes(sealed), SecretBytes(iv)};
}

TEST_F(LifecycleTest, SecureImportOfARootKeyAndItsRotation) {
  auto created = tokens_.Create(As("user-w"), {});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->max_retrievals, 1);
  EXPECT_EQ(created->expiration_time - created->creation_time,
            absl::Seconds(600));
  auto token = tokens_.Retrieve(As("user-w"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->remaining_retrievals, 0);
  EXPECT_THAT(*token->public_key_pem, HasSubstr("BEGIN PUBLIC KEY"));
  EXPECT_EQ(R(tokens_.Retrieve(As("user-w"))), Reason::kImportTokenExpired);

  SecretBytes material = crypto::RandomSecret(32);
  Sealed s = SealForImport(*token, material, *token->nonce);
  CreateKeyRequest req;
  req.name = "imported";
  req.extractable = false;
  req.payload = s.payload;
  req.encrypted_nonce = s.nonce;
  req.iv = s.iv;
  req.encryption_algorithm = "RSAES_OAEP_SHA_256";
  KeyResult k = Create(As("user-w"), req);
  EXPECT_TRUE(k.key.imported);
  EXPECT_EQ(k.key.material_bits, 256);
  auto wrapped = plane_->Wrap(As("user-w"), k.key.id, {});
  ASSERT_TRUE(wrapped.ok());

  // A wrong nonce, a wrong IV, a tampered payload.
  std::vector<uint8_t> other_nonce(12, 7);
  Sealed wrong = SealForImport(*token, material, other_nonce);
  req.payload = wrong.payload;
  req.encrypted_nonce = wrong.nonce;
  req.iv = wrong.iv;
  EXPECT_EQ(R(keys_->CreateKey(As("user-w"), req)), Reason::kIncorrectNonce);
  req.payload = s.payload;
  req.encrypted_nonce = s.nonce;
  req.iv = wrong.iv;
  EXPECT_EQ(R(keys_->CreateKey(As("user-w"), req)), Reason::kIncorrectNonceIv);
  req.iv = s.iv;
  req.encryption_algorithm = "RSAES_OAEP_SHA_1";
  EXPECT_EQ(R(keys_->CreateKey(As("user-w"), req)), Reason::kBadBody);
  req.encryption_algorithm.reset();
  req.iv.reset();
  EXPECT_EQ(R(keys_->CreateKey(As("user-w"), req)), Reason::kBadBody);

  // Rotation of the imported key with new material through the token.
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(R(tokens_.OpenSecureImport(kInstance, s.payload, s.nonce, s.iv)),
            Reason::kImportTokenExpired);
  ASSERT_TRUE(tokens_.Create(As("user-w"), Token(std::nullopt, 2)).ok());
  auto fresh = tokens_.Retrieve(As("user-w"));
  SecretBytes next = crypto::RandomSecret(16);
  Sealed r = SealForImport(*fresh, next, *fresh->nonce);
  RotateRequest rotate{r.payload, r.nonce, r.iv, std::nullopt};
  auto rotated = keys_->Rotate(As("user-w"), k.key.id, rotate);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->key.material_bits, 128);
  UnwrapRequest unwrap;
  unwrap.ciphertext = wrapped->ciphertext;
  auto opened = plane_->Unwrap(As("user-w"), k.key.id, unwrap);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->rewrapped_ciphertext.has_value());
}

TEST_F(LifecycleTest, ImportTokenLimits) {
  EXPECT_EQ(R(tokens_.Create(As("user-w"), Token(299, std::nullopt))),
            Reason::kBadBody);
  EXPECT_EQ(R(tokens_.Create(As("user-w"), Token(86401, std::nullopt))),
            Reason::kBadBody);
  EXPECT_EQ(R(tokens_.Create(As("user-w"), Token(std::nullopt, 0))),
            Reason::kBadBody);
  EXPECT_EQ(R(tokens_.Create(As("user-w"), Token(std::nullopt, 501))),
            Reason::kBadBody);
  EXPECT_EQ(R(tokens_.Retrieve(As("user-w"))), Reason::kNotFound);
  AddUser("user-r", {iam::Role::kReader});
  EXPECT_EQ(R(tokens_.Create(As("user-r"), {})), Reason::kForbidden);
}

// --- Registrations and events (keyprotect-api.md §11, §12) -----------------

WriteRegistrationRequest Registration(std::string crn, bool prevent = false) {
  WriteRegistrationRequest req;
  req.resource_crn = std::move(crn);
  req.input.prevent_key_deletion = prevent;
  req.input.description = "bucket";
  return req;
}

constexpr char kCrn[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a/acct:inst-1:bucket:b1";
constexpr char kCrn2[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a/acct:inst-1:bucket:b2";
constexpr char kCrn3[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a/acct:inst-1:bucket:b3";

TEST_F(LifecycleTest, RegistrationsProtectKeysFromDeletion) {
  KeyResult k = CreateRoot(As("user-a"));
  EXPECT_EQ(R(registrations_.Write(As("user-a"), k.key.id, Registration(kCrn))),
            Reason::kServiceOnly);
  auto reg = registrations_.Write(As("serviceid-s", true), k.key.id,
                                  Registration(kCrn));
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->registration.key_version_id, k.key.id);
  // A retried create of the same registration succeeds.
  EXPECT_TRUE(registrations_
                  .Write(As("serviceid-s", true), k.key.id, Registration(kCrn))
                  .ok());
  EXPECT_EQ(R(keys_->DeleteKey(As("user-a"), k.key.id, {})),
            Reason::kProtectedResource);
  auto deleted = keys_->DeleteKey(As("user-a"), k.key.id, DeleteKeyRequest{true});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  // The registration stays with the deleted key, and the delete told the
  // service; so does the restore.
  ListRegistrationsRequest list;
  list.key_id = k.key.id;
  EXPECT_EQ(registrations_.List(As("user-a"), list)->registrations.size(), 1u);
  std::vector<keys::KeyEvent> events = DueEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, keys::KeyEventType::kDelete);
  EXPECT_EQ(events[0].service_id, "serviceid-s");
  EXPECT_THAT(events[0].resource_crns, ElementsAre(kCrn));
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(keys_->RestoreKey(As("user-a"), k.key.id).ok());
  events = DueEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type, keys::KeyEventType::kRestore);
  // The service says its resource no longer uses the key; purge would
  // remove the registration as well.
  ASSERT_TRUE(registrations_
                  .Deactivate(As("serviceid-s", true), k.key.id, {kCrn})
                  .ok());
  EXPECT_TRUE(registrations_.List(As("user-a"), list)->registrations.empty());
}

TEST_F(LifecycleTest, PreventKeyDeletionHoldsEvenWithForce) {
  KeyResult k = CreateRoot(As("user-a"));
  ASSERT_TRUE(registrations_
                  .Write(As("serviceid-s", true), k.key.id,
                         Registration(kCrn, /*prevent=*/true))
                  .ok());
  EXPECT_EQ(R(keys_->DeleteKey(As("user-a"), k.key.id, DeleteKeyRequest{true})),
            Reason::kPreventKeyDeletion);
  EXPECT_EQ(keys_->GetKeyMetadata(As("user-a"), k.key.id)->key.state,
            KeyState::kActive);
}

TEST_F(LifecycleTest, RegistrationUpdatesFollowETagsAndVersions) {
  KeyResult k = CreateRoot(As("user-a"));
  RequestContext svc = As("serviceid-s", true);
  auto created = registrations_.Write(svc, k.key.id, Registration(kCrn));
  ASSERT_TRUE(created.ok());
  WriteRegistrationRequest merge;
  merge.mode = RegistrationWrite::kMerge;
  merge.resource_crn = kCrn;
  merge.input.registration_metadata = "meta";
  merge.if_match = "\"stale\"";
  EXPECT_EQ(R(registrations_.Write(svc, k.key.id, merge)),
            Reason::kPreconditionFailed);
  merge.if_match = created->etag;
  auto merged = registrations_.Write(svc, k.key.id, merge);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->registration.description, "bucket");  // kept
  EXPECT_EQ(merged->registration.registration_metadata, "meta");
  EXPECT_NE(merged->etag, created->etag);
  ASSERT_TRUE(keys_->Rotate(As("user-a"), k.key.id, {}).ok());
  std::string v2 = keys_->GetKeyMetadata(As("user-a"), k.key.id)
                       ->key.Primary().id;
  WriteRegistrationRequest replace;
  replace.mode = RegistrationWrite::kReplace;
  replace.resource_crn = kCrn;
  replace.input.key_version_id = v2;
  auto replaced = registrations_.Write(svc, k.key.id, replace);
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->registration.description, "");  // replaced
  replace.input.key_version_id = k.key.id;            // older: refused
  EXPECT_EQ(R(registrations_.Write(svc, k.key.id, replace)),
            Reason::kKeyVersionInvalid);
  // Users see registrations without the service's metadata.
  ListRegistrationsRequest list;
  auto seen = registrations_.List(As("user-a"), list);
  ASSERT_EQ(seen->registrations.size(), 1u);
  EXPECT_FALSE(seen->registrations[0].show_metadata);
}

TEST_F(LifecycleTest, RegistrationsNeedAnActiveRootKey) {
  KeyResult standard = Create(As("user-a"));
  EXPECT_EQ(R(registrations_.Write(As("serviceid-s", true), standard.key.id,
                                   Registration(kCrn))),
            Reason::kKeyRootRequiredReg);
  KeyResult k = CreateRoot(As("user-a"));
  ASSERT_TRUE(keys_->Disable(As("user-a"), k.key.id).ok());
  EXPECT_EQ(R(registrations_.Write(As("serviceid-s", true), k.key.id,
                                   Registration(kCrn))),
            Reason::kKeyInvalidState);
  EXPECT_EQ(R(registrations_.Write(As("serviceid-s", true), k.key.id,
                                   Registration("crn:v1:x"))),
            Reason::kBadBody);
}

TEST_F(LifecycleTest, EventsFollowLifecycleChangesAndAcksUpdateRegistrations) {
  KeyResult k = CreateRoot(As("user-a"));
  RequestContext svc = As("serviceid-s", true);
  ASSERT_TRUE(registrations_.Write(svc, k.key.id, Registration(kCrn)).ok());
  ASSERT_TRUE(registrations_.Write(svc, k.key.id, Registration(kCrn2)).ok());
  ASSERT_TRUE(keys_->Rotate(As("user-a"), k.key.id, {}).ok());
  std::vector<keys::KeyEvent> events = DueEvents();
  ASSERT_EQ(events.size(), 1u);  // one per service, both CRNs in it
  EXPECT_EQ(events[0].type, keys::KeyEventType::kRotate);
  EXPECT_EQ(events[0].previous_key_version_id, k.key.id);
  EXPECT_EQ(events[0].resource_crns.size(), 2u);
  std::string v2 = events[0].key_version_id;

  EventAckRequest ack;
  ack.event_id = events[0].id;
  ack.adopter_key_state = "DEK_ENABLED";
  EXPECT_EQ(R(registrations_.AcknowledgeEvents(svc, {ack})), Reason::kBadBody);
  ack.rewrapped_key_version = v2;
  EXPECT_EQ(R(registrations_.AcknowledgeEvents(As("user-a"), {ack})),
            Reason::kServiceOnly);
  ASSERT_TRUE(registrations_.AcknowledgeEvents(svc, {ack}).ok());
  ASSERT_TRUE(registrations_.AcknowledgeEvents(svc, {ack}).ok());  // again
  EXPECT_TRUE(DueEvents().empty());
  ListRegistrationsRequest list;
  auto listed = registrations_.List(svc, list);
  ASSERT_TRUE(listed.ok());
  for (const RegistrationResult& r : listed->registrations) {
    EXPECT_EQ(r.registration.key_version_id, v2);
  }

  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(keys_->Disable(As("user-a"), k.key.id).ok());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(keys_->Enable(As("user-a"), k.key.id).ok());
  events = DueEvents();
  ASSERT_EQ(events.size(), 2u);
  // sync waits an hour after the last lifecycle action, then re-notifies.
  EXPECT_EQ(R(keys_->SyncKey(As("user-w"), k.key.id)),
            Reason::kRequestTooEarly);
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(keys_->SyncKey(As("user-w"), k.key.id).ok());
  EXPECT_EQ(DueEvents().size(), 3u);
  EXPECT_EQ(R(keys_->SyncKey(As("user-w"), k.key.id)),
            Reason::kRequestTooEarly);
}

TEST_F(LifecycleTest, DispatcherRetriesRedeliversAndStopsOnAck) {
  WebhookRegistry webhooks(&store_, &access_, master_.get(), &clock_);
  RequestContext admin = As("user-admin");
  admin.principal.is_admin = true;
  RecordingSink sink;
  EventDispatcherOptions options;
  options.retry_initial = absl::Seconds(1);
  options.retry_max = absl::Seconds(8);
  options.ack_timeout = absl::Hours(4);
  EventDispatcher dispatcher(&store_, &webhooks, &sink, &clock_, options);

  KeyResult k = CreateRoot(As("user-a"));
  RequestContext svc = As("serviceid-s", true);
  ASSERT_TRUE(registrations_.Write(svc, k.key.id, Registration(kCrn)).ok());
  ASSERT_TRUE(keys_->Disable(As("user-a"), k.key.id).ok());

  // No webhook yet: nothing delivered, the event waits.
  EXPECT_EQ(*dispatcher.RunOnce(), 1);
  EXPECT_TRUE(sink.Deliveries().empty());
  ASSERT_TRUE(
      webhooks.Put(admin, "serviceid-s", "http://127.0.0.1:9/hook", std::nullopt)
          .ok());
  clock_.Advance(absl::Seconds(1));
  sink.succeed = false;
  EXPECT_EQ(*dispatcher.RunOnce(), 1);
  ASSERT_EQ(sink.Deliveries().size(), 1u);
  EXPECT_EQ(sink.Deliveries()[0].type, keys::KeyEventType::kDisable);
  // Backoff: attempt 3 after 2 s, attempt 4 after 4 s more.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 1);
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(*dispatcher.RunOnce(), 0);
  sink.succeed = true;
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 1);
  EXPECT_EQ(sink.Deliveries().back().attempt, 4);
  // Delivered, not acknowledged: sent again after the ack timeout.
  clock_.Advance(absl::Hours(4) - absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 0);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 1);
  EventAckRequest ack;
  ack.event_id = sink.Deliveries().back().event_id;
  ack.adopter_key_state = "DEK_DISABLED";
  ASSERT_TRUE(registrations_.AcknowledgeEvents(svc, {ack}).ok());
  clock_.Advance(absl::Hours(5));
  EXPECT_EQ(*dispatcher.RunOnce(), 0);
}

TEST_F(LifecycleTest, DispatcherSendsServicesApartAndHoldsAnUnreachableOne) {
  AddService("serviceid-t");
  AddService("serviceid-u");
  WebhookRegistry webhooks(&store_, &access_, master_.get(), &clock_);
  RequestContext admin = As("user-admin");
  admin.principal.is_admin = true;
  const std::string s_url = "http://127.0.0.1:9/s";
  const std::string t_url = "http://127.0.0.1:9/t";
  const std::string u_url = "http://127.0.0.1:9/u";
  ASSERT_TRUE(webhooks.Put(admin, "serviceid-s", s_url, std::nullopt).ok());
  ASSERT_TRUE(webhooks.Put(admin, "serviceid-t", t_url, std::nullopt).ok());
  ASSERT_TRUE(webhooks.Put(admin, "serviceid-u", u_url, std::nullopt).ok());
  RecordingSink sink;
  // s and t meet only if they are delivered at the same time.
  sink.rendezvous = {s_url, t_url};
  sink.unreachable = {u_url};
  EventDispatcherOptions options;
  options.retry_initial = absl::Seconds(1);
  options.retry_max = absl::Seconds(8);
  EventDispatcher dispatcher(&store_, &webhooks, &sink, &clock_, options);

  KeyResult k = CreateRoot(As("user-a"));
  ASSERT_TRUE(registrations_.Write(As("serviceid-s", true), k.key.id,
                                   Registration(kCrn)).ok());
  ASSERT_TRUE(registrations_.Write(As("serviceid-t", true), k.key.id,
                                   Registration(kCrn2)).ok());
  ASSERT_TRUE(registrations_.Write(As("serviceid-u", true), k.key.id,
                                   Registration(kCrn3)).ok());
  ASSERT_TRUE(keys_->Disable(As("user-a"), k.key.id).ok());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(keys_->Enable(As("user-a"), k.key.id).ok());
  ASSERT_EQ(DueEvents().size(), 6u);  // two events for each of three services

  EXPECT_EQ(*dispatcher.RunOnce(), 6);
  std::vector<RecordingSink::Delivery> d = sink.Deliveries();
  auto sent_to = [&](const std::string& url) {
    std::vector<keys::KeyEventType> types;
    for (const auto& x : d) {
      if (x.url == url) types.push_back(x.type);
    }
    return types;
  };
  // At the same time, each service's events in order.
  EXPECT_FALSE(sink.rendezvous_missed);
  using T = keys::KeyEventType;
  EXPECT_EQ(sent_to(s_url), (std::vector<T>{T::kDisable, T::kEnable}));
  EXPECT_EQ(sent_to(t_url), (std::vector<T>{T::kDisable, T::kEnable}));
  // u could not be reached: its second event was not tried, but both wait
  // for the same retry.
  EXPECT_EQ(sent_to(u_url), (std::vector<T>{T::kDisable}));
  std::vector<keys::KeyEvent> waiting =
      *store_.ListDueEvents(clock_.Now() + absl::Seconds(1), 100);
  ASSERT_EQ(waiting.size(), 2u);
  for (const keys::KeyEvent& e : waiting) {
    EXPECT_EQ(e.service_id, "serviceid-u");
    EXPECT_EQ(e.next_attempt_time, clock_.Now() + absl::Seconds(1));
    EXPECT_THAT(e.last_error, HasSubstr("cannot connect to " + u_url));
  }
  EXPECT_EQ(*dispatcher.RunOnce(), 0);

  // Reachable again: both go, in order, at the retry.
  sink.unreachable.clear();
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(*dispatcher.RunOnce(), 2);
  d = sink.Deliveries();
  EXPECT_EQ(sent_to(u_url),
            (std::vector<T>{T::kDisable, T::kDisable, T::kEnable}));
}

TEST_F(LifecycleTest, LifecycleJobsRunUnderTheirLease) {
  KeyResult k = CreateRoot(As("user-a"));
  ASSERT_TRUE(keys_->DeleteKey(As("user-a"), k.key.id, {}).ok());
  clock_.Advance(91 * kDay);
  ASSERT_TRUE(*store_.TryAcquireLease("lifecycle-jobs", "other-node",
                                      clock_.Now(), absl::Minutes(3)));
  LifecycleJobOptions options;
  options.node_id = "me";
  LifecycleJobs jobs(keys_.get(), &store_, &clock_, options);
  jobs.RunNow();
  EXPECT_TRUE(store_.GetKey(kInstance, k.key.id).ok());  // not our turn
  clock_.Advance(absl::Minutes(3));
  jobs.RunNow();
  EXPECT_TRUE(absl::IsNotFound(store_.GetKey(kInstance, k.key.id).status()));
}

// --- Search and filter (keyprotect-api.md §3.3) -----------------------------

TEST_F(LifecycleTest, SearchFindsByNameAndAliasAndPutsDirectHitsFirst) {
  CreateKeyRequest a;
  a.name = "payments-db";
  a.aliases = {"pay-alias"};
  KeyResult pay = Create(As("user-a"), a);
  CreateKeyRequest b;
  b.name = "logs";
  KeyResult logs = Create(As("user-a"), b);
  ListKeysRequest list;
  list.search = "PAY";
  auto found = keys_->ListKeys(As("user-a"), list);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->keys.size(), 1u);
  EXPECT_EQ(found->keys[0].key.id, pay.key.id);
  list.search = "not:pay";
  EXPECT_EQ(keys_->ListKeys(As("user-a"), list)->keys[0].key.id, logs.key.id);
  list.search = logs.key.id;  // a key id finds that key directly
  EXPECT_EQ(keys_->ListKeys(As("user-a"), list)->keys[0].key.id, logs.key.id);
  list.search = "";
  EXPECT_EQ(R(keys_->ListKeys(As("user-a"), list)), Reason::kBadBody);
}

TEST_F(LifecycleTest, FilterByDatesAndStateRefusesDuplicateParameters) {
  KeyResult first = CreateRoot(As("user-a"));
  clock_.Advance(kDay);
  absl::Time cut = clock_.Now();
  KeyResult second = CreateRoot(As("user-a"));
  ListKeysRequest list;
  list.filter = "creationDate=gte:\"" +
                absl::FormatTime(absl::RFC3339_sec, cut, absl::UTCTimeZone()) +
                "\"";
  auto found = keys_->ListKeys(As("user-a"), list);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->keys.size(), 1u);
  EXPECT_EQ(found->keys[0].key.id, second.key.id);
  list.filter = "lastRotateDate=none state=1";
  EXPECT_EQ(keys_->ListKeys(As("user-a"), list)->keys.size(), 2u);
  list.states = {KeyState::kActive};
  EXPECT_EQ(R(keys_->ListKeys(As("user-a"), list)), Reason::kBadBody);
  list.states.clear();
  list.filter = "state=5";
  ASSERT_TRUE(keys_->DeleteKey(As("user-a"), first.key.id, {}).ok());
  EXPECT_EQ(*keys_->CountKeys(As("user-a"), list), 1);
}

}  // namespace
}  // namespace keywarden::service
