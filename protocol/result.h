// Errors from the network or the user are values: Result<T> holds a T or an
// error code. A small stand-in for C++23 std::expected (g++ 12 is C++20 here).
#pragma once

#include <cassert>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace roam {

// Why a decoder or a cryptographic check refused its input.
enum class Errc : unsigned char {
  truncated,        // input ended inside a field
  overlong_varint,  // a varint longer than needed or wider than 64 bits
  too_large,        // a length or count above the caller's bound
  malformed,        // a field holds a value the format does not allow
  bad_version,      // a version byte we do not speak
  auth_failed,      // the datagram's tag did not verify
  wrong_direction,  // a datagram sent in our own direction (a reflection)
  exhausted,        // a sequence counter would wrap
};

std::string_view to_string(Errc e);

template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected<E> fail(E e) {
  return {std::move(e)};
}

template <class T, class E = Errc>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(Unexpected<E> e) : error_(std::move(e.error)), ok_(false) {}

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const E& error() const { return error_; }

 private:
  E error_{};
  bool ok_ = true;
};

}  // namespace roam
