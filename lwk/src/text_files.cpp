#include "text_files.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace mkrun::lwk {

Result<void> make_directory(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir `" + path + "`");
  return {};
}

}  // namespace mkrun::lwk
