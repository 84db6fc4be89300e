// Whole-string decimal numbers, as std::from_chars reads them: an optional '-' for signed types,
// then digits, and nothing else: no '+', no whitespace, nothing after, nothing out of T's range.
// Callers that accept more (padding, a unit, a range) trim or check around it.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace mkrun {

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A whole-string real number as std::from_chars(double) reads it ("-1.5e3", "inf", "nan"; no
// '+', hex or whitespace), or nullopt when it is not one or out of double's range. Written over
// strtod in the C locale mkrun runs in: libstdc++'s floating-point from_chars would make every
// mkrun process load libm, for its rounding-mode calls alone.
std::optional<double> parse_real(std::string_view text);

// `value` as std::to_chars(double) writes it: the fewest digits that read back as the same
// double, fixed or scientific notation whichever is shorter (fixed on a tie); "inf", "nan".
// (For the same reason: over snprintf and strtod instead of libstdc++'s, which needs libm.)
std::string format_real(double value);

}  // namespace mkrun
