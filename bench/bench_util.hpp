#pragma once
// Helpers shared by the benchmarks: clocks, RESULT lines (the anchors' format:
// `RESULT <key> <value> <unit>`), latency statistics, RSS and arguments.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace bench {

using clock_type = std::chrono::steady_clock;

inline std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count());
}

inline void result(const std::string& key, double value, const char* unit) {
  std::printf("RESULT %s %.3f %s\n", key.c_str(), value, unit);
  std::fflush(stdout);
}

// Nearest-rank percentile on a sorted vector.
inline std::uint64_t percentile(const std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// mean, p50, p99, p99.9 and max of round trips given in nanoseconds, printed in microseconds
inline void latency_report(const std::string& prefix, std::vector<std::uint64_t> rtt_ns) {
  std::sort(rtt_ns.begin(), rtt_ns.end());
  long double sum = 0;
  for (auto x : rtt_ns) sum += x;
  double mean = rtt_ns.empty() ? 0.0 : static_cast<double>(sum / rtt_ns.size());
  result(prefix + ".mean_us", mean / 1e3, "us");
  result(prefix + ".p50_us", static_cast<double>(percentile(rtt_ns, 0.50)) / 1e3, "us");
  result(prefix + ".p99_us", static_cast<double>(percentile(rtt_ns, 0.99)) / 1e3, "us");
  result(prefix + ".p999_us", static_cast<double>(percentile(rtt_ns, 0.999)) / 1e3, "us");
  result(prefix + ".max_us", static_cast<double>(rtt_ns.empty() ? 0 : rtt_ns.back()) / 1e3, "us");
}

// Resident set size of this process in bytes (from /proc/self/statm).
inline long rss_bytes() {
  long pages_total = 0, pages_rss = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  if (std::fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2) pages_rss = -1;
  std::fclose(f);
  return pages_rss * sysconf(_SC_PAGESIZE);
}

// Peak resident set size of this process in bytes (VmHWM).
inline long peak_rss_bytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

inline long arg_long(int argc, char** argv, int idx, long fallback) {
  return argc > idx ? std::strtol(argv[idx], nullptr, 10) : fallback;
}

}  // namespace bench
