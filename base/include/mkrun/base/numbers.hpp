// Whole-string decimal numbers, as std::from_chars reads them: an optional '-' for signed types,
// then digits, and nothing else: no '+', no whitespace, nothing after, nothing out of T's range.
// Callers that accept more (padding, a unit, a range) trim or check around it.
#pragma once

#include <charconv>
#include <optional>
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

}  // namespace mkrun
