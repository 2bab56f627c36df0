// AES-128-OCB authenticated encryption (RFC 7253) through OpenSSL EVP, with
// 16-byte tags and 12-byte nonces built from a direction-tagged sequence number.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace roam::crypto {

using Bytes = std::span<const uint8_t>;

inline constexpr size_t key_size = 16;
inline constexpr size_t tag_size = 16;
inline constexpr size_t nonce_size = 12;
inline constexpr size_t key_text_size = 22;  // base64, no padding

// Who sent a datagram: the top bit of its sequence number.
enum class Direction : uint8_t { to_server = 0, to_client = 1 };

// A secret key; every copy is wiped from memory when it is destroyed.
class Key {
 public:
  // From the OS CSPRNG. Throws if the CSPRNG fails (a start-up failure).
  static Key random();
  static std::optional<Key> from_base64(std::string_view text);
  static Key from_bytes(std::span<const uint8_t, key_size> bytes);

  Key(const Key&) = default;
  Key& operator=(const Key&) = default;
  ~Key();

  std::string to_base64() const;
  std::span<const uint8_t, key_size> bytes() const { return bytes_; }

 private:
  Key() = default;
  std::array<uint8_t, key_size> bytes_{};
};

using NonceBytes = std::array<uint8_t, nonce_size>;

// A 64-bit sequence number whose top bit is the direction. Its nonce is four
// zero bytes followed by the number in big-endian order.
class Nonce {
 public:
  static constexpr uint64_t direction_bit = uint64_t{1} << 63;
  static constexpr uint64_t max_counter = direction_bit - 1;

  Nonce(Direction d, uint64_t counter)
      : value_((d == Direction::to_client ? direction_bit : 0) | (counter & max_counter)) {}
  static Nonce from_value(uint64_t value) { return Nonce(value); }

  uint64_t value() const { return value_; }
  uint64_t counter() const { return value_ & max_counter; }
  Direction direction() const {
    return (value_ & direction_bit) ? Direction::to_client : Direction::to_server;
  }
  NonceBytes bytes() const;

 private:
  explicit Nonce(uint64_t value) : value_(value) {}
  uint64_t value_;
};

// Hands out each sequence number of one direction once; refuses to wrap,
// because a repeated nonce under one key breaks OCB.
class SequenceCounter {
 public:
  explicit SequenceCounter(Direction d, uint64_t next = 0) : direction_(d), next_(next) {}
  Result<Nonce> next();

 private:
  Direction direction_;
  uint64_t next_;
};

// AES-128-OCB under one key. Keeps its EVP contexts (and so the key
// schedule) between messages: sealing a datagram allocates nothing.
class Cipher {
 public:
  explicit Cipher(const Key& key);
  ~Cipher();
  Cipher(Cipher&&) noexcept;
  Cipher& operator=(Cipher&&) noexcept;

  // Appends ciphertext then the tag to `out`.
  void seal(const NonceBytes& nonce, Bytes aad, Bytes plaintext, std::vector<uint8_t>& out);
  // `sealed` is ciphertext then tag. On success the plaintext is appended to
  // `out`; on failure `out` is left as it was.
  Result<void> open(const NonceBytes& nonce, Bytes aad, Bytes sealed, std::vector<uint8_t>& out);

 private:
  struct Contexts;
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace roam::crypto
