#include "mkrun/base/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace mkrun::files {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode) {
  return open_at(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno("open `" + path + "`");
  return UniqueFd(fd);
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  if (fd < 0) return fail_errno("open `" + path + "` in the rootfs");
  return UniqueFd(fd);
}

Result<UniqueFd> open_beneath(int dir_fd, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how));
  if (fd < 0) return fail_errno("open `" + path + "`");
  return UniqueFd(fd);
}

Result<std::string> read_fd(int fd, const std::string& path_for_errors) {
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read `" + path_for_errors + "`");
    if (n == 0) return content;
    content.append(buffer, static_cast<size_t>(n));
  }
}

Result<std::string> read_file(const std::string& path) {
  auto fd = MKRUN_TRY(open(path, O_RDONLY));
  return read_fd(fd.get(), path);
}

Result<void> write_all(int fd, std::string_view data, const std::string& path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write `" + path_for_errors + "`");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> write_file(const std::string& path, std::string_view data, int flags, mode_t mode) {
  auto fd = MKRUN_TRY(open(path, flags, mode));
  return write_all(fd.get(), data, path);
}

// The one atomic writer: pid files, config.json on `update`, lwk's claims. It fsyncs the
// temporary file before the rename. Without that, a power loss soon after the rename can leave
// `path` empty or torn on file systems that allocate blocks at writeback (ext4's delalloc, xfs):
// the rename reaches the journal before the data, which is the very failure writing a temporary
// file and renaming it exists to prevent. runc's atomicWriteFile (its pid file) does not fsync;
// lwk's claim writer did, and this keeps that: one fsync of a small file is cheap, and on tmpfs
// (/run, where pid files and state usually live) free. The directory is not fsynced: after a
// crash `path` may still hold the old contents, which is whole, and no reader needs more.
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temporary = dir + "/." + base + ".tmp";
  (void)::unlink(temporary.c_str());
  {
    auto fd = MKRUN_TRY(open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode));
    MKRUN_CHECK(write_all(fd.get(), data, temporary));
    if (::fsync(fd.get()) < 0) return fail_errno("fsync `" + temporary + "`");
  }
  if (::rename(temporary.c_str(), path.c_str()) < 0) {
    int errc = errno;
    (void)::unlink(temporary.c_str());
    return fail_errno("rename `" + temporary + "` to `" + path + "`", errc);
  }
  return {};
}

Result<void> make_directories(const std::string& path, mode_t mode) {
  for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
    std::string prefix = path.substr(0, end);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) < 0 && errno != EEXIST) {
      return fail_errno("mkdir `" + prefix + "`");
    }
    if (end == std::string::npos) return {};
  }
}

Result<void> make_in_root(int root_fd, const std::string& path, bool directory, mode_t mode) {
  std::vector<std::string> names;
  for (size_t start = 0; start < path.size();) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string name = path.substr(start, end - start);
    if (!name.empty() && name != ".") names.push_back(std::move(name));
    start = end + 1;
  }
  std::string parent = ".";
  for (size_t i = 0; i < names.size(); ++i) {
    auto parent_fd = MKRUN_TRY(open_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
    const std::string& name = names[i];
    const std::string shown = parent + "/" + name;
    if (i + 1 < names.size() || directory) {
      if (::mkdirat(parent_fd.get(), name.c_str(), mode) < 0 && errno != EEXIST) {
        return fail_errno("mkdir `" + shown + "` in the rootfs");
      }
    } else {
      UniqueFd file(::openat(parent_fd.get(), name.c_str(),
                             O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode));
      if (!file) return fail_errno("create `" + shown + "` in the rootfs");
    }
    parent = shown;
  }
  return {};
}

namespace {

Result<void> remove_children(int dirfd, const std::string& path) {
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno("dup `" + path + "`");
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    int errc = errno;
    ::close(dup);
    return fail_errno("opendir `" + path + "`", errc);
  }
  Result<void> result;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      // Some file systems do not fill d_type; lstat's answer, a symlink is not a directory.
      struct stat info {};
      is_dir =
          ::fstatat(dirfd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(info.st_mode);
    }
    if (is_dir) {
      int child = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) {
        UniqueFd owned(child);
        result = remove_children(child, path + "/" + name);
        if (!result) break;
      }
      if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
        result = fail_errno("rmdir `" + path + "/" + name + "`");
        break;
      }
    } else if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) {
      result = fail_errno("unlink `" + path + "/" + name + "`");
      break;
    }
  }
  ::closedir(dir);
  return result;
}

}  // namespace

Result<void> remove_tree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return fail_errno("open `" + path + "`");
  }
  UniqueFd dir(fd);
  MKRUN_CHECK(remove_children(dir.get(), path));
  if (::rmdir(path.c_str()) < 0 && errno != ENOENT) return fail_errno("rmdir `" + path + "`");
  return {};
}

Result<void> remove_contents(int dir_fd, const std::string& path) {
  return remove_children(dir_fd, path);
}

}  // namespace mkrun::files
