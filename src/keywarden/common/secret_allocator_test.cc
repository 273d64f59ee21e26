#include "keywarden/common/secret_allocator.h"

#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden {
namespace {

TEST(SecretMemoryTest, SmallAndLargeBlocksAreLeftOutOfDumps) {
  for (size_t n : {1u, 32u, 100u, 4096u, 4097u, 100000u}) {
    void* p = secret_memory::Allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << n;
    std::memset(p, 0xab, n);
    EXPECT_TRUE(secret_memory::IsExcludedFromDumps(p)) << n;
    secret_memory::Deallocate(p, n);
  }
  // An ordinary heap block is not: the check can tell the difference.
  std::vector<char> heap(64);
  EXPECT_FALSE(secret_memory::IsExcludedFromDumps(heap.data()));
}

TEST(SecretMemoryTest, FreedBlocksAreReused) {
  void* a = secret_memory::Allocate(32);
  secret_memory::Deallocate(a, 32);
  void* b = secret_memory::Allocate(30);  // the same size class
  EXPECT_EQ(a, b);
  secret_memory::Deallocate(b, 30);
}

TEST(SecretMemoryTest, SecretBytesLiveOnDontDumpPages) {
  SecretBytes key(32);
  EXPECT_TRUE(secret_memory::IsExcludedFromDumps(key.data()));
  SecretBytes big(10000);
  EXPECT_TRUE(secret_memory::IsExcludedFromDumps(big.data()));
  EXPECT_GT(secret_memory::GetStats().region_bytes, 0u);
}

TEST(SecretMemoryTest, ManyThreadsAllocateAndFree) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 20000; ++i) {
        SecretBytes s(16 + (i + t) % 200);
        s.data()[0] = static_cast<uint8_t>(i);
        SecretBytes copy = s;
        ASSERT_TRUE(copy == s);
      }
    });
  }
  for (auto& th : threads) th.join();
}

}  // namespace
}  // namespace keywarden
