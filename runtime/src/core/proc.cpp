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

namespace {

// Field `number` (1-based, >= 3) of a /proc/<pid>/stat line. The command name (field 2) may hold
// spaces and parentheses: fields are counted after the last ')'.
std::optional<std::string_view> stat_field(std::string_view text, int number) {
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return std::nullopt;
  std::string_view rest = text.substr(close + 2);
  for (int field = 3; field < number; ++field) {
    auto space = rest.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(space + 1);
  }
  return rest.substr(0, rest.find(' '));
}

}  // namespace

std::optional<ProcessStat> read_stat(pid_t pid) {
  auto text = files::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  auto state = stat_field(*text, 3);
  auto start_time = stat_field(*text, 22);
  if (!state || state->empty() || !start_time) return std::nullopt;
  ProcessStat stat;
  stat.state = state->front();
  std::from_chars(start_time->data(), start_time->data() + start_time->size(), stat.start_time);
  return stat;
}

Result<UniqueFd> open_pidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return fail_errno("pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

Result<long> thread_count(int proc_root) {
  int fd = ::openat(proc_root, "self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open /proc/self/stat");
  UniqueFd stat(fd);
  auto text = MKRUN_TRY(files::read_fd(stat.get(), "/proc/self/stat"));
  auto field = stat_field(text, 20);
  long threads = 0;
  if (!field ||
      std::from_chars(field->data(), field->data() + field->size(), threads).ec != std::errc())
    return fail("parse /proc/self/stat: no thread count");
  return threads;
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
