#include "tabwriter.hpp"

#include <algorithm>
#include <vector>

namespace mkrun::cli {
namespace {

struct Cell {
  std::string_view text;
  std::size_t width = 0;
};

using Line = std::vector<Cell>;

// utf8.RuneCountInString for well-formed text: every byte but the continuation bytes starts one.
std::size_t character_count(std::string_view text) {
  return static_cast<std::size_t>(std::ranges::count_if(
      text, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::vector<Line> split_cells(std::string_view text) {
  std::vector<Line> lines;
  for (std::string_view line_text : split(text, '\n')) {
    Line& line = lines.emplace_back();
    for (std::string_view cell : split(line_text, '\t'))
      line.push_back({cell, character_count(cell)});
  }
  return lines;
}

// Go's Writer.format and Writer.writeLines, for flags 0. `widths_` holds the width of each column
// of the block being formatted; a block of column c is a run of consecutive lines that all have a
// tab-terminated cell c.
class Formatter {
 public:
  Formatter(const std::vector<Line>& lines, const TabwriterSettings& settings)
      : lines_(lines), settings_(settings) {}

  std::string run() {
    format(0, lines_.size());
    return std::move(out_);
  }

 private:
  bool has_column(std::size_t line, std::size_t column) const {
    return column + 1 < lines_[line].size();
  }

  void format(std::size_t line0, std::size_t line1) {
    const std::size_t column = widths_.size();
    for (std::size_t current = line0; current < line1; ++current) {
      if (!has_column(current, column)) continue;
      write_lines(line0, current);
      line0 = current;
      std::size_t width = settings_.minwidth;
      for (; current < line1 && has_column(current, column); ++current) {
        width = std::max(width, lines_[current][column].width + settings_.padding);
      }
      widths_.push_back(width);
      format(line0, current);
      widths_.pop_back();
      // Like Go's loop, the for statement then steps past `current`: that line has no cell in
      // this column, so it belongs to the lines written below.
      line0 = current;
    }
    write_lines(line0, line1);
  }

  void write_lines(std::size_t line0, std::size_t line1) {
    for (std::size_t index = line0; index < line1; ++index) {
      const Line& line = lines_[index];
      for (std::size_t column = 0; column < line.size(); ++column) {
        out_ += line[column].text;
        if (column < widths_.size() && widths_[column] > line[column].width) {
          out_.append(widths_[column] - line[column].width, settings_.padchar);
        }
      }
      // The last line is what followed the final '\n' (usually nothing): no newline after it.
      if (index + 1 < lines_.size()) out_ += '\n';
    }
  }

  const std::vector<Line>& lines_;
  const TabwriterSettings& settings_;
  std::vector<std::size_t> widths_;
  std::string out_;
};

}  // namespace

std::string tabwrite(std::string_view text, const TabwriterSettings& settings) {
  std::vector<Line> lines = split_cells(text);
  return Formatter(lines, settings).run();
}

}  // namespace mkrun::cli
