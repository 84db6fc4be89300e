#include "go_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "log.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::cli {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string num_error(std::string_view function, std::string_view text, std::string_view reason) {
  return "strconv." + std::string(function) + ": parsing " + go_quote(text) + ": " +
         std::string(reason);
}

// Decimal digits only, as strconv with base 10: no sign, no prefix, no '_'.
std::expected<uint64_t, std::string_view> decimal_magnitude(std::string_view digits) {
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return std::unexpected("invalid syntax");
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) return std::unexpected("value out of range");
  return value;
}

std::expected<int64_t, std::string> parse_signed(std::string_view function, std::string_view text) {
  std::string_view digits = text;
  const bool negative = digits.starts_with('-');
  if (negative || digits.starts_with('+')) digits.remove_prefix(1);
  auto magnitude = decimal_magnitude(digits);
  if (!magnitude) return std::unexpected(num_error(function, text, magnitude.error()));
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (*magnitude > kMax + (negative ? 1 : 0)) {
    return std::unexpected(num_error(function, text, "value out of range"));
  }
  return negative ? static_cast<int64_t>(0 - *magnitude) : static_cast<int64_t>(*magnitude);
}

// The number part of go-units' pattern, `\d+(\.\d+)*`: how long it is (0 if none).
std::size_t number_prefix(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == 0) return 0;
  while (i + 1 < text.size() && text[i] == '.' && is_digit(text[i + 1])) {
    ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
  }
  return i;
}

// What may follow the number: ` ?([kKmMgGtTpP])?[iI]?[bB]?`; the multiplier, or nullopt.
std::optional<double> unit_multiplier(std::string_view suffix) {
  if (suffix.starts_with(' ')) suffix.remove_prefix(1);
  double multiplier = 1;
  constexpr std::string_view kUnits = "kmgtp";
  if (!suffix.empty()) {
    auto unit = kUnits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(suffix[0]))));
    if (unit != std::string_view::npos) {
      for (std::size_t power = 0; power <= unit; ++power) multiplier *= 1024;
      suffix.remove_prefix(1);
    }
  }
  if (!suffix.empty() && (suffix[0] == 'i' || suffix[0] == 'I')) suffix.remove_prefix(1);
  if (!suffix.empty() && (suffix[0] == 'b' || suffix[0] == 'B')) suffix.remove_prefix(1);
  if (!suffix.empty()) return std::nullopt;
  return multiplier;
}

}  // namespace

std::expected<uint64_t, std::string> parse_go_uint64(std::string_view text) {
  auto value = decimal_magnitude(text);
  if (!value) return std::unexpected(num_error("ParseUint", text, value.error()));
  return *value;
}

std::expected<int64_t, std::string> parse_go_int64(std::string_view text) {
  return parse_signed("ParseInt", text);
}

std::expected<int64_t, std::string> parse_go_atoi(std::string_view text) {
  return parse_signed("Atoi", text);
}

std::expected<int64_t, std::string> ram_in_bytes(std::string_view text) {
  const std::size_t length = number_prefix(text);
  const auto multiplier = unit_multiplier(text.substr(length));
  if (length == 0 || !multiplier) {
    return std::unexpected("invalid size: '" + std::string(text) + "'");
  }
  const std::string number(text.substr(0, length));
  if (std::count(number.begin(), number.end(), '.') > 1) {  // the pattern allows "1.2.3"
    return std::unexpected(num_error("ParseFloat", number, "invalid syntax"));
  }
  // (digits and one '.' at most, so a number that does not parse is out of range)
  auto parsed = parse_real(number);
  if (!parsed) return std::unexpected(num_error("ParseFloat", number, "value out of range"));
  double size = *parsed * *multiplier;
  // Go's float-to-int64 conversion of an out-of-range value gives the smallest int64 on amd64.
  if (!(size < 9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(size);
}

}  // namespace mkrun::cli
