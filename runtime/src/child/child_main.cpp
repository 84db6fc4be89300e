// The container's init, from clone() to execve().
//
// Rules (checked by tests/check_child_symbols.sh on this library): only async-signal-safe
// syscalls; no allocation, no exceptions, no stdio; everything comes precomputed in the plan.
// A failure is reported once, as a sync::Message naming the step, the path or value and the
// errno, and the child exits. After `kReady` the parent is gone, so failures go to exec.fifo
// instead, where `start` reads them.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "child/child.hpp"
#include "child/copy_up.hpp"
#include "child/fd_passing.hpp"
#include "child/hook_exec.hpp"
#include "child/sync.hpp"
#include "child/text.hpp"
#include "linux/loopback.hpp"
#include "mkrun/oci/vocabulary.hpp"

namespace mkrun::child {
namespace {

using plan::ChildPlan;

// The channel failures go to: the sync socket until kReady, exec.fifo afterwards.
int g_sync_fd = -1;
int g_fifo_fd = -1;

void send_message(sync::Kind kind, int value, const char* detail) {
  sync::Message message{};
  message.kind = kind;
  message.value = value;
  if (detail != nullptr) {
    size_t i = 0;
    for (; detail[i] != '\0' && i + 1 < sizeof message.detail; ++i) message.detail[i] = detail[i];
    message.detail[i] = '\0';
  }
  while (send(g_sync_fd, &message, sizeof message, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void report_and_exit(int errc, const Text& what) {
  if (g_fifo_fd >= 0) {
    sync::InitFailure failure{};
    failure.errc = errc;
    memcpy(failure.detail, what.c_str(),
           what.size() + 1 <= sizeof failure.detail ? what.size() + 1 : sizeof failure.detail);
    (void)write(g_fifo_fd, &failure, sizeof failure);
  } else {
    send_message(sync::Kind::kError, errc, what.c_str());
  }
  _exit(1);
}

template <class... Parts>
[[noreturn]] void fail(int errc, const Parts&... parts) {
  Text text;
  (text.add(parts), ...);
  report_and_exit(errc, text);
}

// Waits for the parent's next message; a parent that went away or aborted ends the child.
void expect_message(sync::Kind kind) {
  sync::Message message{};
  for (;;) {
    ssize_t n = recv(g_sync_fd, &message, sizeof message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof message) || message.kind != kind) _exit(1);
    return;
  }
}

// "/proc/self/fd/<fd>": the path that names exactly the object an O_PATH fd holds.
struct FdPath {
  explicit FdPath(int fd) { text.add("/proc/self/fd/").add(fd); }
  const char* c_str() const { return text.c_str(); }
  Text text;
};

int open_in_root(int root_fd, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

// ---------------------------------------------------------------------------------------------
// Namespaces

// A table lookup, no allocation: the names are literals, so data() is a C string.
const char* namespace_name(int type) {
  const auto* kind = oci::vocabulary::namespace_of_flag(type);
  return kind != nullptr ? kind->name.data() : "unknown";
}

// ---------------------------------------------------------------------------------------------
// procfs, only through the handle the parent verified (ChildPlan::proc_fd): the container's
// /proc may be a volume, a bind or a symlink farm by the time the child writes (CVE-2025-52881).

int g_proc_fd = -1;

// `path` is relative to the procfs root ("self/oom_score_adj"). "self" is a plain symlink
// inside procfs; magic links and other mounts (RESOLVE_NO_XDEV) are never crossed.
int open_in_proc(const char* path, int flags, uint64_t extra_resolve = 0) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | extra_resolve;
  return static_cast<int>(syscall(SYS_openat2, g_proc_fd, path, &how, sizeof how));
}

void write_proc_file(const char* path, const char* value, uint64_t extra_resolve = 0) {
  int fd = open_in_proc(path, O_WRONLY, extra_resolve);
  if (fd < 0) fail(errno, "open `/proc/", path, "`");
  ssize_t length = static_cast<ssize_t>(strlen(value));
  if (write(fd, value, static_cast<size_t>(length)) != length) {
    fail(errno, "write `/proc/", path, "`");
  }
  close(fd);
}

bool on_procfs(int fd) {
  struct statfs info {};
  return fstatfs(fd, &info) == 0 && info.f_type == PROC_SUPER_MAGIC;
}

// A single-threaded task moving itself ("0" into `tasks`) skips the global threadgroup lock
// that makes a cgroup.procs migration wait for an RCU grace period.
void join_cgroups(const ChildPlan& plan) {
  for (size_t i = 0; i < plan.cgroup_task_file_count; ++i) {
    const char* file = plan.cgroup_task_files[i];
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) fail(errno, "join cgroup: write `", file, "`");
    close(fd);
  }
}

// Once in the cgroup, so that the kernel narrows the mask to its cpuset. A failure leaves the
// inherited affinity, which runc 1.5 only warns about: not a reason to fail the container.
void reset_affinity(const ChildPlan& plan) {
  if (plan.reset_affinity_mask == nullptr) return;
  (void)syscall(SYS_sched_setaffinity, 0, plan.reset_affinity_size, plan.reset_affinity_mask);
}

// Joins, creates and enters namespaces. Returns in the process that becomes the init.

// A new (or joined) pid or time namespace applies to children only: the init is a child of this
// process, made with CLONE_PARENT so that it is mkrun's child directly and mkrun can reap it;
// this process then steps aside. Its kInitPid must reach mkrun before anything the init sends
// (kReady, kRunHooks, an error), so the init waits at a gate, a pipe this process holds open
// until it has sent the pid and exits (or dies).
void fork_the_init() {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0) fail(errno, "pipe2 for the container init");
  long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) fail(errno, "fork the container init");
  if (pid > 0) {
    close(gate[0]);
    send_message(sync::Kind::kInitPid, static_cast<int>(pid), nullptr);
    _exit(0);
  }
  close(gate[1]);
  char byte;
  while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(gate[0]);
}
// A new time namespace and its offsets, written before anything runs in it (the init is forked
// into it), and while this process is who its /proc/self files belong to: the host's root (it
// is not dumpable), or the user who runs mkrun (it is, then, until here); root of a new user
// namespace is neither.
void enter_time_namespace(const ChildPlan& plan) {
  if ((plan.unshare_flags & CLONE_NEWTIME) == 0) return;
  if (unshare(CLONE_NEWTIME) < 0) fail(errno, "unshare time namespace");
  if (plan.time_offsets != nullptr) write_proc_file("self/timens_offsets", plan.time_offsets);
}

// In a joined user namespace mkrun's uid 0 is not mapped: the files the setup makes would have
// no owner there (EOVERFLOW). Its root is who the setup runs as, as in a new one.
void become_root_of_joined_user_namespace(const ChildPlan& plan) {
  if (plan.exec_mode) return;  // exec becomes the process's user
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
    fail(errno, "become root in the joined user namespace");
  }
}

void join_namespace(const plan::NamespaceJoin& join) {
  if (setns(join.fd, join.type) < 0) fail(errno, "join ", namespace_name(join.type), " namespace");
  close(join.fd);
}

// Namespaces another user namespace owns than the one joined (the host's, say) can be joined
// only before that one, with the caller's privileges; those it owns may need to be joined from
// inside it (an unprivileged mkrun). So the others are tried first, then the user namespace,
// then again those refused the first time (EPERM), as runc does.
void join_namespaces(const ChildPlan& plan) {
  bool refused[plan::kMaxNamespaceJoins] = {};
  const plan::NamespaceJoin* user = nullptr;
  for (size_t i = 0; i < plan.join_count; ++i) {
    const plan::NamespaceJoin& join = plan.joins[i];
    if (join.type == CLONE_NEWUSER) {
      user = &join;
    } else if (setns(join.fd, join.type) == 0) {
      close(join.fd);
    } else if (errno == EPERM && i < plan::kMaxNamespaceJoins) {
      refused[i] = true;
    } else {
      fail(errno, "join ", namespace_name(join.type), " namespace");
    }
  }
  if (user == nullptr) return;
  join_namespace(*user);
  become_root_of_joined_user_namespace(plan);
  for (size_t i = 0; i < plan.join_count && i < plan::kMaxNamespaceJoins; ++i) {
    if (refused[i]) join_namespace(plan.joins[i]);
  }
}

void enter_namespaces(const ChildPlan& plan) {
  join_namespaces(plan);
  if ((plan.unshare_flags & CLONE_NEWUSER) != 0 && unshare(CLONE_NEWUSER) < 0) {
    fail(errno, "unshare user namespace");
  }
  if (plan.dumpable_for_id_maps) (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  send_message(sync::Kind::kStarted, 0, nullptr);
  expect_message(sync::Kind::kGo);
  enter_time_namespace(plan);
  if (plan.dumpable_for_id_maps) (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (plan.user_namespace_new) {
    // The maps are written: become root of the new namespace, where the setup happens.
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
      fail(errno, "become root in the new user namespace");
    }
  }
  int remaining = plan.unshare_flags & ~(CLONE_NEWUSER | CLONE_NEWTIME);
  if (remaining != 0 && unshare(remaining) < 0) fail(errno, "unshare namespaces");
  if (plan.loopback_up) {
    int errc = netdev::bring_loopback_up();
    if (errc != 0) fail(errc, "bring up the loopback interface `lo`");
  }
  if (plan.fork_after_unshare) fork_the_init();
}

// exec into a container without a mount namespace of its own: its init's root is a chroot.
void enter_root_of_init(int root_fd) {
  if (fchdir(root_fd) < 0 || chroot(".") < 0) fail(errno, "enter the container's root");
  close(root_fd);
}

// ---------------------------------------------------------------------------------------------
// Root filesystem

// `path` has a dangling symlink `link` in place of its component [start, end): rewrites `path`
// to go through the symlink's target instead, "<dir of the link>/<target>/<rest>" (or
// "<target>/<rest>" for an absolute target, which is rooted at the rootfs anyway).
void follow_dangling_symlink(char (&path)[PATH_MAX], size_t start, size_t end, const char* link) {
  char rewritten[PATH_MAX];
  Text joined;
  if (link[0] != '/') joined.add(std::string_view(path, start));
  joined.add(link);
  if (path[end] != '\0') joined.add(path + end);
  if (joined.size() + 1 >= Text::kCapacity) fail(ENAMETOOLONG, "mount point `/", path, "`");
  memcpy(rewritten, joined.c_str(), joined.size() + 1);
  memcpy(path, rewritten, joined.size() + 1);
}

// Opens `relative` inside the rootfs, creating what is missing: directories along the way and,
// as the last component, a directory or an empty file. Symlinks resolve inside the rootfs, a
// dangling one too: what is missing is created at its target, inside the rootfs (as runc's
// MkdirAll in root does), never outside it.
int make_mount_point(int root_fd, const char* relative, bool directory) {
  char path[PATH_MAX];
  char prefix[PATH_MAX];
  size_t length = strlen(relative);
  if (length >= sizeof path) fail(ENAMETOOLONG, "mount point `", relative, "`");
  // Mostly the place exists: one lookup, the same the walk below ends with, finds it.
  if (int existing = open_in_root(root_fd, relative, O_PATH); existing >= 0) return existing;
  memcpy(path, relative, length + 1);
  int parent = root_fd;
  int parent_owned = -1;
  int links_followed = 0;
  size_t start = 0;
  while (start < length) {
    size_t end = start;
    while (end < length && path[end] != '/') ++end;
    if (end == start) {
      ++start;
      continue;
    }
    memcpy(prefix, path, end);
    prefix[end] = '\0';
    bool last = end >= length;
    int fd = open_in_root(root_fd, prefix, O_PATH);
    if (fd < 0 && errno == ENOENT) {
      char name[NAME_MAX + 1];
      size_t name_length = end - start < NAME_MAX ? end - start : NAME_MAX;
      memcpy(name, path + start, name_length);
      name[name_length] = '\0';
      char link[PATH_MAX];
      ssize_t link_length = readlinkat(parent, name, link, sizeof link - 1);
      if (link_length > 0) {
        if (++links_followed > 40) fail(ELOOP, "mount point `/", relative, "`");
        link[link_length] = '\0';
        follow_dangling_symlink(path, start, end, link);
        length = strlen(path);
        if (parent_owned >= 0) close(parent_owned);
        parent = root_fd;
        parent_owned = -1;
        start = 0;
        continue;
      }
      if (last && !directory) {
        int file = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (file < 0 && errno != EEXIST) fail(errno, "create mount point `/", relative, "`");
        if (file >= 0) close(file);
      } else if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
        fail(errno, "mkdir `/", prefix, "`");
      }
      fd = open_in_root(root_fd, prefix, O_PATH);
    }
    if (fd < 0) fail(errno, "open `/", prefix, "` in the rootfs");
    if (parent_owned >= 0) close(parent_owned);
    parent = parent_owned = fd;
    start = end + 1;
  }
  if (parent_owned < 0) return fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  return parent_owned;
}

// make_mount_point, for something mkrun is about to mount or create: the place it resolves to
// may not be inside a procfs (an image's `/vol -> /proc` turns a volume into the container's
// /proc), unless the plan allows that one destination there.
bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Whether `target` is the rootfs's /proc or below it: on a procfs, or, before the procfs is
// mounted, the image's /proc directory or one of its descendants (found by walking up "..").
// The image's own /proc directory, looked up once it exists and before a procfs covers it (a
// lookup then would find the procfs, which on_procfs() recognises anyway). Every mount point
// checks against it, so it is kept rather than looked up again for each. So is the finding that
// a procfs already covers it: no lookup reaches the image's directory under a mount any more (the
// child never unmounts), and a procfs is recognised wherever it is by on_procfs().
struct ImageProc {
  bool known = false;
  bool covered_by_procfs = false;
  struct stat proc {};
  struct stat root {};
};
ImageProc g_image_proc;

bool find_image_proc(int root_fd) {
  if (g_image_proc.known) return true;
  if (g_image_proc.covered_by_procfs) return false;
  int proc = open_in_root(root_fd, "proc", O_PATH);
  if (proc < 0) return false;
  g_image_proc.covered_by_procfs = on_procfs(proc);
  g_image_proc.known = !g_image_proc.covered_by_procfs && fstat(proc, &g_image_proc.proc) == 0 &&
                       fstat(root_fd, &g_image_proc.root) == 0;
  close(proc);
  return g_image_proc.known;
}

bool inside_container_proc(int root_fd, int target) {
  if (on_procfs(target)) return true;
  struct stat here {};
  if (!find_image_proc(root_fd) || fstat(target, &here) < 0) return false;
  // Below the image's /proc and not on a procfs means on the file system that holds /proc: no
  // mount inside /proc other than a procfs gets past the checks above.
  if (here.st_dev != g_image_proc.proc.st_dev) return false;
  int current = fcntl(target, F_DUPFD_CLOEXEC, 0);
  bool inside = false;
  for (int depth = 0; current >= 0 && depth < 4096; ++depth) {
    if (fstat(current, &here) < 0 || same_file(here, g_image_proc.root)) break;
    if (same_file(here, g_image_proc.proc)) {
      inside = true;
      break;
    }
    int parent = openat(current, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    close(current);
    current = parent;
  }
  if (current >= 0) close(current);
  return inside;
}

int open_mount_target(int root_fd, const char* relative, bool directory, const char* shown,
                      bool allowed_in_proc = false) {
  int target = make_mount_point(root_fd, relative, directory);
  if (!allowed_in_proc && inside_container_proc(root_fd, target)) {
    fail(0, "\"", shown, "\" cannot be mounted because it is inside /proc");
  }
  return target;
}

// proc and sysfs go on a directory of the image itself, never through a symlink of its (runc's
// "must be mounted on ordinary directory").
void check_ordinary_directory(int root_fd, const plan::MountStep& step);

// The nosuid/nodev/noexec flags a mount has: a bind remount must keep them, since the kernel
// refuses to clear flags locked by a less privileged mount namespace.
unsigned long kept_flags(const char* path) {
  struct statfs info {};
  if (statfs(path, &info) != 0) return 0;
  unsigned long flags = 0;
  if ((info.f_flags & ST_NOSUID) != 0) flags |= MS_NOSUID;
  if ((info.f_flags & ST_NODEV) != 0) flags |= MS_NODEV;
  if ((info.f_flags & ST_NOEXEC) != 0) flags |= MS_NOEXEC;
  return flags;
}

// Attaches a tree the parent detached (open_tree) onto `target`, an O_PATH fd of the mount point.
void attach_detached_tree(const plan::MountStep& step, int target) {
  if (syscall(SYS_move_mount, step.detached_tree, "", target, "",
              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    fail(errno, "bind mount `", step.source, "` to `", step.display_destination, "`");
  }
  close(step.detached_tree);
}

// tmpcopyup: `covered`, the directory under the new tmpfs, fills it; a read-only tmpfs is
// mounted writable for that and made read-only afterwards.
void copy_up(int root_fd, const plan::MountStep& step, int covered, const char* data) {
  const char* shown = step.display_destination;
  int tmpfs = open_in_root(root_fd, step.destination, O_RDONLY | O_DIRECTORY);
  if (tmpfs < 0) fail(errno, "open `", shown, "` after mounting it");
  CopyPath failed;
  if (int errc = copy_tree(covered, tmpfs, failed); errc != 0) {
    if (failed.too_deep) {
      fail(0, "tmpcopyup: `", shown, failed.c_str(), "` is more than ", kMaxCopyDepth,
           " directories deep");
    }
    fail(errc, "tmpcopyup: copy `", shown, failed.c_str(), "` into the tmpfs");
  }
  FdPath tmpfs_path(tmpfs);
  if ((step.flags & MS_RDONLY) != 0 &&
      mount(nullptr, tmpfs_path.c_str(), nullptr, MS_REMOUNT | step.flags, data) < 0) {
    fail(errno, "remount `", shown, "` read-only after tmpcopyup");
  }
  close(tmpfs);
  close(covered);
}

int open_tree_of(int fd, unsigned flags, const char* shown) {
  int tree = static_cast<int>(
      syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | flags));
  if (tree < 0) fail(errno, "clone the mount of `", shown, "`");
  return tree;
}

void set_read_only(int tree, const char* shown) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    fail(errno, "make `", shown, "` read-only");
  }
}

// Attaches the detached mount `tree` on `target` and closes it.
void attach_tree(int tree, int target, const char* shown) {
  if (syscall(SYS_move_mount, tree, "", target, "",
              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    fail(errno, "mount on `", shown, "`");
  }
  close(tree);
}

// runc gives a tmpfs mounted over an existing directory that directory's mode when its options
// give none (plan/mounts.cpp decides).
const char* with_covered_mode(int root_fd, const plan::MountStep& step, Text& data) {
  int existing = open_in_root(root_fd, step.destination, O_PATH);
  if (existing < 0) return step.data;
  struct stat info {};
  bool directory = fstat(existing, &info) == 0 && S_ISDIR(info.st_mode);
  close(existing);
  if (!directory) return step.data;
  if (step.data != nullptr) data.add(step.data).add(',');
  data.add("mode=");
  for (int shift = 9; shift >= 0; shift -= 3) {
    data.add(static_cast<char>('0' + ((info.st_mode >> shift) & 7)));
  }
  if (data.size() + 1 >= Text::kCapacity) {
    fail(E2BIG, "mount options of `", step.display_destination, "`");
  }
  return data.c_str();
}

// A bind source below the rootfs, looked up in it now, after the mounts before it.
int open_source_in_root(int root_fd, const plan::MountStep& step, bool& directory) {
  int source = open_in_root(root_fd, step.source_in_root, O_PATH);
  struct stat info {};
  if (source < 0 || fstat(source, &info) < 0) {
    fail(errno, "bind mount source `", step.source, "` for `", step.display_destination, "`");
  }
  directory = S_ISDIR(info.st_mode);
  return source;
}

void mount_step(int root_fd, const plan::MountStep& step) {
  const char* shown = step.display_destination;
  Text data_buffer;
  const char* data =
      step.keep_covered_mode ? with_covered_mode(root_fd, step, data_buffer) : step.data;
  if (step.ordinary_directory) check_ordinary_directory(root_fd, step);
  bool source_is_directory = step.source_is_directory;
  int source_in_root =
      step.source_in_root != nullptr ? open_source_in_root(root_fd, step, source_is_directory) : -1;
  int target = open_mount_target(root_fd, step.destination, source_is_directory, shown,
                                 step.allowed_in_proc);
  FdPath target_path(target);
  // Opened before the mount covers it: the fd still reaches it afterwards.
  int covered = step.copy_up ? openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (step.copy_up && covered < 0) fail(errno, "open `", shown, "` for tmpcopyup");
  unsigned long flags = step.copy_up ? step.flags & ~MS_RDONLY : step.flags;
  if (step.detached_tree >= 0) {
    attach_detached_tree(step, target);
  } else if (source_in_root >= 0) {
    unsigned recursive = (step.flags & MS_REC) != 0 ? AT_RECURSIVE : 0;
    attach_tree(open_tree_of(source_in_root, recursive, step.source), target, shown);
    close(source_in_root);
  } else if (step.bind) {
    if (mount(step.source, target_path.c_str(), nullptr, MS_BIND | (step.flags & MS_REC), nullptr) <
        0) {
      fail(errno, "bind mount `", step.source, "` to `", shown, "`");
    }
  } else if (mount(step.source, target_path.c_str(), step.fstype, flags, data) < 0) {
    fail(errno, "mount `", step.source, "` to `", shown, "`");
  }
  close(target);
  if (step.copy_up) copy_up(root_fd, step, covered, data);
  if (!step.remount_after_bind && step.propagation == 0 && !step.recursive_readonly) return;
  // The fd above names the directory under the new mount; reopen to reach the mount itself.
  int mounted = open_in_root(root_fd, step.destination, O_PATH);
  if (mounted < 0) fail(errno, "open `", shown, "` after mounting it");
  FdPath mounted_path(mounted);
  if (step.remount_after_bind && mount(nullptr, mounted_path.c_str(), nullptr,
                                       MS_REMOUNT | MS_BIND | step.flags, nullptr) < 0) {
    // Flags the mount already has locked (nodev/nosuid/noexec in a user namespace) must be
    // kept on remount; retry with them added.
    unsigned long locked = kept_flags(mounted_path.c_str());
    if (mount(nullptr, mounted_path.c_str(), nullptr, MS_REMOUNT | MS_BIND | step.flags | locked,
              nullptr) < 0) {
      fail(errno, "remount `", shown, "`");
    }
  }
  if (step.propagation != 0 &&
      mount(nullptr, mounted_path.c_str(), nullptr, step.propagation, nullptr) < 0) {
    fail(errno, "set propagation of `", shown, "`");
  }
  if (step.recursive_readonly) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, mounted, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) <
        0) {
      fail(errno, "make `", shown, "` recursively read-only");
    }
  }
  close(mounted);
}

void bind_cgroup_hierarchies(int root_fd, const ChildPlan& plan) {
  for (size_t i = 0; i < plan.cgroup_bind_count; ++i) {
    const plan::CgroupBind& bind = plan.cgroup_binds[i];
    int target = open_mount_target(root_fd, bind.destination, true, bind.destination);
    FdPath target_path(target);
    if (mount(bind.source, target_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      fail(errno, "bind mount `", bind.source, "` to `/", bind.destination, "`");
    }
    close(target);
    int mounted = open_in_root(root_fd, bind.destination, O_PATH);
    FdPath mounted_path(mounted);
    const unsigned long readonly = bind.readonly ? MS_RDONLY : 0;
    if (mounted < 0 ||
        mount(nullptr, mounted_path.c_str(), nullptr,
              MS_REMOUNT | MS_BIND | readonly | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      fail(errno, "remount `/", bind.destination, "`");
    }
    close(mounted);
  }
}

// Splits "dev/null" into the opened parent directory and the last name.
int open_parent(int root_fd, const char* relative, const char*& name) {
  const char* slash = strrchr(relative, '/');
  name = slash == nullptr ? relative : slash + 1;
  if (slash == nullptr) return fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  char parent[PATH_MAX];
  size_t length = static_cast<size_t>(slash - relative);
  if (length >= sizeof parent) fail(ENAMETOOLONG, "path `/", relative, "`");
  memcpy(parent, relative, length);
  parent[length] = '\0';
  return open_mount_target(root_fd, parent, true, relative);
}

void check_ordinary_directory(int root_fd, const plan::MountStep& step) {
  const char* name = nullptr;
  int parent = open_parent(root_fd, step.destination, name);
  struct stat info {};
  if (fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(info.st_mode)) {
    fail(0, "filesystem \"", step.fstype, "\" must be mounted on ordinary directory (`",
         step.display_destination, "`)");
  }
  close(parent);
}

void create_device(int root_fd, const ChildPlan& plan, const plan::DeviceNode& device) {
  const char* name = nullptr;
  int parent = open_parent(root_fd, device.path, name);
  if (plan.bind_devices) {
    int target = open_mount_target(root_fd, device.path, false, device.display_path);
    FdPath target_path(target);
    if (mount(device.host_path, target_path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      fail(errno, "bind mount device `", device.host_path, "` to `", device.display_path, "`");
    }
    close(target);
  } else {
    if (unlinkat(parent, name, 0) < 0 && errno != ENOENT) {
      fail(errno, "remove `", device.display_path, "` before creating the device");
    }
    if (mknodat(parent, name, device.mode, device.device) < 0) {
      fail(errno, "mknod `", device.display_path, "`");
    }
    if (fchownat(parent, name, device.uid, device.gid, AT_SYMLINK_NOFOLLOW) < 0) {
      fail(errno, "chown `", device.display_path, "`");
    }
  }
  close(parent);
}

void create_symlinks(int root_fd, const ChildPlan& plan) {
  for (size_t i = 0; i < plan.symlink_count; ++i) {
    const char* name = nullptr;
    int parent = open_parent(root_fd, plan.symlinks[i].path, name);
    if (symlinkat(plan.symlinks[i].target, parent, name) < 0 && errno != EEXIST) {
      fail(errno, "symlink `", plan.symlinks[i].target, "` to `/", plan.symlinks[i].path, "`");
    }
    close(parent);
  }
}

// The pty slave that becomes stdio just before exec.
int g_console_slave = -1;

// `path` inside the container's root, checked through the opened descriptor to be the character
// device major:minor; `refusal` is the whole message otherwise.
int open_device_in_root(int root_fd, const char* path, int flags, unsigned major, unsigned minor,
                        const char* refusal) {
  int fd = open_in_root(root_fd, path, flags);
  if (fd < 0) fail(errno, "open `/", path, "` in the container");
  struct stat info {};
  if (fstat(fd, &info) < 0) fail(errno, "stat `/", path, "` in the container");
  if (!S_ISCHR(info.st_mode) || info.st_rdev != makedev(major, minor)) fail(0, refusal);
  return fd;
}

// The container's pty multiplexer: checked to be one (5:2), since in `exec` the container
// itself may have replaced it.
int open_ptmx(int root_fd) {
  return open_device_in_root(root_fd, "dev/pts/ptmx", O_RDWR | O_NOCTTY, 5, 2,
                             "`/dev/pts/ptmx` is not the pty multiplexer (5:2)");
}

// Where the pty slave is bound: /dev/console of the container, reached without following a
// symlink of the image (CVE-2025-52565: `/dev/console -> /proc/1/attr/exec` would put the pty
// there), created as a plain file when missing, and refused unless it is a plain file or a
// console node (5:1).
int open_console_target(int root_fd) {
  int dev = open_mount_target(root_fd, "dev", true, "/dev");
  int console = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (console < 0 && errno == ENOENT) {
    int made = openat(dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (made < 0) fail(errno, "create `/dev/console`");
    close(made);
    console = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  }
  if (console < 0) fail(errno, "open `/dev/console`");
  close(dev);
  struct stat info {};
  if (fstat(console, &info) < 0) fail(errno, "stat `/dev/console`");
  bool console_node = S_ISCHR(info.st_mode) && info.st_rdev == makedev(5, 1);
  if (!S_ISREG(info.st_mode) && !console_node) {
    fail(0,
         "`/dev/console` is not a regular file or the console device: refusing to mount the "
         "terminal on it");
  }
  return console;
}

// The process's user owns its terminal, so that it can use it; the group stays devpts's (the
// `gid=5` of the mount), as in runc. Where the kernel refuses (an owner or group not mapped in
// the user namespace, a read-only /dev), the terminal stays as it is, as in runc.
void give_console_to_process_user(int slave, uid_t uid) {
  struct stat info {};
  if (fstat(slave, &info) < 0) fail(errno, "stat the pty slave");
  if (info.st_uid == uid) return;
  if (fchown(slave, uid, static_cast<gid_t>(-1)) < 0 && errno != EINVAL && errno != EPERM &&
      errno != EROFS) {
    fail(errno, "chown the pty slave to uid ", static_cast<long long>(uid));
  }
}

// Lines leave the pty ending in "\n": mkrun's own terminal adds the "\r" (ChildPlan's
// console_without_onlcr).
void clear_onlcr(int slave) {
  termios settings{};
  if (tcgetattr(slave, &settings) < 0) fail(errno, "read the console's settings");
  settings.c_oflag &= ~static_cast<tcflag_t>(ONLCR);
  if (tcsetattr(slave, TCSANOW, &settings) < 0) fail(errno, "clear ONLCR on the console");
}

// Opens a pty in the container's devpts, makes its slave /dev/console, and hands the master to
// whoever listens on the console socket (an engine's shim, conmon, or mkrun run itself).
void setup_console(int root_fd, const ChildPlan& plan, bool bind_dev_console) {
  int master = open_ptmx(root_fd);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(errno, "unlock the pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) fail(errno, "open the pty slave");
  give_console_to_process_user(slave, plan.uid);
  if (plan.console_without_onlcr) clear_onlcr(slave);
  if (plan.console_rows != 0 || plan.console_cols != 0) {
    winsize size{};
    size.ws_row = plan.console_rows;
    size.ws_col = plan.console_cols;
    if (ioctl(slave, TIOCSWINSZ, &size) < 0) fail(errno, "set the console size");
  }
  if (bind_dev_console) {
    int console = open_console_target(root_fd);
    FdPath console_path(console);
    FdPath slave_path(slave);
    if (mount(slave_path.c_str(), console_path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      fail(errno, "bind mount the pty slave to `/dev/console`");
    }
    close(console);
  }

  // One message, one fd: the receivers (go-runc, conmon) check exactly that.
  static const char kName[] = "/dev/ptmx";
  if (!send_with_fd(plan.console_socket_fd, kName, sizeof kName - 1, master)) {
    fail(errno, "send the pty master to the console socket");
  }
  close(master);
  close(plan.console_socket_fd);
  g_console_slave = slave;
}

// `exec -t`: a pty from the container's devpts, its master sent to the console socket; the
// container's /dev/console stays the init's.
void attach_console(const ChildPlan& plan) {
  if (!plan.terminal || plan.console_socket_fd < 0) return;
  int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(errno, "open `/`");
  setup_console(root_fd, plan, false);
  close(root_fd);
}

void run_child_hooks(const plan::HookList& hooks) {
  if (hooks.count == 0) return;
  Text error;
  int errc = 0;
  if (!run_hooks(hooks, error, errc)) report_and_exit(errc, error);
}

// --no-pivot keeps the host's mounts in the namespace, below the chroot. A procfs or sysfs fully
// visible there would let the container mount a fresh, unmasked one (the kernel's
// mount_too_revealing() looks for exactly that), so they go first: unmounted, or covered by
// an empty read-only tmpfs where the kernel keeps them locked. Children before parents.
void hide_host_proc_mounts(const ChildPlan& plan) {
  for (size_t i = plan.host_proc_mount_count; i-- > 0;) {
    const char* point = plan.host_proc_mounts[i];
    if (umount2(point, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 || errno == ENOENT) continue;
    if (mount("tmpfs", point, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") <
        0) {
      fail(errno, "hide the host's `", point, "` from a --no-pivot container");
    }
  }
}

void pivot_into(const ChildPlan& plan) {
  if (plan.shared_mount_namespace) {
    // pivot_root would move every process of the shared namespace: chroot, as runc does.
    if (chdir(plan.rootfs) < 0) fail(errno, "chdir `", plan.rootfs, "`");
    if (chroot(".") < 0) fail(errno, "chroot `", plan.rootfs, "`");
    if (chdir("/") < 0) fail(errno, "chdir `/`");
    return;
  }
  if (plan.no_pivot) {
    hide_host_proc_mounts(plan);
    if (chdir(plan.rootfs) < 0) fail(errno, "chdir `", plan.rootfs, "`");
    if (mount(plan.rootfs, "/", nullptr, MS_MOVE, nullptr) < 0)
      fail(errno, "move the rootfs to `/`");
    if (chroot(".") < 0) fail(errno, "chroot `", plan.rootfs, "`");
    if (chdir("/") < 0) fail(errno, "chdir `/`");
    return;
  }
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) fail(errno, "open `/`");
  if (chdir(plan.rootfs) < 0) fail(errno, "chdir `", plan.rootfs, "`");
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." afterwards
  // removes it without needing a directory for it inside the rootfs.
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail(errno, "pivot_root `", plan.rootfs, "`");
  if (fchdir(old_root) < 0) fail(errno, "fchdir to the old root");
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
    fail(errno, "make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0) fail(errno, "unmount the old root");
  close(old_root);
  if (chdir("/") < 0) fail(errno, "chdir `/`");
}

// ---- Masks and read-only paths, after pivot_root: everything is done on descriptors with the
// new mount API, so no path is looked up twice and the container's /proc is never used.

// The container's /dev/null, checked through its descriptor to be the 1:3 character device:
// masks are made of it, and a /dev/null that is a symlink to a procfs file, or any other file,
// would make every masked path that file, writable (CVE-2025-31133).
int open_verified_null(int root) {
  return open_device_in_root(root, "dev/null", O_PATH, 1, 3,
                             "container's /dev/null is invalid: not the 1:3 character device");
}

// What masks are made of: one read-only empty tmpfs for every masked directory (the first is
// mounted, the others are binds of it, as in runc 1.5), and the container's /dev/null for the
// other files.
struct MaskSources {
  int root = -1;
  int tmpfs = -1;  // the tmpfs mount, once attached over the first masked directory
  dev_t tmpfs_device = 0;
  int null_fd = -1;
};

void mask_directory(MaskSources& sources, int target, const char* shown) {
  if (sources.tmpfs >= 0) {
    attach_tree(open_tree_of(sources.tmpfs, 0, shown), target, shown);
    return;
  }
  int context = static_cast<int>(syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC));
  if (context < 0) fail(errno, "fsopen tmpfs to mask `", shown, "`");
  if (syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    fail(errno, "create a tmpfs to mask `", shown, "`");
  }
  unsigned attributes =
      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  int tree = static_cast<int>(syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, attributes));
  if (tree < 0) fail(errno, "fsmount a tmpfs to mask `", shown, "`");
  close(context);
  // The descriptor stays: once attached, the mount it names can be cloned for the next ones.
  if (syscall(SYS_move_mount, tree, "", target, "",
              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    fail(errno, "mount on `", shown, "`");
  }
  struct stat info {};
  if (fstat(tree, &info) < 0) fail(errno, "stat the tmpfs masking `", shown, "`");
  sources.tmpfs = tree;
  sources.tmpfs_device = info.st_dev;
}

void mask_file(MaskSources& sources, int target, const char* shown) {
  if (sources.null_fd < 0) sources.null_fd = open_verified_null(sources.root);
  int tree = open_tree_of(sources.null_fd, 0, "/dev/null");
  set_read_only(tree, shown);
  attach_tree(tree, target, shown);
}

// A path listed twice, or a directory below one masked already, is masked once.
bool masked_already(const MaskSources& sources, const struct stat& info) {
  if (S_ISDIR(info.st_mode)) return sources.tmpfs >= 0 && info.st_dev == sources.tmpfs_device;
  return S_ISCHR(info.st_mode) && info.st_rdev == makedev(1, 3);
}

void mask_paths(const ChildPlan& plan) {
  if (plan.masked_count == 0) return;
  MaskSources sources;
  sources.root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (sources.root < 0) fail(errno, "open `/`");
  for (size_t i = 0; i < plan.masked_count; ++i) {
    const char* path = plan.masked_paths[i];
    int target = open_in_root(sources.root, path, O_PATH);
    if (target < 0) {
      if (errno == ENOENT) continue;
      fail(errno, "open masked path `", path, "`");
    }
    struct stat info {};
    if (fstat(target, &info) < 0) fail(errno, "stat masked path `", path, "`");
    if (masked_already(sources, info)) {
      close(target);
      continue;
    }
    if (S_ISDIR(info.st_mode)) {
      mask_directory(sources, target, path);
    } else {
      mask_file(sources, target, path);
    }
    close(target);
  }
  for (int fd : {sources.tmpfs, sources.null_fd, sources.root}) {
    if (fd >= 0) close(fd);
  }
}

// A read-only bind of each path onto itself (its submounts come along, writable as they were,
// as runc's remount leaves them).
void make_paths_readonly(const ChildPlan& plan) {
  if (plan.readonly_count == 0) return;
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) fail(errno, "open `/`");
  for (size_t i = 0; i < plan.readonly_count; ++i) {
    const char* path = plan.readonly_paths[i];
    int target = open_in_root(root, path, O_PATH);
    if (target < 0) {
      if (errno == ENOENT) continue;
      fail(errno, "open read-only path `", path, "`");
    }
    int tree = open_tree_of(target, AT_RECURSIVE, path);
    set_read_only(tree, path);
    attach_tree(tree, target, path);
    close(target);
  }
  close(root);
}

// The read-only tmpfs and /dev mounts that were mounted writable (MountStep::readonly_at_end).
void make_deferred_mounts_readonly(const ChildPlan& plan) {
  int root = -1;
  for (size_t i = 0; i < plan.mount_count; ++i) {
    const plan::MountStep& step = plan.mounts[i];
    if (!step.readonly_at_end) continue;
    if (root < 0) root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) fail(errno, "open `/`");
    int mounted = open_in_root(root, step.destination, O_PATH);
    if (mounted < 0) fail(errno, "open `", step.display_destination, "`");
    set_read_only(mounted, step.display_destination);
    close(mounted);
  }
  if (root >= 0) close(root);
}

void finish_rootfs(const ChildPlan& plan) {
  // Sysctls first: /proc/sys is usually among the read-only paths.
  for (size_t i = 0; i < plan.sysctl_count; ++i) {
    write_proc_file(plan.sysctls[i].path, plan.sysctls[i].value, RESOLVE_NO_SYMLINKS);
  }
  mask_paths(plan);
  make_paths_readonly(plan);
  make_deferred_mounts_readonly(plan);
  if (plan.hostname != nullptr && sethostname(plan.hostname, strlen(plan.hostname)) < 0) {
    fail(errno, "sethostname `", plan.hostname, "`");
  }
  if (plan.domainname != nullptr && setdomainname(plan.domainname, strlen(plan.domainname)) < 0) {
    fail(errno, "setdomainname `", plan.domainname, "`");
  }
  if (plan.readonly_root) {
    unsigned long keep = kept_flags("/");
    if (mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, nullptr) < 0) {
      fail(errno, "remount `/` read-only");
    }
  }
  if (plan.rootfs_propagation_after != 0 &&
      mount(nullptr, "/", nullptr, plan.rootfs_propagation_after, nullptr) < 0) {
    fail(errno, "set rootfs propagation");
  }
}

// In a mount namespace of the container's own, "/" stops propagating to the host and the
// rootfs becomes a mount of its own, for pivot_root. A shared namespace is not the container's
// to change: both are left as they are.
void prepare_own_mount_namespace(const ChildPlan& plan) {
  if (mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) < 0) {
    fail(errno, "set propagation of `/`");
  }
  if (mount(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    fail(errno, "bind mount the rootfs `", plan.rootfs, "` onto itself");
  }
}

// In a shared namespace, a read-only root is a bind of the rootfs onto itself, made read-only
// once the container is inside it: a mount of the container's own, which delete removes
// (shared_mounts.hpp), never the mount the rootfs sits on.
void bind_rootfs_for_read_only(const ChildPlan& plan) {
  if (!plan.readonly_root) return;
  if (mount(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    fail(errno, "bind mount the rootfs `", plan.rootfs, "` onto itself");
  }
}

void prepare_rootfs(const ChildPlan& plan) {
  if (plan.shared_mount_namespace) {
    bind_rootfs_for_read_only(plan);
  } else {
    prepare_own_mount_namespace(plan);
  }
  int root_fd = open(plan.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(errno, "open rootfs `", plan.rootfs, "`");
  for (size_t i = 0; i < plan.mount_count; ++i) mount_step(root_fd, plan.mounts[i]);
  bind_cgroup_hierarchies(root_fd, plan);
  for (size_t i = 0; i < plan.device_count; ++i) create_device(root_fd, plan, plan.devices[i]);
  create_symlinks(root_fd, plan);
  // runc creates a missing working directory.
  if (plan.cwd_relative != nullptr && plan.cwd_relative[0] != '\0') {
    close(make_mount_point(root_fd, plan.cwd_relative, true));
  }
  if (plan.terminal && plan.console_socket_fd >= 0) setup_console(root_fd, plan, true);

  send_message(sync::Kind::kRunHooks, 0, nullptr);
  expect_message(sync::Kind::kHooksDone);
  // createContainer hooks run in the rootfs, as with runc: they may name its files relatively.
  if (plan.create_container_hooks.count != 0 && fchdir(root_fd) < 0) {
    fail(errno, "chdir to the rootfs `", plan.rootfs, "`");
  }
  close(root_fd);
  run_child_hooks(plan.create_container_hooks);
  pivot_into(plan);
  finish_rootfs(plan);
}

// ---------------------------------------------------------------------------------------------
// The process

void set_rlimits(const ChildPlan& plan) {
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    rlimit limit{plan.rlimits[i].soft, plan.rlimits[i].hard};
    if (setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource), &limit) < 0) {
      fail(errno, "setrlimit ", plan.rlimits[i].resource, " to ",
           static_cast<long long>(plan.rlimits[i].soft), ":",
           static_cast<long long>(plan.rlimits[i].hard));
    }
  }
}

// The listener of an SCMP_ACT_NOTIFY filter goes to mkrun, which passes it on to the agent.
// Until the agent has it, every notified syscall waits: none is used here before the send
// (compile_seccomp refuses sendmsg), and what follows may wait for the agent harmlessly.
void hand_over_listener(int listener) {
  sync::Message message{};
  message.kind = sync::Kind::kSeccompListener;
  if (!send_with_fd(g_sync_fd, &message, sizeof message, listener)) {
    fail(errno, "send the seccomp listener to mkrun");
  }
  expect_message(sync::Kind::kSeccompDone);
  close(listener);
}

bool g_seccomp_loaded = false;

// Loads the filter once; the later calls (see child_main) find it loaded.
void load_seccomp(const ChildPlan& plan) {
  if (plan.seccomp_length == 0 || g_seccomp_loaded) return;
  sock_fprog program{plan.seccomp_length, const_cast<sock_filter*>(plan.seccomp_filter)};
  long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan.seccomp_flags, &program);
  if (result < 0) fail(errno, "load the seccomp filter");
  g_seccomp_loaded = true;
  if (plan.seccomp_listener) hand_over_listener(static_cast<int>(result));
}

void drop_bounding_set(const plan::Capabilities& caps) {
  for (int cap = 0; cap <= caps.last_cap; ++cap) {
    if ((caps.bounding & (1ULL << cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      fail(errno, "drop capability ", cap, " from the bounding set");
    }
  }
}

void set_capabilities(const plan::Capabilities& caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int word = 0; word < 2; ++word) {
    data[word].effective = static_cast<uint32_t>(caps.effective >> (32 * word));
    data[word].permitted = static_cast<uint32_t>(caps.permitted >> (32 * word));
    data[word].inheritable = static_cast<uint32_t>(caps.inheritable >> (32 * word));
  }
  if (syscall(SYS_capset, &header, data) < 0) fail(errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    fail(errno, "clear the ambient capabilities");
  }
  // The kernel raises an ambient capability only if it is permitted and inheritable; like runc,
  // mkrun skips the others instead of failing. It says so at --debug: runc 1.5 warns, but the
  // spec runc 1.1 and mkrun write lists ambient capabilities that are not inheritable, so every
  // such container would warn where runc 1.1 is silent.
  for (int cap = 0; cap <= caps.last_cap; ++cap) {
    if ((caps.ambient & (1ULL << cap)) == 0) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      Text warning;
      warning.add("can't raise ambient capability ");
      if (static_cast<size_t>(cap) < oci::vocabulary::kCapabilities.size()) {
        warning.add(oci::vocabulary::kCapabilities[static_cast<size_t>(cap)]);
      } else {
        warning.add(cap);
      }
      send_message(sync::Kind::kNote, errno, warning.c_str());
    }
  }
}

// Capabilities and user in runc's order: shrink the bounding set while still privileged, keep
// the permitted set across the uid change, then set the final sets.
void become_user(const ChildPlan& plan) {
  drop_bounding_set(plan.capabilities);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_KEEPCAPS");
  if (plan.set_groups && setgroups(plan.additional_gid_count, plan.additional_gids) < 0) {
    fail(errno, "setgroups");
  }
  if (setresgid(plan.gid, plan.gid, plan.gid) < 0)
    fail(errno, "setgid ", static_cast<long long>(plan.gid));
  if (setresuid(plan.uid, plan.uid, plan.uid) < 0)
    fail(errno, "setuid ", static_cast<long long>(plan.uid));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(errno, "prctl PR_SET_KEEPCAPS");
  set_capabilities(plan.capabilities);
}

// PATH lookup as Go's exec.LookPath does it, so the messages engines match are runc's.
void find_executable(const ChildPlan& plan, char (&resolved)[PATH_MAX]) {
  const char* name = plan.argv[0];
  auto executable = [](const char* path, int& errc) {
    struct stat info {};
    if (stat(path, &info) < 0) {
      errc = errno;
      return false;
    }
    if (S_ISDIR(info.st_mode) || (info.st_mode & 0111) == 0) {
      errc = EACCES;
      return false;
    }
    return true;
  };
  int errc = 0;
  if (strchr(name, '/') != nullptr) {
    if (!executable(name, errc)) {
      if (errc == ENOENT) fail(errc, "exec: \"", name, "\": stat ", name);
      fail(errc, "exec: \"", name, "\"");
    }
    size_t length = strlen(name);
    memcpy(resolved, name, length < PATH_MAX ? length + 1 : PATH_MAX);
    resolved[PATH_MAX - 1] = '\0';
    return;
  }
  const char* path = plan.path_env != nullptr ? plan.path_env : "";
  for (;;) {
    const char* end = strchr(path, ':');
    size_t dir_length = end != nullptr ? static_cast<size_t>(end - path) : strlen(path);
    Text candidate;
    if (dir_length == 0) {
      candidate.add(".");
    } else {
      candidate.add(std::string_view(path, dir_length));
    }
    candidate.add('/').add(name);
    if (executable(candidate.c_str(), errc)) {
      memcpy(resolved, candidate.c_str(), candidate.size() + 1);
      return;
    }
    if (end == nullptr) break;
    path = end + 1;
  }
  fail(0, "exec: \"", name, "\": executable file not found in $PATH");
}

// Closes every descriptor from `first` on but those in `keep`: nothing of the caller's (an
// engine's pipes, a held lock) may stay open in an init that waits for `start`.
void close_all_from_except(unsigned first, int* keep, size_t count) {
  for (size_t i = 1; i < count; ++i) {  // insertion sort: a handful of fds
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      int swapped = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = swapped;
    }
  }
  unsigned next = first;
  for (size_t i = 0; i < count; ++i) {
    if (keep[i] < 0 || static_cast<unsigned>(keep[i]) < next) continue;
    if (static_cast<unsigned>(keep[i]) > next) {
      (void)syscall(SYS_close_range, next, static_cast<unsigned>(keep[i]) - 1, 0);
    }
    next = static_cast<unsigned>(keep[i]) + 1;
  }
  (void)syscall(SYS_close_range, next, ~0U, 0);
}

// stdio from the console, and nothing but stdio, the preserved fds and what the child itself
// still needs past this point.
void prepare_stdio_and_fds(const ChildPlan& plan) {
  // A session of its own, terminal or not, as runc's nsexec gives every process it starts: a
  // process whose session leader is the caller outside the container cannot be checkpointed
  // (criu: "A session leader ... is outside of its pid namespace").
  if (setsid() < 0) fail(errno, "setsid");
  if (g_console_slave >= 0) {
    for (int fd = 0; fd < 3; ++fd) {
      if (dup2(g_console_slave, fd) < 0) fail(errno, "dup2 the console to fd ", fd);
    }
    if (ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0) fail(errno, "set the controlling terminal");
    close(g_console_slave);
    g_console_slave = -1;
  }
  unsigned first_closed = 3 + plan.preserve_fds;
  // What is left is mkrun's own, opened close-on-exec.
  int keep[] = {g_sync_fd, plan.fifo_fd, g_proc_fd, plan.start_container_hooks.state_fd};
  close_all_from_except(first_closed, keep, sizeof keep / sizeof keep[0]);
  for (unsigned fd = 3; fd < first_closed; ++fd) {
    int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0) (void)fcntl(static_cast<int>(fd), F_SETFD, flags & ~FD_CLOEXEC);
  }
}

// linux.memoryPolicy, right after the personality as runc 1.5 does it. The policy is kept
// across execve and inherited by the process's children.
void set_memory_policy(const ChildPlan& plan) {
  if (!plan.set_memory_policy) return;
  const unsigned long* nodes =
      plan.memory_policy_max_node != 0 ? plan.memory_policy_nodes : nullptr;
  if (syscall(SYS_set_mempolicy, plan.memory_policy_mode, nodes, plan.memory_policy_max_node) < 0) {
    fail(errno, "set_mempolicy ", plan.memory_policy_name, " nodes \"",
         plan.memory_policy_node_list, "\"");
  }
}

// personality, memory policy, I/O priority and scheduler: all before seccomp, which may refuse
// them.
void set_scheduling(const ChildPlan& plan) {
  if (plan.personality >= 0 && personality(static_cast<unsigned long>(plan.personality)) < 0) {
    fail(errno, "personality ", plan.personality);
  }
  set_memory_policy(plan);
  if (plan.io_priority >= 0 &&
      syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, plan.io_priority) < 0) {
    fail(errno, "ioprio_set ", plan.io_priority);
  }
  if (plan.set_scheduler && syscall(SYS_sched_setattr, 0, &plan.scheduler, 0) < 0) {
    if (errno == EPERM && plan.scheduler_with_allowed_cpus) {
      fail(0, "process scheduler can't be used together with AllowedCPUs");
    }
    fail(errno, "error setting scheduler (sched_setattr policy ",
         static_cast<long long>(plan.scheduler.policy), ")");
  }
}

// What the process gets while the child is still root: limits, scheduling, its OOM score, a
// session keyring and the LSM label it will be executed with (written now, before a seccomp
// filter that may refuse openat2 or write; it applies at the execve, as in runc).
void set_process_attributes(const ChildPlan& plan) {
  set_rlimits(plan);
  set_scheduling(plan);
  if (plan.set_oom_score_adj) {
    Text value;
    value.add(plan.oom_score_adj);
    write_proc_file("self/oom_score_adj", value.c_str());
  }
  if (plan.new_session_keyring &&
      syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, plan.keyring_name) < 0 &&
      errno != ENOSYS && errno != EACCES && errno != EPERM) {
    fail(errno, "join a new session keyring");
  }
  if (plan.lsm_exec_attr_path != nullptr) {
    write_proc_file(plan.lsm_exec_attr_path, plan.lsm_exec_attr_value);
  }
}

// A cwd reached through a magic link (`/proc/self/fd/<n>` of a descriptor the child still
// holds) would be outside the container's root; the kernel then says "(unreachable)"
// (CVE-2024-21626).
void check_cwd_is_inside_root() {
  char cwd[PATH_MAX];
  long length = syscall(SYS_getcwd, cwd, sizeof cwd);
  if (length < 0 && errno != ENAMETOOLONG) fail(errno, "getcwd");
  if (length > 0 && cwd[0] != '/') {
    fail(0,
         "current working directory is outside of container mount namespace root -- "
         "possible container breakout detected");
  }
}

// Credentials, in runc's order. Without no_new_privileges, loading a filter needs
// CAP_SYS_ADMIN, so it comes before the capabilities go; everything that can happen before it
// has happened by now (stdio, fds), so a strict profile only has to allow the credential calls.
// The working directory is entered before the user changes when that works (a directory only
// root may enter), else after.
void become_process_user(const ChildPlan& plan) {
  bool in_cwd = chdir(plan.cwd) == 0;
  if (!in_cwd && errno != EACCES && errno != EPERM) {
    fail(errno, "chdir to cwd (\"", plan.cwd, "\") set in config.json failed");
  }
  if (in_cwd) check_cwd_is_inside_root();  // before a filter that may refuse getcwd
  if (!plan.no_new_privileges) load_seccomp(plan);
  become_user(plan);
  if (!in_cwd) {
    if (chdir(plan.cwd) < 0) {
      fail(errno, "chdir to cwd (\"", plan.cwd, "\") set in config.json failed");
    }
    check_cwd_is_inside_root();
  }
  if (plan.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    fail(errno, "prctl PR_SET_NO_NEW_PRIVS");
  }
  if (plan.umask >= 0) umask(static_cast<mode_t>(plan.umask));
}

// procfs's fd directory of the init: exec.fifo is reopened through it after `start`, with a
// plain openat, which every seccomp profile allows.
int g_fd_directory = -1;

// Blocks until `start` opens exec.fifo for reading. From then on, failures go to the fifo,
// where `start` reads them, up to the execve.
void wait_for_start(const ChildPlan& plan) {
  Text name;
  name.add(plan.fifo_fd);
  int fifo = -1;
  do {
    fifo = openat(g_fd_directory, name.c_str(), O_WRONLY | O_CLOEXEC);
  } while (fifo < 0 && errno == EINTR);
  if (fifo < 0) _exit(1);  // nobody left to tell: `start` sees the init gone
  close(g_fd_directory);
  close(plan.fifo_fd);
  g_fifo_fd = fifo;
}

}  // namespace

void child_main(const ChildPlan& plan) noexcept {
  g_sync_fd = plan.sync_fd;
  g_proc_fd = plan.proc_fd;
  for (size_t i = 0; i < plan.close_after_clone_count; ++i) close(plan.close_after_clone[i]);
  // The init must not outlive a `mkrun create` that dies half-way.
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Nothing in the container may ptrace or read the memory of this half-set-up process.
  (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  umask(0);

  if (plan.set_initial_affinity &&
      sched_setaffinity(0, sizeof plan.initial_affinity, &plan.initial_affinity) < 0) {
    fail(errno, "set the initial CPU affinity");
  }
  join_cgroups(plan);
  reset_affinity(plan);
  enter_namespaces(plan);
  // Again: a fork in enter_namespaces() clears it.
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (plan.exec_mode) {
    if (plan.exec_root_fd >= 0) enter_root_of_init(plan.exec_root_fd);
    attach_console(plan);
  } else {
    prepare_rootfs(plan);
  }
  set_process_attributes(plan);
  prepare_stdio_and_fds(plan);
  if (!plan.exec_mode) {
    g_fd_directory = open_in_proc("self/fd", O_PATH | O_DIRECTORY);
    if (g_fd_directory < 0) fail(errno, "open `/proc/self/fd`");
  }
  become_process_user(plan);
  char executable[PATH_MAX];
  find_executable(plan, executable);

  // The parent exits after create; the init must survive that.
  (void)prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  send_message(sync::Kind::kReady, 0, nullptr);
  if (!plan.exec_mode) {
    // The listener must reach the agent before `create` returns (runc's order).
    if (plan.seccomp_listener) load_seccomp(plan);
    // `exec` keeps the socket open (close-on-exec): its EOF tells mkrun the process runs.
    close(g_sync_fd);
    g_sync_fd = -1;
    wait_for_start(plan);
  }
  if (plan.set_final_affinity &&
      sched_setaffinity(0, sizeof plan.final_affinity, &plan.final_affinity) < 0) {
    fail(errno, "set the final CPU affinity");
  }
  if (g_proc_fd >= 0) close(g_proc_fd);
  // Last before the hooks and execve, unless loaded earlier: startContainer hooks run under the
  // container's filter, as in runc.
  load_seccomp(plan);
  if (!plan.exec_mode) run_child_hooks(plan.start_container_hooks);
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(executable, const_cast<char* const*>(plan.argv), const_cast<char* const*>(plan.envp));
  fail(errno, "exec: \"", plan.argv[0], "\"");
}

}  // namespace mkrun::child
