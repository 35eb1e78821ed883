#pragma once
// A small-object allocator for envelopes. Messages are allocated on the
// sender's thread and freed on the receiver's, the pattern general-purpose
// allocators handle worst; here each thread keeps a cache of blocks per size
// class and trades full batches of them with the other threads through a
// shared depot, so a message costs no lock and no trip into malloc.
// Sanitizer builds bypass the pool, so ASan still sees every block.

#include <cstddef>

namespace actor::detail::pool {

/// Allocates n bytes for an envelope. Whether the pool is used is decided once,
/// inside the library (sanitizer builds of libactor bypass it), so code compiled
/// with other flags than the library always pairs these two correctly.
void* allocate(std::size_t n);
void deallocate(void* p, std::size_t n) noexcept;

}  // namespace actor::detail::pool
