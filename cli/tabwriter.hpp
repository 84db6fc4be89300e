// Column alignment as Go's text/tabwriter does it. runc prints `list` through
// tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0) and urfave/cli prints every help text through
// tabwriter.NewWriter(out, 1, 8, 2, ' ', 0); reproducing the algorithm gives byte-identical
// tables and help screens.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mkrun::cli {

struct TabwriterSettings {
  std::size_t minwidth = 0;  // smallest column width, padding included
  std::size_t padding = 0;   // added to the widest cell of a column
  char padchar = ' ';        // tab padding ('\t') is not supported: neither runc nor urfave uses it
};

// runc's `list` table and urfave/cli's help screens.
inline constexpr TabwriterSettings kListTable{.minwidth = 12, .padding = 3};
inline constexpr TabwriterSettings kHelpText{.minwidth = 1, .padding = 2};

// Formats `text` as Go's tabwriter with flags 0 and a non-tab padchar: a cell is text ended by
// '\t'; the cells at the same index in consecutive lines form a column, padded to its widest
// cell plus `padding`; the last cell of a line (not ended by '\t') is never padded. Widths count
// UTF-8 characters, not bytes.
std::string tabwrite(std::string_view text, const TabwriterSettings& settings);

}  // namespace mkrun::cli
