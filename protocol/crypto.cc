#include "protocol/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <stdexcept>

#include "protocol/base64.h"

namespace roam::crypto {

Key Key::random() {
  Key k;
  if (RAND_bytes(k.bytes_.data(), static_cast<int>(k.bytes_.size())) != 1)
    throw std::runtime_error("the system's random number generator failed");
  return k;
}

std::optional<Key> Key::from_base64(std::string_view text) {
  Key k;
  if (!base64_decode(text, k.bytes_)) return std::nullopt;
  return k;
}

Key Key::from_bytes(std::span<const uint8_t, key_size> bytes) {
  Key k;
  std::copy(bytes.begin(), bytes.end(), k.bytes_.begin());
  return k;
}

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string Key::to_base64() const { return base64_encode(bytes_); }

NonceBytes Nonce::bytes() const {
  NonceBytes n{};
  for (size_t i = 0; i < 8; ++i) n[4 + i] = static_cast<uint8_t>(value_ >> (56 - 8 * i));
  return n;
}

Result<Nonce> SequenceCounter::next() {
  if (next_ > Nonce::max_counter) return fail(Errc::exhausted);
  return Nonce(direction_, next_++);
}

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// Misuse of OpenSSL, not bad input: a programming error.
void check(int ok, const char* what) {
  if (ok != 1) throw std::logic_error(std::string("OpenSSL OCB: ") + what);
}

int int_size(size_t n) {
  if (n > INT_MAX / 2) throw std::length_error("OCB message too long");
  return static_cast<int>(n);
}

CtxPtr make_ctx(const Key& key, bool encrypt) {
  CtxPtr c(EVP_CIPHER_CTX_new());
  if (!c) throw std::bad_alloc();
  const int enc = encrypt ? 1 : 0;
  check(EVP_CipherInit_ex(c.get(), EVP_aes_128_ocb(), nullptr, nullptr, nullptr, enc), "init");
  check(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_IVLEN, nonce_size, nullptr), "ivlen");
  // OCB needs the tag length before the first IV.
  check(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_TAG, tag_size, nullptr), "taglen");
  check(EVP_CipherInit_ex(c.get(), nullptr, nullptr, key.bytes().data(), nullptr, enc), "key");
  return c;
}

}  // namespace

struct Cipher::Contexts {
  CtxPtr enc, dec;
};

Cipher::Cipher(const Key& key)
    : ctx_(std::make_unique<Contexts>(Contexts{make_ctx(key, true), make_ctx(key, false)})) {}
Cipher::~Cipher() = default;
Cipher::Cipher(Cipher&&) noexcept = default;
Cipher& Cipher::operator=(Cipher&&) noexcept = default;

void Cipher::seal(const NonceBytes& nonce, Bytes aad, Bytes plaintext, std::vector<uint8_t>& out) {
  EVP_CIPHER_CTX* c = ctx_->enc.get();
  check(EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()), "nonce");
  int len = 0;
  if (!aad.empty()) check(EVP_EncryptUpdate(c, nullptr, &len, aad.data(), int_size(aad.size())), "aad");
  const size_t start = out.size();
  // OCB may hold back a partial block until Final: room for one extra block.
  out.resize(start + plaintext.size() + 16 + tag_size);
  uint8_t* p = out.data() + start;
  int written = 0;
  if (!plaintext.empty()) {
    check(EVP_EncryptUpdate(c, p, &len, plaintext.data(), int_size(plaintext.size())), "encrypt");
    written = len;
  }
  check(EVP_EncryptFinal_ex(c, p + written, &len), "final");
  written += len;
  check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, tag_size, p + written), "tag");
  out.resize(start + static_cast<size_t>(written) + tag_size);
}

Result<void> Cipher::open(const NonceBytes& nonce, Bytes aad, Bytes sealed, std::vector<uint8_t>& out) {
  if (sealed.size() < tag_size) return fail(Errc::auth_failed);
  const Bytes body = sealed.first(sealed.size() - tag_size);
  const Bytes tag = sealed.last(tag_size);
  EVP_CIPHER_CTX* c = ctx_->dec.get();
  check(EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce.data()), "nonce");
  check(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tag_size, const_cast<uint8_t*>(tag.data())), "set tag");
  int len = 0;
  if (!aad.empty() && EVP_DecryptUpdate(c, nullptr, &len, aad.data(), int_size(aad.size())) != 1)
    return fail(Errc::auth_failed);
  const size_t start = out.size();
  out.resize(start + body.size() + 16);
  uint8_t* p = out.data() + start;
  int written = 0;
  bool ok = true;
  if (!body.empty()) {
    ok = EVP_DecryptUpdate(c, p, &len, body.data(), int_size(body.size())) == 1;
    written = len;
  }
  ok = ok && EVP_DecryptFinal_ex(c, p + written, &len) == 1;
  if (!ok) {
    // Unauthenticated plaintext never leaves this function.
    OPENSSL_cleanse(p, out.size() - start);
    out.resize(start);
    return fail(Errc::auth_failed);
  }
  out.resize(start + static_cast<size_t>(written + len));
  return {};
}

}  // namespace roam::crypto
