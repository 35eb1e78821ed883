#pragma once
/// expected<T>: a value or an actor::error (C++20 has no std::expected yet).

#include <stdexcept>
#include <utility>
#include <variant>

#include "actor/error.hpp"

namespace actor {

/// Thrown by expected<T>::value() when it holds an error.
class bad_expected_access : public std::runtime_error {
 public:
  explicit bad_expected_access(actor::error e)
      : std::runtime_error(e.describe()), error_(std::move(e)) {}
  [[nodiscard]] const actor::error& error() const noexcept { return error_; }

 private:
  actor::error error_;
};

/// Holds either a T or an error. Not thread-safe; a plain value type.
template <class T>
class [[nodiscard]] expected {
 public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  expected(actor::error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  expected(errc code, std::string text = {})
      : v_(std::in_place_index<1>, actor::error{code, std::move(text)}) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; throws bad_expected_access when this holds an error.
  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; precondition: !has_value().
  [[nodiscard]] const actor::error& error() const& { return std::get<1>(v_); }

 private:
  void check() const {
    if (v_.index() != 0) throw bad_expected_access(std::get<1>(v_));
  }
  std::variant<T, actor::error> v_;
};

/// expected<void>: success or an error.
template <>
class [[nodiscard]] expected<void> {
 public:
  expected() = default;
  expected(actor::error e) : err_(std::move(e)), ok_(false) {}  // NOLINT
  expected(errc code, std::string text = {}) : err_{code, std::move(text)}, ok_(false) {}
  [[nodiscard]] bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {
    if (!ok_) throw bad_expected_access(err_);
  }
  [[nodiscard]] const actor::error& error() const& { return err_; }

 private:
  actor::error err_;
  bool ok_ = true;
};

}  // namespace actor
