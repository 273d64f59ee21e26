#include "keywarden/store/memory/memory_store.h"

#include <filesystem>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace keywarden::store {
namespace {

// InMemoryStore is SqliteStore (whose conformance runs in
// sqlite/sqlite_store_test.cc); only what it adds is checked here: every
// call reaches the store, and the temporary database goes with it.

keys::Key MakeKey(std::string id) {
  keys::Key k;
  k.instance_id = "inst";
  k.id = id;
  k.name = "key-" + id;
  k.creation_time = k.last_update_time = k.last_state_change_time =
      absl::FromUnixSeconds(1767225600);
  k.created_by = "IBMid-creator";
  keys::KeyVersion v;
  v.id = id;
  v.creation_time = k.creation_time;
  v.master_key_id = "mk";
  v.sealed_material = {1, 2, 3};
  k.versions.push_back(v);
  return k;
}

iam::AuditRecord Audit() {
  iam::AuditRecord a;
  a.time = absl::FromUnixSeconds(1767225700);
  a.actor = "user-admin";
  a.action = "kms.test";
  a.target = "key:k1";
  return a;
}

TEST(InMemoryStoreTest, ForwardsKeysIdentityAndAuditToOneDatabase) {
  InMemoryStore store;
  keys::Key k = MakeKey("k1");
  ASSERT_TRUE(store.CreateKey(k, Audit()).ok());
  absl::StatusOr<keys::Key> got = store.GetKey("inst", "k1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, k.name);
  ASSERT_EQ(got->versions.size(), 1u);
  EXPECT_EQ(got->versions[0].sealed_material, k.versions[0].sealed_material);
  absl::StatusOr<std::vector<iam::AuditRecord>> audit = store.ListAudit(0, 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_TRUE(store.VerifyAuditChain().ok());
  absl::StatusOr<std::vector<iam::InstanceRecord>> instances =
      store.ListInstances();
  ASSERT_TRUE(instances.ok());
  ASSERT_EQ(instances->size(), 1u);
  EXPECT_EQ((*instances)[0].id, "inst");
}

TEST(InMemoryStoreTest, StoresAreIndependentAndLeaveNoFiles) {
  std::string dir_a, dir_b;
  {
    InMemoryStore a;
    InMemoryStore b;
    dir_a = a.dir();
    dir_b = b.dir();
    EXPECT_NE(dir_a, dir_b);
    EXPECT_TRUE(std::filesystem::exists(dir_a + "/keywarden.db"));
    ASSERT_TRUE(a.CreateKey(MakeKey("k1")).ok());
    EXPECT_EQ(b.GetKey("inst", "k1").status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_a));
  EXPECT_FALSE(std::filesystem::exists(dir_b));
}

}  // namespace
}  // namespace keywarden::store
