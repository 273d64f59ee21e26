#ifndef KEYWARDEN_COMMON_SECRET_ALLOCATOR_H_
#define KEYWARDEN_COMMON_SECRET_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace keywarden {

// Memory for key material (SecretBytes) on pages that a core dump leaves
// out (madvise MADV_DONTDUMP) and, where RLIMIT_MEMLOCK allows, that are
// locked in RAM (mlock: never written to swap). Core dumps are off anyway
// (server/hardening.h); this keeps key material out of a dump an operator
// turned on for debugging.
//
// Small sizes (up to 4 KiB) come from per-size-class free lists carved out
// of 64 KiB regions, so an allocation on the wrap path is a locked pop,
// with no system call; regions are never returned to the system (they are
// bounded by the peak of live secrets). Larger sizes get their own mapping.
// Freed blocks are not wiped here: SecretBytes wipes before it frees.
// Thread-safe.
namespace secret_memory {

void* Allocate(size_t bytes);
void Deallocate(void* p, size_t bytes);

struct Stats {
  size_t region_bytes = 0;  // mapped for small blocks
  size_t large_bytes = 0;   // mapped for large blocks, live
  size_t locked_bytes = 0;  // of both, locked by mlock
};
Stats GetStats();

// Whether the page holding `p` is marked MADV_DONTDUMP, read back from
// /proc/self/smaps (for tests; slow).
bool IsExcludedFromDumps(const void* p);

}  // namespace secret_memory

// A standard allocator over secret_memory, for containers of key material.
template <typename T>
struct SecretAllocator {
  using value_type = T;
  SecretAllocator() noexcept = default;
  template <typename U>
  SecretAllocator(const SecretAllocator<U>&) noexcept {}  // NOLINT

  T* allocate(size_t n) {
    return static_cast<T*>(secret_memory::Allocate(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    secret_memory::Deallocate(p, n * sizeof(T));
  }
  template <typename U>
  bool operator==(const SecretAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_SECRET_ALLOCATOR_H_
