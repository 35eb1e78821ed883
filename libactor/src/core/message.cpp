#include "actor/message.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace actor {

namespace {
struct type_table {
  std::mutex mu;
  std::unordered_map<std::string_view, const message_type*> by_name;
};
type_table& table() {
  static type_table t;  // built on first use: registration runs during static initialization
  return t;
}
}  // namespace

bool detail::register_message_type(const message_type& t) noexcept {
  auto& tt = table();
  std::lock_guard lk(tt.mu);
  auto [it, inserted] = tt.by_name.emplace(t.name, &t);
  if (!inserted && it->second != &t) {
    std::fprintf(stderr, "libactor: two message types are registered under the name '%.*s'\n",
                 static_cast<int>(t.name.size()), t.name.data());
    std::abort();
  }
  return true;
}

const message_type* find_message_type(std::string_view name) noexcept {
  auto& tt = table();
  std::lock_guard lk(tt.mu);
  auto it = tt.by_name.find(name);
  return it == tt.by_name.end() ? nullptr : it->second;
}

std::vector<std::string> registered_message_names() {
  auto& tt = table();
  std::vector<std::string> out;
  {
    std::lock_guard lk(tt.mu);
    for (const auto& [name, t] : tt.by_name) out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string message::pack() const {
  byte_sink out;
  msgpack::packer<byte_sink> pk(out);
  type_->pack(data_, pk);
  return std::move(out.bytes);
}

}  // namespace actor
