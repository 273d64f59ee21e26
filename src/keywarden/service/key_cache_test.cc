#include "keywarden/service/key_cache.h"

#include "gtest/gtest.h"

namespace keywarden::service {
namespace {

std::shared_ptr<const CachedKey> Entry(std::string instance, std::string id) {
  auto e = std::make_shared<CachedKey>();
  e->key.instance_id = std::move(instance);
  e->key.id = std::move(id);
  return e;
}

TEST(KeyCacheTest, InsertFindErase) {
  KeyCache cache(100);
  cache.Insert(Entry("i", "k"), cache.Generation("i", "k"));
  ASSERT_NE(cache.Find("i", "k"), nullptr);
  EXPECT_EQ(cache.Find("j", "k"), nullptr);
  cache.Erase("i", "k");
  EXPECT_EQ(cache.Find("i", "k"), nullptr);
}

TEST(KeyCacheTest, LoadThatRacedAMutationIsNotInserted) {
  KeyCache cache(100);
  uint64_t before_load = cache.Generation("i", "k");
  cache.Erase("i", "k");  // a mutation commits while the load runs
  cache.Insert(Entry("i", "k"), before_load);
  EXPECT_EQ(cache.Find("i", "k"), nullptr);
}

TEST(KeyCacheTest, ClearDropsEverythingAndRefusesLoadsThatStartedBefore) {
  KeyCache cache(16000);  // room for all 50 in any shard
  for (int i = 0; i < 50; ++i) {
    std::string id = std::to_string(i);
    cache.Insert(Entry("i", id), cache.Generation("i", id));
  }
  ASSERT_EQ(cache.Size(), 50u);
  uint64_t before_seal = cache.Generation("i", "late");
  cache.Clear();  // the server is sealed while that load runs
  EXPECT_EQ(cache.Size(), 0u);
  EXPECT_EQ(cache.Find("i", "7"), nullptr);
  cache.Insert(Entry("i", "late"), before_seal);
  EXPECT_EQ(cache.Find("i", "late"), nullptr);
  // Loads that start after the clear are cached again.
  cache.Insert(Entry("i", "late"), cache.Generation("i", "late"));
  EXPECT_NE(cache.Find("i", "late"), nullptr);
}

TEST(KeyCacheTest, CapacityIsBounded) {
  KeyCache cache(32);
  for (int i = 0; i < 1000; ++i) {
    std::string id = std::to_string(i);
    cache.Insert(Entry("i", id), cache.Generation("i", id));
  }
  EXPECT_LE(cache.Size(), 32u);
}

}  // namespace
}  // namespace keywarden::service
