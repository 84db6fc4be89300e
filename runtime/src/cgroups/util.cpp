#include "cgroups/util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "mkrun/base/fd.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::cgroups::util {

Result<std::string> read_text(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("read `" + path + "`");
  return files::read_fd(fd.get(), path);
}

Result<UniqueFd> open_for_writing(const std::string& path, std::string_view value) {
  // O_TRUNC matters only for the plain files of the unit tests; cgroupfs ignores it.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return fail_errno("write `" + path + "` (value " + std::string(value) + ")");
  return fd;
}

Result<void> write_text(const std::string& path, std::string_view value) {
  auto fd = MKRUN_TRY(open_for_writing(path, value));
  return write_text_to(fd.get(), path, value);
}

Result<void> write_text_to(int fd, const std::string& path, std::string_view value) {
  auto what = [&] { return "write `" + path + "` (value " + std::string(value) + ")"; };
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(what());
  // The kernel parses a cgroup file write as one unit, so a short write cannot be continued.
  if (static_cast<size_t>(n) != value.size()) return fail(what() + ": short write", EIO);
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  std::string out(dir);
  bool dir_slash = out.back() == '/';
  bool name_slash = name.front() == '/';
  if (dir_slash && name_slash) {
    name.remove_prefix(1);
  } else if (!dir_slash && !name_slash) {
    out += '/';
  }
  out += name;
  return out;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> words(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r";
  std::vector<std::string_view> out;
  for (;;) {
    auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return out;
    text.remove_prefix(first);
    auto end = text.find_first_of(kSpace);
    out.push_back(text.substr(0, end));
    if (end == std::string_view::npos) return out;
    text.remove_prefix(end);
  }
}

}  // namespace mkrun::cgroups::util
