// Small file and string helpers shared by the cgroups module. cgroupfs files are tiny and are
// read and written whole, in one syscall each way, as the kernel expects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"

namespace mkrun::cgroups::util {

// The whole file. Errors read "read `<path>`: <errno text>".
Result<std::string> read_text(const std::string& path);
// One write(2) of `value` to an existing file (no O_CREAT: cgroupfs files are made by the
// kernel, and a missing one means a missing controller). Errors read
// "write `<path>` (value <value>): <errno text>", with errc() set.
Result<void> write_text(const std::string& path, std::string_view value);
// The two halves of write_text, for several writes through one open file (cgroupfs takes each
// write() as one value). The value only names the failed write.
Result<UniqueFd> open_for_writing(const std::string& path, std::string_view value);
Result<void> write_text_to(int fd, const std::string& path, std::string_view value);
bool exists(const std::string& path);

// "a" + "b" -> "a/b", without doubling or dropping the slash; "" + "b" -> "b".
std::string join(std::string_view dir, std::string_view name);
std::string_view trim(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char separator);
// Whitespace-separated words.
std::vector<std::string_view> words(std::string_view text);

}  // namespace mkrun::cgroups::util
