#include "core/mountinfo.hpp"

#include <algorithm>

#include "mkrun/base/numbers.hpp"

namespace mkrun::mountinfo {
namespace {

// mountinfo escapes space, tab, newline and backslash in paths as \ooo octal.
std::string unescape_octal(std::string_view field) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    bool escape = field[i] == '\\' && i + 3 < field.size() && octal(field[i + 1]) &&
                  octal(field[i + 2]) && octal(field[i + 3]);
    if (!escape) {
      out += field[i];
      continue;
    }
    out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                             (field[i + 3] - '0'));
    i += 3;
  }
  return out;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < line.size()) {
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
    size_t end = start;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > start) out.push_back(line.substr(start, end - start));
    start = end;
  }
  return out;
}

}  // namespace

// The optional fields end at the lone "-"; fstype, source and super options follow it.
std::optional<MountLine> parse_line(std::string_view line) {
  auto fields = words(line);
  if (fields.size() < 10) return std::nullopt;
  auto dash = std::find(fields.begin() + 6, fields.end(), std::string_view("-"));
  if (dash == fields.end() || fields.end() - dash < 4) return std::nullopt;
  MountLine mount{unescape_octal(fields[3]), unescape_octal(fields[4]), std::string(dash[1]),
                  std::string(dash[3])};
  mount.id = parse_number<int64_t>(fields[0]).value_or(-1);
  return mount;
}

std::vector<MountLine> parse(std::string_view text) {
  std::vector<MountLine> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    if (auto line = parse_line(text.substr(0, end))) lines.push_back(std::move(*line));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

}  // namespace mkrun::mountinfo
