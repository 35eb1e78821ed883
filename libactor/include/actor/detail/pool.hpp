#pragma once
// A small-object allocator for envelopes. Messages are allocated on the
// sender's thread and freed on the receiver's, the pattern general-purpose
// allocators handle worst; here each thread keeps a cache of blocks per size
// class and trades full batches of them with the other threads through a
// shared depot, so a message costs no lock and no trip into malloc.
// Sanitizer builds bypass the pool, so ASan still sees every block.

#include <cstddef>
#include <new>

namespace actor::detail::pool {

/// Blocks up to this size are pooled; larger ones go to ::operator new.
inline constexpr std::size_t max_pooled = 256;

void* allocate_pooled(std::size_t n);
void deallocate_pooled(void* p, std::size_t n) noexcept;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool enabled = false;
#else
inline constexpr bool enabled = true;
#endif

inline void* allocate(std::size_t n) {
  if (enabled && n <= max_pooled) return allocate_pooled(n);
  return ::operator new(n);
}

inline void deallocate(void* p, std::size_t n) noexcept {
  if (enabled && n <= max_pooled) {
    deallocate_pooled(p, n);
  } else {
    ::operator delete(p, n);
  }
}

}  // namespace actor::detail::pool
