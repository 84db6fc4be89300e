#include "mkrun/base/numbers.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace mkrun {
namespace {

bool starts_like_a_real(std::string_view text) {
  if (text.starts_with('-')) text.remove_prefix(1);
  if (text.empty()) return false;
  // strtod also takes leading whitespace, '+' and hexadecimal; std::from_chars none of them
  if (text.starts_with("0x") || text.starts_with("0X")) return false;
  const char first = text.front();
  return (first >= '0' && first <= '9') || first == '.' || first == 'i' || first == 'I' ||
         first == 'n' || first == 'N';
}

// The shortest decimal digits that read back as `value` (finite, positive), and the exponent of
// the first: 1234.5 is {"12345", 3}. snprintf rounds correctly, so the first precision whose
// result reads back exactly is the shortest such representation.
struct Digits {
  std::string digits;
  int exponent = 0;
};

Digits shortest_digits(double value) {
  char buffer[40];
  for (int precision = 0;; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, value);
    if (precision < 16 && std::strtod(buffer, nullptr) != value) continue;
    // "d.ddde+XX": the digits without the point, then the exponent
    std::string_view text(buffer);
    const std::size_t e = text.find('e');
    Digits result;
    for (char c : text.substr(0, e))
      if (c != '.') result.digits += c;
    result.exponent = std::atoi(buffer + e + 1);
    while (result.digits.size() > 1 && result.digits.back() == '0') result.digits.pop_back();
    return result;
  }
}

// A whole number in fixed notation is written exactly (2^64 as 18446744073709551616), as
// to_chars does; it has as many characters as its shortest digits padded with zeros.
std::string fixed_notation(const Digits& d, double value) {
  const int count = static_cast<int>(d.digits.size());
  if (d.exponent < 0) {
    return "0." + std::string(static_cast<std::size_t>(-d.exponent - 1), '0') + d.digits;
  }
  if (d.exponent >= count - 1) {
    char whole[320];
    std::snprintf(whole, sizeof whole, "%.0f", value);
    return whole;
  }
  return d.digits.substr(0, static_cast<std::size_t>(d.exponent + 1)) + "." +
         d.digits.substr(static_cast<std::size_t>(d.exponent + 1));
}

std::string scientific_notation(const Digits& d) {
  std::string text = d.digits.substr(0, 1);
  if (d.digits.size() > 1) text += "." + d.digits.substr(1);
  char exponent[16];
  std::snprintf(exponent, sizeof exponent, "e%c%02d", d.exponent < 0 ? '-' : '+',
                d.exponent < 0 ? -d.exponent : d.exponent);
  return text + exponent;
}

}  // namespace

std::string format_real(double value) {
  const std::string sign = std::signbit(value) ? "-" : "";
  if (value != value) return sign + "nan";
  if (value == 0) return sign + "0";
  const double magnitude = std::signbit(value) ? -value : value;
  if (magnitude > 1.7976931348623157e308) return sign + "inf";
  const Digits digits = shortest_digits(magnitude);
  std::string fixed = fixed_notation(digits, magnitude);
  std::string scientific = scientific_notation(digits);
  return sign + (scientific.size() < fixed.size() ? scientific : fixed);
}

std::optional<double> parse_real(std::string_view text) {
  if (!starts_like_a_real(text)) return std::nullopt;
  const std::string terminated(text);  // strtod reads up to a NUL
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(terminated.c_str(), &end);
  if (errno == ERANGE || end != terminated.c_str() + terminated.size()) return std::nullopt;
  return value;
}

}  // namespace mkrun
