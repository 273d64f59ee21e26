#ifndef KEYWARDEN_STORE_IDENTITY_STORE_CONFORMANCE_TEST_H_
#define KEYWARDEN_STORE_IDENTITY_STORE_CONFORMANCE_TEST_H_

// The IdentityStore conformance suite: every method and every rule of
// identity_store.h, run against every implementation. An implementation's
// test file includes this header once and instantiates the suite:
//
//   namespace keywarden::store {
//   KW_INSTANTIATE_IDENTITY_STORE_CONFORMANCE(
//       Sqlite, (IdentityStoreFactory{"Sqlite", [](const std::string& dir)
//           -> absl::StatusOr<IdentityStoreUnderTest> {
//         return BothInterfaces(SqliteStore::Open(dir + "/kw.db"));
//       }}));
//   }
//
// The object under test is one store serving both interfaces: the key
// Store is needed for the rule that an instance holding keys cannot be
// deleted. The suite uses only the two interfaces.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/iam/identity.h"
#include "keywarden/keys/key.h"
#include "keywarden/keys/policy.h"
#include "keywarden/store/audit_chain.h"
#include "keywarden/store/identity_store.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

// One store object seen through both interfaces; `owner` keeps it alive.
struct IdentityStoreUnderTest {
  std::shared_ptr<void> owner;
  Store* keys = nullptr;
  IdentityStore* identity = nullptr;
};

template <typename T>
absl::StatusOr<IdentityStoreUnderTest> BothInterfaces(
    absl::StatusOr<std::unique_ptr<T>> store) {
  if (!store.ok()) return store.status();
  std::shared_ptr<T> shared = *std::move(store);
  IdentityStoreUnderTest out;
  out.keys = shared.get();
  out.identity = shared.get();
  out.owner = std::move(shared);
  return out;
}

struct IdentityStoreFactory {
  std::string name;
  // Creates a fresh, empty store. `scratch_dir` is a new empty directory
  // that exists until the test ends (after the store is destroyed).
  std::function<absl::StatusOr<IdentityStoreUnderTest>(
      const std::string& scratch_dir)>
      create;
  // When set and it returns a non-empty reason, every test skips with it
  // (a backend whose server is not available here, e.g. PostgreSQL).
  std::function<std::string()> skip_reason;
};

#define KW_INSTANTIATE_IDENTITY_STORE_CONFORMANCE(prefix, factory) \
  INSTANTIATE_TEST_SUITE_P(prefix, IdentityStoreConformanceTest,   \
                           ::testing::Values(factory),             \
                           IdentityStoreFactoryName)

inline void PrintTo(const IdentityStoreFactory& factory, std::ostream* os) {
  *os << factory.name;
}

inline std::string IdentityStoreFactoryName(
    const ::testing::TestParamInfo<IdentityStoreFactory>& info) {
  return info.param.name;
}

namespace identity_conformance_internal {

using iam::AccessPolicyRecord;
using iam::ApiKeyRecord;
using iam::AuditOutcome;
using iam::AuditRecord;
using iam::InstanceRecord;
using iam::PrincipalKind;
using iam::PrincipalRecord;
using iam::Role;
using iam::ServiceAuthorizationRecord;
using iam::SigningKeyRecord;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A microsecond-aligned instant: stores keep microseconds.
inline absl::Time T(int64_t seconds, int64_t micros = 0) {
  return absl::FromUnixMicros(1767225600'000000 + seconds * 1'000'000 + micros);
}

inline AuditRecord Audit(std::string action, std::string target = "") {
  AuditRecord a;
  a.time = T(100);
  a.actor = "user-admin";
  a.action = std::move(action);
  a.target = std::move(target);
  a.correlation_id = "corr-1";
  a.source_address = "127.0.0.1";
  return a;
}

inline PrincipalRecord User(std::string id) {
  PrincipalRecord p;
  p.id = std::move(id);
  p.kind = PrincipalKind::kUser;
  p.name = "name of " + p.id;
  p.creation_time = T(1);
  p.created_by = "user-admin";
  return p;
}

inline PrincipalRecord ServiceId(std::string id, std::string type) {
  PrincipalRecord p = User(std::move(id));
  p.kind = PrincipalKind::kServiceId;
  p.service_type = std::move(type);
  return p;
}

inline ApiKeyRecord ApiKey(std::string id, std::string principal,
                           std::string prefix) {
  ApiKeyRecord k;
  k.id = std::move(id);
  k.principal_id = std::move(principal);
  k.name = "key " + k.id;
  k.prefix = std::move(prefix);
  for (size_t i = 0; i < k.secret_hash.size(); ++i) {
    k.secret_hash[i] = static_cast<uint8_t>(255 - i * 7);
  }
  k.creation_time = T(2, 5);
  k.created_by = "user-admin";
  return k;
}

inline InstanceRecord Instance(std::string id) {
  InstanceRecord i;
  i.id = std::move(id);
  i.name = "instance " + i.id;
  i.creation_time = T(3, 7);
  i.created_by = "user-admin";
  return i;
}

inline AccessPolicyRecord Policy(std::string id, std::string principal,
                                 std::string instance,
                                 std::vector<Role> roles = {Role::kReader}) {
  AccessPolicyRecord p;
  p.id = std::move(id);
  p.principal_id = std::move(principal);
  p.scope.instance_id = std::move(instance);
  p.roles = std::move(roles);
  p.creation_time = T(4, 9);
  p.created_by = "user-admin";
  return p;
}

inline ServiceAuthorizationRecord AuthBySource(std::string id,
                                               std::string source,
                                               std::string instance) {
  ServiceAuthorizationRecord a;
  a.id = std::move(id);
  a.source_service_id = std::move(source);
  a.target.instance_id = std::move(instance);
  a.role = Role::kReader;
  a.creation_time = T(5, 11);
  a.created_by = "user-admin";
  return a;
}

inline ServiceAuthorizationRecord AuthByType(std::string id, std::string type,
                                             std::string instance) {
  ServiceAuthorizationRecord a = AuthBySource(std::move(id), "", instance);
  a.source_service_type = std::move(type);
  return a;
}

inline SigningKeyRecord SigningKey(std::string kid) {
  SigningKeyRecord k;
  k.kid = std::move(kid);
  k.algorithm = "ES256";
  k.sealed_private_key = {0, 1, 2, 3, 0, 255};
  k.master_key_id = "mk-1";
  k.public_key_der = {0x30, 0x59, 0x00, 0x13};
  k.creation_time = T(6, 13);
  k.retire_time = T(86400, 17);
  return k;
}

inline iam::WebhookRecord Webhook(std::string principal, std::string url) {
  iam::WebhookRecord w;
  w.principal_id = std::move(principal);
  w.url = std::move(url);
  w.master_key_id = "mk-1";
  w.sealed_secret = {5, 0, 4, 0, 3};
  w.creation_time = T(7, 19);
  w.created_by = "user-admin";
  return w;
}

inline void ExpectSame(const iam::WebhookRecord& a,
                       const iam::WebhookRecord& e) {
  EXPECT_EQ(a.principal_id, e.principal_id);
  EXPECT_EQ(a.url, e.url);
  EXPECT_EQ(a.master_key_id, e.master_key_id);
  EXPECT_EQ(a.sealed_secret, e.sealed_secret);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline keys::Key MakeKey(std::string instance, std::string id) {
  keys::Key k;
  k.instance_id = std::move(instance);
  k.id = id;
  k.name = "key-" + id;
  k.creation_time = T(0);
  k.created_by = "user-admin";
  k.last_update_time = T(0);
  k.last_state_change_time = T(0);
  keys::KeyVersion v;
  v.id = id;
  v.creation_time = T(0);
  v.master_key_id = "mk-1";
  v.sealed_material = {1, 2, 3};
  k.versions.push_back(std::move(v));
  return k;
}

inline void ExpectSame(const PrincipalRecord& a, const PrincipalRecord& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.kind, e.kind);
  EXPECT_EQ(a.name, e.name);
  EXPECT_EQ(a.service_type, e.service_type);
  EXPECT_EQ(a.admin, e.admin);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline void ExpectSame(const ApiKeyRecord& a, const ApiKeyRecord& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.principal_id, e.principal_id);
  EXPECT_EQ(a.name, e.name);
  EXPECT_EQ(a.prefix, e.prefix);
  EXPECT_EQ(a.secret_hash, e.secret_hash);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline void ExpectSame(const InstanceRecord& a, const InstanceRecord& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.name, e.name);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline void ExpectSame(const iam::Scope& a, const iam::Scope& e) {
  EXPECT_EQ(a.instance_id, e.instance_id);
  EXPECT_EQ(a.key_ring_id, e.key_ring_id);
  EXPECT_EQ(a.key_id, e.key_id);
}

inline void ExpectSame(const AccessPolicyRecord& a,
                       const AccessPolicyRecord& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.principal_id, e.principal_id);
  ExpectSame(a.scope, e.scope);
  EXPECT_EQ(a.roles, e.roles);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline void ExpectSame(const ServiceAuthorizationRecord& a,
                       const ServiceAuthorizationRecord& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.source_service_id, e.source_service_id);
  EXPECT_EQ(a.source_service_type, e.source_service_type);
  ExpectSame(a.target, e.target);
  EXPECT_EQ(a.role, e.role);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
}

inline void ExpectSame(const SigningKeyRecord& a, const SigningKeyRecord& e) {
  EXPECT_EQ(a.kid, e.kid);
  EXPECT_EQ(a.algorithm, e.algorithm);
  EXPECT_EQ(a.sealed_private_key, e.sealed_private_key);
  EXPECT_EQ(a.master_key_id, e.master_key_id);
  EXPECT_EQ(a.public_key_der, e.public_key_der);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.retire_time, e.retire_time);
}

// The caller's fields of an audit record (not seq or hashes).
inline void ExpectSameEvent(const AuditRecord& a, const AuditRecord& e) {
  EXPECT_EQ(a.time, e.time);
  EXPECT_EQ(a.actor, e.actor);
  EXPECT_EQ(a.action, e.action);
  EXPECT_EQ(a.target, e.target);
  EXPECT_EQ(a.outcome, e.outcome);
  EXPECT_EQ(a.correlation_id, e.correlation_id);
  EXPECT_EQ(a.source_address, e.source_address);
  EXPECT_EQ(a.details, e.details);
}

template <typename Record>
std::vector<std::string> Ids(const std::vector<Record>& records) {
  std::vector<std::string> ids;
  for (const Record& r : records) ids.push_back(r.id);
  return ids;
}

}  // namespace identity_conformance_internal

class IdentityStoreConformanceTest
    : public ::testing::TestWithParam<IdentityStoreFactory> {
 protected:
  void SetUp() override {
    if (GetParam().skip_reason) {
      const std::string reason = GetParam().skip_reason();
      if (!reason.empty()) GTEST_SKIP() << reason;
    }
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kw-idstore-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    absl::StatusOr<IdentityStoreUnderTest> s = GetParam().create(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    under_test_ = *std::move(s);
  }
  void TearDown() override {
    under_test_ = IdentityStoreUnderTest();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  IdentityStore& ids() { return *under_test_.identity; }
  Store& keys() { return *under_test_.keys; }

  std::vector<iam::AuditRecord> AllAudit() {
    absl::StatusOr<std::vector<iam::AuditRecord>> log =
        ids().ListAudit(0, 1'000'000);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *log : std::vector<iam::AuditRecord>();
  }
  size_t AuditCount() { return AllAudit().size(); }

  template <typename T>
  T Value(absl::StatusOr<T> v) {
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : T();
  }

  // Principals "user-a" and service id "serviceid-s" (type "cos"), and
  // instance "inst-1": the parents most tests need.
  void CreateParents() {
    using namespace identity_conformance_internal;
    ASSERT_TRUE(ids().CreatePrincipal(User("user-a"), Audit("p")).ok());
    ASSERT_TRUE(
        ids()
            .CreatePrincipal(ServiceId("serviceid-s", "cos"), Audit("p"))
            .ok());
    ASSERT_TRUE(ids().CreateInstance(Instance("inst-1"), Audit("i")).ok());
  }

  std::string dir_;
  IdentityStoreUnderTest under_test_;
};

namespace identity_conformance_internal {

// --- Principals --------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, EmptyStoreListsNothingAndVerifies) {
  EXPECT_THAT(Value(ids().ListPrincipals()), IsEmpty());
  EXPECT_THAT(Value(ids().ListApiKeys()), IsEmpty());
  EXPECT_THAT(Value(ids().ListInstances()), IsEmpty());
  EXPECT_THAT(Value(ids().ListPolicies()), IsEmpty());
  EXPECT_THAT(Value(ids().ListAuthorizations()), IsEmpty());
  EXPECT_THAT(Value(ids().ListSigningKeys()), IsEmpty());
  EXPECT_THAT(AllAudit(), IsEmpty());
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, PrincipalsRoundTripEveryFieldInIdOrder) {
  PrincipalRecord user = User("user-b");
  user.name = "Ünïcødé \"quoted\" name, with comma";
  user.admin = true;
  user.creation_time = absl::FromUnixMicros(-5);  // before the epoch
  PrincipalRecord service = ServiceId("serviceid-a", "object-storage");
  service.created_by = "user-b";
  PrincipalRecord untyped = ServiceId("serviceid-c", "");
  ASSERT_TRUE(ids().CreatePrincipal(user, Audit("a")).ok());
  ASSERT_TRUE(ids().CreatePrincipal(service, Audit("a")).ok());
  ASSERT_TRUE(ids().CreatePrincipal(untyped, Audit("a")).ok());
  std::vector<PrincipalRecord> got = Value(ids().ListPrincipals());
  ASSERT_EQ(got.size(), 3u);
  ExpectSame(got[0], service);
  ExpectSame(got[1], untyped);
  ExpectSame(got[2], user);
}

TEST_P(IdentityStoreConformanceTest, TimesAreKeptToTheMicrosecond) {
  PrincipalRecord p = User("user-t");
  p.creation_time = T(1, 123456) + absl::Nanoseconds(789);
  AuditRecord a = Audit("a");
  a.time = T(2, 654321) + absl::Nanoseconds(999);
  ASSERT_TRUE(ids().CreatePrincipal(p, a).ok());
  EXPECT_EQ(Value(ids().ListPrincipals()).at(0).creation_time, T(1, 123456));
  std::vector<AuditRecord> log = AllAudit();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].time, T(2, 654321));
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, DuplicatePrincipalIsAlreadyExists) {
  ASSERT_TRUE(ids().CreatePrincipal(User("user-a"), Audit("a")).ok());
  PrincipalRecord again = User("user-a");
  again.name = "other";
  EXPECT_EQ(ids().CreatePrincipal(again, Audit("a")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Value(ids().ListPrincipals()).at(0).name, User("user-a").name);
  EXPECT_EQ(AuditCount(), 1u);
}

TEST_P(IdentityStoreConformanceTest, InvalidRecordsAreInvalidArgument) {
  CreateParents();
  const size_t before = AuditCount();
  auto invalid = [](absl::Status s) {
    return s.code() == absl::StatusCode::kInvalidArgument;
  };
  PrincipalRecord typed_user = User("user-x");
  typed_user.service_type = "cos";
  EXPECT_TRUE(invalid(ids().CreatePrincipal(User(""), Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreatePrincipal(typed_user, Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreatePrincipal(User("user-x"), Audit(""))));
  AuditRecord no_actor = Audit("a");
  no_actor.actor = "";
  EXPECT_TRUE(invalid(ids().CreatePrincipal(User("user-x"), no_actor)));
  EXPECT_TRUE(
      invalid(ids().CreateApiKey(ApiKey("", "user-a", "p"), Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreateApiKey(ApiKey("k", "", "p"), Audit("a"))));
  EXPECT_TRUE(
      invalid(ids().CreateApiKey(ApiKey("k", "user-a", ""), Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreateInstance(Instance(""), Audit("a"))));
  EXPECT_TRUE(
      invalid(ids().CreatePolicy(Policy("", "user-a", "inst-1"), Audit("a"))));
  EXPECT_TRUE(invalid(
      ids().CreatePolicy(Policy("p", "user-a", "inst-1", {}), Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreatePolicy(
      Policy("p", "user-a", "inst-1", {Role::kWriter, Role::kWriter}),
      Audit("a"))));
  EXPECT_TRUE(invalid(ids().CreatePolicy(
      Policy("p", "user-a", "inst-1", {static_cast<Role>(99)}), Audit("a"))));
  AccessPolicyRecord both = Policy("p", "user-a", "inst-1");
  both.scope.key_ring_id = "ring";
  both.scope.key_id = "key";
  EXPECT_TRUE(invalid(ids().CreatePolicy(both, Audit("a"))));
  AccessPolicyRecord empty_ring = Policy("p", "user-a", "inst-1");
  empty_ring.scope.key_ring_id = "";
  EXPECT_TRUE(invalid(ids().CreatePolicy(empty_ring, Audit("a"))));
  EXPECT_TRUE(
      invalid(ids().CreatePolicy(Policy("p", "user-a", ""), Audit("a"))));
  ServiceAuthorizationRecord two_sources =
      AuthBySource("z", "serviceid-s", "inst-1");
  two_sources.source_service_type = "cos";
  EXPECT_TRUE(invalid(ids().CreateAuthorization(two_sources, Audit("a"))));
  EXPECT_TRUE(invalid(
      ids().CreateAuthorization(AuthBySource("z", "", "inst-1"), Audit("a"))));
  ServiceAuthorizationRecord bad_role = AuthByType("z", "cos", "inst-1");
  bad_role.role = static_cast<Role>(42);
  EXPECT_TRUE(invalid(ids().CreateAuthorization(bad_role, Audit("a"))));
  EXPECT_TRUE(invalid(ids().PutSigningKey(SigningKey(""))));
  EXPECT_TRUE(invalid(ids().AppendAudit(Audit(""))));
  EXPECT_TRUE(invalid(ids().DeletePrincipal("user-a", Audit(""))));
  EXPECT_EQ(AuditCount(), before);
  EXPECT_EQ(Value(ids().ListPrincipals()).size(), 2u);
  EXPECT_THAT(Value(ids().ListPolicies()), IsEmpty());
}

TEST_P(IdentityStoreConformanceTest, DeleteMissingIsNotFoundEverywhere) {
  CreateParents();
  const size_t before = AuditCount();
  auto not_found = [](absl::Status s) {
    return s.code() == absl::StatusCode::kNotFound;
  };
  EXPECT_TRUE(not_found(ids().DeletePrincipal("user-none", Audit("d"))));
  EXPECT_TRUE(not_found(ids().DeleteApiKey("none", Audit("d"))));
  EXPECT_TRUE(not_found(ids().DeleteInstance("none", Audit("d"))));
  EXPECT_TRUE(not_found(ids().DeletePolicy("none", Audit("d"))));
  EXPECT_TRUE(not_found(ids().DeleteAuthorization("none", Audit("d"))));
  EXPECT_TRUE(not_found(ids().DeleteSigningKey("none")));
  EXPECT_EQ(AuditCount(), before);
}

// --- API keys ----------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, ApiKeysRoundTripEveryField) {
  CreateParents();
  ApiKeyRecord b = ApiKey("k-b", "user-a", "kwk_bbbb");
  ApiKeyRecord a = ApiKey("k-a", "serviceid-s", "kwk_aaaa");
  a.secret_hash = {};  // all zero bytes survive too
  a.name = "";
  ASSERT_TRUE(ids().CreateApiKey(b, Audit("k")).ok());
  ASSERT_TRUE(ids().CreateApiKey(a, Audit("k")).ok());
  std::vector<ApiKeyRecord> got = Value(ids().ListApiKeys());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[0], a);
  ExpectSame(got[1], b);
}

TEST_P(IdentityStoreConformanceTest, DuplicateApiKeyIdOrPrefixIsAlreadyExists) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k1", "user-a", "kwk_1"), Audit("k")).ok());
  const size_t before = AuditCount();
  EXPECT_EQ(
      ids().CreateApiKey(ApiKey("k1", "user-a", "kwk_2"), Audit("k")).code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ids()
                .CreateApiKey(ApiKey("k2", "serviceid-s", "kwk_1"), Audit("k"))
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(AuditCount(), before);
  EXPECT_THAT(Ids(Value(ids().ListApiKeys())), ElementsAre("k1"));
  // A deleted key's prefix is free again.
  ASSERT_TRUE(ids().DeleteApiKey("k1", Audit("kd")).ok());
  EXPECT_TRUE(
      ids().CreateApiKey(ApiKey("k2", "user-a", "kwk_1"), Audit("k")).ok());
}

TEST_P(IdentityStoreConformanceTest,
       ApiKeyOfMissingPrincipalIsFailedPrecondition) {
  const size_t before = AuditCount();
  EXPECT_EQ(
      ids().CreateApiKey(ApiKey("k1", "user-none", "kwk_1"), Audit("k")).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AuditCount(), before);
  EXPECT_THAT(Value(ids().ListApiKeys()), IsEmpty());
}

TEST_P(IdentityStoreConformanceTest, DeleteApiKeyRemovesOnlyThatKey) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k1", "user-a", "kwk_1"), Audit("k")).ok());
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k2", "user-a", "kwk_2"), Audit("k")).ok());
  ASSERT_TRUE(ids().DeleteApiKey("k1", Audit("kd")).ok());
  EXPECT_THAT(Ids(Value(ids().ListApiKeys())), ElementsAre("k2"));
  EXPECT_EQ(ids().DeleteApiKey("k1", Audit("kd")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Value(ids().ListPrincipals()).size(), 2u);
}

// --- Instances ---------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, InstancesRoundTripEveryField) {
  InstanceRecord b = Instance("inst-b");
  InstanceRecord a = Instance("inst-a");
  a.name = "";
  a.creation_time = absl::UnixEpoch();
  ASSERT_TRUE(ids().CreateInstance(b, Audit("i")).ok());
  ASSERT_TRUE(ids().CreateInstance(a, Audit("i")).ok());
  std::vector<InstanceRecord> got = Value(ids().ListInstances());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[0], a);
  ExpectSame(got[1], b);
}

TEST_P(IdentityStoreConformanceTest, InstancesFromTheKeyStoreAreListedUnnamed) {
  ASSERT_TRUE(keys().EnsureInstance("inst-ensured").ok());
  ASSERT_TRUE(keys().CreateKey(MakeKey("inst-implicit", "k1")).ok());
  ASSERT_TRUE(ids().CreateInstance(Instance("inst-named"), Audit("i")).ok());
  std::vector<InstanceRecord> got = Value(ids().ListInstances());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "inst-ensured");
  EXPECT_EQ(got[0].name, "");
  EXPECT_EQ(got[0].created_by, "");
  EXPECT_EQ(got[0].creation_time, absl::UnixEpoch());
  EXPECT_EQ(got[1].id, "inst-implicit");
  EXPECT_EQ(got[1].name, "");
  ExpectSame(got[2], Instance("inst-named"));
  // Creating one of them as a named instance is a duplicate id.
  EXPECT_EQ(ids().CreateInstance(Instance("inst-ensured"), Audit("i")).code(),
            absl::StatusCode::kAlreadyExists);
  // And EnsureInstance of a named instance keeps its name.
  ASSERT_TRUE(keys().EnsureInstance("inst-named").ok());
  EXPECT_EQ(Value(ids().ListInstances()).at(2).name, "instance inst-named");
  EXPECT_EQ(AuditCount(), 1u);
}

TEST_P(IdentityStoreConformanceTest, DeleteInstanceRefusedWhileAnyKeyExists) {
  CreateParents();
  keys::Key destroyed = MakeKey("inst-1", "k-destroyed");
  destroyed.state = keys::KeyState::kDestroyed;
  ASSERT_TRUE(keys().CreateKey(destroyed).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p1", "user-a", "inst-1"), Audit("p")).ok());
  const size_t before = AuditCount();
  EXPECT_EQ(ids().DeleteInstance("inst-1", Audit("id")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AuditCount(), before);
  EXPECT_THAT(Ids(Value(ids().ListInstances())), ElementsAre("inst-1"));
  EXPECT_THAT(Ids(Value(ids().ListPolicies())), ElementsAre("p1"));
  EXPECT_TRUE(keys().GetKey("inst-1", "k-destroyed").ok());
}

TEST_P(IdentityStoreConformanceTest,
       DeleteInstanceRemovesItsPoliciesAndAuthorizations) {
  CreateParents();
  ASSERT_TRUE(ids().CreateInstance(Instance("inst-2"), Audit("i")).ok());
  ASSERT_TRUE(keys().CreateKey(MakeKey("inst-2", "k1")).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p1", "user-a", "inst-1"), Audit("p")).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p2", "user-a", "inst-2"), Audit("p")).ok());
  ASSERT_TRUE(
      ids()
          .CreateAuthorization(AuthByType("a1", "cos", "inst-1"), Audit("a"))
          .ok());
  ASSERT_TRUE(ids()
                  .CreateAuthorization(
                      AuthBySource("a2", "serviceid-s", "inst-1"), Audit("a"))
                  .ok());
  ASSERT_TRUE(
      ids()
          .CreateAuthorization(AuthByType("a3", "cos", "inst-2"), Audit("a"))
          .ok());
  ASSERT_TRUE(ids().DeleteInstance("inst-1", Audit("id")).ok());
  EXPECT_THAT(Ids(Value(ids().ListInstances())), ElementsAre("inst-2"));
  EXPECT_THAT(Ids(Value(ids().ListPolicies())), ElementsAre("p2"));
  EXPECT_THAT(Ids(Value(ids().ListAuthorizations())), ElementsAre("a3"));
  EXPECT_EQ(Value(ids().ListPrincipals()).size(), 2u);
  EXPECT_EQ(ids().DeleteInstance("inst-1", Audit("id")).code(),
            absl::StatusCode::kNotFound);
  // A deleted instance can be created again, empty.
  EXPECT_TRUE(ids().CreateInstance(Instance("inst-1"), Audit("i")).ok());
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, DeleteUnnamedInstanceWithoutKeys) {
  ASSERT_TRUE(keys().EnsureInstance("inst-old").ok());
  ASSERT_TRUE(ids().DeleteInstance("inst-old", Audit("id")).ok());
  EXPECT_THAT(Value(ids().ListInstances()), IsEmpty());
  // The key store records it again when asked.
  ASSERT_TRUE(keys().EnsureInstance("inst-old").ok());
  EXPECT_THAT(Ids(Value(ids().ListInstances())), ElementsAre("inst-old"));
}

// --- Policies ----------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, PoliciesRoundTripEveryScopeAndRole) {
  CreateParents();
  AccessPolicyRecord whole =
      Policy("p-whole", "user-a", "inst-1",
             {Role::kKmipAdapterManager, Role::kKeyPurge, Role::kManager,
              Role::kWriter, Role::kReaderPlus, Role::kReader});
  AccessPolicyRecord ring =
      Policy("p-ring", "serviceid-s", "inst-1", {Role::kWriter});
  ring.scope.key_ring_id = "ring-7";
  AccessPolicyRecord key =
      Policy("p-key", "user-a", "inst-1", {Role::kReaderPlus, Role::kReader});
  key.scope.key_id = "0f7c3f5e-key";
  for (const AccessPolicyRecord& p : {whole, ring, key}) {
    ASSERT_TRUE(ids().CreatePolicy(p, Audit("p")).ok());
  }
  std::vector<AccessPolicyRecord> got = Value(ids().ListPolicies());
  ASSERT_EQ(got.size(), 3u);
  ExpectSame(got[0], key);
  ExpectSame(got[1], ring);
  ExpectSame(got[2], whole);
}

TEST_P(IdentityStoreConformanceTest, PolicyNeedsItsPrincipalAndInstance) {
  CreateParents();
  const size_t before = AuditCount();
  EXPECT_EQ(
      ids().CreatePolicy(Policy("p", "user-none", "inst-1"), Audit("p")).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      ids().CreatePolicy(Policy("p", "user-a", "inst-none"), Audit("p")).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AuditCount(), before);
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p", "user-a", "inst-1"), Audit("p")).ok());
  EXPECT_EQ(ids()
                .CreatePolicy(Policy("p", "serviceid-s", "inst-1"), Audit("p"))
                .code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ids().DeletePolicy("p", Audit("pd")).ok());
  EXPECT_THAT(Value(ids().ListPolicies()), IsEmpty());
  EXPECT_EQ(ids().DeletePolicy("p", Audit("pd")).code(),
            absl::StatusCode::kNotFound);
}

// --- Authorizations ----------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, AuthorizationsRoundTripEveryField) {
  CreateParents();
  ServiceAuthorizationRecord by_id =
      AuthBySource("a-id", "serviceid-s", "inst-1");
  by_id.role = Role::kKmipAdapterManager;
  by_id.target.key_id = "key-1";
  ServiceAuthorizationRecord by_type = AuthByType("a-type", "cos", "inst-1");
  by_type.role = Role::kWriter;
  by_type.target.key_ring_id = "ring-1";
  ServiceAuthorizationRecord whole = AuthByType("a-whole", "kms", "inst-1");
  ASSERT_TRUE(ids().CreateAuthorization(by_type, Audit("a")).ok());
  ASSERT_TRUE(ids().CreateAuthorization(whole, Audit("a")).ok());
  ASSERT_TRUE(ids().CreateAuthorization(by_id, Audit("a")).ok());
  std::vector<ServiceAuthorizationRecord> got =
      Value(ids().ListAuthorizations());
  ASSERT_EQ(got.size(), 3u);
  ExpectSame(got[0], by_id);
  ExpectSame(got[1], by_type);
  ExpectSame(got[2], whole);
  for (Role role :
       {Role::kReader, Role::kReaderPlus, Role::kManager, Role::kKeyPurge}) {
    ServiceAuthorizationRecord r =
        AuthByType("r-" + std::string(iam::RoleName(role)), "cos", "inst-1");
    r.role = role;
    ASSERT_TRUE(ids().CreateAuthorization(r, Audit("a")).ok());
  }
  got = Value(ids().ListAuthorizations());
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[3].role, Role::kKeyPurge);
  EXPECT_EQ(got[4].role, Role::kManager);
  EXPECT_EQ(got[5].role, Role::kReader);
  EXPECT_EQ(got[6].role, Role::kReaderPlus);
}

TEST_P(IdentityStoreConformanceTest, AuthorizationNeedsItsSourceAndInstance) {
  CreateParents();
  const size_t before = AuditCount();
  auto code = [&](const ServiceAuthorizationRecord& a) {
    return ids().CreateAuthorization(a, Audit("a")).code();
  };
  EXPECT_EQ(code(AuthBySource("a", "serviceid-none", "inst-1")),
            absl::StatusCode::kFailedPrecondition);
  // The source must be a service id, not a user.
  EXPECT_EQ(code(AuthBySource("a", "user-a", "inst-1")),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(code(AuthBySource("a", "serviceid-s", "inst-none")),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(code(AuthByType("a", "cos", "inst-none")),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AuditCount(), before);
  // A type needs no principal of that type to exist.
  ASSERT_EQ(code(AuthByType("a", "nobody-has-this-type", "inst-1")),
            absl::StatusCode::kOk);
  EXPECT_EQ(code(AuthBySource("a", "serviceid-s", "inst-1")),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ids().DeleteAuthorization("a", Audit("ad")).ok());
  EXPECT_THAT(Value(ids().ListAuthorizations()), IsEmpty());
  EXPECT_EQ(ids().DeleteAuthorization("a", Audit("ad")).code(),
            absl::StatusCode::kNotFound);
}

// Both stores report a missing parent before a duplicate id, so a caller
// sees the same error whichever store it runs on.
TEST_P(IdentityStoreConformanceTest, MissingParentIsReportedBeforeDuplicateId) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k1", "user-a", "kwk_1"), Audit("k")).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p1", "user-a", "inst-1"), Audit("p")).ok());
  ASSERT_TRUE(
      ids()
          .CreateAuthorization(AuthByType("a1", "cos", "inst-1"), Audit("a"))
          .ok());
  EXPECT_EQ(
      ids().CreateApiKey(ApiKey("k1", "user-none", "kwk_1"), Audit("k")).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ids()
                .CreatePolicy(Policy("p1", "user-a", "inst-none"), Audit("p"))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      ids()
          .CreateAuthorization(AuthByType("a1", "cos", "inst-none"), Audit("a"))
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

// --- Principal cascade -------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, DeletePrincipalRemovesWhatHangsOffIt) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreatePrincipal(ServiceId("serviceid-t", "cos"), Audit("p")).ok());
  // Owned by serviceid-s: removed with it.
  ASSERT_TRUE(
      ids()
          .CreateApiKey(ApiKey("k-s", "serviceid-s", "kwk_s"), Audit("k"))
          .ok());
  ASSERT_TRUE(
      ids()
          .CreatePolicy(Policy("p-s", "serviceid-s", "inst-1"), Audit("p"))
          .ok());
  ASSERT_TRUE(ids()
                  .CreateAuthorization(
                      AuthBySource("a-s", "serviceid-s", "inst-1"), Audit("a"))
                  .ok());
  // Not owned by it: kept (another principal's, and a type-wide grant that
  // also covers serviceid-s's type).
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k-a", "user-a", "kwk_a"), Audit("k")).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p-a", "user-a", "inst-1"), Audit("p")).ok());
  ASSERT_TRUE(ids()
                  .CreateAuthorization(
                      AuthBySource("a-t", "serviceid-t", "inst-1"), Audit("a"))
                  .ok());
  ASSERT_TRUE(
      ids()
          .CreateAuthorization(AuthByType("a-cos", "cos", "inst-1"), Audit("a"))
          .ok());
  const size_t before = AuditCount();
  ASSERT_TRUE(ids().DeletePrincipal("serviceid-s", Audit("pd")).ok());
  EXPECT_EQ(AuditCount(), before + 1);  // one record for the whole cascade
  EXPECT_THAT(Ids(Value(ids().ListPrincipals())),
              ElementsAre("serviceid-t", "user-a"));
  EXPECT_THAT(Ids(Value(ids().ListApiKeys())), ElementsAre("k-a"));
  EXPECT_THAT(Ids(Value(ids().ListPolicies())), ElementsAre("p-a"));
  EXPECT_THAT(Ids(Value(ids().ListAuthorizations())),
              ElementsAre("a-cos", "a-t"));
  EXPECT_THAT(Ids(Value(ids().ListInstances())), ElementsAre("inst-1"));
  // Its API key prefix is free again.
  EXPECT_TRUE(
      ids().CreateApiKey(ApiKey("k-new", "user-a", "kwk_s"), Audit("k")).ok());
}

// --- Signing keys ------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, SigningKeysArePutReplacedAndDeleted) {
  SigningKeyRecord a = SigningKey("kid-a");
  SigningKeyRecord b = SigningKey("kid-b");
  b.sealed_private_key.clear();
  b.public_key_der.clear();
  ASSERT_TRUE(ids().PutSigningKey(b).ok());
  ASSERT_TRUE(ids().PutSigningKey(a).ok());
  std::vector<SigningKeyRecord> got = Value(ids().ListSigningKeys());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[0], a);
  ExpectSame(got[1], b);
  // Put of a stored kid replaces it (retiring a key moves retire_time).
  a.retire_time = T(50, 1);
  a.master_key_id = "mk-2";
  ASSERT_TRUE(ids().PutSigningKey(a).ok());
  got = Value(ids().ListSigningKeys());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[0], a);
  ASSERT_TRUE(ids().DeleteSigningKey("kid-b").ok());
  EXPECT_EQ(Value(ids().ListSigningKeys()).size(), 1u);
  EXPECT_EQ(ids().DeleteSigningKey("kid-b").code(),
            absl::StatusCode::kNotFound);
  // Signing keys carry no audit record of their own.
  EXPECT_THAT(AllAudit(), IsEmpty());
}

// --- Webhooks ----------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, WebhooksArePutReplacedListedAndDeleted) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreatePrincipal(ServiceId("serviceid-b", "kms"), Audit("p")).ok());
  EXPECT_THAT(Value(ids().ListWebhooks()), IsEmpty());
  iam::WebhookRecord s = Webhook("serviceid-s", "https://cos.example/events");
  iam::WebhookRecord b = Webhook("serviceid-b", "http://127.0.0.1:9/hook");
  b.sealed_secret.clear();
  size_t before = AuditCount();
  ASSERT_TRUE(ids().PutWebhook(s, Audit("wh", "serviceid-s")).ok());
  ASSERT_TRUE(ids().PutWebhook(b, Audit("wh", "serviceid-b")).ok());
  EXPECT_EQ(AuditCount(), before + 2);
  std::vector<iam::WebhookRecord> got = Value(ids().ListWebhooks());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[0], b);  // principal id order
  ExpectSame(got[1], s);
  // A second Put replaces the service's webhook.
  s.url = "https://cos.example/v2/events";
  s.sealed_secret = {1, 1};
  s.master_key_id = "mk-2";
  s.creation_time = T(8) + absl::Nanoseconds(5);
  ASSERT_TRUE(ids().PutWebhook(s, Audit("wh")).ok());
  s.creation_time = T(8);
  got = Value(ids().ListWebhooks());
  ASSERT_EQ(got.size(), 2u);
  ExpectSame(got[1], s);
  before = AuditCount();
  ASSERT_TRUE(ids().DeleteWebhook("serviceid-b", Audit("whd")).ok());
  EXPECT_EQ(AuditCount(), before + 1);
  EXPECT_EQ(ids().DeleteWebhook("serviceid-b", Audit("whd")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(AuditCount(), before + 1);
  got = Value(ids().ListWebhooks());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal_id, "serviceid-s");
}

TEST_P(IdentityStoreConformanceTest, WebhookNeedsAnExistingServiceId) {
  CreateParents();
  const size_t before = AuditCount();
  EXPECT_EQ(
      ids().PutWebhook(Webhook("user-a", "https://x"), Audit("wh")).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ids()
                .PutWebhook(Webhook("serviceid-none", "https://x"), Audit("wh"))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ids().PutWebhook(Webhook("", "https://x"), Audit("wh")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ids().PutWebhook(Webhook("serviceid-s", ""), Audit("wh")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ids().PutWebhook(Webhook("serviceid-s", "https://x"), Audit("")).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditCount(), before);
  EXPECT_THAT(Value(ids().ListWebhooks()), IsEmpty());
}

TEST_P(IdentityStoreConformanceTest, DeletingAServiceIdDeletesItsWebhook) {
  CreateParents();
  ASSERT_TRUE(
      ids().CreatePrincipal(ServiceId("serviceid-b", "kms"), Audit("p")).ok());
  ASSERT_TRUE(
      ids().PutWebhook(Webhook("serviceid-s", "https://s"), Audit("wh")).ok());
  ASSERT_TRUE(
      ids().PutWebhook(Webhook("serviceid-b", "https://b"), Audit("wh")).ok());
  ASSERT_TRUE(ids().DeletePrincipal("serviceid-s", Audit("pd")).ok());
  std::vector<iam::WebhookRecord> got = Value(ids().ListWebhooks());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal_id, "serviceid-b");
  // A new principal with the id starts without a webhook.
  ASSERT_TRUE(
      ids().CreatePrincipal(ServiceId("serviceid-s", "cos"), Audit("p")).ok());
  EXPECT_EQ(Value(ids().ListWebhooks()).size(), 1u);
}

// --- Key-store mutations in the audit chain
// ------------------------------------

TEST_P(IdentityStoreConformanceTest, KeyStoreMutationsAppendToTheSameChain) {
  CreateParents();
  keys::Key k = MakeKey("inst-1", "k1");
  ASSERT_TRUE(keys().CreateKey(k).ok());
  std::vector<AuditRecord> sent = AllAudit();

  keys::Key destroyed = k;
  destroyed.state = keys::KeyState::kDestroyed;
  destroyed.deletion_time = T(200);
  destroyed.last_update_time = T(200);
  KeyUpdate update;
  update.audit = Audit("kms.secrets.delete", "key:k1");
  update.audit->details = "forced";
  ASSERT_TRUE(keys().UpdateKey(destroyed, k.last_update_time, update).ok());
  sent.push_back(*update.audit);

  keys::InstancePolicy policy;
  policy.instance_id = "inst-1";
  policy.type = keys::InstancePolicyType::kDualAuthDelete;
  policy.enabled = true;
  const std::vector<keys::InstancePolicy> policies = {policy};
  AuditRecord policy_audit = Audit("kms.instancepolicies.write", "inst-1");
  ASSERT_TRUE(keys().PutInstancePolicies(policies, policy_audit).ok());
  sent.push_back(policy_audit);

  AuditRecord identity_audit = Audit("iam.principal.create", "user-b");
  ASSERT_TRUE(ids().CreatePrincipal(User("user-b"), identity_audit).ok());
  sent.push_back(identity_audit);

  AuditRecord purge_audit = Audit("kms.secrets.purge", "key:k1");
  purge_audit.time = T(300) + absl::Nanoseconds(1);
  ASSERT_TRUE(keys().PurgeKey("inst-1", "k1", T(200), purge_audit).ok());
  purge_audit.time = T(300);
  sent.push_back(purge_audit);

  std::vector<AuditRecord> log = AllAudit();
  ASSERT_EQ(log.size(), sent.size());
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i) + 1);
    ExpectSameEvent(log[i], sent[i]);
  }
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, FailedKeyStoreMutationsWriteNoAudit) {
  CreateParents();
  keys::Key k = MakeKey("inst-1", "k1");
  ASSERT_TRUE(keys().CreateKey(k).ok());
  const size_t before = AuditCount();
  KeyUpdate update;
  update.audit = Audit("kms.secrets.delete");
  keys::Key u = k;
  u.last_update_time = T(9);
  // Stale, missing, not Destroyed, and a plain update without a record.
  EXPECT_FALSE(keys().UpdateKey(u, T(-1), update).ok());
  keys::Key ghost = MakeKey("inst-1", "ghost");
  EXPECT_FALSE(keys().UpdateKey(ghost, ghost.last_update_time, update).ok());
  EXPECT_FALSE(
      keys().PurgeKey("inst-1", "k1", k.last_update_time, Audit("p")).ok());
  EXPECT_FALSE(keys().PurgeKey("inst-1", "ghost", T(0), Audit("p")).ok());
  ASSERT_TRUE(keys().UpdateKey(u, k.last_update_time).ok());
  EXPECT_EQ(AuditCount(), before);
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest,
       KeyMetadataMutationsAreAuditedOnlyWhenTheySucceed) {
  CreateParents();
  std::vector<AuditRecord> sent = AllAudit();
  auto ok = [&](absl::Status s, const AuditRecord& a) {
    ASSERT_TRUE(s.ok()) << a.action << ": " << s;
    sent.push_back(a);
  };
  AuditRecord created = Audit("kms.secrets.create", "key:k1");
  ok(keys().CreateKey(MakeKey("inst-1", "k1"), created), created);
  // A key created without a record (tools, tests) appends nothing.
  ASSERT_TRUE(keys().CreateKey(MakeKey("inst-1", "k2")).ok());

  KeyRing ring{"inst-1", "ring-a", T(10), "user-admin"};
  AuditRecord ring_audit = Audit("kms.keyrings.create", "ring-a");
  ok(keys().CreateKeyRing(ring, 50, ring_audit), ring_audit);
  KeyAlias alias{"inst-1", "alias-a", "k1", T(11), "user-admin"};
  AuditRecord alias_audit = Audit("kms.secrets.createalias", "key:k1");
  ok(keys().CreateKeyAlias(alias, 5, alias_audit), alias_audit);

  keys::Registration r;
  r.instance_id = "inst-1";
  r.key_id = "k1";
  r.resource_crn = "crn:v1:bluemix:public:cos:global:a/acct:si:bucket:b";
  r.service_id = "serviceid-s";
  r.key_version_id = "k1";
  r.creation_time = T(12);
  r.created_by = "serviceid-s";
  r.last_update_time = T(12);
  r.updated_by = "serviceid-s";
  r.revision = 1;
  AuditRecord reg_audit = Audit("kms.registrations.create", "key:k1");
  ok(keys().CreateRegistration(r, reg_audit), reg_audit);
  r.description = "now described";
  r.revision = 2;
  AuditRecord reg_write = Audit("kms.registrations.write", "key:k1");
  ok(keys().UpdateRegistration(r, 1, reg_write), reg_write);

  ImportToken t;
  t.instance_id = "inst-1";
  t.id = "token-1";
  AuditRecord token_audit = Audit("kms.importtoken.create", "inst-1");
  ok(keys().PutImportToken(t, token_audit), token_audit);

  // Each of these fails and must leave neither its change nor a record.
  const AuditRecord nope = Audit("must.not.appear");
  EXPECT_FALSE(keys().CreateKey(MakeKey("inst-1", "k1"), nope).ok());
  EXPECT_FALSE(keys().CreateKeyRing(ring, 50, nope).ok());
  EXPECT_FALSE(keys().CreateKeyRing({"inst-1", "ring-b", T(10), "u"}, 1, nope)
                   .ok());
  EXPECT_FALSE(keys().CreateKeyAlias(alias, 5, nope).ok());
  EXPECT_FALSE(
      keys().CreateKeyAlias({"inst-1", "ghost-a", "ghost", T(1), "u"}, 5, nope)
          .ok());
  EXPECT_FALSE(keys().DeleteKeyAlias("inst-1", "k2", "alias-a", nope).ok());
  EXPECT_FALSE(keys().CreateRegistration(r, nope).ok());
  EXPECT_FALSE(keys().UpdateRegistration(r, 1, nope).ok());
  EXPECT_FALSE(
      keys().DeleteRegistration("inst-1", "k2", r.resource_crn, nope).ok());
  keys::Key in_ring = MakeKey("inst-1", "k3");
  in_ring.key_ring_id = "ring-a";
  ASSERT_TRUE(keys().CreateKey(in_ring).ok());
  EXPECT_FALSE(
      keys().DeleteKeyRing("inst-1", "ring-a", true, T(20), nope).ok());
  EXPECT_FALSE(
      keys().DeleteKeyRing("inst-1", "no-ring", false, T(20), nope).ok());
  // An invalid record is refused before anything changes.
  EXPECT_FALSE(keys().CreateKeyRing({"inst-1", "ring-c", T(10), "u"}, 50,
                                    Audit(""))
                   .ok());
  EXPECT_FALSE(keys().GetKeyRing("inst-1", "ring-c").ok());

  AuditRecord reg_delete = Audit("kms.registrations.delete", "key:k1");
  ok(keys().DeleteRegistration("inst-1", "k1", r.resource_crn, reg_delete),
     reg_delete);
  AuditRecord alias_delete = Audit("kms.secrets.deletealias", "key:k1");
  ok(keys().DeleteKeyAlias("inst-1", "k1", "alias-a", alias_delete),
     alias_delete);
  keys::Key moved = in_ring;
  moved.key_ring_id = "default";
  ASSERT_TRUE(keys().UpdateKey(moved, in_ring.last_update_time).ok());
  AuditRecord ring_delete = Audit("kms.keyrings.delete", "ring-a");
  ASSERT_TRUE(
      keys().DeleteKeyRing("inst-1", "ring-a", false, T(20), ring_delete)
          .ok());
  sent.push_back(ring_delete);

  std::vector<AuditRecord> log = AllAudit();
  ASSERT_EQ(log.size(), sent.size());
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i) + 1);
    ExpectSameEvent(log[i], sent[i]);
  }
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, TokensAndPoliciesRecordTheirInstance) {
  ImportToken t;
  t.instance_id = "inst-t";
  t.id = "token-1";
  ASSERT_TRUE(keys().PutImportToken(t, Audit("kms.importtoken.create")).ok());
  keys::InstancePolicy p;
  p.instance_id = "inst-p";
  p.type = keys::InstancePolicyType::kMetrics;
  const std::vector<keys::InstancePolicy> policies = {p};
  ASSERT_TRUE(keys().PutInstancePolicies(policies, Audit("p")).ok());
  EXPECT_THAT(Ids(Value(ids().ListInstances())),
              ElementsAre("inst-p", "inst-t"));
}

TEST_P(IdentityStoreConformanceTest, DeleteInstanceRemovesItsTokenAndPolicies) {
  CreateParents();
  ImportToken t;
  t.instance_id = "inst-1";
  t.id = "token-1";
  ASSERT_TRUE(keys().PutImportToken(t, Audit("kms.importtoken.create")).ok());
  keys::InstancePolicy p;
  p.instance_id = "inst-1";
  p.type = keys::InstancePolicyType::kRotation;
  keys::InstancePolicy kept = p;
  kept.instance_id = "inst-2";
  const std::vector<keys::InstancePolicy> policies = {p, kept};
  ASSERT_TRUE(keys().PutInstancePolicies(policies, Audit("p")).ok());
  ASSERT_TRUE(ids().DeleteInstance("inst-1", Audit("id")).ok());
  EXPECT_EQ(keys().GetImportToken("inst-1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Value(keys().ListInstancePolicies("inst-1")), IsEmpty());
  std::vector<keys::InstancePolicy> all =
      Value(keys().ListAllInstancePolicies());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].instance_id, "inst-2");
}

// --- Audit -------------------------------------------------------------------

TEST_P(IdentityStoreConformanceTest, EveryMutationAppendsOneChainedRecord) {
  // Each step is one successful mutation with a distinct audit record.
  std::vector<AuditRecord> sent;
  auto audit = [&](std::string action) {
    AuditRecord a = Audit(action, "target:" + action);
    a.time = T(static_cast<int64_t>(sent.size()), 3);
    a.details = "step " + std::to_string(sent.size());
    a.outcome =
        sent.size() % 3 == 2 ? AuditOutcome::kFailure : AuditOutcome::kSuccess;
    sent.push_back(a);
    return a;
  };
  ASSERT_TRUE(ids().CreatePrincipal(User("user-a"), audit("p.create")).ok());
  ASSERT_TRUE(
      ids()
          .CreatePrincipal(ServiceId("serviceid-s", "cos"), audit("p.create"))
          .ok());
  ASSERT_TRUE(
      ids()
          .CreateApiKey(ApiKey("k1", "user-a", "kwk_1"), audit("k.create"))
          .ok());
  ASSERT_TRUE(ids().CreateInstance(Instance("inst-1"), audit("i.create")).ok());
  ASSERT_TRUE(
      ids()
          .CreatePolicy(Policy("p1", "user-a", "inst-1"), audit("pol.create"))
          .ok());
  ASSERT_TRUE(
      ids()
          .CreateAuthorization(AuthBySource("a1", "serviceid-s", "inst-1"),
                               audit("auth.create"))
          .ok());
  ASSERT_TRUE(ids().AppendAudit(audit("auth.failure")).ok());
  ASSERT_TRUE(ids().DeleteAuthorization("a1", audit("auth.delete")).ok());
  ASSERT_TRUE(ids().DeletePolicy("p1", audit("pol.delete")).ok());
  ASSERT_TRUE(ids().DeleteApiKey("k1", audit("k.delete")).ok());
  ASSERT_TRUE(ids().DeleteInstance("inst-1", audit("i.delete")).ok());
  ASSERT_TRUE(ids().DeletePrincipal("user-a", audit("p.delete")).ok());

  std::vector<AuditRecord> log = AllAudit();
  ASSERT_EQ(log.size(), sent.size());
  iam::SecretHash prev{};  // the first record chains to 32 zero bytes
  for (size_t i = 0; i < log.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i) + 1);
    ExpectSameEvent(log[i], sent[i]);
    EXPECT_EQ(log[i].prev_hash, prev);
    absl::StatusOr<iam::SecretHash> want = AuditChainHash(prev, log[i]);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(log[i].hash, *want);
    prev = log[i].hash;
  }
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, CallerSeqAndHashesAreIgnored) {
  AuditRecord a = Audit("x");
  a.seq = 77;
  a.hash.fill(9);
  a.prev_hash.fill(7);
  ASSERT_TRUE(ids().AppendAudit(a).ok());
  std::vector<AuditRecord> log = AllAudit();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].seq, 1);
  EXPECT_EQ(log[0].prev_hash, iam::SecretHash{});
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, FailedMutationsWriteNoAuditRecord) {
  CreateParents();
  ASSERT_TRUE(keys().CreateKey(MakeKey("inst-1", "k1")).ok());
  ASSERT_TRUE(
      ids().CreateApiKey(ApiKey("k1", "user-a", "kwk_1"), Audit("k")).ok());
  ASSERT_TRUE(
      ids().CreatePolicy(Policy("p1", "user-a", "inst-1"), Audit("p")).ok());
  const std::vector<AuditRecord> before = AllAudit();
  std::vector<absl::Status> failures = {
      ids().CreatePrincipal(User("user-a"), Audit("dup")),
      ids().CreateApiKey(ApiKey("k2", "user-none", "kwk_2"), Audit("pre")),
      ids().CreateApiKey(ApiKey("k2", "user-a", "kwk_1"), Audit("dup")),
      ids().CreateInstance(Instance("inst-1"), Audit("dup")),
      ids().DeleteInstance("inst-1", Audit("pre")),
      ids().CreatePolicy(Policy("p1", "user-a", "inst-1"), Audit("dup")),
      ids().CreatePolicy(Policy("p2", "user-a", "inst-9"), Audit("pre")),
      ids().CreateAuthorization(AuthByType("a", "cos", "inst-9"), Audit("pre")),
      ids().DeletePrincipal("user-none", Audit("nf")),
      ids().DeletePolicy("p-none", Audit("nf")),
  };
  for (const absl::Status& s : failures) EXPECT_FALSE(s.ok());
  std::vector<AuditRecord> after = AllAudit();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after.back().hash, before.back().hash);
  // The next success continues the chain with the next seq.
  ASSERT_TRUE(ids().AppendAudit(Audit("next")).ok());
  after = AllAudit();
  ASSERT_EQ(after.size(), before.size() + 1);
  EXPECT_EQ(after.back().seq, static_cast<int64_t>(before.size()) + 1);
  EXPECT_EQ(after.back().prev_hash, before.back().hash);
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

TEST_P(IdentityStoreConformanceTest, ListAuditPages) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ids().AppendAudit(Audit(absl::StrCat("e", i))).ok());
  }
  auto seqs = [&](int64_t after, int64_t limit) {
    std::vector<int64_t> out;
    for (const AuditRecord& r : Value(ids().ListAudit(after, limit))) {
      out.push_back(r.seq);
    }
    return out;
  };
  EXPECT_THAT(seqs(0, 3), ElementsAre(1, 2, 3));
  EXPECT_THAT(seqs(3, 3), ElementsAre(4, 5, 6));
  EXPECT_THAT(seqs(8, 100), ElementsAre(9, 10));
  EXPECT_THAT(seqs(10, 5), IsEmpty());
  EXPECT_THAT(seqs(1000, 5), IsEmpty());
  EXPECT_THAT(seqs(0, 0), IsEmpty());
  EXPECT_THAT(seqs(-5, 2), ElementsAre(1, 2));
  EXPECT_EQ(Value(ids().ListAudit(4, 1)).at(0).action, "e4");
  EXPECT_EQ(ids().ListAudit(0, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Paging through covers the log once, in order.
  std::vector<int64_t> all;
  int64_t after = 0;
  while (true) {
    std::vector<int64_t> page = seqs(after, 4);
    if (page.empty()) break;
    all.insert(all.end(), page.begin(), page.end());
    after = page.back();
  }
  EXPECT_THAT(all, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
}

TEST_P(IdentityStoreConformanceTest, ConcurrentMutationsKeepTheChainGapFree) {
  CreateParents();
  constexpr int kThreads = 6;
  constexpr int kPerThread = 15;
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = absl::StrCat("k-", t, "-", i);
        // Every other key reuses the previous prefix of a sibling thread:
        // some creates fail alone inside a group commit.
        std::string prefix = absl::StrCat("kwk_", i, "_", t / 2);
        absl::Status s =
            ids().CreateApiKey(ApiKey(id, "user-a", prefix), Audit("k", id));
        if (!s.ok() && s.code() != absl::StatusCode::kAlreadyExists) {
          ++unexpected;
        }
        if (!ids().AppendAudit(Audit("auth.failure", id)).ok()) ++unexpected;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
  const size_t keys = Value(ids().ListApiKeys()).size();
  EXPECT_EQ(keys, static_cast<size_t>(kThreads / 2 * kPerThread));
  std::vector<AuditRecord> log = AllAudit();
  // 3 from CreateParents, one per created key, one per AppendAudit.
  EXPECT_EQ(log.size(), 3 + keys + kThreads * kPerThread);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq, static_cast<int64_t>(i) + 1);
  }
  EXPECT_TRUE(ids().VerifyAuditChain().ok());
}

}  // namespace identity_conformance_internal
}  // namespace keywarden::store

#endif  // KEYWARDEN_STORE_IDENTITY_STORE_CONFORMANCE_TEST_H_
