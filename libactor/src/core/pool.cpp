#include "actor/detail/pool.hpp"

#include <array>
#include <mutex>
#include <vector>

namespace actor::detail::pool {

namespace {

constexpr std::size_t class_count = 4;           // 64, 128, 192, 256 bytes
constexpr std::size_t batch = 64;                // blocks traded with the depot at once
constexpr std::size_t max_depot_batches = 1024;  // per class; beyond that, blocks go back to the system

constexpr std::size_t class_of(std::size_t n) noexcept { return n <= 64 ? 0 : (n - 1) / 64; }
constexpr std::size_t class_size(std::size_t c) noexcept { return (c + 1) * 64; }

struct depot {
  std::mutex mu;
  std::vector<std::array<void*, batch>> full;
};

// Never destroyed: threads may return blocks during process exit.
std::array<depot, class_count>& depots() {
  static auto* d = new std::array<depot, class_count>();
  return *d;
}

struct thread_cache {
  struct bin {
    std::array<void*, 2 * batch> items;
    std::size_t count = 0;
  };
  std::array<bin, class_count> bins;

  ~thread_cache() {
    for (std::size_t c = 0; c < class_count; ++c) {
      auto& b = bins[c];
      while (b.count >= batch) give(c, b);
      while (b.count > 0) ::operator delete(b.items[--b.count], class_size(c));
    }
  }

  // moves `batch` blocks from the top of b into the depot
  static void give(std::size_t c, bin& b) noexcept {
    auto& d = depots()[c];
    b.count -= batch;
    {
      std::lock_guard lk(d.mu);
      if (d.full.size() < max_depot_batches) {
        try {
          auto& slot = d.full.emplace_back();
          for (std::size_t i = 0; i < batch; ++i) slot[i] = b.items[b.count + i];
          return;
        } catch (...) {  // no memory for the depot: free the blocks instead
        }
      }
    }
    for (std::size_t i = 0; i < batch; ++i) ::operator delete(b.items[b.count + i], class_size(c));
  }

  // refills b from the depot; false when the depot is empty
  static bool take(std::size_t c, bin& b) noexcept {
    auto& d = depots()[c];
    std::lock_guard lk(d.mu);
    if (d.full.empty()) return false;
    const auto& slot = d.full.back();
    for (std::size_t i = 0; i < batch; ++i) b.items[b.count++] = slot[i];
    d.full.pop_back();
    return true;
  }
};

thread_local thread_cache cache;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool enabled = false;  // let the sanitizers see every block
#else
constexpr bool enabled = true;
#endif
constexpr std::size_t max_pooled = class_count * 64;

void* allocate_pooled(std::size_t n) {
  const auto c = class_of(n);
  auto& b = cache.bins[c];
  if (b.count == 0 && !thread_cache::take(c, b)) return ::operator new(class_size(c));
  return b.items[--b.count];
}

void deallocate_pooled(void* p, std::size_t n) noexcept {
  const auto c = class_of(n);
  auto& b = cache.bins[c];
  if (b.count == b.items.size()) thread_cache::give(c, b);
  b.items[b.count++] = p;
}

}  // namespace

void* allocate(std::size_t n) {
  if (enabled && n <= max_pooled) return allocate_pooled(n);
  return ::operator new(n);
}

void deallocate(void* p, std::size_t n) noexcept {
  if (enabled && n <= max_pooled) {
    deallocate_pooled(p, n);
  } else {
    ::operator delete(p, n);
  }
}

}  // namespace actor::detail::pool
