#pragma once
// A minimal intrusive reference-counted pointer: one word, no control block.
// T must provide add_ref() and release() (release deletes at zero).

#include <cstddef>
#include <utility>

namespace actor::detail {

template <class T>
class intrusive_ptr {
 public:
  intrusive_ptr() noexcept = default;
  /// Adopts p when add_ref is false (p already carries a reference for us).
  explicit intrusive_ptr(T* p, bool add_ref = true) noexcept : p_(p) {
    if (p_ != nullptr && add_ref) p_->add_ref();
  }
  intrusive_ptr(const intrusive_ptr& o) noexcept : p_(o.p_) {
    if (p_ != nullptr) p_->add_ref();
  }
  intrusive_ptr(intrusive_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  template <class U>
  intrusive_ptr(intrusive_ptr<U> o) noexcept : p_(o.detach()) {}  // NOLINT: upcast
  ~intrusive_ptr() {
    if (p_ != nullptr) p_->release();
  }
  intrusive_ptr& operator=(intrusive_ptr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  [[nodiscard]] T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// Gives up ownership without releasing.
  [[nodiscard]] T* detach() noexcept { return std::exchange(p_, nullptr); }
  void reset() noexcept { intrusive_ptr{}.swap_with(*this); }
  friend bool operator==(const intrusive_ptr& a, const intrusive_ptr& b) noexcept { return a.p_ == b.p_; }

 private:
  void swap_with(intrusive_ptr& o) noexcept { std::swap(p_, o.p_); }
  T* p_ = nullptr;
};

}  // namespace actor::detail
