// A fixed-size string builder for code that must not allocate (the child, hook runners):
// appends C strings and integers, truncating silently at the capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mkrun::child {

class Text {
 public:
  static constexpr size_t kCapacity = 2048;

  Text& add(const char* text) {
    while (text != nullptr && *text != '\0' && length_ + 1 < kCapacity)
      buffer_[length_++] = *text++;
    buffer_[length_] = '\0';
    return *this;
  }
  Text& add(std::string_view text) {
    for (char c : text) {
      if (length_ + 1 >= kCapacity) break;
      buffer_[length_++] = c;
    }
    buffer_[length_] = '\0';
    return *this;
  }
  Text& add(char c) {
    if (length_ + 1 < kCapacity) buffer_[length_++] = c;
    buffer_[length_] = '\0';
    return *this;
  }
  Text& add(long long number) {
    char digits[24];
    size_t count = 0;
    unsigned long long magnitude = number < 0 ? 0ULL - static_cast<unsigned long long>(number)
                                              : static_cast<unsigned long long>(number);
    do {
      digits[count++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (number < 0) add('-');
    while (count > 0) add(digits[--count]);
    return *this;
  }
  Text& add(int number) { return add(static_cast<long long>(number)); }
  Text& add(unsigned number) { return add(static_cast<long long>(number)); }
  Text& add(long number) { return add(static_cast<long long>(number)); }
  Text& add(unsigned long number) { return add(static_cast<long long>(number)); }

  const char* c_str() const { return buffer_; }
  size_t size() const { return length_; }
  void clear() {
    length_ = 0;
    buffer_[0] = '\0';
  }

 private:
  char buffer_[kCapacity] = {};
  size_t length_ = 0;
};

}  // namespace mkrun::child
