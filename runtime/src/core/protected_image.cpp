#include "mkrun/runtime/protected_image.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "mkrun/base/files.hpp"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: allow exec even where vm.memfd_noexec forbids it by default
#endif

namespace mkrun::runtime {
namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

Result<UniqueFd> sealed_copy_of_self() {
  auto binary = MKRUN_TRY(files::open("/proc/self/exe", O_RDONLY));
  struct stat info {};
  if (::fstat(binary.get(), &info) < 0) return fail_errno("stat /proc/self/exe");
  int fd = static_cast<int>(::memfd_create("mkrun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (fd < 0 && errno == EINVAL)
    fd = static_cast<int>(::memfd_create("mkrun", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return fail_errno("memfd_create for a sealed copy of mkrun");
  UniqueFd copy(fd);
  for (off_t sent = 0; sent < info.st_size;) {
    ssize_t n =
        ::sendfile(copy.get(), binary.get(), nullptr, static_cast<size_t>(info.st_size - sent));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("copy mkrun into a memfd");
    sent += n;
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) < 0) return fail_errno("seal the copy of mkrun");
  return copy;
}

// The binary as a detached, read-only bind mount of itself: open_tree(OPEN_TREE_CLONE) makes
// the mount without attaching it anywhere, so no mount namespace is copied, entered and torn
// down (that costs more than the rest of the re-execution together), and nothing propagates.
// Only the returned fd reaches it, then the process executing it. Where that fails (before Linux
// 5.12, or open_tree filtered out), the caller falls back to the private namespace below.
Result<UniqueFd> detached_readonly_view_of_self() {
  int tree = static_cast<int>(
      ::syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (tree < 0) return fail_errno("open_tree /proc/self/exe");
  UniqueFd view(tree);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, view.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return fail_errno("make the detached view of mkrun read-only");
  return view;
}

// The binary as seen through a read-only bind mount of itself, made in a private mount
// namespace that is left right away: the mount stays alive, detached, as long as the returned
// fd (and then the process executing it) uses it, and no one can make it writable again.
Result<UniqueFd> readonly_view_of_self() {
  char exe[PATH_MAX];
  ssize_t length = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (length < 0) return fail_errno("readlink /proc/self/exe");
  exe[length] = '\0';
  auto host_namespace = MKRUN_TRY(files::open("/proc/self/ns/mnt", O_RDONLY));
  // setns() moves the working directory to the namespace's root: come back to this one.
  auto working_directory = MKRUN_TRY(files::open(".", O_PATH | O_DIRECTORY));
  if (::unshare(CLONE_NEWNS) < 0) return fail_errno("unshare a mount namespace");
  Result<UniqueFd> view = [&]() -> Result<UniqueFd> {
    if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
      return fail_errno("make `/` private");
    if (::mount(exe, exe, nullptr, MS_BIND, nullptr) < 0)
      return fail_errno(std::string("bind `") + exe + "`");
    if (::mount(nullptr, exe, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0) {
      return fail_errno(std::string("remount `") + exe + "` read-only");
    }
    return files::open(exe, O_PATH);
  }();
  if (::setns(host_namespace.get(), CLONE_NEWNS) < 0)
    return fail_errno("return to the host mount namespace");
  if (::fchdir(working_directory.get()) < 0) return fail_errno("return to the working directory");
  return view;
}

bool on_readonly_mount(int fd) {
  struct statfs info {};
  return ::fstatfs(fd, &info) == 0 && (info.f_flags & ST_RDONLY) != 0;
}

bool examine_own_image() {
  int fd = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int seals = ::fcntl(fd, F_GET_SEALS);
  bool protected_binary = (seals >= 0 && (seals & kSeals) == kSeals) || on_readonly_mount(fd);
  ::close(fd);
  return protected_binary;
}

}  // namespace

// Asked before the command line is parsed and again for the parsed command: a process's image
// is fixed from its execve on, so the answer is looked up once.
bool runs_from_protected_image() {
  static const bool protected_binary = examine_own_image();
  return protected_binary;
}

Error reexec_from_protected_image(char* const* argv) {
  // Mounting needs privilege; without it (rootless), a sealed in-memory copy.
  Result<UniqueFd> image = fail("no protected image");
  if (::geteuid() == 0) {
    image = detached_readonly_view_of_self();
    if (!image) image = readonly_view_of_self();
  } else {
    image = sealed_copy_of_self();
  }
  if (!image) return std::move(image).error();
  ::syscall(SYS_execveat, image->get(), "", argv, environ, AT_EMPTY_PATH);
  return sys_error("execute mkrun's protected image");
}

}  // namespace mkrun::runtime
