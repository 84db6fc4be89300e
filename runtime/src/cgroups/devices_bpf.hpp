// Device access control on cgroup v2. v2 has no devices controller: the kernel asks an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE, attached to the cgroup, about every open and mknod
// of a device node. Like runc's devicefilter (libcontainer/cgroups/ebpf/devicefilter), the spec's
// rules are first run through an emulation of the v1 devices cgroup, so that a container gets the
// same devices on v1 and v2, and the resulting allow or deny list becomes the program.
//
// The emulation and the code generation are pure and unit-tested; only attach() talks to the
// kernel, through the raw bpf(2) syscall.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::cgroups::devices_bpf {

// runc's wildcard for a major or minor number ("*" in devices.allow).
constexpr int64_t kAnyNumber = -1;

// One entry of the emulated devices.list: the devices it covers and the access (a mask of
// BPF_DEVCG_ACC_READ, _WRITE and _MKNOD) it grants or, on an allow-by-default cgroup, denies.
struct Exception {
  char type = 'c';  // 'c' or 'b'
  int64_t major = kAnyNumber;
  int64_t minor = kAnyNumber;
  uint32_t access = 0;

  friend bool operator==(const Exception&, const Exception&) = default;
};

// What a list of rules leaves a v1 devices cgroup with: a default, and the exceptions to it, in
// runc's order (major, minor, type), each with the opposite verdict of the default.
struct Policy {
  bool default_allow = false;
  std::vector<Exception> exceptions;

  friend bool operator==(const Policy&, const Policy&) = default;
};

// Applies `rules` in order to a cgroup that starts denying everything, with the v1 kernel's
// semantics as runc's devices.Emulator models them: "a *:* rwm" resets to allow-all or deny-all,
// an exception of the default's own verdict adds access, one of the opposite verdict takes it
// away. A narrower "a" rule stands for the same rule on char and block devices, as mkrun writes
// it on v1. Fails, as runc does, on an invalid rule and on a rule that would take access away
// from part of a wildcard exception ("cannot punch hole"), which v1 would silently ignore.
Result<Policy> emulate(const std::vector<oci::DeviceCgroupRule>& rules);

// Whether `policy` lets a process do `access` (BPF_DEVCG_ACC_* bits) on the device `type`
// ('c' or 'b') major:minor. The reference the generated program is tested against.
bool allows(const Policy& policy, char type, uint32_t major, uint32_t minor, uint32_t access);

// The program enforcing `policy`, instruction for instruction what runc's devicefilter emits:
// load the type, access, major and minor of struct bpf_cgroup_dev_ctx into r2..r5, then one
// block per exception that returns its verdict when it matches (type equal, the requested access
// a subset of the exception's, major and minor equal unless wildcards), then the default.
std::vector<bpf_insn> program_for(const Policy& policy);

// The policy of a container: the spec's rules, then runc's default allowed devices
// (default_device_rules(), appended as runc's specconv does).
Result<Policy> container_policy(const std::vector<oci::DeviceCgroupRule>& spec_rules);

// Loads `program` and attaches it to the cgroup v2 directory `cgroup_dir`, replacing what is
// attached there (runc's LoadAttachCgroupDeviceFilter): with exactly one program attached, an
// atomic BPF_F_REPLACE (Linux 5.6+); otherwise attach first with BPF_F_ALLOW_MULTI, then detach
// the old ones, so there is never a moment without a filter.
Result<void> attach(const std::string& cgroup_dir, const std::vector<bpf_insn>& program);

// container_policy() + program_for() + attach(). A failing bpf(2) is ignored only when the
// policy allows everything anyway, or when mkrun runs in a user namespace, where bpf(2) is not
// permitted (runc's canSkipEBPFError). A directory that is not on cgroup2 has nothing to attach
// to and is left alone: the Manager's unit tests use plain directories in its place.
Result<void> apply(const std::string& cgroup_dir, const std::vector<oci::DeviceCgroupRule>& rules);

// Ids of the device programs attached to `cgroup_dir` itself, for tests and diagnostics.
Result<std::vector<uint32_t>> attached_program_ids(const std::string& cgroup_dir);

}  // namespace mkrun::cgroups::devices_bpf
