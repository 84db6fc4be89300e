// ChildPlan: everything the container's init needs between clone() and execve(), computed by the
// parent beforehand. The child only reads it: it holds plain values, C strings and arrays that
// point into storage the parent owns (the child sees a copy of that memory after the clone), so
// the child never allocates, formats or parses.
#pragma once

#include <linux/filter.h>
#include <sched.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "mkrun/oci/vocabulary.hpp"

namespace mkrun::plan {

// A namespace the child joins with setns() on an fd opened by the parent.
struct NamespaceJoin {
  int fd = -1;
  int type = 0;  // CLONE_NEWNET, ...
};
// One join per namespace type at most (validation refuses a type twice): eight types.
inline constexpr size_t kMaxNamespaceJoins = 8;

struct MountStep {
  const char* source = nullptr;               // host path for binds; the fs source name otherwise
  const char* destination = nullptr;          // inside the rootfs, relative ("proc", "dev/pts")
  const char* display_destination = nullptr;  // as in config.json, for messages ("/proc")
  const char* fstype = nullptr;
  const char* data = nullptr;     // fs-specific options ("mode=755,size=65536k")
  unsigned long flags = 0;        // MS_* for the mount itself
  unsigned long propagation = 0;  // MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE (+MS_REC)
  bool bind = false;
  bool source_is_directory = true;  // binds of files need a file as the mount point
  bool remount_after_bind = false;  // ro, nosuid... need a second MS_REMOUNT|MS_BIND pass
  bool recursive_readonly = false;  // "rro": mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY)
  bool cgroup_v1_tmpfs = false;     // "cgroup" on v1: tmpfs + one bind per hierarchy
  bool copy_up = false;             // "tmpcopyup": the tmpfs gets a copy of the dir it covers
  bool keep_covered_mode = false;   // tmpfs: its root gets the mode of the dir it covers (runc)
  // A read-only tmpfs or /dev is mounted writable and made read-only last, once what goes below
  // it (devices, /dev/pts, other mounts) is in place, as runc does.
  bool readonly_at_end = false;
  // A bind whose source is below the rootfs: resolved by the child when it mounts, inside the
  // rootfs (RESOLVE_IN_ROOT), so that it sees the mounts made before it, as with runc (a bind of
  // a part of the tree built so far). Relative to the rootfs; null: `source` is the host's.
  const char* source_in_root = nullptr;
  // A bind the parent prepared as a detached mount tree (open_tree, maybe idmapped): the child
  // attaches it with move_mount() instead of binding `source`. -1: none.
  int detached_tree = -1;
  // The mount point may be inside the container's /proc: the destination is one of the few
  // files runc lets engines cover there (lxcfs), or /proc itself for a procfs. Any other mount
  // point that resolves into a procfs is refused (CVE-2019-19921).
  bool allowed_in_proc = false;
  // proc and sysfs: the destination itself may not be a symlink, even one inside the rootfs.
  bool ordinary_directory = false;
};

// One bind of a host cgroup hierarchy directory under /sys/fs/cgroup (cgroup v1 mounts).
struct CgroupBind {
  const char* source = nullptr;       // the container's cgroup dir in that hierarchy
  const char* destination = nullptr;  // relative to rootfs ("sys/fs/cgroup/memory")
  bool readonly = true;               // the cgroup mount's "ro": runc binds writable without it
};

struct DeviceNode {
  const char* path = nullptr;  // relative to rootfs ("dev/null")
  const char* display_path = nullptr;
  mode_t mode = 0;  // S_IFCHR | 0666
  dev_t device = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  const char* host_path = nullptr;  // bind-mounted from here when mknod is not allowed (userns)
};

struct Symlink {
  const char* target = nullptr;  // "/proc/self/fd"
  const char* path = nullptr;    // relative to rootfs ("dev/fd")
};

// A write into procfs, always through the verified procfs handle (ChildPlan::proc_fd), never
// through the container's /proc, which an image or a volume could reshape.
struct FileWrite {
  const char* path = nullptr;  // relative to the procfs root ("sys/net/ipv4/ip_forward")
  const char* value = nullptr;
};

struct Rlimit {
  int resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// One hook run by the child (createContainer, startContainer): fork + execve, state on stdin.
struct HookExec {
  const char* path = nullptr;
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  int timeout_seconds = 0;  // 0: none
};

struct HookList {
  const HookExec* hooks = nullptr;
  size_t count = 0;
  int state_fd = -1;           // memfd holding the state JSON for the hooks' stdin
  const char* name = nullptr;  // "createContainer"
};

// Always applied: a set the spec leaves out (or `capabilities` itself) is empty, as in runc.
struct Capabilities {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
  int last_cap = 40;  // highest capability the kernel knows
};

// sched_setattr(2)'s argument, prepared by the parent.
struct SchedulerAttributes {
  uint32_t size = 0;
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtime = 0;
  uint64_t deadline = 0;
  uint64_t period = 0;
};

struct ChildPlan {
  // `exec` into a running container: every namespace is joined, the rootfs is already there,
  // and the process is executed as soon as it is set up (no exec.fifo).
  bool exec_mode = false;

  // How the child got its namespaces. `clone_flags` were given to clone(); the child joins
  // `joins` (the user namespace first), unshares `unshare_flags`, and forks once more when the
  // new pid or time namespace only applies to its children (`fork_after_unshare`).
  int clone_flags = 0;
  const NamespaceJoin* joins = nullptr;
  size_t join_count = 0;
  int unshare_flags = 0;
  bool user_namespace_new = false;
  // An unprivileged mkrun writes the new user namespace's maps between kStarted and kGo: the
  // child must be dumpable meanwhile, or its /proc files belong to root (as in runc's nsexec).
  bool dumpable_for_id_maps = false;
  bool loopback_up = false;  // a new network namespace: bring `lo` up in it
  bool fork_after_unshare = false;
  const char* time_offsets = nullptr;  // text for /proc/self/timens_offsets, or null

  // Channels. `sync_fd` is the child's end of the SOCK_SEQPACKET pair to the parent.
  int sync_fd = -1;
  // exec.fifo as an O_PATH fd: the init reopens it for writing through proc_fd, so it holds
  // neither the state directory nor anything else of mkrun's host side while it waits.
  int fifo_fd = -1;
  // The root of a procfs mkrun verified (fstatfs PROC_SUPER_MAGIC, root inode), opened before
  // the child entered any of the container's mount namespaces: every procfs access of the child
  // goes through it with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV).
  int proc_fd = -1;
  int console_socket_fd = -1;  // receives the pty master when terminal is set; -1 otherwise
  // mkrun itself proxies the pty to its stdout (foreground run, exec -t): the pty does not turn
  // "\n" into "\r\n" (ONLCR off), as runc leaves it. A pty sent to an engine keeps the default.
  bool console_without_onlcr = false;
  // v1 cgroup `tasks` files the child writes "0" into, first thing, to join its cgroup itself.
  const char* const* cgroup_task_files = nullptr;
  size_t cgroup_task_file_count = 0;
  const int* close_after_clone = nullptr;  // parent-only fds the child closes at once (locks)
  size_t close_after_clone_count = 0;

  // Root filesystem.
  const char* rootfs = nullptr;        // absolute host path
  unsigned long root_propagation = 0;  // for "/" before anything else (MS_SLAVE|MS_REC default)
  unsigned long rootfs_propagation_after = 0;  // linux.rootfsPropagation applied after pivot
  bool readonly_root = false;
  bool no_pivot = false;
  // The container has no mount namespace of its own: it shares the caller's, or joined one by
  // path. Its mounts land in that namespace, "/" and its propagation stay as they are, and the
  // init enters the rootfs with chroot (runc's behaviour); `delete` removes the mounts.
  bool shared_mount_namespace = false;
  // exec into such a container: the init's root (/proc/<pid>/root), to chroot into.
  int exec_root_fd = -1;
  // --no-pivot: the host's proc and sysfs mounts outside the rootfs, unmounted (or covered)
  // before the chroot, so that the kernel refuses a fresh procfs inside the container as it
  // does after pivot_root (a fully visible procfs in the namespace would allow one).
  const char* const* host_proc_mounts = nullptr;
  size_t host_proc_mount_count = 0;
  const MountStep* mounts = nullptr;
  size_t mount_count = 0;
  const CgroupBind* cgroup_binds = nullptr;
  size_t cgroup_bind_count = 0;
  const DeviceNode* devices = nullptr;
  size_t device_count = 0;
  bool bind_devices = false;  // mknod is not allowed (user namespace): bind the host's nodes
  const Symlink* symlinks = nullptr;
  size_t symlink_count = 0;
  const char* const* masked_paths = nullptr;
  size_t masked_count = 0;
  const char* const* readonly_paths = nullptr;
  size_t readonly_count = 0;
  const FileWrite* sysctls = nullptr;
  size_t sysctl_count = 0;
  const char* hostname = nullptr;  // null: leave alone
  const char* domainname = nullptr;

  // The process.
  const char* const* argv = nullptr;
  const char* const* envp = nullptr;
  const char* path_env = nullptr;  // the PATH used to look argv[0] up, from process.env
  const char* cwd = "/";
  const char* cwd_relative = nullptr;  // cwd inside the rootfs, created when missing
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* additional_gids = nullptr;
  size_t additional_gid_count = 0;
  bool set_groups = true;  // false when setgroups is denied in the user namespace
  int umask = -1;          // -1: leave alone
  const Rlimit* rlimits = nullptr;
  size_t rlimit_count = 0;
  Capabilities capabilities;
  bool no_new_privileges = false;
  int oom_score_adj = 0;
  bool set_oom_score_adj = false;
  long personality = -1;  // linux.personality, -1: leave alone
  int io_priority = -1;   // ioprio_set() value (class << 13 | level), -1: leave alone
  bool set_scheduler = false;
  SchedulerAttributes scheduler;
  // The cgroup limits the CPUs (cpuset.cpus): then an EPERM from sched_setattr is that limit's
  // (SCHED_DEADLINE needs every CPU of its root domain), said in runc's words.
  bool scheduler_with_allowed_cpus = false;
  // linux.memoryPolicy for set_mempolicy(2): the mode or'ed with its flags, and the node mask,
  // memory_policy_max_node bits of it (0: no mask, for the modes that take none).
  bool set_memory_policy = false;
  int memory_policy_mode = 0;
  const char* memory_policy_name = nullptr;       // "MPOL_BIND", for errors
  const char* memory_policy_node_list = nullptr;  // "0-3,7", for errors
  unsigned long memory_policy_nodes[oci::vocabulary::kMaxMemoryNodes / (8 * sizeof(long))]{};
  unsigned long memory_policy_max_node = 0;
  bool set_initial_affinity = false;  // execCPUAffinity.initial, from the start
  cpu_set_t initial_affinity{};
  bool set_final_affinity = false;  // execCPUAffinity.final, just before execve
  cpu_set_t final_affinity{};
  // Without execCPUAffinity, the affinity given once in the cgroup, so that the process does
  // not keep mkrun's (`taskset -c 0 mkrun run`): every CPU the kernel may have, which
  // sched_setaffinity(2) narrows to the CPUs that exist and are in the cgroup's cpuset.
  // nullptr: keep execCPUAffinity's.
  const unsigned char* reset_affinity_mask = nullptr;
  size_t reset_affinity_size = 0;
  // The LSM label for the executed process (AppArmor "exec <profile>" or an SELinux context),
  // written, before the seccomp filter is loaded, to this file relative to proc_fd
  // ("self/attr/exec").
  const char* lsm_exec_attr_path = nullptr;
  const char* lsm_exec_attr_value = nullptr;
  bool terminal = false;
  unsigned short console_rows = 0, console_cols = 0;
  unsigned preserve_fds = 0;  // fds 3..3+preserve_fds-1 stay open across exec
  bool new_session_keyring = true;
  const char* keyring_name = nullptr;  // "_ses.<id>"

  // seccomp, compiled by the parent; loaded last before execve, or before the capabilities
  // are dropped when no_new_privileges is off (loading needs CAP_SYS_ADMIN then). With
  // `seccomp_listener` (SCMP_ACT_NOTIFY) the child sends the filter's listener fd to the parent
  // over the sync socket, so `create` loads it before that socket closes, as runc does.
  const sock_filter* seccomp_filter = nullptr;
  unsigned short seccomp_length = 0;
  unsigned seccomp_flags = 0;
  bool seccomp_listener = false;

  HookList create_container_hooks;
  HookList start_container_hooks;
};

}  // namespace mkrun::plan
