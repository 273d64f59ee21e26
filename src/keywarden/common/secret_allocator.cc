#include "keywarden/common/secret_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <string>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KW_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KW_ASAN 1
#endif
#ifdef KW_ASAN
#include <sanitizer/asan_interface.h>
#define KW_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define KW_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define KW_POISON(p, n) ((void)(p), (void)(n))
#define KW_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace keywarden::secret_memory {
namespace {

constexpr size_t kMinClass = 16;   // also the alignment of every block
constexpr size_t kMaxClass = 4096;
constexpr int kClasses = 9;        // 16, 32, ..., 4096
constexpr size_t kRegionBytes = 64 << 10;

struct FreeBlock {
  FreeBlock* next;
};

struct SizeClass {
  std::mutex mu;
  FreeBlock* free = nullptr;
  char* carve = nullptr;  // the unused tail of the newest region
  size_t carve_left = 0;
};

struct Pool {
  std::array<SizeClass, kClasses> classes;
  std::mutex stats_mu;
  Stats stats;
};

Pool& ThePool() {
  // Never destroyed: blocks may be freed by static destructors.
  static Pool* pool = new Pool;
  return *pool;
}

int ClassOf(size_t bytes) {
  size_t size = std::max(bytes, kMinClass);
  return std::countr_zero(std::bit_ceil(size)) - std::countr_zero(kMinClass);
}

// Maps `bytes` (a multiple of the page size), excluded from dumps and locked
// when the limit allows. Returns nullptr when the system has no memory.
void* MapSecret(size_t bytes, bool& locked) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Best effort both: an old kernel without MADV_DONTDUMP or a small
  // RLIMIT_MEMLOCK must not stop the server; dumps are off by default.
  (void)::madvise(p, bytes, MADV_DONTDUMP);
  locked = ::mlock(p, bytes) == 0;
  return p;
}

size_t PageRound(size_t bytes) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

void* Allocate(size_t bytes) {
  Pool& pool = ThePool();
  if (bytes > kMaxClass) {
    const size_t mapped = PageRound(bytes);
    bool locked = false;
    void* p = MapSecret(mapped, locked);
    if (p == nullptr) throw std::bad_alloc();
    std::lock_guard lock(pool.stats_mu);
    pool.stats.large_bytes += mapped;
    if (locked) pool.stats.locked_bytes += mapped;
    return p;
  }
  const int c = ClassOf(bytes);
  const size_t size = kMinClass << c;
  SizeClass& sc = pool.classes[c];
  std::lock_guard lock(sc.mu);
  void* p;
  if (sc.free != nullptr) {
    FreeBlock* b = sc.free;
    KW_UNPOISON(b, size);
    sc.free = b->next;
    p = b;
  } else {
    if (sc.carve_left < size) {
      bool locked = false;
      char* region = static_cast<char*>(MapSecret(kRegionBytes, locked));
      if (region == nullptr) throw std::bad_alloc();
      KW_POISON(region, kRegionBytes);
      sc.carve = region;
      sc.carve_left = kRegionBytes;
      std::lock_guard stats_lock(pool.stats_mu);
      pool.stats.region_bytes += kRegionBytes;
      if (locked) pool.stats.locked_bytes += kRegionBytes;
    }
    p = sc.carve;
    sc.carve += size;
    sc.carve_left -= size;
    KW_UNPOISON(p, size);
  }
  return p;
}

void Deallocate(void* p, size_t bytes) {
  if (p == nullptr) return;
  Pool& pool = ThePool();
  if (bytes > kMaxClass) {
    const size_t mapped = PageRound(bytes);
    ::munmap(p, mapped);
    std::lock_guard lock(pool.stats_mu);
    pool.stats.large_bytes -= mapped;
    return;
  }
  const int c = ClassOf(bytes);
  SizeClass& sc = pool.classes[c];
  std::lock_guard lock(sc.mu);
  auto* b = static_cast<FreeBlock*>(p);
  b->next = sc.free;
  sc.free = b;
  KW_POISON(b, kMinClass << c);
}

Stats GetStats() {
  Pool& pool = ThePool();
  std::lock_guard lock(pool.stats_mu);
  return pool.stats;
}

bool IsExcludedFromDumps(const void* p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long start = 0, end = 0;
    // A mapping's header line: "start-end perms offset dev inode path".
    // Field lines start with a capital ("Size:", "VmFlags:"); headers
    // with a lower-case hex address.
    const bool header = !line.empty() && ((line[0] >= '0' && line[0] <= '9') ||
                                          (line[0] >= 'a' && line[0] <= 'f'));
    if (header && std::sscanf(line.c_str(), "%lx-%lx", &start, &end) == 2) {
      inside = addr >= start && addr < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.find(" dd") != std::string::npos;
    }
  }
  return false;
}

}  // namespace keywarden::secret_memory
