#include "child/copy_up.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mkrun::child {
namespace {

bool push_name(CopyPath& path, const char* name) {
  size_t name_length = strlen(name);
  if (path.length + 1 + name_length >= sizeof path.text) return false;
  path.text[path.length++] = '/';
  memcpy(path.text + path.length, name, name_length + 1);
  path.length += name_length;
  return true;
}

void pop_to(CopyPath& path, size_t length) {
  path.length = length;
  path.text[length] = '\0';
}

// sendfile() where the kernel can; read/write where it cannot (EINVAL: some file systems).
int copy_bytes(int from, int to) {
  for (;;) {
    ssize_t sent = sendfile(to, from, nullptr, 1 << 30);
    if (sent == 0) return 0;
    if (sent > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    break;
  }
  char buffer[8192];
  for (;;) {
    ssize_t n = read(from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (ssize_t done = 0; done < n;) {
      ssize_t written = write(to, buffer + done, static_cast<size_t>(n - done));
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) return errno;
      done += written;
    }
  }
}

int copy_file(int from_dir, int to_dir, const char* name) {
  int from = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (from < 0) return errno;
  int to = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int errc = to < 0 ? errno : copy_bytes(from, to);
  if (to >= 0) close(to);
  close(from);
  return errc;
}

int copy_symlink(int from_dir, int to_dir, const char* name) {
  char target[PATH_MAX];
  ssize_t length = readlinkat(from_dir, name, target, sizeof target - 1);
  if (length < 0) return errno;
  target[length] = '\0';
  return symlinkat(target, to_dir, name) < 0 ? errno : 0;
}

// Owner first: chown clears the set-id bits that the mode then sets again.
int copy_metadata(int to_dir, const char* name, const struct stat& info) {
  if (fchownat(to_dir, name, info.st_uid, info.st_gid, AT_SYMLINK_NOFOLLOW) < 0) return errno;
  if (!S_ISLNK(info.st_mode) && fchmodat(to_dir, name, info.st_mode & 07777, 0) < 0) return errno;
  timespec times[2] = {info.st_atim, info.st_mtim};
  if (utimensat(to_dir, name, times, AT_SYMLINK_NOFOLLOW) < 0) return errno;
  return 0;
}

int copy_directory(int from, int to, CopyPath& path, int depth);

int copy_subdirectory(int from_dir, int to_dir, const char* name, CopyPath& path, int depth) {
  if (depth >= kMaxCopyDepth) {
    path.too_deep = true;
    return ELOOP;
  }
  if (mkdirat(to_dir, name, 0700) < 0) return errno;
  int from = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (from < 0) return errno;
  int to = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int errc = to < 0 ? errno : copy_directory(from, to, path, depth + 1);
  if (to >= 0) close(to);
  close(from);
  return errc;
}

// One entry; its metadata last, so a directory's times survive the copy of its contents.
int copy_entry(int from_dir, int to_dir, const char* name, CopyPath& path, int depth) {
  size_t parent_length = path.length;
  if (!push_name(path, name)) return ENAMETOOLONG;
  struct stat info {};
  if (fstatat(from_dir, name, &info, AT_SYMLINK_NOFOLLOW) < 0) return errno;
  int errc = 0;
  if (S_ISDIR(info.st_mode)) {
    errc = copy_subdirectory(from_dir, to_dir, name, path, depth);
  } else if (S_ISREG(info.st_mode)) {
    errc = copy_file(from_dir, to_dir, name);
  } else if (S_ISLNK(info.st_mode)) {
    errc = copy_symlink(from_dir, to_dir, name);
  } else if (mknodat(to_dir, name, info.st_mode, info.st_rdev) < 0) {
    errc = errno;  // fifos, sockets, device nodes
  }
  if (errc == 0) errc = copy_metadata(to_dir, name, info);
  if (errc == 0) pop_to(path, parent_length);
  return errc;
}

int copy_directory(int from, int to, CopyPath& path, int depth) {
  alignas(dirent64) char buffer[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return 0;
    for (long offset = 0; offset < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      int errc = copy_entry(from, to, entry->d_name, path, depth);
      if (errc != 0) return errc;
    }
  }
}

}  // namespace

int copy_tree(int from, int to, CopyPath& failed) noexcept {
  pop_to(failed, 0);
  return copy_directory(from, to, failed, 0);
}

}  // namespace mkrun::child
