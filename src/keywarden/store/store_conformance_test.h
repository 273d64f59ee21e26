#ifndef KEYWARDEN_STORE_STORE_CONFORMANCE_TEST_H_
#define KEYWARDEN_STORE_STORE_CONFORMANCE_TEST_H_

// The Store conformance suite: every rule of store.h, run against every
// implementation. An implementation's test file includes this header once
// and instantiates the suite with a factory, e.g.
//
//   namespace keywarden::store {
//   KW_INSTANTIATE_STORE_CONFORMANCE(
//       Sqlite, (StoreFactory{"Sqlite", [](const std::string& dir)
//           -> absl::StatusOr<std::unique_ptr<Store>> {
//         return SqliteStore::Open(dir + "/kw.db");
//       }}));
//   }
//
// PostgreSQL is added the same way (postgres/postgres_store_test.cc: a fresh
// schema per test, and a skip_reason when no server is given). The suite uses only the Store interface. The rules of
// the key lifecycle (policies, purge, search, import tokens, registrations,
// events, leases) are in store_lifecycle_conformance_test.h, included at
// the end.

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
#include "keywarden/keys/key.h"
#include "keywarden/store/store.h"

namespace keywarden::store {

struct StoreFactory {
  std::string name;
  // Creates a fresh, empty store. `scratch_dir` is a new empty directory
  // that exists until the test ends (after the store is destroyed).
  std::function<absl::StatusOr<std::unique_ptr<Store>>(
      const std::string& scratch_dir)>
      create;
  // When set and it returns a non-empty reason, every test skips with it
  // (a backend whose server is not available here, e.g. PostgreSQL).
  std::function<std::string()> skip_reason;
};

// Instantiates every suite of this header for one Store implementation.
// Use at namespace scope inside keywarden::store.
#define KW_INSTANTIATE_STORE_CONFORMANCE(prefix, factory)                     \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreConformanceTest,                      \
                           ::testing::Values(factory), StoreFactoryName);     \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreListTest, ::testing::Values(factory), \
                           StoreFactoryName);                                 \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreSearchTest,                           \
                           ::testing::Values(factory), StoreFactoryName);     \
  INSTANTIATE_TEST_SUITE_P(prefix, StoreRegistrationListTest,                 \
                           ::testing::Values(factory), StoreFactoryName);     \
  INSTANTIATE_TEST_SUITE_P(prefix, ResealConformanceTest,                     \
                           ::testing::Values(factory), StoreFactoryName)

// So failure messages name the implementation instead of dumping bytes.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) {
  *os << factory.name;
}

inline std::string StoreFactoryName(
    const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

namespace conformance_internal {

using keys::Key;
using keys::KeyState;
using keys::KeyVersion;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// A microsecond-aligned instant: stores keep microseconds.
inline absl::Time T(int64_t seconds, int64_t micros = 0) {
  return absl::FromUnixMicros(1767225600'000000 + seconds * 1'000'000 + micros);
}

// An audit record for a mutation (the identity suite checks the log).
inline iam::AuditRecord StoreAudit(std::string action = "kms.test") {
  iam::AuditRecord a;
  a.time = T(100);
  a.actor = "user-admin";
  a.action = std::move(action);
  a.target = "key:k";
  return a;
}

inline KeyVersion MakeVersion(std::string id, absl::Time created,
                              std::vector<uint8_t> material) {
  KeyVersion v;
  v.id = std::move(id);
  v.creation_time = created;
  v.master_key_id = "mk-1";
  v.sealed_material = std::move(material);
  return v;
}

// A valid key with one version and every optional field absent.
inline Key MakeKey(std::string instance, std::string id) {
  Key k;
  k.instance_id = std::move(instance);
  k.id = id;
  k.name = "key-" + id;
  k.creation_time = T(0);
  k.created_by = "IBMid-creator";
  k.last_update_time = T(0);
  k.last_state_change_time = T(0);
  k.versions.push_back(MakeVersion(id, T(0), {1, 2, 3}));
  return k;
}

// A key with every field set to a non-default value and three versions.
inline Key MakeFullKey(std::string instance, std::string id) {
  Key k = MakeKey(std::move(instance), id);
  k.name = "full \"name\" \\ with 'quotes' and ünïcødé";
  k.description = "a description\nwith a newline and a NUL-free tab\t.";
  k.tags = {"env-prod",    "team \"core\"", "back\\slash",
            "ctl\x01\x1f", "日本語",        ""};
  k.key_ring_id = "ring-7";
  k.extractable = true;
  k.imported = true;
  k.state = KeyState::kSuspended;
  k.material_bits = 192;
  k.expiration_time = T(86400, 123456);
  k.creation_time = T(10, 1);
  k.created_by = "iam-ServiceId-123";
  k.last_update_time = T(20, 2);
  k.last_state_change_time = T(30, 3);
  k.last_rotate_time = T(40, 4);
  k.deletion_time = T(50, 5);
  k.deleted_by = "IBMid-deleter";
  k.versions.clear();
  k.versions.push_back(MakeVersion(id, T(10, 1), {0, 1, 2, 0, 255}));
  k.versions.push_back(MakeVersion("v2-" + id, T(15), {9, 8, 7}));
  k.versions.back().master_key_id = "mk-2";
  k.versions.push_back(MakeVersion("a-v3-" + id, T(16), {}));
  // Byte order, as stores return them ("A" < "a").
  k.aliases = {"Alias-" + id, "alias-" + id};
  k.last_sync_time = T(60, 6);
  k.rotation_policy = keys::RotationPolicy{
      {"rot-" + id, T(11, 1), "IBMid-rot", T(12, 2), "IBMid-rot2"}, true, 7};
  k.dual_auth_policy = keys::DualAuthPolicy{
      {"dual-" + id, T(13, 3), "IBMid-dual", T(14, 4), "IBMid-dual2"}, true};
  k.deletion_authorized_by = "IBMid-approver";
  k.deletion_authorization_expiration = T(70, 7);
  return k;
}

inline void ExpectSameMeta(const keys::PolicyMeta& a,
                           const keys::PolicyMeta& e) {
  EXPECT_EQ(a.id, e.id);
  EXPECT_EQ(a.creation_time, e.creation_time);
  EXPECT_EQ(a.created_by, e.created_by);
  EXPECT_EQ(a.last_update_time, e.last_update_time);
  EXPECT_EQ(a.updated_by, e.updated_by);
}

// The key's policies, field by field.
inline void ExpectSamePolicies(const Key& actual, const Key& expected) {
  ASSERT_EQ(actual.rotation_policy.has_value(),
            expected.rotation_policy.has_value());
  if (expected.rotation_policy.has_value()) {
    ExpectSameMeta(actual.rotation_policy->meta,
                   expected.rotation_policy->meta);
    EXPECT_EQ(actual.rotation_policy->enabled,
              expected.rotation_policy->enabled);
    EXPECT_EQ(actual.rotation_policy->interval_months,
              expected.rotation_policy->interval_months);
  }
  ASSERT_EQ(actual.dual_auth_policy.has_value(),
            expected.dual_auth_policy.has_value());
  if (expected.dual_auth_policy.has_value()) {
    ExpectSameMeta(actual.dual_auth_policy->meta,
                   expected.dual_auth_policy->meta);
    EXPECT_EQ(actual.dual_auth_policy->enabled,
              expected.dual_auth_policy->enabled);
  }
}

MATCHER_P(VersionEq, expected, "") {
  return arg.id == expected.id && arg.creation_time == expected.creation_time &&
         arg.master_key_id == expected.master_key_id &&
         arg.sealed_material == expected.sealed_material;
}

// Every field of two keys, versions included, with readable failures.
inline void ExpectSameKey(const Key& actual, const Key& expected) {
  EXPECT_EQ(actual.instance_id, expected.instance_id);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.description, expected.description);
  EXPECT_EQ(actual.tags, expected.tags);
  EXPECT_EQ(actual.key_ring_id, expected.key_ring_id);
  EXPECT_EQ(actual.extractable, expected.extractable);
  EXPECT_EQ(actual.imported, expected.imported);
  EXPECT_EQ(actual.state, expected.state);
  EXPECT_EQ(actual.material_bits, expected.material_bits);
  EXPECT_EQ(actual.expiration_time, expected.expiration_time);
  EXPECT_EQ(actual.creation_time, expected.creation_time);
  EXPECT_EQ(actual.created_by, expected.created_by);
  EXPECT_EQ(actual.last_update_time, expected.last_update_time);
  EXPECT_EQ(actual.last_state_change_time, expected.last_state_change_time);
  EXPECT_EQ(actual.last_rotate_time, expected.last_rotate_time);
  EXPECT_EQ(actual.deletion_time, expected.deletion_time);
  EXPECT_EQ(actual.deleted_by, expected.deleted_by);
  EXPECT_EQ(actual.last_sync_time, expected.last_sync_time);
  EXPECT_EQ(actual.deletion_authorized_by, expected.deletion_authorized_by);
  EXPECT_EQ(actual.deletion_authorization_expiration,
            expected.deletion_authorization_expiration);
  ExpectSamePolicies(actual, expected);
  EXPECT_EQ(actual.aliases, expected.aliases);
  ASSERT_EQ(actual.versions.size(), expected.versions.size());
  for (size_t i = 0; i < expected.versions.size(); ++i) {
    EXPECT_THAT(actual.versions[i], VersionEq(expected.versions[i]))
        << "version " << i;
  }
}

inline std::vector<std::string> Ids(const std::vector<Key>& keys) {
  std::vector<std::string> ids;
  for (const Key& k : keys) ids.push_back(k.id);
  return ids;
}

}  // namespace conformance_internal

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    if (GetParam().skip_reason) {
      const std::string reason = GetParam().skip_reason();
      if (!reason.empty()) GTEST_SKIP() << reason;
    }
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kw-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    absl::StatusOr<std::unique_ptr<Store>> s = GetParam().create(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  Store& store() { return *store_; }

  void Create(const keys::Key& k) {
    absl::Status s = store().CreateKey(k);
    ASSERT_TRUE(s.ok()) << s;
  }

  keys::Key Get(std::string_view instance, std::string_view id) {
    absl::StatusOr<keys::Key> k = store().GetKey(instance, id);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? *k : keys::Key();
  }

  std::vector<std::string> ListIds(const KeyQuery& q) {
    absl::StatusOr<std::vector<keys::Key>> keys = store().ListKeys(q);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? conformance_internal::Ids(*keys)
                     : std::vector<std::string>();
  }

  int64_t Count(const KeyQuery& q) {
    absl::StatusOr<int64_t> n = store().CountKeys(q);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

namespace conformance_internal {

// --- Instances ---------------------------------------------------------

TEST_P(StoreConformanceTest, EnsureInstanceIsIdempotent) {
  EXPECT_TRUE(store().EnsureInstance("inst-a").ok());
  EXPECT_TRUE(store().EnsureInstance("inst-a").ok());
  EXPECT_TRUE(store().EnsureInstance("inst-b").ok());
}

TEST_P(StoreConformanceTest, EnsureInstanceRejectsEmptyId) {
  EXPECT_EQ(store().EnsureInstance("").code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Create / Get --------------------------------------------------------

TEST_P(StoreConformanceTest, CreateThenGetRoundTripsEveryField) {
  ASSERT_TRUE(store().EnsureInstance("inst").ok());
  Key k = MakeFullKey("inst", "k1");
  Create(k);
  ExpectSameKey(Get("inst", "k1"), k);
}

TEST_P(StoreConformanceTest, CreateThenGetRoundTripsAbsentOptionals) {
  Key k = MakeKey("inst", "k1");
  k.name.clear();
  k.key_ring_id = "default";
  Create(k);
  Key got = Get("inst", "k1");
  ExpectSameKey(got, k);
  EXPECT_FALSE(got.expiration_time.has_value());
  EXPECT_FALSE(got.last_rotate_time.has_value());
  EXPECT_FALSE(got.deletion_time.has_value());
  EXPECT_THAT(got.tags, IsEmpty());
}

TEST_P(StoreConformanceTest, CreateRecordsTheInstanceImplicitly) {
  // CreateKey without EnsureInstance still succeeds (the key implies its
  // instance), and EnsureInstance afterwards is a no-op.
  Create(MakeKey("fresh-inst", "k1"));
  EXPECT_TRUE(store().EnsureInstance("fresh-inst").ok());
  EXPECT_EQ(Get("fresh-inst", "k1").id, "k1");
}

TEST_P(StoreConformanceTest, CreateKeepsVersionOrderNotIdOrder) {
  Key k = MakeKey("inst", "m");
  k.versions.push_back(MakeVersion("z", T(1), {1}));
  k.versions.push_back(MakeVersion("a", T(2), {2}));
  k.versions.push_back(MakeVersion("q", T(3), {3}));
  Create(k);
  Key got = Get("inst", "m");
  ASSERT_EQ(got.versions.size(), 4u);
  EXPECT_EQ(got.versions[0].id, "m");
  EXPECT_EQ(got.versions[1].id, "z");
  EXPECT_EQ(got.versions[2].id, "a");
  EXPECT_EQ(got.Primary().id, "q");
}

TEST_P(StoreConformanceTest, CreateDuplicateIsAlreadyExistsAndKeepsOriginal) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key dup = MakeFullKey("inst", "k1");
  EXPECT_EQ(store().CreateKey(dup).code(), absl::StatusCode::kAlreadyExists);
  ExpectSameKey(Get("inst", "k1"), k);
}

TEST_P(StoreConformanceTest, CreateRejectsInvalidKeys) {
  Key no_versions = MakeKey("inst", "a");
  no_versions.versions.clear();
  Key no_id = MakeKey("inst", "");
  Key no_instance = MakeKey("", "b");
  Key dup_versions = MakeKey("inst", "c");
  dup_versions.versions.push_back(dup_versions.versions[0]);
  Key empty_version_id = MakeKey("inst", "d");
  empty_version_id.versions[0].id.clear();
  Key bad_state = MakeKey("inst", "e");
  bad_state.state = static_cast<KeyState>(4);
  for (const Key* k : {&no_versions, &no_id, &no_instance, &dup_versions,
                       &empty_version_id, &bad_state}) {
    EXPECT_EQ(store().CreateKey(*k).code(), absl::StatusCode::kInvalidArgument)
        << "key id '" << k->id << "'";
  }
  KeyQuery q;
  q.instance_id = "inst";
  EXPECT_EQ(Count(q), 0);
}

TEST_P(StoreConformanceTest, GetMissingIsNotFound) {
  Create(MakeKey("inst", "k1"));
  EXPECT_EQ(store().GetKey("inst", "nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKey("other", "k1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKey("", "").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TimesAreKeptToTheMicrosecond) {
  Key k = MakeKey("inst", "k1");
  k.creation_time = T(5) + absl::Nanoseconds(999);
  k.last_update_time = T(6) + absl::Nanoseconds(1);
  k.expiration_time = T(7) + absl::Nanoseconds(500);
  Create(k);
  Key got = Get("inst", "k1");
  EXPECT_EQ(got.creation_time, T(5));
  EXPECT_EQ(got.last_update_time, T(6));
  EXPECT_EQ(got.expiration_time, T(7));
  // The caller's own (finer) copy of last_update_time still matches.
  Key next = k;
  next.last_update_time = T(8);
  EXPECT_TRUE(store().UpdateKey(next, k.last_update_time).ok());
}

TEST_P(StoreConformanceTest, TimesBeforeTheEpochRoundTrip) {
  Key k = MakeKey("inst", "k1");
  k.creation_time = absl::FromUnixMicros(-1234567);
  k.expiration_time = absl::FromUnixMicros(-1);
  Create(k);
  Key got = Get("inst", "k1");
  EXPECT_EQ(got.creation_time, absl::FromUnixMicros(-1234567));
  EXPECT_EQ(got.expiration_time, absl::FromUnixMicros(-1));
}

// --- Update --------------------------------------------------------------

TEST_P(StoreConformanceTest, UpdateReplacesMutableFields) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key u = MakeFullKey("inst", "k1");
  u.versions = k.versions;
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  Key got = Get("inst", "k1");
  EXPECT_EQ(got.name, u.name);
  EXPECT_EQ(got.description, u.description);
  EXPECT_EQ(got.tags, u.tags);
  EXPECT_EQ(got.key_ring_id, u.key_ring_id);
  EXPECT_EQ(got.state, u.state);
  EXPECT_EQ(got.material_bits, u.material_bits);
  EXPECT_EQ(got.expiration_time, u.expiration_time);
  EXPECT_EQ(got.last_update_time, u.last_update_time);
  EXPECT_EQ(got.last_state_change_time, u.last_state_change_time);
  EXPECT_EQ(got.last_rotate_time, u.last_rotate_time);
  EXPECT_EQ(got.deletion_time, u.deletion_time);
  EXPECT_EQ(got.deleted_by, u.deleted_by);
  EXPECT_EQ(got.last_sync_time, u.last_sync_time);
  EXPECT_EQ(got.deletion_authorized_by, u.deletion_authorized_by);
  EXPECT_EQ(got.deletion_authorization_expiration,
            u.deletion_authorization_expiration);
  ExpectSamePolicies(got, u);
  // Identity and origin are fixed at creation.
  EXPECT_EQ(got.extractable, k.extractable);
  EXPECT_EQ(got.imported, k.imported);
  EXPECT_EQ(got.creation_time, k.creation_time);
  EXPECT_EQ(got.created_by, k.created_by);
}

TEST_P(StoreConformanceTest, UpdateCanClearOptionalFields) {
  Key k = MakeFullKey("inst", "k1");
  Create(k);
  Key u = k;
  u.expiration_time.reset();
  u.last_rotate_time.reset();
  u.deletion_time.reset();
  u.deleted_by.clear();
  u.tags.clear();
  u.last_sync_time.reset();
  u.rotation_policy.reset();
  u.dual_auth_policy.reset();
  u.deletion_authorized_by.clear();
  u.deletion_authorization_expiration.reset();
  u.last_update_time = T(100);
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  Key got = Get("inst", "k1");
  EXPECT_FALSE(got.expiration_time.has_value());
  EXPECT_FALSE(got.last_rotate_time.has_value());
  EXPECT_FALSE(got.deletion_time.has_value());
  EXPECT_EQ(got.deleted_by, "");
  EXPECT_THAT(got.tags, IsEmpty());
  EXPECT_FALSE(got.last_sync_time.has_value());
  EXPECT_FALSE(got.rotation_policy.has_value());
  EXPECT_FALSE(got.dual_auth_policy.has_value());
  EXPECT_EQ(got.deletion_authorized_by, "");
  EXPECT_FALSE(got.deletion_authorization_expiration.has_value());
}

TEST_P(StoreConformanceTest, UpdateAppendsVersionsAndNeverRewritesOldOnes) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key rotated = k;
  // A changed copy of an existing version must not overwrite it.
  rotated.versions[0].sealed_material = {0xde, 0xad};
  rotated.versions[0].master_key_id = "mk-evil";
  rotated.versions.push_back(MakeVersion("v2", T(60), {4, 5}));
  rotated.versions.push_back(MakeVersion("v3", T(61), {6}));
  rotated.last_update_time = T(61);
  rotated.last_rotate_time = T(61);
  ASSERT_TRUE(store().UpdateKey(rotated, k.last_update_time).ok());

  Key got = Get("inst", "k1");
  ASSERT_EQ(got.versions.size(), 3u);
  EXPECT_THAT(got.versions[0], VersionEq(k.versions[0]));
  EXPECT_THAT(got.versions[1], VersionEq(rotated.versions[1]));
  EXPECT_THAT(got.versions[2], VersionEq(rotated.versions[2]));
  EXPECT_EQ(got.Primary().id, "v3");
}

TEST_P(StoreConformanceTest, UpdateFromAListedKeyKeepsAllVersions) {
  // A key read from ListKeys carries only its primary version; writing it
  // back (e.g. after a state change) must not drop the older versions.
  Key k = MakeFullKey("inst", "k1");
  Create(k);
  KeyQuery q;
  q.instance_id = "inst";
  absl::StatusOr<std::vector<Key>> listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  Key u = (*listed)[0];
  u.state = KeyState::kActive;
  u.last_update_time = T(500);
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  Key got = Get("inst", "k1");
  EXPECT_EQ(got.state, KeyState::kActive);
  ASSERT_EQ(got.versions.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_THAT(got.versions[i], VersionEq(k.versions[i]));
  }
}

TEST_P(StoreConformanceTest,
       UpdateWithStaleExpectedTimeFailsAndChangesNothing) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key first = k;
  first.name = "first";
  first.last_update_time = T(10);
  ASSERT_TRUE(store().UpdateKey(first, k.last_update_time).ok());

  Key stale = k;  // based on the old read
  stale.name = "stale";
  stale.last_update_time = T(11);
  stale.versions.push_back(MakeVersion("v2", T(11), {1}));
  EXPECT_EQ(store().UpdateKey(stale, k.last_update_time).code(),
            absl::StatusCode::kFailedPrecondition);
  Key got = Get("inst", "k1");
  EXPECT_EQ(got.name, "first");
  EXPECT_EQ(got.last_update_time, T(10));
  EXPECT_EQ(got.versions.size(), 1u);
}

TEST_P(StoreConformanceTest, UpdateMissingKeyIsNotFound) {
  Key k = MakeKey("inst", "ghost");
  EXPECT_EQ(store().UpdateKey(k, k.last_update_time).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, UpdateRejectsInvalidKeys) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  Key u = k;
  u.versions.clear();
  EXPECT_EQ(store().UpdateKey(u, k.last_update_time).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ConcurrentUpdatesFromOneReadExactlyOneWins) {
  Key k = MakeKey("inst", "k1");
  Create(k);
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Key u = k;
      u.name = absl::StrCat("writer-", i);
      u.last_update_time = T(100 + i);
      u.versions.push_back(MakeVersion(absl::StrCat("v-", i), T(100), {1}));
      absl::Status s = store().UpdateKey(u, k.last_update_time);
      if (s.ok()) {
        ++ok;
      } else if (s.code() == absl::StatusCode::kFailedPrecondition) {
        ++conflict;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Get("inst", "k1").versions.size(), 2u);
}

// --- List / Count ----------------------------------------------------------

class ListFixture {
 public:
  // Nine keys in "inst" with spread-out and tied values, plus a decoy key in
  // another instance. Ids are chosen so id order differs from every other
  // order.
  static std::vector<Key> Keys() {
    std::vector<Key> out;
    auto add = [&](std::string id, KeyState state, bool extractable,
                   bool imported, int64_t created, int64_t updated,
                   std::optional<int64_t> rotated,
                   std::optional<int64_t> deleted,
                   std::optional<int64_t> expires, std::string ring) {
      Key k = MakeKey("inst", id);
      k.state = state;
      k.extractable = extractable;
      k.imported = imported;
      k.creation_time = T(created);
      k.last_update_time = T(updated);
      if (rotated) k.last_rotate_time = T(*rotated);
      if (deleted) k.deletion_time = T(*deleted);
      if (expires) k.expiration_time = T(*expires);
      k.key_ring_id = ring;
      out.push_back(k);
    };
    using S = KeyState;
    add("k5", S::kActive, false, false, 50, 5, 7, {}, 100, "default");
    add("k1", S::kActive, true, false, 10, 9, {}, {}, {}, "default");
    add("k9", S::kSuspended, false, true, 30, 9, 7, {}, 90, "r1");
    add("k3", S::kDestroyed, false, false, 30, 2, {}, 40, {}, "default");
    add("k7", S::kDeactivated, true, true, 70, 1, 3, {}, 50, "r1");
    add("k2", S::kPreActivation, false, false, 20, 5, {}, {}, 100, "r2");
    add("k8", S::kActive, false, false, 80, 8, 1, {}, {}, "r1");
    add("k4", S::kDestroyed, true, false, 40, 4, 2, 40, 60, "default");
    add("k6", S::kSuspended, true, true, 60, 6, {}, {}, {}, "r2");
    return out;
  }
};

// An independent statement of the order store.h asks for: the sort keys in
// turn, absent dates smallest, then id ascending.
inline std::vector<std::string> ExpectedOrder(
    std::vector<Key> keys, const std::vector<SortKey>& sort) {
  auto cmp_opt = [](const std::optional<absl::Time>& a,
                    const std::optional<absl::Time>& b) {
    absl::Time lo = absl::InfinitePast();
    absl::Time x = a.value_or(lo), y = b.value_or(lo);
    return x < y ? -1 : (y < x ? 1 : 0);
  };
  auto cmp = [&](SortField f, const Key& a, const Key& b) -> int {
    auto c3 = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
    switch (f) {
      case SortField::kId:
        return c3(a.id, b.id);
      case SortField::kState:
        return c3(static_cast<int>(a.state), static_cast<int>(b.state));
      case SortField::kExtractable:
        return c3(a.extractable, b.extractable);
      case SortField::kImported:
        return c3(a.imported, b.imported);
      case SortField::kCreationDate:
        return c3(a.creation_time, b.creation_time);
      case SortField::kLastUpdateDate:
        return c3(a.last_update_time, b.last_update_time);
      case SortField::kLastRotateDate:
        return cmp_opt(a.last_rotate_time, b.last_rotate_time);
      case SortField::kDeletionDate:
        return cmp_opt(a.deletion_time, b.deletion_time);
      case SortField::kExpirationDate:
        return cmp_opt(a.expiration_time, b.expiration_time);
    }
    return 0;
  };
  std::sort(keys.begin(), keys.end(), [&](const Key& a, const Key& b) {
    for (const SortKey& sk : sort) {
      int c = cmp(sk.field, a, b);
      if (c != 0) return sk.descending ? c > 0 : c < 0;
    }
    return a.id < b.id;
  });
  return Ids(keys);
}

}  // namespace conformance_internal

// The list suite: a fixed set of keys to filter, sort and page.
class StoreListTest : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const keys::Key& k : conformance_internal::ListFixture::Keys())
      Create(k);
    // Same id as an "inst" key, in another instance: must never show up.
    keys::Key decoy = conformance_internal::MakeKey("other", "k5");
    decoy.state = keys::KeyState::kActive;
    Create(decoy);
  }
  KeyQuery Query() {
    KeyQuery q;
    q.instance_id = "inst";
    return q;
  }
};

namespace conformance_internal {

TEST_P(StoreListTest, DefaultQueryListsEveryStateInIdOrder) {
  EXPECT_THAT(ListIds(Query()), ElementsAre("k1", "k2", "k3", "k4", "k5", "k6",
                                            "k7", "k8", "k9"));
  EXPECT_EQ(Count(Query()), 9);
}

TEST_P(StoreListTest, FiltersByOneState) {
  KeyQuery q = Query();
  q.states = {KeyState::kActive};
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k5", "k8"));
  EXPECT_EQ(Count(q), 3);
  q.states = {KeyState::kDestroyed};
  EXPECT_THAT(ListIds(q), ElementsAre("k3", "k4"));
  q.states = {KeyState::kPreActivation};
  EXPECT_THAT(ListIds(q), ElementsAre("k2"));
}

TEST_P(StoreListTest, FiltersBySeveralStates) {
  KeyQuery q = Query();
  q.states = {KeyState::kPreActivation, KeyState::kActive, KeyState::kSuspended,
              KeyState::kDeactivated};
  EXPECT_THAT(ListIds(q),
              ElementsAre("k1", "k2", "k5", "k6", "k7", "k8", "k9"));
  EXPECT_EQ(Count(q), 7);
}

TEST_P(StoreListTest, FiltersByExtractable) {
  KeyQuery q = Query();
  q.extractable = true;
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k4", "k6", "k7"));
  EXPECT_EQ(Count(q), 4);
  q.extractable = false;
  EXPECT_THAT(ListIds(q), ElementsAre("k2", "k3", "k5", "k8", "k9"));
  EXPECT_EQ(Count(q), 5);
}

TEST_P(StoreListTest, FiltersByKeyRing) {
  KeyQuery q = Query();
  q.key_ring_id = "r1";
  EXPECT_THAT(ListIds(q), ElementsAre("k7", "k8", "k9"));
  EXPECT_EQ(Count(q), 3);
  q.key_ring_id = "no-such-ring";
  EXPECT_THAT(ListIds(q), IsEmpty());
  EXPECT_EQ(Count(q), 0);
}

TEST_P(StoreListTest, FiltersByAnyOfSeveralKeyRings) {
  KeyQuery q = Query();
  q.key_ring_ids = {"r1", "no-such-ring"};
  EXPECT_THAT(ListIds(q), ElementsAre("k7", "k8", "k9"));
  EXPECT_EQ(Count(q), 3);
  KeyQuery only_default = Query();
  only_default.key_ring_id = "default";
  q.key_ring_ids = {"default", "r1"};
  EXPECT_EQ(Count(q), Count(only_default) + 3);
  q.key_ring_id = "default";  // both filters apply
  EXPECT_EQ(Count(q), Count(only_default));
}

TEST_P(StoreListTest, CombinesFilters) {
  KeyQuery q = Query();
  q.states = {KeyState::kActive, KeyState::kSuspended};
  q.extractable = false;
  q.key_ring_id = "r1";
  EXPECT_THAT(ListIds(q), ElementsAre("k8", "k9"));
  EXPECT_EQ(Count(q), 2);
}

TEST_P(StoreListTest, UnknownInstanceListsNothing) {
  KeyQuery q = Query();
  q.instance_id = "nobody";
  EXPECT_THAT(ListIds(q), IsEmpty());
  EXPECT_EQ(Count(q), 0);
}

TEST_P(StoreListTest, ListedKeysCarryOnlyThePrimaryVersionWithoutMaterial) {
  Key k = Get("inst", "k5");
  Key rotated = k;
  rotated.versions.push_back(MakeVersion("k5-v2", T(99), {7, 7, 7}));
  rotated.last_update_time = T(99);
  ASSERT_TRUE(store().UpdateKey(rotated, k.last_update_time).ok());

  KeyQuery q = Query();
  absl::StatusOr<std::vector<Key>> listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  const std::vector<Key> expected_keys = ListFixture::Keys();
  for (const Key& l : *listed) {
    ASSERT_EQ(l.versions.size(), 1u) << l.id;
    EXPECT_THAT(l.versions[0].sealed_material, IsEmpty()) << l.id;
    if (l.id == "k5") {
      EXPECT_EQ(l.versions[0].id, "k5-v2");
      EXPECT_EQ(l.versions[0].creation_time, T(99));
      EXPECT_EQ(l.versions[0].master_key_id, "mk-1");
    } else {
      EXPECT_EQ(l.versions[0].id, l.id);
    }
  }
  // Metadata is complete in lists.
  Key full = MakeFullKey("inst", "zz");
  Create(full);
  q.states = {KeyState::kSuspended};
  q.key_ring_id = "ring-7";
  listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  Key expected = full;
  expected.versions = {full.versions.back()};
  expected.versions[0].sealed_material.clear();
  ExpectSameKey((*listed)[0], expected);
}

struct SortCase {
  SortField field;
  bool descending;
};

constexpr SortField kAllSortFields[] = {SortField::kId,
                                        SortField::kState,
                                        SortField::kExtractable,
                                        SortField::kImported,
                                        SortField::kCreationDate,
                                        SortField::kLastUpdateDate,
                                        SortField::kLastRotateDate,
                                        SortField::kDeletionDate,
                                        SortField::kExpirationDate};

TEST_P(StoreListTest, SortsByEveryFieldBothWaysWithTiesByIdAscending) {
  for (SortField f : kAllSortFields) {
    for (bool desc : {false, true}) {
      KeyQuery q = Query();
      q.sort = {SortKey{f, desc}};
      EXPECT_THAT(ListIds(q),
                  ElementsAreArray(ExpectedOrder(ListFixture::Keys(), q.sort)))
          << "field " << static_cast<int>(f) << (desc ? " desc" : " asc");
    }
  }
}

TEST_P(StoreListTest, SortSpotChecksWrittenOut) {
  // Hand-written expectations, independent of ExpectedOrder.
  KeyQuery q = Query();
  q.sort = {{SortField::kExpirationDate, false}};
  // Absent first (ids ascending), then 50, 60, 90, 100 (k2 before k5).
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k3", "k6", "k8", "k7", "k4", "k9",
                                      "k2", "k5"));
  q.sort = {{SortField::kExpirationDate, true}};
  // Ties still by id ascending; absent last.
  EXPECT_THAT(ListIds(q), ElementsAre("k2", "k5", "k9", "k4", "k7", "k1", "k3",
                                      "k6", "k8"));
  q.sort = {{SortField::kId, true}};
  EXPECT_THAT(ListIds(q), ElementsAre("k9", "k8", "k7", "k6", "k5", "k4", "k3",
                                      "k2", "k1"));
  q.sort = {{SortField::kState, false}};
  EXPECT_THAT(ListIds(q), ElementsAre("k2", "k1", "k5", "k8", "k6", "k9", "k7",
                                      "k3", "k4"));
}

TEST_P(StoreListTest, SortsBySeveralKeys) {
  KeyQuery q = Query();
  q.sort = {{SortField::kLastUpdateDate, true},
            {SortField::kCreationDate, false}};
  // updated 9: k1(10), k9(30); 8: k8; 6: k6; 5: k2(20), k5(50); 4; 2; 1.
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k9", "k8", "k6", "k2", "k5", "k4",
                                      "k3", "k7"));
  q.sort = {{SortField::kExtractable, false},
            {SortField::kImported, true},
            {SortField::kLastRotateDate, true}};
  EXPECT_THAT(ListIds(q),
              ElementsAreArray(ExpectedOrder(ListFixture::Keys(), q.sort)));
}

TEST_P(StoreListTest, PagesAreStableAndCoverTheListOnce) {
  for (SortField f : kAllSortFields) {
    KeyQuery all = Query();
    all.sort = {SortKey{f, true}};
    std::vector<std::string> full = ListIds(all);
    ASSERT_EQ(full.size(), 9u);
    for (int64_t page : {1, 2, 4, 9, 10}) {
      std::vector<std::string> joined;
      for (int64_t offset = 0; offset < 12; offset += page) {
        KeyQuery q = all;
        q.limit = page;
        q.offset = offset;
        std::vector<std::string> ids = ListIds(q);
        EXPECT_LE(static_cast<int64_t>(ids.size()), page);
        joined.insert(joined.end(), ids.begin(), ids.end());
      }
      EXPECT_EQ(joined, full) << "page " << page;
    }
  }
}

TEST_P(StoreListTest, LimitAndOffsetEdges) {
  KeyQuery q = Query();
  q.limit = 0;
  EXPECT_THAT(ListIds(q), IsEmpty());
  q.limit = 3;
  q.offset = 7;
  EXPECT_THAT(ListIds(q), ElementsAre("k8", "k9"));
  q.offset = 9;
  EXPECT_THAT(ListIds(q), IsEmpty());
  q.offset = 1000;
  EXPECT_THAT(ListIds(q), IsEmpty());
  q.limit = -1;
  q.offset = 0;
  EXPECT_EQ(store().ListKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  q.limit = 1;
  q.offset = -1;
  EXPECT_EQ(store().ListKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().CountKeys(q).status().code(),
            absl::StatusCode::kInvalidArgument);
  KeyQuery no_instance;
  EXPECT_EQ(store().ListKeys(no_instance).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreListTest, CountIgnoresLimitOffsetAndSort) {
  KeyQuery q = Query();
  q.limit = 2;
  q.offset = 5;
  q.sort = {{SortField::kState, true}};
  EXPECT_EQ(Count(q), 9);
  q.states = {KeyState::kSuspended, KeyState::kDestroyed};
  EXPECT_EQ(Count(q), 4);
}

TEST_P(StoreListTest, ListingReflectsUpdates) {
  Key k = Get("inst", "k1");
  Key u = k;
  u.state = KeyState::kDestroyed;
  u.key_ring_id = "r2";
  u.last_update_time = T(1000);
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  KeyQuery q = Query();
  q.states = {KeyState::kDestroyed};
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k3", "k4"));
  q.states.clear();
  q.key_ring_id = "r2";
  EXPECT_THAT(ListIds(q), ElementsAre("k1", "k2", "k6"));
}

// --- Instances are isolated ------------------------------------------------

TEST_P(StoreConformanceTest, SameKeyIdInTwoInstancesIsTwoKeys) {
  Key a = MakeKey("inst-a", "shared");
  a.name = "in a";
  Key b = MakeFullKey("inst-b", "shared");
  Create(a);
  Create(b);
  ExpectSameKey(Get("inst-a", "shared"), a);
  ExpectSameKey(Get("inst-b", "shared"), b);

  Key ua = a;
  ua.name = "renamed in a";
  ua.last_update_time = T(77);
  ua.versions.push_back(MakeVersion("a-v2", T(77), {1}));
  ASSERT_TRUE(store().UpdateKey(ua, a.last_update_time).ok());
  ExpectSameKey(Get("inst-b", "shared"), b);
  EXPECT_EQ(Get("inst-a", "shared").versions.size(), 2u);
  // An update names its instance: b's timestamp does not unlock a's key.
  Key wrong = b;
  wrong.instance_id = "inst-a";
  EXPECT_EQ(store().UpdateKey(wrong, b.last_update_time).code(),
            absl::StatusCode::kFailedPrecondition);

  KeyQuery q;
  q.instance_id = "inst-a";
  absl::StatusOr<std::vector<Key>> listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "renamed in a");
  EXPECT_EQ((*listed)[0].instance_id, "inst-a");
  EXPECT_EQ(Count(q), 1);
}

// --- Expiry sweep ------------------------------------------------------------

TEST_P(StoreConformanceTest, ListExpiredKeysFindsDueActiveAndSuspendedKeys) {
  const absl::Time now = T(1000);
  auto add = [&](std::string instance, std::string id, KeyState state,
                 std::optional<absl::Time> expires) {
    Key k = MakeKey(std::move(instance), std::move(id));
    k.state = state;
    k.expiration_time = expires;
    Create(k);
  };
  add("i1", "due-active", KeyState::kActive, T(900));
  add("i2", "due-suspended", KeyState::kSuspended, T(500));
  add("i1", "due-exactly-now", KeyState::kActive, now);
  add("i1", "future", KeyState::kActive, now + absl::Microseconds(1));
  add("i1", "no-expiry", KeyState::kActive, std::nullopt);
  add("i1", "deactivated", KeyState::kDeactivated, T(1));
  add("i1", "destroyed", KeyState::kDestroyed, T(1));
  add("i1", "pre-active", KeyState::kPreActivation, T(1));
  add("i0", "due-active", KeyState::kActive, T(900));

  auto expired = store().ListExpiredKeys(now, 100);
  ASSERT_TRUE(expired.ok()) << expired.status();
  // Most overdue first; equal expiry by (instance, id).
  EXPECT_THAT(
      *expired,
      ElementsAre(Pair("i2", "due-suspended"), Pair("i0", "due-active"),
                  Pair("i1", "due-active"), Pair("i1", "due-exactly-now")));
  expired = store().ListExpiredKeys(now, 2);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_THAT(*expired, ElementsAre(Pair("i2", "due-suspended"),
                                    Pair("i0", "due-active")));
  expired = store().ListExpiredKeys(now, 0);
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(*expired, IsEmpty());
  EXPECT_EQ(store().ListExpiredKeys(now, -1).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Once the sweep deactivates a key it leaves the work list.
  Key k = Get("i2", "due-suspended");
  Key u = k;
  u.state = KeyState::kDeactivated;
  u.last_update_time = now;
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  expired = store().ListExpiredKeys(now, 100);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->size(), 3u);
  expired = store().ListExpiredKeys(T(0), 100);
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(*expired, IsEmpty());
}

// --- Meta --------------------------------------------------------------------

TEST_P(StoreConformanceTest, MetaIsSetOnlyOnce) {
  absl::StatusOr<std::optional<std::string>> v = store().GetMeta("admin");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->has_value());

  absl::StatusOr<bool> put = store().PutMetaIfAbsent("admin", "hash-1");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(*put);
  put = store().PutMetaIfAbsent("admin", "hash-2");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_FALSE(*put);

  v = store().GetMeta("admin");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or("<unset>"), "hash-1");
  v = store().GetMeta("other");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_P(StoreConformanceTest, MetaValuesAreBytes) {
  const std::string value("a\0b\xff\n", 5);
  ASSERT_TRUE(store().PutMetaIfAbsent("bin", value).ok());
  ASSERT_TRUE(store().PutMetaIfAbsent("empty", "").ok());
  auto v = store().GetMeta("bin");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), value);
  v = store().GetMeta("empty");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "");
  EXPECT_EQ(store().PutMetaIfAbsent("", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, ConcurrentPutMetaIfAbsentHasOneWinner) {
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto put = store().PutMetaIfAbsent("race", absl::StrCat("v", i));
      if (put.ok() && *put) ++winners;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

// --- Concurrency -------------------------------------------------------------

TEST_P(StoreConformanceTest, ConcurrentCreatesAndReadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = absl::StrCat("t", t, "-", i);
        if (!store().CreateKey(MakeKey("inst", id)).ok()) ++failures;
        // Read-your-writes from the same thread, while others write.
        auto got = store().GetKey("inst", id);
        if (!got.ok() || got->id != id) ++failures;
        KeyQuery q;
        q.instance_id = "inst";
        q.limit = 5;
        if (!store().ListKeys(q).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  KeyQuery q;
  q.instance_id = "inst";
  EXPECT_EQ(Count(q), kThreads * kPerThread);
}

TEST_P(StoreConformanceTest, ConcurrentDuplicateCreatesEachGetTheirOwnOutcome) {
  // Every id is created by two threads at once: one must win, the other
  // must see AlreadyExists, and neither outcome may leak into the other
  // mutations committed alongside (group commit).
  constexpr int kThreads = 8;
  constexpr int kIds = 40;
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t % 2; i < kIds; i += 2) {
        // Threads t and t^1 share ids: even/odd interleave keeps them racing.
        std::string id = absl::StrCat("dup-", t / 2, "-", i / 2);
        absl::Status s = store().CreateKey(MakeKey("inst", id));
        if (s.ok()) {
          ++ok;
        } else if (s.code() == absl::StatusCode::kAlreadyExists) {
          ++exists;
        } else {
          ++other;
        }
        // Interleave a stale update, which must fail alone.
        Key stale = MakeKey("inst", id);
        stale.last_update_time = T(999);
        absl::Status u = store().UpdateKey(stale, T(-1));
        if (u.code() != absl::StatusCode::kFailedPrecondition) ++other;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + exists.load(), kThreads * kIds / 2);
  EXPECT_EQ(ok.load(), kThreads / 2 * kIds / 2);
  KeyQuery q;
  q.instance_id = "inst";
  q.limit = 1000;
  EXPECT_EQ(Count(q), ok.load());
  std::vector<std::string> ids = ListIds(q);
  EXPECT_EQ(static_cast<int>(ids.size()), ok.load());
  for (const std::string& id : ids) {
    EXPECT_EQ(Get("inst", id).last_update_time, T(0)) << id;
  }
}


// --- Key rings -----------------------------------------------------------

inline KeyRing MakeRing(std::string instance, std::string id) {
  KeyRing r;
  r.instance_id = std::move(instance);
  r.id = std::move(id);
  r.creation_time = T(5, 7);
  r.created_by = "IBMid-ringmaker";
  return r;
}

TEST_P(StoreConformanceTest, KeyRingCreateGetListRoundTrip) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "ring-b"), 50, StoreAudit()).ok());
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "Ring-A"), 50, StoreAudit()).ok());
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("other", "ring-b"), 50, StoreAudit()).ok());
  absl::StatusOr<KeyRing> got = store().GetKeyRing("inst", "ring-b");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->instance_id, "inst");
  EXPECT_EQ(got->id, "ring-b");
  EXPECT_EQ(got->creation_time, T(5, 7));
  EXPECT_EQ(got->created_by, "IBMid-ringmaker");
  absl::StatusOr<std::vector<KeyRing>> list = store().ListKeyRings("inst");
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> ids;
  for (const KeyRing& r : *list) ids.push_back(r.id);
  EXPECT_THAT(ids, ElementsAre("Ring-A", "ring-b"));
  absl::StatusOr<std::vector<KeyRing>> none = store().ListKeyRings("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
  // Ring ids are case-sensitive: "ring-a" is not "Ring-A".
  EXPECT_EQ(store().GetKeyRing("inst", "ring-a").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyRing("inst", "default").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, KeyRingDuplicateIsAlreadyExists) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 50, StoreAudit()).ok());
  EXPECT_EQ(store().CreateKeyRing(MakeRing("inst", "r1"), 50, StoreAudit()).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_P(StoreConformanceTest, KeyRingLimitIsResourceExhausted) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 2, StoreAudit()).ok());
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r2"), 2, StoreAudit()).ok());
  EXPECT_EQ(store().CreateKeyRing(MakeRing("inst", "r3"), 2, StoreAudit()).code(),
            absl::StatusCode::kResourceExhausted);
  // The limit is per instance.
  EXPECT_TRUE(store().CreateKeyRing(MakeRing("other", "r3"), 2, StoreAudit()).ok());
}

TEST_P(StoreConformanceTest, KeyRingRejectsInvalidRings) {
  EXPECT_EQ(store().CreateKeyRing(MakeRing("inst", "default"), 50, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().CreateKeyRing(MakeRing("inst", ""), 50, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().CreateKeyRing(MakeRing("", "r1"), 50, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, KeyRingDeleteEmptyRing) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 50, StoreAudit()).ok());
  absl::StatusOr<std::vector<std::string>> moved =
      store().DeleteKeyRing("inst", "r1", false, T(100), StoreAudit());
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_THAT(*moved, IsEmpty());
  EXPECT_EQ(store().GetKeyRing("inst", "r1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteKeyRing("inst", "r1", false, T(100), StoreAudit()).status().code(),
            absl::StatusCode::kNotFound);
  // Deleted rings free their place under the limit.
  EXPECT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 1, StoreAudit()).ok());
}

TEST_P(StoreConformanceTest, KeyRingDeleteRefusesRingWithKeys) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 50, StoreAudit()).ok());
  Key active = MakeKey("inst", "k1");
  active.key_ring_id = "r1";
  Key destroyed = MakeKey("inst", "k2");
  destroyed.key_ring_id = "r1";
  destroyed.state = KeyState::kDestroyed;
  Create(active);
  Create(destroyed);
  // A non-Destroyed key blocks deletion even with move_destroyed.
  EXPECT_EQ(store().DeleteKeyRing("inst", "r1", true, T(100), StoreAudit()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Get("inst", "k2").key_ring_id, "r1");
  EXPECT_TRUE(store().GetKeyRing("inst", "r1").ok());
}

TEST_P(StoreConformanceTest, KeyRingDeleteMovesDestroyedKeysOnlyWhenAsked) {
  ASSERT_TRUE(store().CreateKeyRing(MakeRing("inst", "r1"), 50, StoreAudit()).ok());
  Key a = MakeKey("inst", "k1");
  a.key_ring_id = "r1";
  a.state = KeyState::kDestroyed;
  Key b = MakeKey("inst", "k2");
  b.key_ring_id = "r1";
  b.state = KeyState::kDestroyed;
  b.last_update_time = T(200);
  Key elsewhere = MakeKey("inst", "k3");
  Create(a);
  Create(b);
  Create(elsewhere);
  EXPECT_EQ(store().DeleteKeyRing("inst", "r1", false, T(100), StoreAudit()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<std::string>> moved =
      store().DeleteKeyRing("inst", "r1", true, T(100), StoreAudit());
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_THAT(*moved, UnorderedElementsAre("k1", "k2"));
  EXPECT_EQ(store().GetKeyRing("inst", "r1").status().code(),
            absl::StatusCode::kNotFound);
  Key got_a = Get("inst", "k1");
  Key got_b = Get("inst", "k2");
  EXPECT_EQ(got_a.key_ring_id, "default");
  EXPECT_EQ(got_b.key_ring_id, "default");
  // last_update_time moves forward: max(now, previous + 1 µs).
  EXPECT_EQ(got_a.last_update_time, T(100));
  EXPECT_EQ(got_b.last_update_time, T(200, 1));
  // A writer holding the old record loses its optimistic check.
  EXPECT_EQ(store().UpdateKey(a, a.last_update_time).code(),
            absl::StatusCode::kFailedPrecondition);
  ExpectSameKey(Get("inst", "k3"), elsewhere);
}

// --- Key aliases -----------------------------------------------------------

inline KeyAlias MakeAlias(std::string instance, std::string key_id,
                          std::string alias) {
  KeyAlias a;
  a.instance_id = std::move(instance);
  a.key_id = std::move(key_id);
  a.alias = std::move(alias);
  a.creation_time = T(9, 9);
  a.created_by = "IBMid-aliaser";
  return a;
}

TEST_P(StoreConformanceTest, AliasCreateGetAndShownOnKeys) {
  Create(MakeKey("inst", "k1"));
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "zeta"), 5, StoreAudit()).ok());
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "Alpha"), 5, StoreAudit()).ok());
  absl::StatusOr<KeyAlias> got = store().GetKeyAlias("inst", "zeta");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->instance_id, "inst");
  EXPECT_EQ(got->key_id, "k1");
  EXPECT_EQ(got->alias, "zeta");
  EXPECT_EQ(got->creation_time, T(9, 9));
  EXPECT_EQ(got->created_by, "IBMid-aliaser");
  EXPECT_THAT(Get("inst", "k1").aliases, ElementsAre("Alpha", "zeta"));
  KeyQuery q;
  q.instance_id = "inst";
  absl::StatusOr<std::vector<Key>> listed = store().ListKeys(q);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_THAT((*listed)[0].aliases, ElementsAre("Alpha", "zeta"));
  // Case-sensitive, and scoped to the instance.
  EXPECT_EQ(store().GetKeyAlias("inst", "ZETA").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyAlias("other", "zeta").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AliasIsUniquePerInstance) {
  Create(MakeKey("inst", "k1"));
  Create(MakeKey("inst", "k2"));
  Create(MakeKey("other", "k1"));
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "name"), 5, StoreAudit()).ok());
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "k1", "name"), 5, StoreAudit()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "k2", "name"), 5, StoreAudit()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k2", "Name"), 5, StoreAudit()).ok());
  EXPECT_TRUE(store().CreateKeyAlias(MakeAlias("other", "k1", "name"), 5, StoreAudit()).ok());
  EXPECT_THAT(Get("inst", "k2").aliases, ElementsAre("Name"));
}

TEST_P(StoreConformanceTest, AliasLimitPerKeyIsResourceExhausted) {
  Create(MakeKey("inst", "k1"));
  Create(MakeKey("inst", "k2"));
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "a1"), 2, StoreAudit()).ok());
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "a2"), 2, StoreAudit()).ok());
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "k1", "a3"), 2, StoreAudit()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k2", "a3"), 2, StoreAudit()).ok());
}

TEST_P(StoreConformanceTest, AliasOfMissingKeyIsNotFound) {
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "nokey", "a1"), 5, StoreAudit()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "", "a1"), 5, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);
  Create(MakeKey("inst", "k1"));
  EXPECT_EQ(store().CreateKeyAlias(MakeAlias("inst", "k1", ""), 5, StoreAudit()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, AliasDelete) {
  Create(MakeKey("inst", "k1"));
  Create(MakeKey("inst", "k2"));
  ASSERT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k1", "a1"), 5, StoreAudit()).ok());
  // Only through the key it names.
  EXPECT_EQ(store().DeleteKeyAlias("inst", "k2", "a1", StoreAudit()).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteKeyAlias("inst", "k1", "a1", StoreAudit()).ok());
  EXPECT_EQ(store().GetKeyAlias("inst", "a1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Get("inst", "k1").aliases, IsEmpty());
  EXPECT_EQ(store().DeleteKeyAlias("inst", "k1", "a1", StoreAudit()).code(),
            absl::StatusCode::kNotFound);
  // The name is free again, for any key.
  EXPECT_TRUE(store().CreateKeyAlias(MakeAlias("inst", "k2", "a1"), 5, StoreAudit()).ok());
}

TEST_P(StoreConformanceTest, CreateKeyWithAliasesRecordsThem) {
  Key k = MakeKey("inst", "k1");
  k.aliases = {"b-alias", "a-alias"};
  Create(k);
  EXPECT_THAT(Get("inst", "k1").aliases, ElementsAre("a-alias", "b-alias"));
  absl::StatusOr<KeyAlias> a = store().GetKeyAlias("inst", "b-alias");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->key_id, "k1");
  EXPECT_EQ(a->creation_time, k.creation_time);
  EXPECT_EQ(a->created_by, k.created_by);
  // A taken alias fails the whole create.
  Key clash = MakeKey("inst", "k2");
  clash.aliases = {"fresh", "a-alias"};
  EXPECT_EQ(store().CreateKey(clash).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetKey("inst", "k2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyAlias("inst", "fresh").status().code(),
            absl::StatusCode::kNotFound);
  Key dup = MakeKey("inst", "k3");
  dup.aliases = {"x", "x"};
  EXPECT_EQ(store().CreateKey(dup).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, UpdateKeyKeepsAliases) {
  Key k = MakeKey("inst", "k1");
  k.aliases = {"a1"};
  Create(k);
  Key u = k;
  u.aliases.clear();
  u.last_update_time = T(50);
  ASSERT_TRUE(store().UpdateKey(u, k.last_update_time).ok());
  EXPECT_THAT(Get("inst", "k1").aliases, ElementsAre("a1"));
}

}  // namespace conformance_internal
}  // namespace keywarden::store

// The lifecycle suites use the fixtures above.
#include "keywarden/store/store_lifecycle_conformance_test.h"
#include "keywarden/store/reseal_conformance_test.h"

#endif  // KEYWARDEN_STORE_STORE_CONFORMANCE_TEST_H_
