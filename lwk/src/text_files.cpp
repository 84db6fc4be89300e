#include "text_files.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace mkrun::lwk {

Result<void> make_directory(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir `" + path + "`");
  return {};
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\0'))
    text.pop_back();
  return text;
}

}  // namespace mkrun::lwk
