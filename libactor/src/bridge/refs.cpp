#include "bridge/refs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include "actor/bridge.hpp"
#include "actor/detail/envelope.hpp"

namespace actor {

namespace detail {

namespace {

class bridge_endpoint final : public endpoint {
 public:
  explicit bridge_endpoint(wire_ref w) : endpoint(w.id), wire_(std::move(w)) {}
  void enqueue(envelope* e) noexcept override {
    reject(*e, errc::no_such_actor, "a ref received through a bridge can only be used as a bridge target");
    delete e;
  }
  [[nodiscard]] const wire_ref* wire_address() const noexcept override { return &wire_; }

 private:
  wire_ref wire_;
};

class codec final : public ref_codec {
 public:
  wire_ref to_wire(const actor_ref& r) override {
    if (const auto* w = r.endpoint()->wire_address()) return *w;
    throw std::runtime_error("the ref of a local actor cannot travel through a bridge");
  }
  actor_ref from_wire(const wire_ref& w) override { return make_bridge_ref(w); }
};

std::string format_wire(const wire_ref& w) {
  return w.node + "@" + w.address + "#" + std::to_string(w.incarnation) + "/" + std::to_string(w.id);
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

// SCHEME://REST, as ZeroMQ endpoints are: a scheme of letters, digits, '+', '-' and '.',
// starting with a letter, and something after it.
bool is_address(std::string_view a) {
  const auto sep = a.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep + 3 == a.size()) return false;
  if (std::isalpha(static_cast<unsigned char>(a[0])) == 0) return false;
  return std::all_of(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(sep), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
  });
}

error bad_target(std::string_view text, const std::string& why) {
  return error{errc::bad_message, "malformed target '" + std::string(text) + "': " + why +
                                      " (use NAME, NAME@ADDRESS or NODE@ADDRESS#INCARNATION/ID)"};
}

}  // namespace

ref_codec& bridge_codec() noexcept {
  static codec c;
  return c;
}

actor_ref make_bridge_ref(const wire_ref& w) { return actor_ref{new bridge_endpoint(w)}; }

}  // namespace detail

// ---- target --------------------------------------------------------------------------------

target::target(actor_ref ref) {
  const auto* w = ref ? ref.endpoint()->wire_address() : nullptr;
  if (w == nullptr) {
    valid_ = false;
    return;
  }
  ref_ = *w;
}

target::target(std::string text) {
  auto parsed = parse_target(text);
  if (parsed) {
    *this = std::move(*parsed);
    return;
  }
  valid_ = false;
  malformed_ = std::move(parsed.error().text);
}
target::target(const char* text) : target(std::string(text == nullptr ? "" : text)) {}

target target::named(std::string name) {
  target t;
  t.kind_ = kind::name;
  t.name_ = std::move(name);
  return t;
}

target target::named_at(std::string address, std::string name) {
  target t;
  t.kind_ = kind::named_at;
  t.address_ = std::move(address);
  t.name_ = std::move(name);
  return t;
}

target target::manager_at(std::string address) { return ref({}, std::move(address), 0, 0); }

target target::ref(std::string node, std::string address, std::uint64_t incarnation, std::uint64_t id) {
  target t;
  t.ref_ = detail::wire_ref{std::move(node), std::move(address), incarnation, id};
  return t;
}

std::string target::describe() const {
  if (!valid_) return malformed_.empty() ? "(a ref without a wire address)" : "(malformed target)";
  switch (kind_) {
    case kind::ref: return detail::format_wire(ref_);
    case kind::name: return "'" + name_ + "'";
    case kind::named_at: return name_ + "@" + address_;
  }
  return {};
}

std::string format_ref(const actor_ref& ref) {
  const auto* w = ref ? ref.endpoint()->wire_address() : nullptr;
  return w == nullptr ? std::string() : detail::format_wire(*w);
}

expected<target> parse_target(std::string_view text) {
  if (text.empty()) return detail::bad_target(text, "it is empty");
  if (detail::has_space(text)) return detail::bad_target(text, "it contains whitespace");
  const auto at = text.find('@');
  if (at == std::string_view::npos) return target::named(std::string(text));
  const auto before = text.substr(0, at);
  const auto rest = text.substr(at + 1);
  const auto hash = rest.rfind('#');
  const auto address = rest.substr(0, hash);
  if (!detail::is_address(address)) {
    return detail::bad_target(text, "expected an address like tcp://host:port after '@'");
  }
  if (hash == std::string_view::npos) {
    if (before.empty()) return detail::bad_target(text, "the name before '@' is empty");
    return target::named_at(std::string(address), std::string(before));
  }
  const auto tail = rest.substr(hash + 1);
  const auto slash = tail.find('/');
  std::uint64_t incarnation = 0;
  std::uint64_t id = 0;
  if (slash == std::string_view::npos || !detail::parse_u64(tail.substr(0, slash), incarnation) ||
      !detail::parse_u64(tail.substr(slash + 1), id)) {
    return detail::bad_target(text, "expected #INCARNATION/ID (two unsigned numbers) after the address");
  }
  return target::ref(std::string(before), std::string(address), incarnation, id);
}

}  // namespace actor
