#ifndef KEYWARDEN_STORE_STORE_LIFECYCLE_CONFORMANCE_TEST_H_
#define KEYWARDEN_STORE_STORE_LIFECYCLE_CONFORMANCE_TEST_H_

// The Store conformance suite, part 2: the key lifecycle of store.h (key
// policies and deletion authorizations, UpdateKey's side effects, purge,
// search and date filters, the rotation and purge work lists, import
// tokens, instance policies, registrations, events and leases). Included
// by store_conformance_test.h, whose KW_INSTANTIATE_STORE_CONFORMANCE
// instantiates these suites too; uses only the Store interface (audit
// records are checked by the identity suite, which sees the log).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/keys/registration.h"
#include "keywarden/keys/search.h"
#include "keywarden/store/store.h"
#include "keywarden/store/store_conformance_test.h"

namespace keywarden::store {
namespace conformance_internal {

using keys::CompareOp;
using keys::DateField;
using keys::EventAck;
using keys::EventSpec;
using keys::InstancePolicy;
using keys::InstancePolicyType;
using keys::KeyEvent;
using keys::KeyEventType;
using keys::Registration;
using keys::TimeClause;

// A CRN of service instance `si` and resource `resource`.
inline std::string Crn(const std::string& si, const std::string& resource) {
  return absl::StrCat("crn:v1:bluemix:public:cos:global:a/acct:", si,
                      ":bucket:", resource);
}

inline Registration MakeRegistration(std::string instance, std::string key_id,
                                     std::string crn, std::string service) {
  Registration r;
  r.instance_id = std::move(instance);
  r.key_id = key_id;
  r.resource_crn = std::move(crn);
  r.service_id = std::move(service);
  r.description = "protects a bucket";
  r.registration_metadata = "{\"k\":\"v\"}";
  r.key_version_id = key_id;
  r.creation_time = T(20, 1);
  r.created_by = "serviceid-creator";
  r.last_update_time = T(20, 1);
  r.updated_by = "serviceid-creator";
  r.revision = 1;
  return r;
}

inline void ExpectSameRegistration(const Registration& a,
                                   const Registration& e) {
  EXPECT_EQ(a.instance_id, e.instance_id);
  EXPECT_EQ(a.key_id, e.key_id);
  EXPECT_EQ(a.resource_crn, e.resource_crn);
  EXPECT_EQ(a.service_id, e.service_id);
  EXPECT_EQ(a.description, e.description);
  EXPECT_EQ(a.registration_metadata, e.registration_metadata);
  EXPECT_EQ(a.prevent_key_deletion, e.prevent_key_deletion);
  EXPECT_EQ(a.key_version_id, e.key_version_id);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
  EXPECT_EQ(a.last_update_time, e.last_update_time);
  EXPECT_EQ(a.updated_by, e.updated_by);
  EXPECT_EQ(a.revision, e.revision);
}

inline ImportToken MakeToken(std::string instance, int64_t max,
                             int64_t remaining) {
  ImportToken t;
  t.instance_id = std::move(instance);
  t.id = "token-" + t.instance_id;
  t.creation_time = T(10, 3);
  t.expiration_time = T(610, 3);
  t.max_retrievals = max;
  t.remaining_retrievals = remaining;
  t.nonce = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff};
  t.public_key_pem =
      "-----BEGIN PUBLIC KEY-----\nMIIC\n-----END PUBLIC KEY-----\n";
  t.master_key_id = "mk-1";
  t.sealed_private_key = {9, 0, 8, 0, 7};
  t.created_by = "IBMid-importer";
  return t;
}

inline void ExpectSameToken(const ImportToken& a, const ImportToken& e) {
  EXPECT_EQ(a.instance_id, e.instance_id);
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.expiration_time, e.expiration_time);
  EXPECT_EQ(a.max_retrievals, e.max_retrievals);
  EXPECT_EQ(a.remaining_retrievals, e.remaining_retrievals);
  EXPECT_EQ(a.nonce, e.nonce);
  EXPECT_EQ(a.public_key_pem, e.public_key_pem);
  EXPECT_EQ(a.master_key_id, e.master_key_id);
  EXPECT_EQ(a.sealed_private_key, e.sealed_private_key);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline InstancePolicy MakeInstancePolicy(std::string instance,
                                         InstancePolicyType type) {
  InstancePolicy p;
  p.instance_id = std::move(instance);
  p.type = type;
  p.enabled = true;
  p.creation_time = T(30, 5);
  p.created_by = "IBMid-manager";
  p.last_update_time = T(31, 6);
  p.updated_by = "IBMid-manager2";
  return p;
}

inline void ExpectSamePolicy(const InstancePolicy& a, const InstancePolicy& e) {
  EXPECT_EQ(a.instance_id, e.instance_id);
  EXPECT_EQ(a.type, e.type);
  EXPECT_EQ(a.enabled, e.enabled);
  EXPECT_EQ(a.rotation_interval_months, e.rotation_interval_months);
  EXPECT_EQ(a.allowed_network, e.allowed_network);
  EXPECT_EQ(a.allowed_ips, e.allowed_ips);
  EXPECT_EQ(a.key_create_import_access.create_root_key,
            e.key_create_import_access.create_root_key);
  EXPECT_EQ(a.key_create_import_access.create_standard_key,
            e.key_create_import_access.create_standard_key);
  EXPECT_EQ(a.key_create_import_access.import_root_key,
            e.key_create_import_access.import_root_key);
  EXPECT_EQ(a.key_create_import_access.import_standard_key,
            e.key_create_import_access.import_standard_key);
  EXPECT_EQ(a.key_create_import_access.enforce_token,
            e.key_create_import_access.enforce_token);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
  EXPECT_EQ(a.last_update_time, e.last_update_time);
  EXPECT_EQ(a.updated_by, e.updated_by);
}

inline KeyUpdate WithEvent(KeyEventType type, absl::Time at) {
  KeyUpdate u;
  EventSpec spec;
  spec.type = type;
  spec.time = at;
  spec.key_state = keys::KeyState::kActive;
  spec.key_version_id = "v-new";
  spec.previous_key_version_id = "v-old";
  u.event = spec;
  return u;
}

inline std::vector<std::string> Crns(const std::vector<Registration>& regs) {
  std::vector<std::string> out;
  for (const Registration& r : regs) {
    out.push_back(r.key_id + " " + r.resource_crn);
  }
  return out;
}

template <typename T>
T ValueOf(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : T();
}

// Every unacknowledged event due by the end of time, by service id then
// event time.
inline std::vector<KeyEvent> AllDueEvents(Store& store) {
  std::vector<KeyEvent> events =
      ValueOf(store.ListDueEvents(absl::InfiniteFuture(), 1000));
  std::sort(
      events.begin(), events.end(), [](const KeyEvent& a, const KeyEvent& b) {
        return std::tie(a.service_id, a.time) < std::tie(b.service_id, b.time);
      });
  return events;
}

// An Active root key "inst"/`id` with registrations: svc-a on CRNs r2 and
// r1 (created in that order), svc-b on r3.
inline void CreateRegisteredKey(Store& store, const std::string& id,
                                bool prevent_on_r3 = false) {
  ASSERT_TRUE(store.CreateKey(MakeKey("inst", id)).ok());
  ASSERT_TRUE(store
                  .CreateRegistration(
                      MakeRegistration("inst", id, Crn("si", "r2"), "svc-a"), StoreAudit())
                  .ok());
  ASSERT_TRUE(store
                  .CreateRegistration(
                      MakeRegistration("inst", id, Crn("si", "r1"), "svc-a"), StoreAudit())
                  .ok());
  Registration r3 = MakeRegistration("inst", id, Crn("si", "r3"), "svc-b");
  r3.prevent_key_deletion = prevent_on_r3;
  ASSERT_TRUE(store.CreateRegistration(r3, StoreAudit()).ok());
}

inline int64_t RegistrationCount(Store& store, std::string_view key_id) {
  RegistrationQuery q;
  q.instance_id = "inst";
  q.key_id = std::string(key_id);
  return ValueOf(store.CountRegistrations(q));
}

// --- Key policies and the deletion authorization ---------------------------

TEST_P(StoreConformanceTest, PoliciesAndDeletionFieldsRoundTripThroughLists) {
  Key k = MakeKey("inst", "k1");
  k.rotation_policy = keys::RotationPolicy{
      {"rot-1", T(1, 1), "IBMid-a", T(2, 2), "IBMid-b"}, false, 12};
  k.last_sync_time = T(3, 3);
  Create(k);
  ExpectSameKey(Get("inst", "k1"), k);
  KeyQuery q;
  q.instance_id = "inst";
  absl::StatusOr<std::vector<Key>> listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  ExpectSamePolicies((*listed)[0], k);
  EXPECT_FALSE((*listed)[0].dual_auth_policy.has_value());
  EXPECT_EQ((*listed)[0].last_sync_time, T(3, 3));
}

TEST_P(StoreConformanceTest, UpdateMakesStoredPoliciesEqualToTheKeys) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  // Added.
  Key u = k;
  u.dual_auth_policy =
      keys::DualAuthPolicy{{"dual-1", T(5), "IBMid-a", T(5), "IBMid-a"}, true};
  u.rotation_policy = keys::RotationPolicy{
      {"rot-1", T(5), "IBMid-a", T(5), "IBMid-a"}, true, 3};
  u.deletion_authorized_by = "IBMid-first";
  u.deletion_authorization_expiration = T(5) + absl::Hours(24 * 7);
  u.last_update_time = T(5);
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  ExpectSameKey(Get("inst", "k1"), u);
  // Changed in place.
  Key v = u;
  v.rotation_policy->enabled = false;
  v.rotation_policy->interval_months = 1;
  v.rotation_policy->meta.last_update_time = T(6, 9);
  v.rotation_policy->meta.updated_by = "IBMid-b";
  v.last_update_time = T(6);
  ASSERT_TRUE(store().UpdateKey(v, u.last_update_time).ok());
  ExpectSameKey(Get("inst", "k1"), v);
  // Removed (the store keeps what it is given; the irreversibility of
  // dual-auth is the service's rule).
  Key w = v;
  w.rotation_policy.reset();
  w.dual_auth_policy.reset();
  w.deletion_authorized_by.clear();
  w.deletion_authorization_expiration.reset();
  w.last_update_time = T(7);
  ASSERT_TRUE(store().UpdateKey(w, v.last_update_time).ok());
  ExpectSameKey(Get("inst", "k1"), w);
}

TEST_P(StoreConformanceTest, MalformedPoliciesAndAuthorizationsAreRefused) {
  std::vector<Key> bad;
  Key no_policy_id = MakeKey("inst", "a");
  no_policy_id.rotation_policy = keys::RotationPolicy{{}, true, 1};
  bad.push_back(no_policy_id);
  Key no_dual_id = MakeKey("inst", "b");
  no_dual_id.dual_auth_policy = keys::DualAuthPolicy{{}, true};
  bad.push_back(no_dual_id);
  for (int months : {0, 13, -1}) {
    Key interval = MakeKey("inst", "c");
    interval.rotation_policy =
        keys::RotationPolicy{{"rot", T(0), "x", T(0), "x"}, true, months};
    bad.push_back(interval);
  }
  Key authorizer_only = MakeKey("inst", "d");
  authorizer_only.deletion_authorized_by = "IBMid-a";
  bad.push_back(authorizer_only);
  Key expiration_only = MakeKey("inst", "e");
  expiration_only.deletion_authorization_expiration = T(9);
  bad.push_back(expiration_only);
  Key existing = MakeKey("inst", "ok");
  Create(existing);
  for (const Key& k : bad) {
    EXPECT_EQ(store().CreateKey(k).code(), absl::StatusCode::kInvalidArgument)
        << k.id;
    Key u = k;
    u.id = "ok";
    u.versions = existing.versions;
    EXPECT_EQ(store().UpdateKey(u, existing.last_update_time).code(),
              absl::StatusCode::kInvalidArgument)
        << k.id;
  }
  ExpectSameKey(Get("inst", "ok"), existing);
}

// --- UpdateKey's side effects ------------------------------------------------

TEST_P(StoreConformanceTest, UpdateEventFansOutOnePerServiceWithItsCrns) {
  CreateRegisteredKey(store(), "k1");
  Key k = Get("inst", "k1");
  Key u = k;
  u.last_update_time = T(50);
  ASSERT_TRUE(store()
                  .UpdateKey(u, k.last_update_time,
                             WithEvent(KeyEventType::kRotate, T(50, 7)))
                  .ok());
  std::vector<KeyEvent> events = AllDueEvents(store());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].service_id, "svc-a");
  EXPECT_THAT(events[0].resource_crns,
              ElementsAre(Crn("si", "r1"), Crn("si", "r2")));
  EXPECT_EQ(events[1].service_id, "svc-b");
  EXPECT_THAT(events[1].resource_crns, ElementsAre(Crn("si", "r3")));
  EXPECT_NE(events[0].id, events[1].id);
  for (const KeyEvent& e : events) {
    EXPECT_EQ(e.id.size(), 36u) << e.id;  // a UUID
    EXPECT_EQ(e.instance_id, "inst");
    EXPECT_EQ(e.key_id, "k1");
    EXPECT_EQ(e.type, KeyEventType::kRotate);
    EXPECT_EQ(e.time, T(50, 7));
    EXPECT_EQ(e.key_state, KeyState::kActive);
    EXPECT_EQ(e.key_version_id, "v-new");
    EXPECT_EQ(e.previous_key_version_id, "v-old");
    EXPECT_EQ(e.attempts, 0);
    EXPECT_EQ(e.next_attempt_time, T(50, 7));
    EXPECT_FALSE(e.last_attempt_time.has_value());
    EXPECT_FALSE(e.delivered_time.has_value());
    EXPECT_FALSE(e.acknowledged_time.has_value());
    EXPECT_EQ(e.last_error, "");
    EXPECT_EQ(e.adopter_key_state, "");
    absl::StatusOr<KeyEvent> got = store().GetEvent(e.id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->service_id, e.service_id);
    EXPECT_EQ(got->resource_crns, e.resource_crns);
  }
  // kKeep leaves the registrations alone.
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
}

TEST_P(StoreConformanceTest, UpdateEventWithoutRegistrationsMakesNoEvent) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key u = k;
  u.last_update_time = T(50);
  ASSERT_TRUE(store()
                  .UpdateKey(u, k.last_update_time,
                             WithEvent(KeyEventType::kDisable, T(50)))
                  .ok());
  EXPECT_THAT(AllDueEvents(store()), IsEmpty());
  EXPECT_EQ(ValueOf(store().NextEventDue()), std::nullopt);
}

TEST_P(StoreConformanceTest, UpdateRefuseIfAnyFailsAndChangesNothing) {
  CreateRegisteredKey(store(), "k1");
  Key k = Get("inst", "k1");
  Key u = k;
  u.state = KeyState::kDestroyed;
  u.last_update_time = T(50);
  KeyUpdate update = WithEvent(KeyEventType::kDelete, T(50));
  update.registrations = RegistrationRule::kRefuseIfAny;
  EXPECT_EQ(store().UpdateKey(u, k.last_update_time, update).code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectSameKey(Get("inst", "k1"), k);
  EXPECT_THAT(AllDueEvents(store()), IsEmpty());
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
  // Without registrations the same rule lets the update through.
  Key plain = MakeKey("inst", "k2");
  Create(plain);
  Key v = plain;
  v.state = KeyState::kDestroyed;
  v.last_update_time = T(51);
  EXPECT_TRUE(store().UpdateKey(v, plain.last_update_time, update).ok());
  EXPECT_EQ(Get("inst", "k2").state, KeyState::kDestroyed);
}

TEST_P(StoreConformanceTest, UpdateRefuseIfPreventedKeepsRegistrations) {
  CreateRegisteredKey(store(), "k1");
  Key k = Get("inst", "k1");
  Key u = k;
  u.state = KeyState::kDestroyed;
  u.last_update_time = T(50);
  KeyUpdate update = WithEvent(KeyEventType::kDelete, T(50));
  update.registrations = RegistrationRule::kRefuseIfPrevented;
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time, update).ok());
  EXPECT_EQ(Get("inst", "k1").state, KeyState::kDestroyed);
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
  EXPECT_TRUE(store().GetRegistration("inst", "k1", Crn("si", "r1")).ok());
  // One event per registered service, with its CRNs.
  std::vector<KeyEvent> events = AllDueEvents(store());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, KeyEventType::kDelete);
  EXPECT_EQ(events[0].resource_crns.size(), 2u);
  EXPECT_EQ(events[1].resource_crns.size(), 1u);
}

TEST_P(StoreConformanceTest, UpdateRefuseIfPreventedFailsIfOnePrevents) {
  CreateRegisteredKey(store(), "k1", /*prevent_on_r3=*/true);
  Key k = Get("inst", "k1");
  Key u = k;
  u.state = KeyState::kDestroyed;
  u.last_update_time = T(50);
  KeyUpdate update = WithEvent(KeyEventType::kDelete, T(50));
  update.registrations = RegistrationRule::kRefuseIfPrevented;
  EXPECT_EQ(store().UpdateKey(u, k.last_update_time, update).code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectSameKey(Get("inst", "k1"), k);
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
  EXPECT_THAT(AllDueEvents(store()), IsEmpty());
}

TEST_P(StoreConformanceTest, StaleUpdateWithSideEffectsChangesNothing) {
  CreateRegisteredKey(store(), "k1");
  Key k = Get("inst", "k1");
  Key u = k;
  u.last_update_time = T(50);
  KeyUpdate update = WithEvent(KeyEventType::kDelete, T(50));
  update.registrations = RegistrationRule::kRefuseIfPrevented;
  update.audit = StoreAudit("kms.secrets.delete");
  EXPECT_EQ(store().UpdateKey(u, T(-5), update).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
  EXPECT_THAT(AllDueEvents(store()), IsEmpty());
  // Missing key: NotFound, likewise without effect.
  Key ghost = MakeKey("inst", "ghost");
  EXPECT_EQ(store().UpdateKey(ghost, ghost.last_update_time, update).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, MalformedKeyUpdatesAreInvalidArgument) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key u = k;
  u.last_update_time = T(50);
  KeyUpdate bad_event = WithEvent(KeyEventType::kRotate, T(50));
  bad_event.event->type = static_cast<KeyEventType>(77);
  KeyUpdate bad_state = WithEvent(KeyEventType::kRotate, T(50));
  bad_state.event->key_state = static_cast<KeyState>(4);
  KeyUpdate bad_audit;
  bad_audit.audit = StoreAudit("");
  KeyUpdate bad_rule;
  bad_rule.registrations = static_cast<RegistrationRule>(9);
  for (const KeyUpdate* update :
       {&bad_event, &bad_state, &bad_audit, &bad_rule}) {
    EXPECT_EQ(store().UpdateKey(u, k.last_update_time, *update).code(),
              absl::StatusCode::kInvalidArgument);
  }
  ExpectSameKey(Get("inst", "k1"), k);
}

// --- Purge -------------------------------------------------------------------

TEST_P(StoreConformanceTest, PurgedKeyIsGoneEverywhereButItsEventsStay) {
  CreateRegisteredKey(store(), "k1");
  ASSERT_TRUE(
      store()
          .CreateKeyAlias(KeyAlias{"inst", "purged-alias", "k1", T(1), "x"}, 5, StoreAudit())
          .ok());
  Key k = Get("inst", "k1");
  Key destroyed = k;
  destroyed.state = KeyState::kDestroyed;
  destroyed.deletion_time = T(60);
  destroyed.last_update_time = T(60);
  destroyed.rotation_policy =
      keys::RotationPolicy{{"rot", T(1), "x", T(1), "x"}, true, 1};
  destroyed.versions.push_back(MakeVersion("k1-v2", T(55), {4, 4, 4}));
  KeyUpdate update = WithEvent(KeyEventType::kDelete, T(60));
  ASSERT_TRUE(store().UpdateKey(destroyed, k.last_update_time, update).ok());
  Create(MakeKey("inst", "bystander"));
  const std::vector<KeyEvent> events = AllDueEvents(store());
  ASSERT_EQ(events.size(), 2u);

  ASSERT_TRUE(
      store()
          .PurgeKey("inst", "k1", T(60), StoreAudit("kms.secrets.purge"))
          .ok());
  EXPECT_EQ(store().GetKey("inst", "k1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyAlias("inst", "purged-alias").status().code(),
            absl::StatusCode::kNotFound);
  for (const char* r : {"r1", "r2", "r3"}) {
    EXPECT_EQ(
        store().GetRegistration("inst", "k1", Crn("si", r)).status().code(),
        absl::StatusCode::kNotFound);
  }
  RegistrationQuery rq;
  rq.instance_id = "inst";
  EXPECT_EQ(ValueOf(store().CountRegistrations(rq)), 0);
  KeyQuery q;
  q.instance_id = "inst";
  EXPECT_THAT(ListIds(q), ElementsAre("bystander"));
  EXPECT_EQ(Count(q), 1);
  EXPECT_THAT(
      ValueOf(store().ListKeysDeletedBefore(absl::InfiniteFuture(), 100)),
      IsEmpty());
  EXPECT_THAT(
      ValueOf(store().ListKeysDueForRotation(absl::InfiniteFuture(), 100)),
      IsEmpty());
  // Every later call with the id is NotFound.
  EXPECT_EQ(store().PurgeKey("inst", "k1", T(60), StoreAudit("p")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().UpdateKey(destroyed, T(60)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store()
                .CreateRegistration(
                    MakeRegistration("inst", "k1", Crn("si", "r9"), "svc-a"), StoreAudit())
                .code(),
            absl::StatusCode::kNotFound);
  // The events made before stay, addressed as they were.
  for (const KeyEvent& e : events) {
    absl::StatusOr<KeyEvent> got = store().GetEvent(e.id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->key_id, "k1");
  }
  EXPECT_EQ(AllDueEvents(store()).size(), 2u);
  // Nothing of the key lingers: the alias and the id are free again.
  ASSERT_TRUE(
      store()
          .CreateKeyAlias(
              KeyAlias{"inst", "purged-alias", "bystander", T(1), "x"}, 5, StoreAudit())
          .ok());
  Key reborn = MakeKey("inst", "k1");
  Create(reborn);
  ExpectSameKey(Get("inst", "k1"), reborn);
  EXPECT_EQ(RegistrationCount(store(), "k1"), 0);
}

TEST_P(StoreConformanceTest, PurgeNeedsADestroyedKeyAtTheExpectedUpdate) {
  Key active = MakeKey("inst", "active");
  Create(active);
  EXPECT_EQ(
      store()
          .PurgeKey("inst", "active", active.last_update_time, StoreAudit("p"))
          .code(),
      absl::StatusCode::kFailedPrecondition);
  ExpectSameKey(Get("inst", "active"), active);
  Key destroyed = MakeKey("inst", "gone");
  destroyed.state = KeyState::kDestroyed;
  destroyed.deletion_time = T(5);
  destroyed.last_update_time = T(5);
  Create(destroyed);
  EXPECT_EQ(store().PurgeKey("inst", "gone", T(4), StoreAudit("p")).code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectSameKey(Get("inst", "gone"), destroyed);
  EXPECT_EQ(store().PurgeKey("inst", "nope", T(5), StoreAudit("p")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().PurgeKey("other", "gone", T(5), StoreAudit("p")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().PurgeKey("inst", "gone", T(5), StoreAudit("")).code(),
            absl::StatusCode::kInvalidArgument);
  ExpectSameKey(Get("inst", "gone"), destroyed);
  // The caller's finer copy of the time still matches (microseconds).
  EXPECT_TRUE(store()
                  .PurgeKey("inst", "gone", T(5) + absl::Nanoseconds(300),
                            StoreAudit("p"))
                  .ok());
}

// --- Work lists: rotation and purge
// ----------------------------------------------

TEST_P(StoreConformanceTest, ListKeysDueForRotationFindsOnlyEligibleKeys) {
  const absl::Time now = T(0) + 100 * keys::kRotationMonth;
  auto add = [&](std::string id, int months, std::optional<absl::Time> rotated,
                 absl::Time created, bool enabled = true,
                 KeyState state = KeyState::kActive, bool extractable = false,
                 bool imported = false, std::string instance = "inst") {
    Key k = MakeKey(std::move(instance), std::move(id));
    k.creation_time = created;
    k.last_rotate_time = rotated;
    k.state = state;
    k.extractable = extractable;
    k.imported = imported;
    k.rotation_policy = keys::RotationPolicy{
        {"rot-" + k.id, T(0), "x", T(0), "x"}, enabled, months};
    Create(k);
  };
  const absl::Time long_ago = T(0);
  // Due: created 100 months ago, monthly → due at T(0) + 1 month.
  add("monthly", 1, std::nullopt, long_ago);
  // Rotated recently: due at now + 1 µs, not yet.
  add("rotated-recently", 2,
      now - 2 * keys::kRotationMonth + absl::Microseconds(1), long_ago);
  // Rotated so that it is due exactly now.
  add("due-now", 3, now - 3 * keys::kRotationMonth, long_ago);
  // Due at T(0) + 12 months: after "monthly".
  add("yearly", 12, std::nullopt, long_ago);
  // Same due time as "monthly", in another instance: ties by (instance, id).
  add("monthly", 1, std::nullopt, long_ago, true, KeyState::kActive, false,
      false, "a-inst");
  add("disabled", 1, std::nullopt, long_ago, /*enabled=*/false);
  add("suspended", 1, std::nullopt, long_ago, true, KeyState::kSuspended);
  add("standard", 1, std::nullopt, long_ago, true, KeyState::kActive, true);
  add("imported", 1, std::nullopt, long_ago, true, KeyState::kActive, false,
      true);
  Key no_policy = MakeKey("inst", "no-policy");
  Create(no_policy);

  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(ValueOf(store().ListKeysDueForRotation(now, 100)),
              ElementsAre(P("a-inst", "monthly"), P("inst", "monthly"),
                          P("inst", "yearly"), P("inst", "due-now")));
  EXPECT_THAT(ValueOf(store().ListKeysDueForRotation(now, 2)),
              ElementsAre(P("a-inst", "monthly"), P("inst", "monthly")));
  EXPECT_THAT(
      ValueOf(store().ListKeysDueForRotation(now + absl::Microseconds(1), 100)),
      ::testing::Contains(P("inst", "rotated-recently")));
  EXPECT_THAT(ValueOf(store().ListKeysDueForRotation(T(0), 100)), IsEmpty());
  EXPECT_THAT(ValueOf(store().ListKeysDueForRotation(now, 0)), IsEmpty());
  EXPECT_EQ(store().ListKeysDueForRotation(now, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A rotation moves the key's next due time.
  Key k = Get("inst", "monthly");
  Key rotated = k;
  rotated.last_rotate_time = now;
  rotated.last_update_time = now;
  ASSERT_TRUE(store().UpdateKey(rotated, k.last_update_time).ok());
  EXPECT_THAT(ValueOf(store().ListKeysDueForRotation(now, 100)),
              ::testing::Not(::testing::Contains(P("inst", "monthly"))));
}

TEST_P(StoreConformanceTest,
       ListKeysDeletedBeforeFindsDestroyedKeysOldestFirst) {
  auto add = [&](std::string instance, std::string id, KeyState state,
                 std::optional<absl::Time> deleted) {
    Key k = MakeKey(std::move(instance), std::move(id));
    k.state = state;
    k.deletion_time = deleted;
    Create(k);
  };
  add("i1", "old", KeyState::kDestroyed, T(10));
  add("i1", "older", KeyState::kDestroyed, T(5));
  add("i0", "tie", KeyState::kDestroyed, T(10));
  add("i1", "at-cutoff", KeyState::kDestroyed, T(20));
  add("i1", "recent", KeyState::kDestroyed, T(20, 1));
  // Restored keys keep no Destroyed state; whatever their deletion time.
  add("i1", "restored", KeyState::kActive, T(1));
  add("i1", "never", KeyState::kActive, std::nullopt);
  using P = std::pair<std::string, std::string>;
  EXPECT_THAT(ValueOf(store().ListKeysDeletedBefore(T(20), 100)),
              ElementsAre(P("i1", "older"), P("i0", "tie"), P("i1", "old"),
                          P("i1", "at-cutoff")));
  EXPECT_THAT(ValueOf(store().ListKeysDeletedBefore(T(20), 1)),
              ElementsAre(P("i1", "older")));
  EXPECT_THAT(ValueOf(store().ListKeysDeletedBefore(T(4), 100)), IsEmpty());
  EXPECT_EQ(store().ListKeysDeletedBefore(T(20), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Import tokens (keyprotect-api.md §8)
// -----------------------------------------

TEST_P(StoreConformanceTest, ImportTokenPutGetAndReplace) {
  EXPECT_EQ(store().GetImportToken("inst").status().code(),
            absl::StatusCode::kNotFound);
  ImportToken t = MakeToken("inst", 5, 5);
  ASSERT_TRUE(store().PutImportToken(t, StoreAudit()).ok());
  ExpectSameToken(ValueOf(store().GetImportToken("inst")), t);
  ImportToken other = MakeToken("other", 1, 1);
  ASSERT_TRUE(store().PutImportToken(other, StoreAudit()).ok());
  // A new token replaces the instance's old one entirely.
  ImportToken next = MakeToken("inst", 2, 2);
  next.id = "token-2";
  next.nonce = {7, 7, 7};
  next.sealed_private_key = {1};
  next.creation_time = T(700);
  next.expiration_time = T(800) + absl::Nanoseconds(999);
  ASSERT_TRUE(store().PutImportToken(next, StoreAudit()).ok());
  next.expiration_time = T(800);  // stored at microseconds
  ExpectSameToken(ValueOf(store().GetImportToken("inst")), next);
  ExpectSameToken(ValueOf(store().GetImportToken("other")), other);
}

TEST_P(StoreConformanceTest, RetrieveImportTokenDecrementsUntilExhausted) {
  EXPECT_EQ(store().RetrieveImportToken("inst", T(20)).status().code(),
            absl::StatusCode::kNotFound);
  ImportToken t = MakeToken("inst", 3, 2);
  ASSERT_TRUE(store().PutImportToken(t, StoreAudit()).ok());
  ImportToken first = ValueOf(store().RetrieveImportToken("inst", T(20)));
  t.remaining_retrievals = 1;
  ExpectSameToken(first, t);
  ImportToken second = ValueOf(store().RetrieveImportToken("inst", T(21)));
  EXPECT_EQ(second.remaining_retrievals, 0);
  EXPECT_EQ(store().RetrieveImportToken("inst", T(22)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ValueOf(store().GetImportToken("inst")).remaining_retrievals, 0);
}

TEST_P(StoreConformanceTest, RetrieveImportTokenExpiresAtItsExpirationTime) {
  ImportToken t = MakeToken("inst", 10, 10);
  ASSERT_TRUE(store().PutImportToken(t, StoreAudit()).ok());
  EXPECT_TRUE(store()
                  .RetrieveImportToken(
                      "inst", t.expiration_time - absl::Microseconds(1))
                  .ok());
  EXPECT_EQ(
      store().RetrieveImportToken("inst", t.expiration_time).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store()
                .RetrieveImportToken("inst", t.expiration_time + absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Refusals change nothing.
  EXPECT_EQ(ValueOf(store().GetImportToken("inst")).remaining_retrievals, 9);
}

TEST_P(StoreConformanceTest, ConcurrentRetrievalsTakeExactlyWhatIsLeft) {
  ASSERT_TRUE(store().PutImportToken(MakeToken("inst", 5, 3), StoreAudit()).ok());
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<int64_t> seen(kThreads, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<ImportToken> t =
          store().RetrieveImportToken("inst", T(20));
      if (t.ok()) {
        ++ok;
        seen[i] = t->remaining_retrievals;
      } else if (t.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(refused.load(), kThreads - 3);
  EXPECT_EQ(other.load(), 0);
  // Each success saw its own count: 2, 1 and 0 once each.
  std::multiset<int64_t> counts(seen.begin(), seen.end());
  counts.erase(-1);
  EXPECT_THAT(counts, ElementsAre(0, 1, 2));
  EXPECT_EQ(ValueOf(store().GetImportToken("inst")).remaining_retrievals, 0);
}

TEST_P(StoreConformanceTest, MalformedImportTokensAreInvalidArgument) {
  ImportToken no_instance = MakeToken("", 1, 1);
  ImportToken no_id = MakeToken("inst", 1, 1);
  no_id.id.clear();
  ImportToken zero_max = MakeToken("inst", 0, 0);
  ImportToken too_many = MakeToken("inst", 2, 3);
  ImportToken negative = MakeToken("inst", 2, -1);
  for (const ImportToken* t :
       {&no_instance, &no_id, &zero_max, &too_many, &negative}) {
    EXPECT_EQ(store().PutImportToken(*t, StoreAudit()).code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store().GetImportToken("inst").status().code(),
            absl::StatusCode::kNotFound);
}

// --- Instance policies (keyprotect-api.md §7.2)
// ------------------------------------

TEST_P(StoreConformanceTest, InstancePoliciesRoundTripInTypeOrder) {
  InstancePolicy metrics =
      MakeInstancePolicy("inst", InstancePolicyType::kMetrics);
  InstancePolicy ip =
      MakeInstancePolicy("inst", InstancePolicyType::kAllowedIp);
  ip.allowed_ips = {"10.0.0.0/8", "2001:db8::/32"};
  InstancePolicy rotation =
      MakeInstancePolicy("inst", InstancePolicyType::kRotation);
  rotation.rotation_interval_months = 12;
  InstancePolicy network =
      MakeInstancePolicy("inst", InstancePolicyType::kAllowedNetwork);
  network.allowed_network = keys::AllowedNetwork::kPrivateOnly;
  network.enabled = false;
  InstancePolicy access =
      MakeInstancePolicy("inst", InstancePolicyType::kKeyCreateImportAccess);
  access.key_create_import_access = {false, true, false, true, true};
  InstancePolicy dual =
      MakeInstancePolicy("inst", InstancePolicyType::kDualAuthDelete);
  const std::vector<InstancePolicy> all = {metrics, ip,     rotation,
                                           network, access, dual};
  ASSERT_TRUE(store().PutInstancePolicies(all, StoreAudit("policy")).ok());
  std::vector<InstancePolicy> got =
      ValueOf(store().ListInstancePolicies("inst"));
  ASSERT_EQ(got.size(), 6u);
  const InstancePolicy* in_order[] = {&dual, &rotation, &network,
                                      &ip,   &access,   &metrics};
  for (size_t i = 0; i < got.size(); ++i) {
    ExpectSamePolicy(got[i], *in_order[i]);
  }
  EXPECT_THAT(ValueOf(store().ListInstancePolicies("nobody")), IsEmpty());
}

TEST_P(StoreConformanceTest, InstancePolicyKeepsOnlyItsTypesAttributes) {
  // Attributes of other types are not stored: they read back as defaults.
  InstancePolicy rotation =
      MakeInstancePolicy("inst", InstancePolicyType::kRotation);
  rotation.rotation_interval_months = 4;
  rotation.allowed_ips = {"10.0.0.0/8"};
  rotation.allowed_network = keys::AllowedNetwork::kPrivateOnly;
  rotation.key_create_import_access.enforce_token = true;
  const std::vector<InstancePolicy> one = {rotation};
  ASSERT_TRUE(store().PutInstancePolicies(one, StoreAudit("policy")).ok());
  InstancePolicy expected =
      MakeInstancePolicy("inst", InstancePolicyType::kRotation);
  expected.rotation_interval_months = 4;
  std::vector<InstancePolicy> got =
      ValueOf(store().ListInstancePolicies("inst"));
  ASSERT_EQ(got.size(), 1u);
  ExpectSamePolicy(got[0], expected);
}

TEST_P(StoreConformanceTest, InstancePoliciesUpsertByTypeAndKeepOthers) {
  InstancePolicy rotation =
      MakeInstancePolicy("inst", InstancePolicyType::kRotation);
  rotation.rotation_interval_months = 2;
  InstancePolicy dual =
      MakeInstancePolicy("inst", InstancePolicyType::kDualAuthDelete);
  const std::vector<InstancePolicy> first = {rotation, dual};
  ASSERT_TRUE(store().PutInstancePolicies(first, StoreAudit("p1")).ok());
  InstancePolicy rotation2 = rotation;
  rotation2.enabled = false;
  rotation2.rotation_interval_months = 1;
  rotation2.last_update_time = T(90, 9);
  rotation2.updated_by = "IBMid-other";
  InstancePolicy other_inst =
      MakeInstancePolicy("a-other", InstancePolicyType::kMetrics);
  const std::vector<InstancePolicy> second = {rotation2, other_inst};
  ASSERT_TRUE(store().PutInstancePolicies(second, StoreAudit("p2")).ok());
  std::vector<InstancePolicy> got =
      ValueOf(store().ListInstancePolicies("inst"));
  ASSERT_EQ(got.size(), 2u);
  ExpectSamePolicy(got[0], dual);
  ExpectSamePolicy(got[1], rotation2);
  std::vector<InstancePolicy> everything =
      ValueOf(store().ListAllInstancePolicies());
  ASSERT_EQ(everything.size(), 3u);
  ExpectSamePolicy(everything[0], other_inst);  // instance "a-other" first
  ExpectSamePolicy(everything[1], dual);
  ExpectSamePolicy(everything[2], rotation2);
}

TEST_P(StoreConformanceTest, MalformedInstancePoliciesAreInvalidArgument) {
  InstancePolicy ok = MakeInstancePolicy("inst", InstancePolicyType::kMetrics);
  InstancePolicy no_instance =
      MakeInstancePolicy("", InstancePolicyType::kMetrics);
  InstancePolicy bad_type =
      MakeInstancePolicy("inst", static_cast<InstancePolicyType>(40));
  InstancePolicy bad_interval =
      MakeInstancePolicy("inst", InstancePolicyType::kRotation);
  bad_interval.rotation_interval_months = 13;
  InstancePolicy bad_network =
      MakeInstancePolicy("inst", InstancePolicyType::kAllowedNetwork);
  bad_network.allowed_network = static_cast<keys::AllowedNetwork>(5);
  const std::vector<std::vector<InstancePolicy>> calls = {
      {},       {no_instance}, {bad_type}, {bad_interval}, {bad_network},
      {ok, ok},  // one type twice for one instance
  };
  for (const std::vector<InstancePolicy>& call : calls) {
    EXPECT_EQ(store().PutInstancePolicies(call, StoreAudit("p")).code(),
              absl::StatusCode::kInvalidArgument);
  }
  const std::vector<InstancePolicy> valid = {ok};
  EXPECT_EQ(store().PutInstancePolicies(valid, StoreAudit("")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValueOf(store().ListAllInstancePolicies()), IsEmpty());
}

// --- Registrations (keyprotect-api.md §11)
// ------------------------------------

TEST_P(StoreConformanceTest, RegistrationCreateGetRoundTrip) {
  Create(MakeKey("inst", "k1"));
  Registration r = MakeRegistration("inst", "k1", Crn("si", "b"), "svc-a");
  r.prevent_key_deletion = true;
  r.description = "";
  r.creation_time = T(20, 1) + absl::Nanoseconds(400);
  ASSERT_TRUE(store().CreateRegistration(r, StoreAudit()).ok());
  r.creation_time = T(20, 1);
  ExpectSameRegistration(
      ValueOf(store().GetRegistration("inst", "k1", Crn("si", "b"))), r);
  EXPECT_EQ(
      store().GetRegistration("inst", "k1", Crn("si", "c")).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(
      store().GetRegistration("other", "k1", Crn("si", "b")).status().code(),
      absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RegistrationCreateChecksItsKey) {
  EXPECT_EQ(store()
                .CreateRegistration(
                    MakeRegistration("inst", "nokey", Crn("si", "b"), "s"), StoreAudit())
                .code(),
            absl::StatusCode::kNotFound);
  Key standard = MakeKey("inst", "standard");
  standard.extractable = true;
  Create(standard);
  for (KeyState state : {KeyState::kPreActivation, KeyState::kSuspended,
                         KeyState::kDeactivated, KeyState::kDestroyed}) {
    Key k = MakeKey("inst", absl::StrCat("state-", static_cast<int>(state)));
    k.state = state;
    Create(k);
    EXPECT_EQ(store()
                  .CreateRegistration(
                      MakeRegistration("inst", k.id, Crn("si", "b"), "s"), StoreAudit())
                  .code(),
              absl::StatusCode::kFailedPrecondition)
        << k.id;
  }
  EXPECT_EQ(store()
                .CreateRegistration(
                    MakeRegistration("inst", "standard", Crn("si", "b"), "s"), StoreAudit())
                .code(),
            absl::StatusCode::kFailedPrecondition);
  RegistrationQuery q;
  q.instance_id = "inst";
  EXPECT_EQ(ValueOf(store().CountRegistrations(q)), 0);
}

TEST_P(StoreConformanceTest, RegistrationDuplicateCrnIsAlreadyExists) {
  Create(MakeKey("inst", "k1"));
  Create(MakeKey("inst", "k2"));
  Registration r = MakeRegistration("inst", "k1", Crn("si", "b"), "svc-a");
  ASSERT_TRUE(store().CreateRegistration(r, StoreAudit()).ok());
  Registration dup = r;
  dup.service_id = "svc-b";
  dup.description = "changed";
  EXPECT_EQ(store().CreateRegistration(dup, StoreAudit()).code(),
            absl::StatusCode::kAlreadyExists);
  ExpectSameRegistration(
      ValueOf(store().GetRegistration("inst", "k1", Crn("si", "b"))), r);
  // The same resource may be registered with another key.
  EXPECT_TRUE(store()
                  .CreateRegistration(
                      MakeRegistration("inst", "k2", Crn("si", "b"), "svc-a"), StoreAudit())
                  .ok());
}

TEST_P(StoreConformanceTest, MalformedRegistrationsAreInvalidArgument) {
  Create(MakeKey("inst", "k1"));
  const Registration base =
      MakeRegistration("inst", "k1", Crn("si", "b"), "svc-a");
  std::vector<Registration> bad(6, base);
  bad[0].instance_id.clear();
  bad[1].key_id.clear();
  bad[2].resource_crn.clear();
  bad[3].service_id.clear();
  bad[4].revision = 2;  // a new registration starts at revision 1
  bad[5].revision = 0;
  for (const Registration& r : bad) {
    EXPECT_EQ(store().CreateRegistration(r, StoreAudit()).code(),
              absl::StatusCode::kInvalidArgument);
  }
  RegistrationQuery q;
  q.instance_id = "inst";
  EXPECT_EQ(ValueOf(store().CountRegistrations(q)), 0);
  q.limit = -1;
  EXPECT_EQ(store().ListRegistrations(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.limit = 1;
  q.offset = -1;
  EXPECT_EQ(store().ListRegistrations(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  RegistrationQuery no_instance;
  EXPECT_EQ(store().CountRegistrations(no_instance).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, RegistrationUpdateFollowsTheRevision) {
  Create(MakeKey("inst", "k1"));
  Registration r = MakeRegistration("inst", "k1", Crn("si", "b"), "svc-a");
  ASSERT_TRUE(store().CreateRegistration(r, StoreAudit()).ok());
  Registration u = r;
  u.description = "new description";
  u.registration_metadata = "meta-2";
  u.prevent_key_deletion = true;
  u.key_version_id = "v2";
  u.last_update_time = T(40, 4);
  u.updated_by = "serviceid-updater";
  u.revision = 2;
  // Identity and creation fields are not changed by an update.
  Registration sent = u;
  sent.service_id = "svc-other";
  sent.creation_time = T(99);
  sent.created_by = "someone-else";
  EXPECT_EQ(store().UpdateRegistration(sent, 2, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);  // revision must be 3 then
  EXPECT_EQ(store().UpdateRegistration(sent, 1, StoreAudit()).ok(), true);
  ExpectSameRegistration(
      ValueOf(store().GetRegistration("inst", "k1", Crn("si", "b"))), u);
  // A writer that read revision 1 loses.
  EXPECT_EQ(store().UpdateRegistration(sent, 1, StoreAudit()).code(),
            absl::StatusCode::kFailedPrecondition);
  Registration stale = r;
  stale.revision = 2;
  EXPECT_EQ(store().UpdateRegistration(stale, 1, StoreAudit()).code(),
            absl::StatusCode::kFailedPrecondition);
  Registration next = u;
  next.revision = 3;
  next.description = "third";
  ASSERT_TRUE(store().UpdateRegistration(next, 2, StoreAudit()).ok());
  EXPECT_EQ(ValueOf(store().GetRegistration("inst", "k1", Crn("si", "b")))
                .description,
            "third");
  Registration missing = MakeRegistration("inst", "k1", Crn("si", "z"), "s");
  missing.revision = 2;
  EXPECT_EQ(store().UpdateRegistration(missing, 1, StoreAudit()).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RegistrationDelete) {
  Create(MakeKey("inst", "k1"));
  ASSERT_TRUE(store()
                  .CreateRegistration(
                      MakeRegistration("inst", "k1", Crn("si", "b"), "s"), StoreAudit())
                  .ok());
  EXPECT_EQ(store().DeleteRegistration("inst", "k1", Crn("si", "c"), StoreAudit()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteRegistration("inst", "k2", Crn("si", "b"), StoreAudit()).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteRegistration("inst", "k1", Crn("si", "b"), StoreAudit()).ok());
  EXPECT_EQ(
      store().GetRegistration("inst", "k1", Crn("si", "b")).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteRegistration("inst", "k1", Crn("si", "b"), StoreAudit()).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RegistrationOfAKeyDisabledSinceIsRefused) {
  // The key check reads the key in the registration's own transaction, not
  // a copy the caller read earlier.
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key disabled = k;
  disabled.state = KeyState::kSuspended;
  disabled.last_update_time = T(5);
  ASSERT_TRUE(store().UpdateKey(disabled, k.last_update_time).ok());
  EXPECT_EQ(store()
                .CreateRegistration(
                    MakeRegistration("inst", "k1", Crn("si", "b"), "s"), StoreAudit())
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(StoreConformanceTest, ConcurrentRegistrationsOfOneCrnHaveOneWinner) {
  Create(MakeKey("inst", "k1"));
  constexpr int kThreads = 6;
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Registration r = MakeRegistration("inst", "k1", Crn("si", "race"),
                                        absl::StrCat("svc-", i));
      absl::Status s = store().CreateRegistration(r, StoreAudit());
      if (s.ok()) {
        ++ok;
      } else if (s.code() == absl::StatusCode::kAlreadyExists) {
        ++exists;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(RegistrationCount(store(), "k1"), 1);
}

}  // namespace conformance_internal

// Registrations of three keys in two rings plus a decoy instance, to
// filter and page.
class StoreRegistrationListTest : public StoreConformanceTest {
 protected:
  void SetUp() override {
    using conformance_internal::Crn;
    using conformance_internal::MakeRegistration;
    StoreConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (auto [id, ring] :
         {std::pair<const char*, const char*>{"ka", "default"},
          {"kb", "r1"},
          {"kc", "r2"}}) {
      keys::Key k = conformance_internal::MakeKey("inst", id);
      k.key_ring_id = ring;
      Create(k);
    }
    Create(conformance_internal::MakeKey("other", "ka"));
    auto reg = [&](std::string instance, std::string key, std::string crn,
                   std::string service, bool prevent) {
      keys::Registration r =
          MakeRegistration(std::move(instance), std::move(key), std::move(crn),
                           std::move(service));
      r.prevent_key_deletion = prevent;
      ASSERT_TRUE(store().CreateRegistration(r, conformance_internal::StoreAudit()).ok());
    };
    reg("inst", "ka", Crn("si-1", "bucket-b"), "svc-1", true);
    reg("inst", "ka", Crn("si-1", "bucket-a"), "svc-1", false);
    reg("inst", "ka", Crn("si-2", "logs"), "svc-2", false);
    reg("inst", "kb", Crn("si-1", "bucket-a"), "svc-1", false);
    reg("inst", "kb", Crn("si-2", "bucket-z"), "svc-2", true);
    reg("inst", "kc", Crn("si-3", "x"), "svc-3", false);
    reg("other", "ka", Crn("si-1", "bucket-a"), "svc-1", false);
  }

  RegistrationQuery Query() {
    RegistrationQuery q;
    q.instance_id = "inst";
    return q;
  }

  std::vector<std::string> List(const RegistrationQuery& q) {
    absl::StatusOr<std::vector<keys::Registration>> regs =
        store().ListRegistrations(q);
    EXPECT_TRUE(regs.ok()) << regs.status();
    return regs.ok() ? conformance_internal::Crns(*regs)
                     : std::vector<std::string>();
  }

  int64_t CountOf(const RegistrationQuery& q) {
    absl::StatusOr<int64_t> n = store().CountRegistrations(q);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  static keys::CrnPattern Pattern(std::string_view text) {
    absl::StatusOr<keys::CrnPattern> p = keys::CrnPattern::Parse(text, false);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : keys::CrnPattern();
  }
};

namespace conformance_internal {

TEST_P(StoreRegistrationListTest, ListsAnInstanceByKeyThenCrn) {
  EXPECT_THAT(
      List(Query()),
      ElementsAre("ka " + Crn("si-1", "bucket-a"),
                  "ka " + Crn("si-1", "bucket-b"), "ka " + Crn("si-2", "logs"),
                  "kb " + Crn("si-1", "bucket-a"),
                  "kb " + Crn("si-2", "bucket-z"), "kc " + Crn("si-3", "x")));
  EXPECT_EQ(CountOf(Query()), 6);
}

TEST_P(StoreRegistrationListTest, FiltersByKeyServiceAndPreventDeletion) {
  RegistrationQuery q = Query();
  q.key_id = "kb";
  EXPECT_THAT(List(q), ElementsAre("kb " + Crn("si-1", "bucket-a"),
                                   "kb " + Crn("si-2", "bucket-z")));
  q = Query();
  q.service_id = "svc-1";
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-a"),
                                   "ka " + Crn("si-1", "bucket-b"),
                                   "kb " + Crn("si-1", "bucket-a")));
  EXPECT_EQ(CountOf(q), 3);
  q = Query();
  q.prevent_key_deletion = true;
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-b"),
                                   "kb " + Crn("si-2", "bucket-z")));
  q.prevent_key_deletion = false;
  EXPECT_EQ(CountOf(q), 4);
  q = Query();
  q.key_id = "ka";
  q.service_id = "svc-2";
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-2", "logs")));
  q.key_id = "nokey";
  EXPECT_THAT(List(q), IsEmpty());
  q = Query();
  q.instance_id = "other";
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-a")));
}

TEST_P(StoreRegistrationListTest, FiltersByKeyRings) {
  RegistrationQuery q = Query();
  q.key_ring_id = "r1";
  EXPECT_THAT(List(q), ElementsAre("kb " + Crn("si-1", "bucket-a"),
                                   "kb " + Crn("si-2", "bucket-z")));
  EXPECT_EQ(CountOf(q), 2);
  q = Query();
  q.key_ring_ids = {"r2", "default"};
  EXPECT_EQ(CountOf(q), 4);
  q.key_ring_id = "r2";  // both apply
  EXPECT_THAT(List(q), ElementsAre("kc " + Crn("si-3", "x")));
  q = Query();
  q.key_ring_id = "no-such-ring";
  EXPECT_EQ(CountOf(q), 0);
}

TEST_P(StoreRegistrationListTest, FiltersByCrnPattern) {
  RegistrationQuery q = Query();
  q.crn = Pattern(Crn("si-1", "bucket-a"));
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-a"),
                                   "kb " + Crn("si-1", "bucket-a")));
  q.crn = Pattern(Crn("si-1", "bucket-*"));
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-a"),
                                   "ka " + Crn("si-1", "bucket-b"),
                                   "kb " + Crn("si-1", "bucket-a")));
  EXPECT_EQ(CountOf(q), 3);
  q.crn = Pattern("crn:v1:bluemix:public:cos:global:*:si-2:*:*");
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-2", "logs"),
                                   "kb " + Crn("si-2", "bucket-z")));
  q.crn = Pattern("crn:v1:bluemix:public:cos:global:a/acct:si-9:bucket:*");
  EXPECT_THAT(List(q), IsEmpty());
  q.crn = Pattern("*:*:*:*:*:*:*:*:*:b*");
  q.prevent_key_deletion = true;
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-b"),
                                   "kb " + Crn("si-2", "bucket-z")));
}

TEST_P(StoreRegistrationListTest, PagesApplyAfterTheCrnMatch) {
  RegistrationQuery q = Query();
  q.crn = Pattern("*:*:*:*:*:*:*:*:*:bucket-*");
  q.limit = 2;
  EXPECT_THAT(List(q), ElementsAre("ka " + Crn("si-1", "bucket-a"),
                                   "ka " + Crn("si-1", "bucket-b")));
  q.offset = 2;
  EXPECT_THAT(List(q), ElementsAre("kb " + Crn("si-1", "bucket-a"),
                                   "kb " + Crn("si-2", "bucket-z")));
  q.offset = 4;
  EXPECT_THAT(List(q), IsEmpty());
  EXPECT_EQ(CountOf(q), 4);  // ignores limit and offset
  q.limit = 0;
  q.offset = 0;
  EXPECT_THAT(List(q), IsEmpty());
}

// --- Lifecycle events (keyprotect-api.md §12)
// ----------------------------------

// Makes one event per service (svc-a, svc-b) for key "inst"/`id` at `at`.
inline std::vector<KeyEvent> MakeEvents(Store& store, const std::string& id,
                                        KeyEventType type, absl::Time at) {
  absl::StatusOr<Key> k = store.GetKey("inst", id);
  EXPECT_TRUE(k.ok()) << k.status();
  if (!k.ok()) return {};
  Key u = *k;
  u.last_update_time = at;
  EXPECT_TRUE(
      store.UpdateKey(u, k->last_update_time, WithEvent(type, at)).ok());
  std::vector<KeyEvent> events;
  for (KeyEvent& e : AllDueEvents(store)) {
    if (e.key_id == id && e.time == at) events.push_back(std::move(e));
  }
  return events;
}

TEST_P(StoreConformanceTest, DueEventsAreOldestFirstAndBounded) {
  CreateRegisteredKey(store(), "k1");
  EXPECT_EQ(ValueOf(store().NextEventDue()), std::nullopt);
  std::vector<KeyEvent> late =
      MakeEvents(store(), "k1", KeyEventType::kRotate, T(200));
  std::vector<KeyEvent> early =
      MakeEvents(store(), "k1", KeyEventType::kDisable, T(100));
  ASSERT_EQ(late.size(), 2u);
  ASSERT_EQ(early.size(), 2u);
  EXPECT_EQ(ValueOf(store().NextEventDue()), T(100));
  std::vector<KeyEvent> due = ValueOf(store().ListDueEvents(T(150), 100));
  ASSERT_EQ(due.size(), 2u);
  for (const KeyEvent& e : due) EXPECT_EQ(e.type, KeyEventType::kDisable);
  due = ValueOf(store().ListDueEvents(T(200), 100));
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(due[0].next_attempt_time, T(100));
  EXPECT_EQ(due[1].next_attempt_time, T(100));
  EXPECT_EQ(due[2].next_attempt_time, T(200));
  EXPECT_EQ(due[3].next_attempt_time, T(200));
  EXPECT_EQ(ValueOf(store().ListDueEvents(T(200), 3)).size(), 3u);
  EXPECT_THAT(ValueOf(store().ListDueEvents(T(99), 100)), IsEmpty());
  EXPECT_EQ(store().ListDueEvents(T(200), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().GetEvent("no-such-event").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RecordEventAttemptKeepsDeliveryBookkeeping) {
  CreateRegisteredKey(store(), "k1");
  std::vector<KeyEvent> events =
      MakeEvents(store(), "k1", KeyEventType::kRotate, T(100));
  ASSERT_EQ(events.size(), 2u);
  const std::string id = events[0].id;
  ASSERT_TRUE(
      store().RecordEventAttempt(id, T(101), false, T(161), "HTTP 503").ok());
  KeyEvent e = ValueOf(store().GetEvent(id));
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.last_attempt_time, T(101));
  EXPECT_EQ(e.next_attempt_time, T(161));
  EXPECT_EQ(e.last_error, "HTTP 503");
  EXPECT_FALSE(e.delivered_time.has_value());
  // A retry moves it out of the due list until its next attempt.
  std::vector<KeyEvent> due = ValueOf(store().ListDueEvents(T(150), 100));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, events[1].id);
  EXPECT_EQ(ValueOf(store().NextEventDue()), T(100));

  ASSERT_TRUE(
      store().RecordEventAttempt(id, T(161, 5), true, T(3761), "").ok());
  ASSERT_TRUE(
      store().RecordEventAttempt(id, T(3761), true, T(7361), "again").ok());
  e = ValueOf(store().GetEvent(id));
  EXPECT_EQ(e.attempts, 3);
  EXPECT_EQ(e.delivered_time, T(161, 5));  // the first 2xx only
  EXPECT_EQ(e.last_attempt_time, T(3761));
  EXPECT_EQ(e.next_attempt_time, T(7361));
  EXPECT_EQ(e.last_error, "again");
  EXPECT_FALSE(e.acknowledged_time.has_value());
  EXPECT_EQ(store().RecordEventAttempt("nope", T(1), true, T(2), "").code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AcknowledgeEventIsForItsRecipientOnly) {
  CreateRegisteredKey(store(), "k1");
  std::vector<KeyEvent> events =
      MakeEvents(store(), "k1", KeyEventType::kRotate, T(100));
  ASSERT_EQ(events.size(), 2u);
  const KeyEvent& for_a = events[0];
  ASSERT_EQ(for_a.service_id, "svc-a");
  EventAck ack;
  ack.event_id = for_a.id;
  ack.service_id = "svc-b";
  ack.adopter_key_state = "DEK_ENABLED";
  EXPECT_EQ(store().AcknowledgeEvent(ack, T(110)).status().code(),
            absl::StatusCode::kNotFound);
  ack.event_id = "no-such-event";
  ack.service_id = "svc-a";
  EXPECT_EQ(store().AcknowledgeEvent(ack, T(110)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(
      ValueOf(store().GetEvent(for_a.id)).acknowledged_time.has_value());
  EventAck no_service;
  no_service.event_id = for_a.id;
  EXPECT_EQ(store().AcknowledgeEvent(no_service, T(110)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, AcknowledgeEventRewrapsTheServicesRegistrations) {
  CreateRegisteredKey(store(), "k1");
  CreateRegisteredKey(store(), "k2");  // same services, another key
  std::vector<KeyEvent> events =
      MakeEvents(store(), "k1", KeyEventType::kRotate, T(100));
  ASSERT_EQ(events.size(), 2u);
  EventAck ack;
  ack.event_id = events[0].id;
  ack.service_id = "svc-a";
  ack.adopter_key_state = "DEK_ENABLED";
  ack.time = T(105);
  ack.rewrapped_key_version_id = "v-new";
  KeyEvent acked = ValueOf(store().AcknowledgeEvent(ack, T(110, 3)));
  EXPECT_EQ(acked.id, events[0].id);
  EXPECT_EQ(acked.acknowledged_time, T(110, 3));
  EXPECT_EQ(acked.adopter_key_state, "DEK_ENABLED");
  EXPECT_EQ(acked.resource_crns, events[0].resource_crns);
  KeyEvent stored = ValueOf(store().GetEvent(events[0].id));
  EXPECT_EQ(stored.acknowledged_time, T(110, 3));
  EXPECT_EQ(stored.adopter_key_state, "DEK_ENABLED");
  for (const char* r : {"r1", "r2"}) {
    Registration reg =
        ValueOf(store().GetRegistration("inst", "k1", Crn("si", r)));
    EXPECT_EQ(reg.key_version_id, "v-new") << r;
    EXPECT_EQ(reg.revision, 2) << r;
  }
  // Another service's registrations, and the service's on other keys, keep
  // theirs.
  Registration b =
      ValueOf(store().GetRegistration("inst", "k1", Crn("si", "r3")));
  EXPECT_EQ(b.key_version_id, "k1");
  EXPECT_EQ(b.revision, 1);
  Registration other_key =
      ValueOf(store().GetRegistration("inst", "k2", Crn("si", "r1")));
  EXPECT_EQ(other_key.key_version_id, "k2");
  EXPECT_EQ(other_key.revision, 1);
  // Acknowledged events are no longer due.
  std::vector<KeyEvent> due = ValueOf(store().ListDueEvents(T(500), 100));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, events[1].id);
  // A second acknowledgement is OK and changes nothing.
  EventAck again = ack;
  again.adopter_key_state = "DEK_DISABLED";
  again.rewrapped_key_version_id = "v-other";
  again.delete_registrations = true;
  KeyEvent twice = ValueOf(store().AcknowledgeEvent(again, T(120)));
  EXPECT_EQ(twice.acknowledged_time, T(110, 3));
  EXPECT_EQ(twice.adopter_key_state, "DEK_ENABLED");
  EXPECT_EQ(RegistrationCount(store(), "k1"), 3);
  EXPECT_EQ(ValueOf(store().GetRegistration("inst", "k1", Crn("si", "r1")))
                .key_version_id,
            "v-new");
  // So does an attempt recorded after the acknowledgement.
  ASSERT_TRUE(
      store().RecordEventAttempt(events[0].id, T(130), true, T(190), "x").ok());
  KeyEvent after = ValueOf(store().GetEvent(events[0].id));
  EXPECT_EQ(after.attempts, 0);
  EXPECT_EQ(after.last_error, "");
}

TEST_P(StoreConformanceTest,
       AcknowledgeEventCanDeleteTheServicesRegistrations) {
  CreateRegisteredKey(store(), "k1");
  std::vector<KeyEvent> events =
      MakeEvents(store(), "k1", KeyEventType::kDelete, T(100));
  ASSERT_EQ(events.size(), 2u);
  EventAck ack;
  ack.event_id = events[0].id;
  ack.service_id = "svc-a";
  ack.adopter_key_state = "DEK_DESTROYED";
  ack.delete_registrations = true;
  ASSERT_TRUE(store().AcknowledgeEvent(ack, T(110)).ok());
  RegistrationQuery q;
  q.instance_id = "inst";
  q.key_id = "k1";
  EXPECT_THAT(Crns(ValueOf(store().ListRegistrations(q))),
              ElementsAre("k1 " + Crn("si", "r3")));
}

// --- Background-job leases
// -------------------------------------------------------

TEST_P(StoreConformanceTest, LeaseIsHeldUntilItExpires) {
  const absl::Duration ttl = absl::Seconds(30);
  EXPECT_TRUE(
      ValueOf(store().TryAcquireLease("rotation", "node-a", T(0), ttl)));
  EXPECT_FALSE(
      ValueOf(store().TryAcquireLease("rotation", "node-b", T(10), ttl)));
  // Leases are independent by name.
  EXPECT_TRUE(ValueOf(store().TryAcquireLease("purge", "node-b", T(10), ttl)));
  // The holder renews: now held until T(50).
  EXPECT_TRUE(
      ValueOf(store().TryAcquireLease("rotation", "node-a", T(20), ttl)));
  EXPECT_FALSE(ValueOf(store().TryAcquireLease(
      "rotation", "node-b", T(50) - absl::Microseconds(1), ttl)));
  // Expired at exactly its expiry time: anyone may take it.
  EXPECT_TRUE(
      ValueOf(store().TryAcquireLease("rotation", "node-b", T(50), ttl)));
  EXPECT_FALSE(
      ValueOf(store().TryAcquireLease("rotation", "node-a", T(60), ttl)));
}

TEST_P(StoreConformanceTest, ReleasedLeaseIsFreeAtOnce) {
  const absl::Duration ttl = absl::Seconds(30);
  EXPECT_TRUE(ValueOf(store().TryAcquireLease("jobs", "node-a", T(0), ttl)));
  // Only the holder gives it up.
  ASSERT_TRUE(store().ReleaseLease("jobs", "node-b").ok());
  EXPECT_FALSE(ValueOf(store().TryAcquireLease("jobs", "node-b", T(1), ttl)));
  ASSERT_TRUE(store().ReleaseLease("jobs", "node-a").ok());
  EXPECT_TRUE(ValueOf(store().TryAcquireLease("jobs", "node-b", T(1), ttl)));
  EXPECT_TRUE(store().ReleaseLease("never-held", "node-a").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(store().ReleaseLease("", "node-a")));
}

TEST_P(StoreConformanceTest, MalformedLeasesAreInvalidArgument) {
  EXPECT_EQ(
      store().TryAcquireLease("", "n", T(0), absl::Seconds(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store().TryAcquireLease("l", "", T(0), absl::Seconds(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store()
                .TryAcquireLease("l", "n", T(0), absl::ZeroDuration())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ConcurrentLeaseAcquisitionHasOneWinner) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = absl::StrCat("job-", round);
    std::atomic<int> winners{0}, errors{0};
    std::vector<std::thread> threads;
    for (const char* holder : {"node-a", "node-b"}) {
      threads.emplace_back([&, holder] {
        absl::StatusOr<bool> held =
            store().TryAcquireLease(name, holder, T(0), absl::Seconds(30));
        if (!held.ok()) {
          ++errors;
        } else if (*held) {
          ++winners;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << name;
    EXPECT_EQ(errors.load(), 0) << name;
  }
}

}  // namespace conformance_internal

// --- Search and date filters (keyprotect-api.md §3.3)
// ---------------------------

// Keys whose names, aliases and dates sit on every boundary the `search`
// and `filter` semantics have: ASCII and non-ASCII case, LIKE
// metacharacters, a NUL byte, modifiers inside values, dates just before,
// at and just after whole seconds, fractions, and times before 1970 (where
// truncating division and flooring differ).
class StoreSearchTest : public StoreConformanceTest {
 protected:
  static constexpr int64_t kBase = 1767225600;  // 2026-01-01T00:00:00Z

  static absl::Time At(int64_t seconds, int64_t micros = 0) {
    return absl::FromUnixMicros(seconds * 1'000'000 + micros);
  }

  void SetUp() override {
    StoreConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    struct Spec {
      std::string id;
      std::string name;
      std::vector<std::string> aliases;
      absl::Time created;
      absl::Time updated;
      std::optional<absl::Time> deleted, expires, rotated;
      keys::KeyState state;
      std::string ring;
    };
    using S = keys::KeyState;
    const std::optional<absl::Time> none;
    const Spec specs[] = {
        {"s1",
         "Payroll-Key",
         {"pay-2024"},
         At(kBase, -1),
         At(0),
         At(kBase, 500000),
         none,
         At(-1),
         S::kDestroyed,
         "default"},
        {"s2",
         "payments",
         {},
         At(kBase),
         At(-1, -1),
         none,
         At(kBase + 1),
         none,
         S::kActive,
         "r1"},
        {"s3",
         "PAY",
         {"Exact", "pay"},
         At(kBase, 999999),
         At(kBase),
         none,
         At(kBase, 500000),
         At(kBase, 999999),
         S::kActive,
         "default"},
        {"s4",
         "\xC3\xBC"
         "ber-PAY-\xC3\x84rger",
         {"\xC3\x9C"
          "BER"},
         At(kBase + 1),
         At(kBase, 300000),
         At(kBase),
         none,
         At(0),
         S::kSuspended,
         "r1"},
        {"s5",
         "",
         {"payroll-alias", "x"},
         At(kBase, 300000),
         At(kBase + 1),
         none,
         At(-1, -1),
         none,
         S::kActive,
         "default"},
        {"s6",
         "db:prod",
         {"not:escaped"},
         At(0, -500000),
         At(kBase, -1),
         At(0, -500000),
         none,
         At(kBase),
         S::kDeactivated,
         "r1"},
        {"s7",
         "other",
         {},
         At(-1),
         At(kBase, 999999),
         none,
         At(0),
         none,
         S::kPreActivation,
         "default"},
        {"s8",
         "Mixed%_Case",
         {"under_score", "%"},
         At(-1, -1),
         At(-1),
         At(-1, -1),
         At(kBase, 700000),
         At(kBase, -1),
         S::kActive,
         "r2"},
        {"s9",
         std::string("nul\0Pay", 7),
         {"ZZZ"},
         At(0),
         At(kBase + 1, 1),
         none,
         none,
         At(kBase + 1),
         S::kDestroyed,
         "default"},
    };
    for (const Spec& s : specs) {
      keys::Key k = conformance_internal::MakeKey("inst", s.id);
      k.name = s.name;
      k.aliases = s.aliases;
      k.creation_time = s.created;
      k.last_update_time = s.updated;
      k.deletion_time = s.deleted;
      k.expiration_time = s.expires;
      k.last_rotate_time = s.rotated;
      k.state = s.state;
      k.key_ring_id = s.ring;
      Create(k);
      stored_.push_back(Get("inst", s.id));
    }
    // Same names in another instance: never listed.
    keys::Key decoy = conformance_internal::MakeKey("other", "s3");
    decoy.name = "PAY";
    Create(decoy);
  }

  // What the reference predicates of keys/search.h select, in id order.
  std::vector<std::string> Expected(const KeyQuery& q) const {
    std::vector<std::string> ids;
    for (const keys::Key& k : stored_) {
      if (!q.states.empty() && std::find(q.states.begin(), q.states.end(),
                                         k.state) == q.states.end()) {
        continue;
      }
      if (q.key_ring_id.has_value() && k.key_ring_id != *q.key_ring_id) {
        continue;
      }
      if (!keys::ClausesMatch(q.time_clauses, k)) continue;
      if (q.search.has_value() && !keys::SearchMatches(*q.search, k)) continue;
      ids.push_back(k.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  void ExpectAgrees(KeyQuery q, const std::string& what) {
    q.instance_id = "inst";
    q.limit = 1000;
    const std::vector<std::string> expected = Expected(q);
    EXPECT_THAT(ListIds(q), ::testing::ElementsAreArray(expected)) << what;
    EXPECT_EQ(Count(q), static_cast<int64_t>(expected.size())) << what;
  }

  static keys::KeySearch Search(std::string_view text) {
    absl::StatusOr<keys::KeySearch> s = keys::ParseSearch(text);
    EXPECT_TRUE(s.ok()) << text << ": " << s.status();
    return s.ok() ? *s : keys::KeySearch();
  }

  static std::vector<keys::TimeClause> Filter(std::string_view text) {
    absl::StatusOr<keys::KeyFilter> f = keys::ParseFilter(text);
    EXPECT_TRUE(f.ok()) << text << ": " << f.status();
    return f.ok() ? f->time_clauses : std::vector<keys::TimeClause>();
  }

  KeyQuery WithSearch(std::string_view text) {
    KeyQuery q;
    q.instance_id = "inst";
    q.search = Search(text);
    return q;
  }

  std::vector<keys::Key> stored_;
};

namespace conformance_internal {

const char* const kSearches[] = {
    "pay",
    "PAY",
    "Pay",
    "exact:pay",
    "exact:PAY",
    "not:pay",
    "not:exact:pay",
    "name:pay",
    "alias:pay",
    "alias:name:pay",
    "exact:alias:pay",
    "not:alias:pay",
    "\xC3\xBC"
    "ber",
    "\xC3\x9C"
    "BER",
    "\xC3\x9C"
    "ber",
    "ber",
    "escape:not:",
    "escape:not:escaped",
    "db:prod",
    "%",
    "_",
    "exact:%",
    "under_score",
    "a",
    "nul",
    "exact:",
    "x",
    "exact:x",
    "not:exact:name:x",
    "Key,",
    "zzz",
    "o",
    // A fragment of a UTF-8 sequence: matched byte for byte, not by
    // characters.
    "\xBC"
    "ber",
};

TEST_P(StoreSearchTest, SearchAgreesWithTheReferencePredicate) {
  for (const char* text : kSearches) {
    absl::StatusOr<keys::KeySearch> s = keys::ParseSearch(text);
    if (!s.ok()) continue;  // e.g. "exact:" (no term): nothing to store
    KeyQuery q;
    q.search = *s;
    ExpectAgrees(q, text);
  }
}

TEST_P(StoreSearchTest, SearchSpotChecksWrittenOut) {
  // Hand-written, so that a wrong reference cannot hide a wrong store.
  EXPECT_THAT(ListIds(WithSearch("pay")),
              ElementsAre("s1", "s2", "s3", "s4", "s5", "s9"));
  EXPECT_THAT(ListIds(WithSearch("exact:pay")), ElementsAre("s3"));
  EXPECT_THAT(ListIds(WithSearch("name:pay")),
              ElementsAre("s1", "s2", "s3", "s4", "s9"));
  EXPECT_THAT(ListIds(WithSearch("alias:pay")), ElementsAre("s1", "s3", "s5"));
  EXPECT_THAT(ListIds(WithSearch("not:pay")), ElementsAre("s6", "s7", "s8"));
  // ASCII-only folding: "ü" does not match "Ü".
  EXPECT_THAT(ListIds(WithSearch("\xC3\xBC"
                                 "ber")),
              ElementsAre("s4"));
  EXPECT_THAT(ListIds(WithSearch("\xC3\x9C"
                                 "ber")),
              ElementsAre("s4"));
  // No LIKE semantics: '%' and '_' are literal.
  EXPECT_THAT(ListIds(WithSearch("%")), ElementsAre("s8"));
  EXPECT_THAT(ListIds(WithSearch("exact:%")), ElementsAre("s8"));
  EXPECT_THAT(ListIds(WithSearch("_")), ElementsAre("s8"));
  EXPECT_THAT(ListIds(WithSearch("escape:not:")), ElementsAre("s6"));
  EXPECT_EQ(Count(WithSearch("pay")), 6);
}

// Every field × operator × a value on each boundary, one clause at a time.
TEST_P(StoreSearchTest, DateClausesAgreeWithTheReferencePredicate) {
  const absl::Time values[] = {
      At(kBase),
      At(kBase, 500000),
      At(kBase, -1),
      At(kBase + 1),
      At(0),
      At(-1),
      At(0, -500000),
      At(-1, -1),
      At(kBase, 999999),
      absl::InfiniteFuture(),
      absl::InfinitePast(),
  };
  for (DateField field :
       {DateField::kCreationDate, DateField::kDeletionDate,
        DateField::kExpirationDate, DateField::kLastRotateDate,
        DateField::kLastUpdateDate}) {
    KeyQuery none;
    none.time_clauses = {TimeClause{field, CompareOp::kEq, std::nullopt}};
    ExpectAgrees(none,
                 absl::StrCat("field ", static_cast<int>(field), " none"));
    for (CompareOp op : {CompareOp::kEq, CompareOp::kLt, CompareOp::kLte,
                         CompareOp::kGt, CompareOp::kGte}) {
      for (absl::Time v : values) {
        KeyQuery q;
        q.time_clauses = {TimeClause{field, op, v}};
        ExpectAgrees(q, absl::StrCat("field ", static_cast<int>(field), " op ",
                                     static_cast<int>(op), " value ",
                                     absl::FormatTime(v)));
      }
    }
  }
}

TEST_P(StoreSearchTest, DateSpotChecksWrittenOut) {
  KeyQuery q;
  q.instance_id = "inst";
  // Created in the second kBase: s2 (at it), s3 (.999999), s5 (.3).
  q.time_clauses = Filter("creationDate=\"2026-01-01T00:00:00Z\"");
  EXPECT_THAT(ListIds(q), ElementsAre("s2", "s3", "s5"));
  // A fractional value never equals a whole second.
  q.time_clauses = Filter("creationDate=\"2026-01-01T00:00:00.5Z\"");
  EXPECT_THAT(ListIds(q), IsEmpty());
  // Before 1970: -0.5 s and -1 s lie in the second -1; -1 s - 1 µs in -2.
  q.time_clauses = Filter("creationDate=\"1969-12-31T23:59:59Z\"");
  EXPECT_THAT(ListIds(q), ElementsAre("s6", "s7"));
  q.time_clauses = Filter("creationDate=lt:\"1969-12-31T23:59:59Z\"");
  EXPECT_THAT(ListIds(q), ElementsAre("s8"));
  q.time_clauses = Filter("deletionDate=none");
  EXPECT_THAT(ListIds(q), ElementsAre("s2", "s3", "s5", "s7", "s9"));
  q.time_clauses = Filter(
      "lastRotateDate=gte:\"2026-01-01T00:00:00Z\" "
      "lastRotateDate=lt:\"2026-01-01T00:00:01Z\"");
  EXPECT_THAT(ListIds(q), ElementsAre("s3", "s6"));
}

TEST_P(StoreSearchTest, SearchFiltersAndOtherConditionsCombine) {
  const std::vector<std::vector<TimeClause>> clause_sets = {
      {},
      Filter("deletionDate=none"),
      Filter("creationDate=gte:\"2026-01-01T00:00:00Z\" "
             "expirationDate=lt:\"2026-01-01T00:00:01Z\""),
      Filter("lastUpdateDate=gt:\"1969-12-31T23:59:59Z\" "
             "lastUpdateDate=lte:\"2026-01-01T00:00:00.999Z\" "
             "lastRotateDate=none"),
      Filter("expirationDate=gte:\"1969-12-31T23:59:59.5Z\""),
  };
  for (const char* text : {"pay", "not:pay", "alias:x", "exact:PAY", "a"}) {
    for (size_t c = 0; c < clause_sets.size(); ++c) {
      for (int variant = 0; variant < 3; ++variant) {
        KeyQuery q;
        q.search = Search(text);
        q.time_clauses = clause_sets[c];
        if (variant == 1) q.states = {KeyState::kActive, KeyState::kDestroyed};
        if (variant == 2) q.key_ring_id = "default";
        ExpectAgrees(q,
                     absl::StrCat(text, " clauses ", c, " variant ", variant));
      }
    }
  }
}

TEST_P(StoreSearchTest, SearchResultsPageAndSortLikeAnyList) {
  KeyQuery q = WithSearch("pay");
  q.sort = {{SortField::kCreationDate, true}};
  const std::vector<std::string> full = ListIds(q);
  EXPECT_THAT(full, ElementsAre("s4", "s3", "s5", "s2", "s1", "s9"));
  std::vector<std::string> joined;
  for (int64_t offset = 0; offset < 8; offset += 4) {
    KeyQuery page = q;
    page.limit = 4;
    page.offset = offset;
    std::vector<std::string> ids = ListIds(page);
    joined.insert(joined.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(joined, full);
}

TEST_P(StoreSearchTest, MalformedSearchesAndClausesAreInvalidArgument) {
  KeyQuery q;
  q.instance_id = "inst";
  q.search = keys::KeySearch();  // no term
  EXPECT_EQ(store().ListKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.search = Search("pay");
  q.search->in_name = false;
  q.search->in_aliases = false;
  EXPECT_EQ(store().CountKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.search.reset();
  q.time_clauses = {
      TimeClause{DateField::kCreationDate, CompareOp::kLt, std::nullopt}};
  EXPECT_EQ(store().ListKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.time_clauses = {
      TimeClause{static_cast<DateField>(9), CompareOp::kLt, At(0)}};
  EXPECT_EQ(store().CountKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.time_clauses = {
      TimeClause{DateField::kCreationDate, static_cast<CompareOp>(9), At(0)}};
  EXPECT_EQ(store().ListKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace conformance_internal
}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_STORE_LIFECYCLE_CONFORMANCE_TEST_H_
