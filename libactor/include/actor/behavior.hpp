#pragma once
/// behavior: the set of handlers an actor runs, keyed by message type, plus an
/// optional fallback for every other message.
///
///   behavior{
///     [this](const incr& m) { n_ += m.by; },                 // no reply
///     [this](const get&) { return value{n_}; },               // the return value is the reply
///     [this](const fail&) { return error{errc::bad_message, "no"}; },  // or an error reply
///     others([](const message& m) { ... }),                   // anything else
///   }

#include <algorithm>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "actor/detail/envelope.hpp"
#include "actor/expected.hpp"
#include "actor/message.hpp"

namespace actor {

/// An owned copy of a message of any registered type; a handler (typically a
/// fallback) may return one as its reply.
class any_message {
 public:
  explicit any_message(const message& m) : e_(m.clone()) {}
  [[nodiscard]] message view() const noexcept { return e_->view(); }
  /// Internal: gives up the envelope.
  [[nodiscard]] detail::envelope* release() noexcept { return e_.release(); }

 private:
  std::unique_ptr<detail::envelope> e_;
};

namespace detail {

// The single parameter type of a callable (a lambda or function object with one operator()).
template <class F>
struct single_arg;
template <class C, class R, class A>
struct single_arg<R (C::*)(A) const> {
  using type = std::remove_cvref_t<A>;
};
template <class C, class R, class A>
struct single_arg<R (C::*)(A)> {
  using type = std::remove_cvref_t<A>;
};
template <class F>
using single_arg_t = typename single_arg<decltype(&std::remove_cvref_t<F>::operator())>::type;

template <class T>
struct is_expected : std::false_type {};
template <class T>
struct is_expected<expected<T>> : std::true_type {};

// Turns a handler's return value into the reply envelope (nullptr: no reply).
template <class R>
envelope* to_reply(R&& r) {
  using T = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<T, any_message>) {
    auto* e = r.release();
    e->kind = envelope_kind::reply;
    return e;
  } else if constexpr (std::is_same_v<T, error>) {
    return make_envelope(std::forward<R>(r), envelope_kind::error, actor_ref{});
  } else if constexpr (std::is_same_v<T, expected<void>>) {
    return r ? nullptr : make_envelope(r.error(), envelope_kind::error, actor_ref{});
  } else if constexpr (is_expected<T>::value) {
    if (r) return make_envelope(std::move(*r), envelope_kind::reply, actor_ref{});
    return make_envelope(r.error(), envelope_kind::error, actor_ref{});
  } else {
    static_assert(registered_message<T>,
                  "a handler returns void, a registered message, actor::error or actor::expected<T>");
    return make_envelope(std::forward<R>(r), envelope_kind::reply, actor_ref{});
  }
}

struct handler {
  const message_type* type;  // nullptr: the fallback
  std::function<envelope*(envelope&)> fn;
};

template <class F>
struct fallback_tag {
  F fn;
};

}  // namespace detail

/// Wraps a callable taking `const message&` as the fallback for unmatched messages.
template <class F>
detail::fallback_tag<std::decay_t<F>> others(F&& f) {
  return {std::forward<F>(f)};
}

class behavior {
 public:
  behavior() = default;
  template <class... Fs>
    requires(sizeof...(Fs) > 0)
  behavior(Fs&&... fs) {  // NOLINT: implicit, so `return { ... };` works
    handlers_.reserve(sizeof...(Fs));
    (add(std::forward<Fs>(fs)), ...);
  }

  /// Internal (receive-style actors): a behavior of one fallback that gets every envelope
  /// itself, and returns its reply (or null).
  static behavior raw(std::function<detail::envelope*(detail::envelope&)> fn) {
    behavior b;
    b.handlers_.push_back({nullptr, std::move(fn)});
    return b;
  }

  /// The handlers of `first`, then those of `second` for the types `first` has none for; the
  /// fallback of `first`, else that of `second`. (Tasks: their lifecycle, then their state's.)
  static behavior combine(behavior first, const behavior& second) {
    for (const auto& h : second.handlers_) {
      const bool taken = std::any_of(first.handlers_.begin(), first.handlers_.end(),
                                     [&](const detail::handler& f) { return f.type == h.type; });
      if (!taken) first.handlers_.push_back(h);
    }
    return first;
  }

  /// True when no handler (and no fallback) is set.
  [[nodiscard]] bool empty() const noexcept { return handlers_.empty(); }

  /// Finds the handler for t, else the fallback, else nullptr.
  [[nodiscard]] const detail::handler* find(const message_type* t) const noexcept {
    const detail::handler* fallback = nullptr;
    for (const auto& h : handlers_) {
      if (h.type == t) return &h;
      if (h.type == nullptr) fallback = &h;
    }
    return fallback;
  }

 private:
  template <class F>
  static detail::envelope* call(F& f, auto&& arg) {
    if constexpr (std::is_void_v<decltype(f(arg))>) {
      f(arg);
      return nullptr;
    } else {
      return detail::to_reply(f(arg));
    }
  }

  template <class F>
  void add(detail::fallback_tag<F> tag) {
    handlers_.push_back({nullptr, [f = std::move(tag.fn)](detail::envelope& e) mutable {
                           return call(f, e.view());
                         }});
  }

  template <class F>
  void add(F&& f) {
    using T = detail::single_arg_t<F>;
    static_assert(registered_message<T>, "handler parameter must be a type registered with ACTOR_MESSAGE");
    handlers_.push_back({&type_of<T>(), [f = std::forward<F>(f)](detail::envelope& e) mutable {
                           return call(f, *static_cast<T*>(e.data));
                         }});
  }

  std::vector<detail::handler> handlers_;
};

}  // namespace actor
