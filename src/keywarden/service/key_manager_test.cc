#include "keywarden/service/key_manager.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/errors.h"
#include "keywarden/crypto/random.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::service {
namespace {

using keys::KeyState;

constexpr std::string_view kInstance = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e01";
constexpr std::string_view kOther = "0b6e1f5c-3c7a-4f0e-9d55-3f2b8a1c9e02";


class KeyManagerTest : public ::testing::Test {
 protected:
  KeyManagerTest() {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    access_.PutInstance({std::string(kInstance), "test", clock_.Now(), "t"});
    access_.PutInstance({std::string(kOther), "other", clock_.Now(), "t"});
    plane_ = std::make_unique<DataPlaneService>(
        DataPlaneDeps{&store_, master_.get(), &access_control_, &clock_},
        1000);
    KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = &access_control_;
    deps.clock = &clock_;
    deps.data_plane = plane_.get();
    manager_ = std::make_unique<KeyManager>(deps, KeyManagerOptions{});
    ctx_.instance_id = std::string(kInstance);
    ctx_.principal = {"tester", true};
  }

  KeyResult MustCreate(bool extractable = false,
                       std::optional<SecretBytes> payload = std::nullopt) {
    CreateKeyRequest req;
    req.name = "test-key";
    req.extractable = extractable;
    if (payload.has_value()) req.payload = *std::move(payload);
    auto key = manager_->CreateKey(ctx_, req);
    EXPECT_TRUE(key.ok()) << key.status();
    return *std::move(key);
  }

  store::InMemoryStore store_;
  FakeClock clock_;
  iam::AccessIndex access_;
  AccessControl access_control_{&store_, &access_, nullptr};
  std::unique_ptr<seal::MasterKey> master_;
  std::unique_ptr<DataPlaneService> plane_;
  std::unique_ptr<KeyManager> manager_;
  RequestContext ctx_;
};

Reason R(const absl::Status& s) { return ReasonOf(s); }

TEST_F(KeyManagerTest, CreateRootKeyFirstVersionIdIsKeyId) {
  KeyResult k = MustCreate();
  EXPECT_EQ(k.key.versions.size(), 1u);
  EXPECT_EQ(k.key.Primary().id, k.key.id);
  EXPECT_EQ(k.key.state, KeyState::kActive);
  EXPECT_FALSE(k.payload.has_value());
  EXPECT_FALSE(k.key.imported);
}

TEST_F(KeyManagerTest, MaterialIsStoredSealedNotPlain) {
  SecretBytes material = crypto::RandomSecret(32);
  KeyResult k = MustCreate(false, material);
  auto stored = store_.GetKey(kInstance, k.key.id);
  ASSERT_TRUE(stored.ok());
  const auto& sealed = stored->Primary().sealed_material;
  ASSERT_GT(sealed.size(), 32u);
  std::string_view hay(reinterpret_cast<const char*>(sealed.data()),
                       sealed.size());
  std::string_view needle(reinterpret_cast<const char*>(material.data()), 32);
  EXPECT_EQ(hay.find(needle), std::string_view::npos);
}

TEST_F(KeyManagerTest, ImportedRootKeySizes) {
  for (size_t n : {16, 24, 32}) {
    EXPECT_TRUE(MustCreate(false, crypto::RandomSecret(n)).key.imported);
  }
  CreateKeyRequest req;
  req.name = "bad";
  req.extractable = false;
  req.payload = crypto::RandomSecret(20);
  EXPECT_EQ(R(manager_->CreateKey(ctx_, req).status()), Reason::kBadBody);
}

TEST_F(KeyManagerTest, StandardKeyPayloadRoundTripsAndIsBounded) {
  SecretBytes payload = crypto::RandomSecret(7500);
  KeyResult k = MustCreate(true, payload);
  auto got = manager_->GetKey(ctx_, k.key.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->payload.has_value());
  EXPECT_TRUE(*got->payload == payload);
  auto meta = manager_->GetKeyMetadata(ctx_, k.key.id);
  EXPECT_FALSE(meta->payload.has_value());

  CreateKeyRequest req;
  req.name = "big";
  req.extractable = true;
  req.payload = crypto::RandomSecret(7501);
  EXPECT_EQ(R(manager_->CreateKey(ctx_, req).status()), Reason::kBadBody);
}

TEST_F(KeyManagerTest, WrapGeneratesDekAndUnwrapReturnsIt) {
  KeyResult k = MustCreate();
  auto wrapped = plane_->Wrap(ctx_, k.key.id, {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  ASSERT_TRUE(wrapped->plaintext.has_value());
  EXPECT_EQ(wrapped->plaintext->size(), 32u);
  EXPECT_EQ(wrapped->key_version.id, k.key.id);
  auto unwrapped = plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, {}});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->plaintext == *wrapped->plaintext);
  EXPECT_FALSE(unwrapped->rewrapped_ciphertext.has_value());
}

TEST_F(KeyManagerTest, KeyIdsMatchInAnyCase) {
  KeyResult k = MustCreate();
  std::string upper = k.key.id;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_TRUE(plane_->Wrap(ctx_, upper, {}).ok());
}

TEST_F(KeyManagerTest, AadMismatchAndTamperingAreUnprocessable) {
  KeyResult k = MustCreate();
  WrapRequest w;
  w.plaintext = crypto::RandomSecret(24);
  w.aad = {"a", "b"};
  auto wrapped = plane_->Wrap(ctx_, k.key.id, w);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(R(plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, {"a"}})
                  .status()),
            Reason::kUnprocessableCiphertext);
  std::vector<uint8_t> raw = wrapped->ciphertext;
  raw.back() ^= 1;
  EXPECT_EQ(R(plane_->Unwrap(ctx_, k.key.id, {raw, {"a", "b"}}).status()),
            Reason::kUnprocessableCiphertext);
  // A field the transport could not decode is reported as the transport
  // made it (the Key Protect codec's own test covers the base64 text).
  UnwrapRequest undecodable;
  undecodable.ciphertext =
      Error(Reason::kInvalidField, "undecodable", "ciphertext");
  EXPECT_EQ(R(plane_->Unwrap(ctx_, k.key.id, undecodable).status()),
            Reason::kInvalidField);
}

TEST_F(KeyManagerTest, WdekOfOneKeyDoesNotOpenWithAnother) {
  KeyResult a = MustCreate();
  KeyResult b = MustCreate();
  auto wrapped = plane_->Wrap(ctx_, a.key.id, {});
  EXPECT_EQ(R(plane_->Unwrap(ctx_, b.key.id, {wrapped->ciphertext, {}})
                  .status()),
            Reason::kUnprocessableCiphertext);
}

TEST_F(KeyManagerTest, RotationRewrapsOldWdeksOnUnwrap) {
  KeyResult k = MustCreate();
  auto old = plane_->Wrap(ctx_, k.key.id, {});
  ASSERT_TRUE(manager_->Rotate(ctx_, k.key.id, {}).ok());
  auto unwrapped = plane_->Unwrap(ctx_, k.key.id, {old->ciphertext, {}});
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_EQ(unwrapped->key_version.id, k.key.id);
  ASSERT_TRUE(unwrapped->rewrapped_ciphertext.has_value());
  EXPECT_NE(unwrapped->rewrapped_key_version->id, k.key.id);
  auto again =
      plane_->Unwrap(ctx_, k.key.id, {*unwrapped->rewrapped_ciphertext, {}});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->plaintext == *old->plaintext);
  EXPECT_FALSE(again->rewrapped_ciphertext.has_value());

  auto rewrapped = plane_->Rewrap(ctx_, k.key.id, {old->ciphertext, {}});
  ASSERT_TRUE(rewrapped.ok());
  EXPECT_EQ(rewrapped->key_version.id, k.key.id);
  EXPECT_EQ(rewrapped->rewrapped_key_version.id,
            unwrapped->rewrapped_key_version->id);
}

TEST_F(KeyManagerTest, RotationIsLimitedToOncePerHour) {
  KeyResult k = MustCreate();
  ASSERT_TRUE(manager_->Rotate(ctx_, k.key.id, {}).ok());
  EXPECT_EQ(R(manager_->Rotate(ctx_, k.key.id, {}).status()),
            Reason::kKeyRotationNotPermitted);
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(manager_->Rotate(ctx_, k.key.id, {}).ok());
  auto versions = manager_->ListVersions(ctx_, k.key.id, {.total_count = true});
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(versions->versions.size(), 3u);
  EXPECT_EQ(versions->versions.back().id, k.key.id);  // newest first
  EXPECT_EQ(versions->total, 3);
}

TEST_F(KeyManagerTest, ImportedKeyRotationNeedsPayload) {
  KeyResult k = MustCreate(false, crypto::RandomSecret(32));
  absl::Status s = manager_->Rotate(ctx_, k.key.id, {}).status();
  EXPECT_EQ(R(s), Reason::kKeyPayloadRequired);
  EXPECT_EQ(FieldOf(s), "payload");
  RotateRequest req;
  req.payload = crypto::RandomSecret(16);
  auto rotated = manager_->Rotate(ctx_, k.key.id, req);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->key.material_bits, 128);
}

TEST_F(KeyManagerTest, StandardKeysCannotWrapOrRotate) {
  KeyResult k = MustCreate(true);
  EXPECT_EQ(R(plane_->Wrap(ctx_, k.key.id, {}).status()),
            Reason::kKeyRootRequired);
  EXPECT_EQ(R(manager_->Rotate(ctx_, k.key.id, {}).status()),
            Reason::kKeyRootRequired);
}

TEST_F(KeyManagerTest, DisableStopsWrapAndEnableHasCooldown) {
  KeyResult k = MustCreate();
  ASSERT_TRUE(plane_->Wrap(ctx_, k.key.id, {}).ok());  // cache it
  ASSERT_TRUE(manager_->Disable(ctx_, k.key.id).ok());
  EXPECT_EQ(R(plane_->Wrap(ctx_, k.key.id, {}).status()),
            Reason::kKeyActionInvalidState);
  EXPECT_EQ(R(manager_->Disable(ctx_, k.key.id).status()),
            Reason::kKeyActionInvalidState);
  EXPECT_EQ(R(manager_->Enable(ctx_, k.key.id).status()),
            Reason::kRequestTooEarly);
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(manager_->Enable(ctx_, k.key.id).ok());
  EXPECT_TRUE(plane_->Wrap(ctx_, k.key.id, {}).ok());
}

TEST_F(KeyManagerTest, DeleteRestoreTimeline) {
  KeyResult k = MustCreate();
  auto wrapped = plane_->Wrap(ctx_, k.key.id, {});
  auto deleted = manager_->DeleteKey(ctx_, k.key.id, {});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->key.state, KeyState::kDestroyed);
  ASSERT_TRUE(deleted->deletion.has_value());
  EXPECT_FALSE(deleted->deletion->restore_allowed);
  EXPECT_EQ(R(manager_->DeleteKey(ctx_, k.key.id, {}).status()),
            Reason::kKeyDeleted);
  EXPECT_EQ(R(plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, {}})
                  .status()),
            Reason::kKeyActionInvalidState);
  EXPECT_EQ(R(manager_->RestoreKey(ctx_, k.key.id).status()),
            Reason::kRequestTooEarly);
  clock_.Advance(absl::Seconds(31));
  auto restored = manager_->RestoreKey(ctx_, k.key.id);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->key.state, KeyState::kActive);
  EXPECT_TRUE(plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, {}}).ok());

  ASSERT_TRUE(manager_->DeleteKey(ctx_, k.key.id, {}).ok());
  clock_.Advance(absl::Hours(24 * 30) + absl::Seconds(1));
  EXPECT_EQ(R(manager_->RestoreKey(ctx_, k.key.id).status()),
            Reason::kKeyRestoreExpired);
}

TEST_F(KeyManagerTest, ExpiredKeyUnwrapsButDoesNotWrap) {
  CreateKeyRequest req;
  req.name = "expiring";
  req.extractable = false;
  req.expiration_time = clock_.Now() + absl::Hours(2);
  auto k = manager_->CreateKey(ctx_, req);
  ASSERT_TRUE(k.ok());
  auto wrapped = plane_->Wrap(ctx_, k->key.id, {});
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(manager_->GetKeyMetadata(ctx_, k->key.id)->key.state,
            KeyState::kDeactivated);
  EXPECT_EQ(R(plane_->Wrap(ctx_, k->key.id, {}).status()),
            Reason::kKeyActionInvalidState);
  EXPECT_TRUE(
      plane_->Unwrap(ctx_, k->key.id, {wrapped->ciphertext, {}}).ok());
  auto moved = manager_->SweepExpiredKeys();
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, 1);
  ListKeysRequest list;
  list.states = {KeyState::kDeactivated};
  EXPECT_EQ(manager_->ListKeys(ctx_, list)->keys.size(), 1u);
}

TEST_F(KeyManagerTest, TenantsAreIsolated) {
  KeyResult k = MustCreate();
  RequestContext other = ctx_;
  other.instance_id = std::string(kOther);
  EXPECT_EQ(R(manager_->GetKeyMetadata(other, k.key.id).status()),
            Reason::kNotFound);
  EXPECT_EQ(R(plane_->Wrap(other, k.key.id, {}).status()), Reason::kNotFound);
  EXPECT_EQ(manager_->ListKeys(other, {})->keys.size(), 0u);
}

TEST_F(KeyManagerTest, ListDefaultsHideDestroyedAndValidatePaging) {
  KeyResult a = MustCreate();
  MustCreate();
  ASSERT_TRUE(manager_->DeleteKey(ctx_, a.key.id, {}).ok());
  EXPECT_EQ(manager_->ListKeys(ctx_, {})->keys.size(), 1u);
  EXPECT_EQ(*manager_->CountKeys(ctx_, {}), 1);
  ListKeysRequest destroyed;
  destroyed.states = {KeyState::kDestroyed};
  EXPECT_EQ(manager_->ListKeys(ctx_, destroyed)->keys.size(), 1u);
  ListKeysRequest bad;
  bad.limit = 5001;
  EXPECT_EQ(R(manager_->ListKeys(ctx_, bad).status()), Reason::kBadBody);
}

TEST_F(KeyManagerTest, NonAdminWithoutGrantsIsForbidden) {
  RequestContext nobody = ctx_;
  nobody.principal = {"someone", false};
  EXPECT_EQ(R(manager_->ListKeys(nobody, {}).status()), Reason::kForbidden);
}

class KeyManagerAccessTest : public KeyManagerTest {
 protected:
  RequestContext As(std::string principal_id, bool service = false,
                    std::string service_type = "") {
    RequestContext c = ctx_;
    c.principal = {std::move(principal_id), false, service,
                   std::move(service_type)};
    return c;
  }
  void Grant(std::string principal_id, std::vector<iam::Role> roles,
             std::optional<std::string> ring = std::nullopt,
             std::optional<std::string> key = std::nullopt) {
    iam::AccessPolicyRecord p;
    p.id = "p-" + std::to_string(++next_);
    p.principal_id = std::move(principal_id);
    p.scope = {std::string(kInstance), std::move(ring), std::move(key)};
    p.roles = std::move(roles);
    access_.PutPolicy(p);
  }
  int next_ = 0;
};

TEST_F(KeyManagerAccessTest, ReaderWrapsButCannotRotateOrCreate) {
  KeyResult k = MustCreate();
  Grant("reader", {iam::Role::kReader});
  RequestContext reader = As("reader");
  EXPECT_TRUE(plane_->Wrap(reader, k.key.id, {}).ok());
  EXPECT_TRUE(manager_->GetKeyMetadata(reader, k.key.id).ok());
  EXPECT_EQ(R(manager_->GetKey(reader, k.key.id).status()), Reason::kForbidden);
  EXPECT_EQ(R(manager_->Rotate(reader, k.key.id, {}).status()),
            Reason::kForbidden);
  CreateKeyRequest req;
  req.name = "nope";
  EXPECT_EQ(R(manager_->CreateKey(reader, req).status()), Reason::kForbidden);
  EXPECT_EQ(manager_->ListKeys(reader, {})->keys.size(), 1u);
}

TEST_F(KeyManagerAccessTest, NoAccessAnswerDoesNotRevealWhetherAKeyExists) {
  KeyResult k = MustCreate();
  Grant("other-key-only", {iam::Role::kManager}, std::nullopt,
        "00000000-0000-4000-8000-000000000000");
  RequestContext c = As("other-key-only");
  absl::Status existing = plane_->Wrap(c, k.key.id, {}).status();
  absl::Status missing =
      plane_->Wrap(c, "11111111-1111-4111-8111-111111111111", {}).status();
  EXPECT_EQ(R(existing), Reason::kForbidden);
  EXPECT_EQ(R(missing), Reason::kForbidden);
  EXPECT_EQ(existing.message(), missing.message());
  // A caller with no grant at all gets the same answer.
  EXPECT_EQ(R(plane_->Wrap(As("stranger"), k.key.id, {}).status()),
            Reason::kForbidden);
}

TEST_F(KeyManagerAccessTest, KeyLevelGrantReachesByIdButIsNotListed) {
  KeyResult k = MustCreate();
  MustCreate();
  Grant("one-key", {iam::Role::kWriter}, std::nullopt, k.key.id);
  RequestContext c = As("one-key");
  EXPECT_TRUE(plane_->Wrap(c, k.key.id, {}).ok());
  EXPECT_TRUE(manager_->Rotate(c, k.key.id, {}).ok());
  auto listed = manager_->ListKeys(c, {});
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->keys.empty());
  EXPECT_EQ(*manager_->CountKeys(c, {}), 0);
}

TEST_F(KeyManagerAccessTest, RingGrantCoversKeysOfThatRingOnly) {
  KeyResult k = MustCreate();  // in ring "default"
  Grant("ring-default", {iam::Role::kReader}, std::string("default"));
  Grant("ring-other", {iam::Role::kReader}, std::string("payments"));
  EXPECT_TRUE(plane_->Wrap(As("ring-default"), k.key.id, {}).ok());
  EXPECT_EQ(manager_->ListKeys(As("ring-default"), {})->keys.size(), 1u);
  EXPECT_EQ(R(plane_->Wrap(As("ring-other"), k.key.id, {}).status()),
            Reason::kForbidden);
  EXPECT_TRUE(manager_->ListKeys(As("ring-other"), {})->keys.empty());
}

TEST_F(KeyManagerAccessTest, ServiceAuthorizationAllowsWrapButNeverDelete) {
  KeyResult k = MustCreate();
  RequestContext cos = As("serviceid-cos", true, "object-storage");
  EXPECT_EQ(R(plane_->Wrap(cos, k.key.id, {}).status()), Reason::kForbidden);
  iam::ServiceAuthorizationRecord a;
  a.id = "a-1";
  a.source_service_type = "object-storage";
  a.target.instance_id = std::string(kInstance);
  a.role = iam::Role::kManager;
  access_.PutAuthorization(a);
  auto wrapped = plane_->Wrap(cos, k.key.id, {});
  ASSERT_TRUE(wrapped.ok());
  EXPECT_TRUE(plane_->Unwrap(cos, k.key.id, {wrapped->ciphertext, {}}).ok());
  EXPECT_EQ(R(manager_->DeleteKey(cos, k.key.id, {}).status()),
            Reason::kResourceOwner);
  access_.RemoveAuthorization("a-1");
  EXPECT_EQ(R(plane_->Wrap(cos, k.key.id, {}).status()), Reason::kForbidden);
}

// Issue 10 §1, as reproduced: a service with a Manager authorization on the
// instance and a Manager policy on key K1 only deleted another key K2. The
// policy covers K1 only, and an authorization never deletes.
TEST_F(KeyManagerAccessTest, AuthorizationPlusKeyPolicyDeletesThatKeyOnly) {
  KeyResult k1 = MustCreate();
  KeyResult k2 = MustCreate();
  RequestContext svc = As("serviceid-mix", true, "object-storage");
  iam::ServiceAuthorizationRecord a;
  a.id = "a-mix";
  a.source_service_id = "serviceid-mix";
  a.target.instance_id = std::string(kInstance);
  a.role = iam::Role::kManager;
  access_.PutAuthorization(a);
  Grant("serviceid-mix", {iam::Role::kManager}, std::nullopt, k1.key.id);
  EXPECT_EQ(R(manager_->DeleteKey(svc, k2.key.id, {}).status()),
            Reason::kResourceOwner);
  EXPECT_EQ(R(manager_->RestoreKey(svc, k2.key.id).status()),
            Reason::kForbidden);
  PatchKeyRequest move;
  move.key_ring_id = "default";
  EXPECT_EQ(R(manager_->PatchKey(svc, k2.key.id, move).status()),
            Reason::kForbidden);
  EXPECT_EQ(manager_->GetKeyMetadata(ctx_, k2.key.id)->key.state,
            KeyState::kActive);
  // The authorization still serves the data plane on K2, and the policy
  // deletes K1.
  EXPECT_TRUE(plane_->Wrap(svc, k2.key.id, {}).ok());
  EXPECT_TRUE(manager_->DeleteKey(svc, k1.key.id, {}).ok());
}

// The network-policy bypass of service-to-service calls holds per grant: from
// a refused address a service keeps the keys its authorizations cover, not
// what its policies add.
TEST_F(KeyManagerAccessTest, NetworkPoliciesSpareOnlyWhatAuthorizationsCover) {
  InstancePolicyIndex network({});
  keys::InstancePolicy ip;
  ip.instance_id = std::string(kInstance);
  ip.type = keys::InstancePolicyType::kAllowedIp;
  ip.enabled = true;
  ip.allowed_ips = {"10.0.0.0/8"};
  network.Put(kInstance, {ip});
  AccessControl guarded(&store_, &access_, &network);
  KeyManagerDeps deps;
  deps.store = &store_;
  deps.master_key = master_.get();
  deps.access = &guarded;
  deps.instance_policies = &network;
  deps.clock = &clock_;
  DataPlaneService plane({&store_, master_.get(), &guarded, &clock_}, 1000);
  deps.data_plane = &plane;
  KeyManager manager(deps, KeyManagerOptions{});
  KeyResult k1 = MustCreate();
  KeyResult k2 = MustCreate();
  iam::ServiceAuthorizationRecord a;
  a.id = "a-net";
  a.source_service_id = "serviceid-net";
  a.target = {std::string(kInstance), std::nullopt, k1.key.id};
  access_.PutAuthorization(a);
  Grant("serviceid-net", {iam::Role::kReader});
  RequestContext svc = As("serviceid-net", true, "object-storage");
  svc.source_address = "192.0.2.7";
  EXPECT_TRUE(plane.Wrap(svc, k1.key.id, {}).ok());
  EXPECT_EQ(R(plane.Wrap(svc, k2.key.id, {}).status()), Reason::kUnauthorized);
  EXPECT_EQ(manager.ListKeys(svc, {})->keys.size(), 0u);  // key grants never list
  svc.source_address = "10.1.2.3";
  EXPECT_TRUE(plane.Wrap(svc, k2.key.id, {}).ok());
  EXPECT_EQ(manager.ListKeys(svc, {})->keys.size(), 2u);
}

TEST_F(KeyManagerAccessTest, UnknownInstanceAnswersLikeNoAccessEvenForAdmin) {
  RequestContext c = ctx_;
  c.instance_id = "99999999-9999-4999-8999-999999999999";
  EXPECT_EQ(R(manager_->ListKeys(c, {}).status()), Reason::kForbidden);
  CreateKeyRequest req;
  req.name = "nope";
  EXPECT_EQ(R(manager_->CreateKey(c, req).status()), Reason::kForbidden);
}


// --- Key rings ---------------------------------------------------------

TEST_F(KeyManagerTest, KeyRingIdRules) {
  EXPECT_TRUE(manager_->CreateKeyRing(ctx_, "ab").ok());
  EXPECT_TRUE(manager_->CreateKeyRing(ctx_, std::string(100, 'r')).ok());
  EXPECT_TRUE(manager_->CreateKeyRing(ctx_, "Ring_2-x").ok());
  for (std::string bad : {std::string("a"), std::string(101, 'r'),
                          std::string("has space"), std::string("dot.ted"),
                          std::string("")}) {
    EXPECT_EQ(R(manager_->CreateKeyRing(ctx_, bad)), Reason::kBadRequest)
        << bad;
  }
  EXPECT_EQ(R(manager_->CreateKeyRing(ctx_, "ab")), Reason::kConflict);
  EXPECT_EQ(R(manager_->CreateKeyRing(ctx_, "default")), Reason::kConflict);
  EXPECT_EQ(R(manager_->DeleteKeyRing(ctx_, "default", false)),
            Reason::kConflict);
  EXPECT_EQ(R(manager_->DeleteKeyRing(ctx_, "nope", false)),
            Reason::kNotFound);
}

TEST_F(KeyManagerTest, KeyRingLimitIsFiftyWithDefault) {
  for (int i = 0; i < 49; ++i) {
    ASSERT_TRUE(manager_->CreateKeyRing(ctx_, "ring" + std::to_string(i)).ok());
  }
  EXPECT_EQ(R(manager_->CreateKeyRing(ctx_, "one-too-many")),
            Reason::kConflict);
  ListKeyRingsRequest req;
  req.total_count = true;
  req.limit = 5;
  auto list = manager_->ListKeyRings(ctx_, req);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->total, 50);
  ASSERT_EQ(list->rings.size(), 5u);
  EXPECT_EQ(list->rings[0].id, "default");
  req.offset = 49;
  EXPECT_EQ(manager_->ListKeyRings(ctx_, req)->rings.size(), 1u);
}

TEST_F(KeyManagerTest, CreateKeyInRingAndListFilters) {
  CreateKeyRequest req;
  req.name = "in-ring";
  RequestContext in_ring = ctx_;
  in_ring.key_ring_id = "payments";
  EXPECT_EQ(R(manager_->CreateKey(in_ring, req).status()), Reason::kNotFound);
  ASSERT_TRUE(manager_->CreateKeyRing(ctx_, "payments").ok());
  auto k = manager_->CreateKey(in_ring, req);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->key.key_ring_id, "payments");
  MustCreate();  // in default
  EXPECT_EQ(manager_->ListKeys(in_ring, {})->keys.size(), 1u);
  EXPECT_EQ(manager_->ListKeys(ctx_, {})->keys.size(), 2u);
  // On key operations the header is a lookup hint.
  EXPECT_TRUE(manager_->GetKeyMetadata(in_ring, k->key.id).ok());
  RequestContext other_ring = ctx_;
  other_ring.key_ring_id = "default";
  EXPECT_EQ(R(manager_->GetKeyMetadata(other_ring, k->key.id).status()),
            Reason::kNotFound);
  EXPECT_EQ(R(plane_->Wrap(other_ring, k->key.id, {}).status()),
            Reason::kNotFound);
}

TEST_F(KeyManagerTest, PatchMovesKeyBetweenRings) {
  KeyResult k = MustCreate();
  ASSERT_TRUE(manager_->CreateKeyRing(ctx_, "ring-a").ok());
  EXPECT_EQ(R(manager_->PatchKey(ctx_, k.key.id, {"missing"}).status()),
            Reason::kNotFound);
  auto moved = manager_->PatchKey(ctx_, k.key.id, {"ring-a"});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->key.key_ring_id, "ring-a");
  // X-Kms-Key-Ring, if sent, must name the current ring.
  RequestContext stale = ctx_;
  stale.key_ring_id = "default";
  EXPECT_EQ(R(manager_->PatchKey(stale, k.key.id, {"default"}).status()),
            Reason::kNotFound);
  RequestContext current = ctx_;
  current.key_ring_id = "ring-a";
  EXPECT_EQ(manager_->PatchKey(current, k.key.id, {"default"})->key.key_ring_id,
            "default");
}

TEST_F(KeyManagerTest, DeleteKeyRingRefusesLiveKeysAndForceMovesDestroyed) {
  ASSERT_TRUE(manager_->CreateKeyRing(ctx_, "ring-a").ok());
  RequestContext in_ring = ctx_;
  in_ring.key_ring_id = "ring-a";
  CreateKeyRequest req;
  req.name = "ring-key";
  req.extractable = false;
  auto k = manager_->CreateKey(in_ring, req);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(R(manager_->DeleteKeyRing(ctx_, "ring-a", true)),
            Reason::kConflict);
  ASSERT_TRUE(manager_->DeleteKey(ctx_, k->key.id, {}).ok());
  EXPECT_EQ(R(manager_->DeleteKeyRing(ctx_, "ring-a", false)),
            Reason::kConflict);
  ASSERT_TRUE(manager_->DeleteKeyRing(ctx_, "ring-a", true).ok());
  EXPECT_EQ(manager_->GetKeyMetadata(ctx_, k->key.id)->key.key_ring_id,
            "default");
  EXPECT_EQ(manager_->ListKeyRings(ctx_, {})->rings.size(), 1u);
}

// --- Aliases -------------------------------------------------------------

TEST_F(KeyManagerTest, AliasRules) {
  KeyResult k = MustCreate();
  const std::string id = k.key.id;
  EXPECT_TRUE(manager_->CreateKeyAlias(ctx_, id, "ab").ok());
  EXPECT_TRUE(manager_->CreateKeyAlias(ctx_, id, std::string(90, 'a')).ok());
  for (std::string bad :
       {std::string("a"), std::string(91, 'a'), std::string("sp ace"),
        std::string("keys"), std::string("Rotate"), std::string("version"),
        std::string("allowed_ip"),
        std::string("11111111-1111-4111-8111-111111111111")}) {
    EXPECT_EQ(R(manager_->CreateKeyAlias(ctx_, id, bad).status()),
              Reason::kBadRequest)
        << bad;
  }
  EXPECT_EQ(R(manager_->CreateKeyAlias(ctx_, id, "ab").status()),
            Reason::kConflict);
  KeyResult other = MustCreate();
  EXPECT_EQ(R(manager_->CreateKeyAlias(ctx_, other.key.id, "ab").status()),
            Reason::kConflict);
  // Case-sensitive: "AB" is another alias.
  EXPECT_TRUE(manager_->CreateKeyAlias(ctx_, other.key.id, "AB").ok());
  ASSERT_TRUE(manager_->CreateKeyAlias(ctx_, id, "c3").ok());
  ASSERT_TRUE(manager_->CreateKeyAlias(ctx_, id, "c4").ok());
  ASSERT_TRUE(manager_->CreateKeyAlias(ctx_, id, "c5").ok());
  EXPECT_EQ(R(manager_->CreateKeyAlias(ctx_, id, "c6").status()),
            Reason::kConflict);
  EXPECT_EQ(manager_->GetKeyMetadata(ctx_, id)->key.aliases.size(), 5u);
}

TEST_F(KeyManagerTest, AliasNamesTheKeyEverywhereUntilDeleted) {
  KeyResult k = MustCreate();
  auto alias = manager_->CreateKeyAlias(ctx_, k.key.id, "my-key");
  ASSERT_TRUE(alias.ok()) << alias.status();
  EXPECT_EQ(alias->key_id, k.key.id);
  EXPECT_EQ(alias->created_by, "tester");
  auto wrapped = plane_->Wrap(ctx_, "my-key", {});
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_TRUE(plane_->Unwrap(ctx_, k.key.id, {wrapped->ciphertext, {}}).ok());
  EXPECT_EQ(manager_->GetKeyMetadata(ctx_, "my-key")->key.id, k.key.id);
  EXPECT_EQ(R(plane_->Wrap(ctx_, "MY-KEY", {}).status()), Reason::kNotFound);
  // Another instance does not see it.
  RequestContext other = ctx_;
  other.instance_id = std::string(kOther);
  EXPECT_EQ(R(plane_->Wrap(other, "my-key", {}).status()),
            Reason::kNotFound);
  // An alias of another key cannot be deleted through this one.
  KeyResult k2 = MustCreate();
  EXPECT_EQ(R(manager_->DeleteKeyAlias(ctx_, k2.key.id, "my-key")),
            Reason::kNotFound);
  ASSERT_TRUE(manager_->DeleteKeyAlias(ctx_, "my-key", "my-key").ok());
  // The deletion takes effect on the next request, cache or not.
  EXPECT_EQ(R(plane_->Wrap(ctx_, "my-key", {}).status()), Reason::kNotFound);
  EXPECT_TRUE(manager_->GetKeyMetadata(ctx_, k.key.id)->key.aliases.empty());
}

TEST_F(KeyManagerTest, CreateKeyWithAliases) {
  CreateKeyRequest req;
  req.name = "aliased";
  req.extractable = false;
  req.aliases = {"zz-alias", "aa-alias"};
  auto k = manager_->CreateKey(ctx_, req);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_THAT(k->key.aliases, ::testing::ElementsAre("aa-alias", "zz-alias"));
  auto wrapped = plane_->Wrap(ctx_, "zz-alias", {});
  EXPECT_TRUE(wrapped.ok()) << wrapped.status();
  req.aliases = {"aa-alias"};
  EXPECT_EQ(R(manager_->CreateKey(ctx_, req).status()), Reason::kConflict);
  req.aliases = {"x1", "x1"};
  EXPECT_EQ(R(manager_->CreateKey(ctx_, req).status()), Reason::kInvalidField);
  req.aliases = {"a1", "a2", "a3", "a4", "a5", "a6"};
  EXPECT_EQ(R(manager_->CreateKey(ctx_, req).status()), Reason::kInvalidField);
  req.aliases = {"wrap"};
  absl::Status s = manager_->CreateKey(ctx_, req).status();
  EXPECT_EQ(R(s), Reason::kInvalidField);
  EXPECT_EQ(FieldOf(s), "aliases");
}

TEST_F(KeyManagerAccessTest, RingAndAliasRoles) {
  KeyResult k = MustCreate();
  Grant("reader", {iam::Role::kReader});
  Grant("writer", {iam::Role::kWriter});
  Grant("manager", {iam::Role::kManager});
  // Writer may create rings (the role table, keyprotect-api.md §15.1).
  EXPECT_EQ(R(manager_->CreateKeyRing(As("reader"), "ring-r")),
            Reason::kForbidden);
  EXPECT_TRUE(manager_->CreateKeyRing(As("writer"), "ring-w").ok());
  EXPECT_TRUE(manager_->CreateKeyRing(As("manager"), "ring-m").ok());
  EXPECT_TRUE(manager_->ListKeyRings(As("reader"), {}).ok());
  EXPECT_EQ(R(manager_->PatchKey(As("writer"), k.key.id, {"ring-m"}).status()),
            Reason::kForbidden);
  EXPECT_EQ(R(manager_->CreateKeyAlias(As("reader"), k.key.id, "al").status()),
            Reason::kForbidden);
  EXPECT_TRUE(manager_->CreateKeyAlias(As("writer"), k.key.id, "al").ok());
  EXPECT_EQ(R(manager_->DeleteKeyAlias(As("writer"), k.key.id, "al")),
            Reason::kForbidden);
  EXPECT_TRUE(manager_->DeleteKeyAlias(As("manager"), k.key.id, "al").ok());
  EXPECT_EQ(R(manager_->DeleteKeyRing(As("writer"), "ring-m", false)),
            Reason::kForbidden);
  EXPECT_TRUE(manager_->DeleteKeyRing(As("manager"), "ring-m", false).ok());
}

}  // namespace
}  // namespace keywarden::service
