// RAII for libuv handles. A handle's memory must outlive uv_close(), so the
// wrapper gives it to the close callback, which frees it.
#pragma once

#include <uv.h>

#include <memory>

namespace roam {

template <class H>
class UvHandle {
 public:
  UvHandle() : h_(std::make_unique<H>()) {}
  ~UvHandle() { close(); }
  UvHandle(UvHandle&&) noexcept = default;
  UvHandle& operator=(UvHandle&& other) noexcept {
    close();
    h_ = std::move(other.h_);
    return *this;
  }

  H* get() const { return h_.get(); }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(h_.get()); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(h_.get()); }

  // Closes the handle now; its callbacks will not run any more.
  void close() {
    if (!h_) return;
    if (base()->type == UV_UNKNOWN_HANDLE) {  // never initialised
      h_.reset();
      return;
    }
    uv_handle_t* raw = reinterpret_cast<uv_handle_t*>(h_.release());
    if (!uv_is_closing(raw)) uv_close(raw, [](uv_handle_t* h) { std::unique_ptr<H>(reinterpret_cast<H*>(h)); });
  }

 private:
  std::unique_ptr<H> h_;
};

}  // namespace roam
