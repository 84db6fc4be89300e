// The spec's closed vocabularies, each once: the names config.json may use and what the kernel
// calls them. Validation, the plan builder and `features` all read these tables, so a name that
// validates is one the runtime can apply, and `features` lists exactly what both accept.
//
// Only constants here (kernel and libc headers, no syscalls). The lookups are constexpr and
// allocation-free so that the child, which runs between clone() and execve(), may use them.
// Seccomp's vocabulary is not here: its values come from libseccomp, which oci-spec does not
// link; plan/seccomp.cpp holds that table, and validation does not list seccomp names.
#pragma once

#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mkrun::oci::vocabulary {

// Every name is a string literal, so name.data() is NUL-terminated where a C string is needed.
template <class Value>
struct Named {
  std::string_view name;
  Value value;
};

struct NamespaceKind {
  std::string_view name;       // the spec's type: "network"
  int clone_flag;              // CLONE_NEWNET
  std::string_view proc_file;  // its file in /proc/<pid>/ns: "net"
};

// In the order `exec` joins them: the user namespace first (the others may belong to it), the
// mount namespace last (it changes what the paths of the others mean).
inline constexpr std::array<NamespaceKind, 8> kNamespaces = {{
    {"user", CLONE_NEWUSER, "user"},
    {"ipc", CLONE_NEWIPC, "ipc"},
    {"uts", CLONE_NEWUTS, "uts"},
    {"network", CLONE_NEWNET, "net"},
    {"pid", CLONE_NEWPID, "pid"},
    {"time", CLONE_NEWTIME, "time"},
    {"cgroup", CLONE_NEWCGROUP, "cgroup"},
    {"mount", CLONE_NEWNS, "mnt"},
}};

inline constexpr std::array<Named<int>, 16> kRlimits = {{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

// sched_setattr(2)'s policies, by number (glibc's <sched.h> lacks SCHED_DEADLINE). The spec lists
// SCHED_ISO, and so does runc's validation; mainline Linux reserves 4 for it but never
// implemented it. It stays here with 4 so that validation and the builder agree on every name,
// and the kernel's EINVAL ("sched_setattr policy 4") is what refuses it, as under runc.
inline constexpr std::array<Named<uint32_t>, 7> kSchedulerPolicies = {{
    {"SCHED_OTHER", 0},
    {"SCHED_FIFO", 1},
    {"SCHED_RR", 2},
    {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},
    {"SCHED_IDLE", 5},
    {"SCHED_DEADLINE", 6},
}};

inline constexpr std::array<Named<uint64_t>, 7> kSchedulerFlags = {{
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},
    {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},
    {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
}};

// ioprio_set(2)'s classes (linux/ioprio.h, which glibc does not wrap).
inline constexpr std::array<Named<int>, 3> kIoPriorityClasses = {{
    {"IOPRIO_CLASS_RT", 1},
    {"IOPRIO_CLASS_BE", 2},
    {"IOPRIO_CLASS_IDLE", 3},
}};

inline constexpr std::array<Named<unsigned long>, 2> kPersonalityDomains = {{
    {"LINUX", PER_LINUX},
    {"LINUX32", PER_LINUX32},
}};
inline constexpr std::array<Named<unsigned long>, 1> kPersonalityFlags = {{
    {"ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE},
}};

// set_mempolicy(2)'s modes, by number (linux/mempolicy.h, whose older copies lack
// MPOL_WEIGHTED_INTERLEAVE, Linux 6.9), with the nodes each takes, as set_mempolicy(2) and
// runc 1.5's validation have them.
enum class MemoryNodes {
  kNone,        // MPOL_DEFAULT, MPOL_LOCAL: "nodes" must be empty
  kAtLeastOne,  // a set to bind to or spread over
  kAny,         // MPOL_PREFERRED: no node means "the local node"
};
struct MemoryPolicyMode {
  std::string_view name;
  int value;
  MemoryNodes nodes;
};
inline constexpr std::array<MemoryPolicyMode, 7> kMemoryPolicyModes = {{
    {"MPOL_DEFAULT", 0, MemoryNodes::kNone},
    {"MPOL_PREFERRED", 1, MemoryNodes::kAny},
    {"MPOL_BIND", 2, MemoryNodes::kAtLeastOne},
    {"MPOL_INTERLEAVE", 3, MemoryNodes::kAtLeastOne},
    {"MPOL_LOCAL", 4, MemoryNodes::kNone},
    {"MPOL_PREFERRED_MANY", 5, MemoryNodes::kAtLeastOne},
    {"MPOL_WEIGHTED_INTERLEAVE", 6, MemoryNodes::kAtLeastOne},
}};
// The mode flags, or'ed into the mode.
inline constexpr std::array<Named<int>, 3> kMemoryPolicyFlags = {{
    {"MPOL_F_NUMA_BALANCING", 1 << 13},
    {"MPOL_F_RELATIVE_NODES", 1 << 14},
    {"MPOL_F_STATIC_NODES", 1 << 15},
}};
// Node numbers in linux.memoryPolicy.nodes stay below this: the kernel's largest
// MAX_NUMNODES (CONFIG_NODES_SHIFT 10), and the size of runc's node mask.
inline constexpr unsigned kMaxMemoryNodes = 1024;

// Capability names by number (linux/capability.h): the index is the capability.
// clang-format off
inline constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",               // 0
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",                               // 4
    "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",  // 8
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",                    // 12
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",              // 16
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",                   // 20
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",              // 24
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",                 // 28
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",                // 32
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",                    // 36
    "CAP_CHECKPOINT_RESTORE"                                                            // 40
};
// clang-format on

// A mount option that sets or clears mount(2) flags ("rw" clears MS_RDONLY).
struct MountFlagOption {
  std::string_view name;
  bool clear;
  unsigned long flag;
};
// In oci-spec's source: <sys/mount.h> clashes with the <linux/mount.h> some users include.
std::span<const MountFlagOption> mount_flag_options();
// "shared", "rslave", ...: the propagation a mount option or rootfsPropagation asks for.
std::span<const Named<unsigned long>> propagation_options();

// ---- Lookups ----------------------------------------------------------------------------------

// The entry called `name`, or nullptr.
template <class Table>
constexpr auto find(const Table& table, std::string_view name) -> decltype(&*std::begin(table)) {
  for (const auto& entry : table) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// The names, in the table's order.
template <class Table>
std::vector<std::string> names(const Table& table) {
  std::vector<std::string> result;
  for (const auto& entry : table) result.emplace_back(entry.name);
  return result;
}

// The namespace with this CLONE_NEW* flag, or nullptr; for the child, which only has the flag.
constexpr const NamespaceKind* namespace_of_flag(int clone_flag) {
  for (const auto& kind : kNamespaces) {
    if (kind.clone_flag == clone_flag) return &kind;
  }
  return nullptr;
}

// "CAP_CHOWN" -> 0; -1 for a name not in the table. Case-sensitive, as runc's.
constexpr int capability_number(std::string_view name) {
  for (size_t i = 0; i < kCapabilities.size(); ++i) {
    if (kCapabilities[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// A device cgroup rule's access (linux.resources.devices[].access) as a set of the kernel's
// letters, r (read), w (write) and m (mknod), spelled in that order: "mwr" -> "rwm". Any other
// letter is ignored, as runc 1.1 does (its devices.Permissions keep only these three), so "rwa"
// is "rw". An empty access is all three, as mkrun has always read it. "": the access names none
// of the three, and the rule allows or denies nothing.
constexpr std::string_view device_access(std::string_view access) {
  if (access.empty()) return "rwm";
  constexpr std::array<std::string_view, 8> kSets = {"", "r", "w", "rw", "m", "rm", "wm", "rwm"};
  unsigned set = 0;
  for (char letter : access) {
    if (letter == 'r') set |= 1;
    if (letter == 'w') set |= 2;
    if (letter == 'm') set |= 4;
  }
  return kSets[set];
}

}  // namespace mkrun::oci::vocabulary
