#include "byte_buffer.h"

#include <cstdlib>
#include <new>
#include <utility>

namespace aufs {

ByteBuffer::~ByteBuffer() { free(data_); }

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void ByteBuffer::Reserve(size_t n) {
  if (capacity_ - size_ >= n) return;
  void* data = realloc(data_, size_ + n);
  if (data == nullptr) throw std::bad_alloc();
  data_ = static_cast<uint8_t*>(data);
  capacity_ = size_ + n;
}

uint8_t* ByteBuffer::Grow(size_t n) {
  if (capacity_ - size_ < n) {
    size_t capacity = capacity_ == 0 ? 64 * 1024 : capacity_;
    while (capacity - size_ < n) capacity *= 2;
    Reserve(capacity - size_);
  }
  uint8_t* added = data_ + size_;
  size_ += n;
  return added;
}

uint8_t* ByteBuffer::Release() {
  size_ = 0;
  capacity_ = 0;
  return std::exchange(data_, nullptr);
}

}  // namespace aufs
