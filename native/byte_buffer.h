// A growable byte buffer that skips zero-filling and can hand its memory to
// another owner (a JavaScript Buffer) without a copy.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aufs {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ~ByteBuffer();
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  // Appends `n` uninitialised bytes and returns them; valid until the next Grow.
  uint8_t* Grow(size_t n);
  // Makes room for `n` more bytes at once, so that growing to them moves nothing.
  void Reserve(size_t n);
  size_t size() const { return size_; }
  // Gives up the bytes, to be freed with free(); the buffer is then empty.
  uint8_t* Release();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace aufs
