// A short sequence of big values (the transport's states in flight) whose
// storage outlives them: a value that leaves keeps its slot, buffers and
// all, and the next one to come is assigned into it, so that in steady state
// nothing is allocated. Slots only ever move by swapping.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace roam {

template <class T>
class Slots {
 public:
  size_t size() const { return n_; }
  // Slots ever used, the values' and the waiting ones: [size(), slots()) are
  // reachable through operator[] too.
  size_t slots() const { return all_.size(); }
  bool empty() const { return n_ == 0; }
  T& operator[](size_t i) { return all_[i]; }
  const T& operator[](size_t i) const { return all_[i]; }
  T& front() { return all_[0]; }
  const T& front() const { return all_[0]; }
  T& back() { return all_[n_ - 1]; }
  const T& back() const { return all_[n_ - 1]; }
  T* begin() { return all_.data(); }
  T* end() { return all_.data() + n_; }
  const T* begin() const { return all_.data(); }
  const T* end() const { return all_.data() + n_; }

  // A slot at the end, holding whatever an earlier value left: the caller
  // assigns every part of it.
  T& push_back() {
    if (n_ == all_.size()) all_.emplace_back();
    return all_[n_++];
  }
  // The same, placed before index `at`.
  T& insert(size_t at) {
    push_back();
    std::rotate(all_.begin() + static_cast<std::ptrdiff_t>(at), all_.begin() + static_cast<std::ptrdiff_t>(n_ - 1),
                all_.begin() + static_cast<std::ptrdiff_t>(n_));
    return all_[at];
  }
  // Values [from, to) leave; their slots wait behind the others.
  void erase(size_t from, size_t to) {
    std::rotate(all_.begin() + static_cast<std::ptrdiff_t>(from), all_.begin() + static_cast<std::ptrdiff_t>(to),
                all_.begin() + static_cast<std::ptrdiff_t>(n_));
    n_ -= to - from;
  }
  void pop_front() { erase(0, 1); }
  void pop_back() { --n_; }

 private:
  std::vector<T> all_;
  size_t n_ = 0;
};

}  // namespace roam
