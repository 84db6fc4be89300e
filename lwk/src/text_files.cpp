#include "text_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkrun/base/fd.hpp"

namespace mkrun::lwk {

Result<void> write_text_file_atomic(const std::string& path, std::string_view text) {
  std::string temporary = path + ".tmp";
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("create `" + temporary + "`");
  while (!text.empty()) {
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write `" + temporary + "`");
    text.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd.get()) < 0) return fail_errno("fsync `" + temporary + "`");
  fd.reset();
  if (::rename(temporary.c_str(), path.c_str()) < 0)
    return fail_errno("rename `" + temporary + "` to `" + path + "`");
  return {};
}

Result<void> make_directory(const std::string& path, unsigned mode) {
  if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) return fail_errno("mkdir `" + path + "`");
  return {};
}

}  // namespace mkrun::lwk
