#include "actor/builtins.hpp"

#include <algorithm>
#include <map>

#include "actor/actor_base.hpp"
#include "actor/system.hpp"

namespace actor {

namespace {

class echo_actor final : public actor_base {
 protected:
  behavior make_behavior() override {
    return {others([](const message& m) { return any_message(m); })};
  }
};

class counter_actor final : public actor_base {
 public:
  explicit counter_actor(const config& cfg) : value_(cfg.get_or<std::int64_t>("start", 0)) {}

 protected:
  behavior make_behavior() override {
    return {
        [this](const counter_incr& m) {
          value_ += m.by;
          return counter_value{value_};
        },
        [this](const counter_get&) { return counter_value{value_}; },
    };
  }

 private:
  std::int64_t value_;
};

class kv_actor final : public actor_base {
 protected:
  behavior make_behavior() override {
    return {
        [this](kv_put& m) {
          auto [it, inserted] = data_.insert_or_assign(std::move(m.key), std::move(m.value));
          return kv_ok{!inserted};
        },
        [this](const kv_get& m) {
          auto it = data_.find(m.key);
          return it == data_.end() ? kv_value{false, {}} : kv_value{true, it->second};
        },
        [this](const kv_delete& m) { return kv_ok{data_.erase(m.key) > 0}; },
        [this](const kv_keys&) {
          kv_key_list out;
          for (const auto& [k, v] : data_) out.keys.push_back(k);
          return out;
        },
    };
  }

 private:
  std::map<std::string, std::string> data_;  // ordered: keys come back sorted
};

}  // namespace

void register_builtin_types(actor_system& sys) {
  sys.register_actor_type<echo_actor>("echo");
  sys.register_actor_type<counter_actor>("counter");
  sys.register_actor_type<kv_actor>("kv");
}

}  // namespace actor
