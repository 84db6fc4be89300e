#include "core/proc.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <string_view>

#include "mkrun/base/files.hpp"

namespace mkrun::proc {

std::optional<ProcessStat> read_stat(pid_t pid) {
  auto text = files::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  std::string_view rest = std::string_view(*text).substr(close + 2);
  ProcessStat stat;
  stat.state = rest.front();
  // rest starts at field 3; the start time is field 22, 19 spaces further.
  for (int field = 3; field < 22; ++field) {
    auto space = rest.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(space + 1);
  }
  std::from_chars(rest.data(), rest.data() + rest.size(), stat.start_time);
  return stat;
}

bool is_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto stat = read_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X' && stat->start_time == start_time;
}

}  // namespace mkrun::proc

namespace mkrun::proc {
namespace {

constexpr ino_t kProcRootInode = 1;

// A new procfs instance, detached: none of the host's mounts covers any of its files.
Result<UniqueFd> fresh_instance() {
  int context = static_cast<int>(::syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC));
  if (context < 0) return fail_errno("fsopen proc");
  UniqueFd owned_context(context);
  if (::syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return fail_errno("create a procfs instance");
  }
  int mount = static_cast<int>(::syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC,
                                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (mount < 0) return fail_errno("fsmount proc");
  return UniqueFd(mount);
}

Result<void> check_is_procfs_root(int fd, const std::string& what) {
  struct statfs fs {};
  struct stat info {};
  if (::fstatfs(fd, &fs) < 0 || ::fstat(fd, &info) < 0) return fail_errno("stat " + what);
  if (fs.f_type != PROC_SUPER_MAGIC || info.st_ino != kProcRootInode) {
    return fail(what + " is not the root of a procfs (f_type " + std::to_string(fs.f_type) +
                ", inode " + std::to_string(info.st_ino) + ")");
  }
  return {};
}

}  // namespace

Result<UniqueFd> open_verified_root() {
  auto fresh = fresh_instance();
  if (fresh) {
    MKRUN_CHECK(check_is_procfs_root(fresh->get(), "the new procfs instance"));
    return fresh;
  }
  int fd = ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open `/proc`");
  UniqueFd host(fd);
  MKRUN_CHECK(check_is_procfs_root(host.get(), "`/proc`"));
  return host;
}

}  // namespace mkrun::proc
