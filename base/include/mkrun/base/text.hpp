// Small text helpers every layer uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mkrun::text {

// The words with `separator` between them: join({"a", "b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& words, std::string_view separator);
// The words of `text` between runs of `separators`: words("a  b\tc") == {"a", "b", "c"}.
std::vector<std::string_view> words(std::string_view text, std::string_view separators = " \t\n");

}  // namespace mkrun::text
