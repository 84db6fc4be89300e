#include "plan/seccomp.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <set>

#include "mkrun/base/files.hpp"

namespace mkrun::plan {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx context) const { seccomp_release(context); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

struct ActionName {
  std::string_view name;
  uint32_t action;
  bool takes_errno;  // SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry errnoRet (default EPERM)
};

constexpr std::string_view kNotify = "SCMP_ACT_NOTIFY";

constexpr std::array<ActionName, 9> kActions = {{
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
    {kNotify, SCMP_ACT_NOTIFY, false},
}};

constexpr std::array<std::pair<std::string_view, scmp_compare>, 7> kOperators = {{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

// SECCOMP_FILTER_FLAG_TSYNC needs nothing: mkrun's init is single-threaded.
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) goes with a listener (SCMP_ACT_NOTIFY).
constexpr std::array<std::pair<std::string_view, unsigned>, 4> kFlags = {{
    {"SECCOMP_FILTER_FLAG_TSYNC", 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}};

// The kernel checks a filter's flags before the filter: with no filter at all, a flag it knows
// fails with EFAULT and one it does not with EINVAL, and nothing is loaded. TSYNC is 0 here
// (mkrun is single-threaded when it loads a filter), so always supported.
bool kernel_accepts(unsigned flag) {
  return flag == 0 ||
         (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr) < 0 && errno == EFAULT);
}

constexpr std::array<std::string_view, 19> kArchitectures = {
    "x86",       "x86_64", "x32",      "arm",         "aarch64", "mips",  "mips64",
    "mips64n32", "mipsel", "mipsel64", "mipsel64n32", "ppc",     "ppc64", "ppc64le",
    "s390",      "s390x",  "parisc",   "parisc64",    "riscv64",
};

Result<uint32_t> action_of(const std::string& name, std::optional<uint32_t> errno_ret) {
  for (const auto& action : kActions) {
    if (action.name != name) continue;
    return action.takes_errno ? action.action | (errno_ret.value_or(EPERM) & SECCOMP_RET_DATA)
                              : action.action;
  }
  return fail("unknown seccomp action \"" + name + "\"");
}

Result<scmp_compare> operator_of(const std::string& name) {
  for (auto [operator_name, compare] : kOperators) {
    if (operator_name == name) return compare;
  }
  return fail("unknown seccomp operator \"" + name + "\"");
}

Result<unsigned> flag_of(const std::string& name) {
  for (auto [flag_name, flag] : kFlags) {
    if (flag_name == name) return flag;
  }
  return fail("unknown seccomp flag \"" + name + "\"");
}

template <class Table, class Projection>
std::vector<std::string> names_of(const Table& table, Projection name) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(name(entry));
  return names;
}

Result<void> add_architectures(scmp_filter_ctx context, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string lower = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
    if (arch == 0) return fail("unknown seccomp architecture \"" + name + "\"");
    int rc = seccomp_arch_add(context, arch);
    if (rc < 0 && rc != -EEXIST) return fail("add seccomp architecture \"" + name + "\"", -rc);
  }
  return {};
}

Result<std::vector<scmp_arg_cmp>> conditions_of(const std::vector<oci::SeccompArg>& args) {
  std::vector<scmp_arg_cmp> conditions;
  for (const auto& arg : args) {
    auto compare = MKRUN_TRY(operator_of(arg.op));
    conditions.push_back(SCMP_CMP(arg.index, compare, arg.value, arg.valueTwo));
  }
  return conditions;
}

// Conditions on distinct arguments must all hold (one rule); several conditions on the same
// argument are alternatives (one rule each), which is how runc reads the spec.
Result<void> add_rule(scmp_filter_ctx context, uint32_t action, int number, const std::string& name,
                      const std::vector<oci::SeccompArg>& args) {
  auto conditions = MKRUN_TRY(conditions_of(args));
  std::set<uint32_t> indexes;
  for (const auto& arg : args) indexes.insert(arg.index);
  std::vector<std::vector<scmp_arg_cmp>> rules;
  if (indexes.size() == args.size()) {
    rules.push_back(conditions);
  } else {
    for (const auto& condition : conditions) rules.push_back({condition});
  }
  for (const auto& rule : rules) {
    int rc = seccomp_rule_add_array(context, action, number, static_cast<unsigned>(rule.size()),
                                    rule.data());
    if (rc < 0) return fail("add seccomp rule for \"" + name + "\"", -rc);
  }
  return {};
}

Result<std::vector<sock_filter>> export_program(scmp_filter_ctx context) {
  int fd = static_cast<int>(::memfd_create("mkrun-seccomp", MFD_CLOEXEC));
  if (fd < 0) return fail_errno("memfd_create");
  UniqueFd memfd(fd);
  int rc = seccomp_export_bpf(context, memfd.get());
  if (rc < 0) return fail("export the seccomp filter", -rc);
  if (::lseek(memfd.get(), 0, SEEK_SET) < 0) return fail_errno("lseek");
  auto bytes = MKRUN_TRY(files::read_fd(memfd.get(), "seccomp filter"));
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::copy_n(bytes.data(), program.size() * sizeof(sock_filter),
              reinterpret_cast<char*>(program.data()));
  return program;
}

// A notified syscall waits for the agent, which only gets the listener once the init has sent it
// to mkrun: the syscalls that sending uses must not wait. runc refuses `write` (its init writes
// the fd number); mkrun's init sends the fd itself with `sendmsg`, so mkrun refuses that too.
Result<bool> check_notify(const oci::Seccomp& seccomp) {
  bool notify = false;
  for (const auto& syscall : seccomp.syscalls) {
    if (syscall.action != kNotify) continue;
    notify = true;
    for (const auto& name : syscall.names) {
      if (name == "write" || name == "sendmsg") {
        return fail("SCMP_ACT_NOTIFY cannot be used for the " + name + " syscall");
      }
    }
  }
  if (seccomp.defaultAction == kNotify) {
    return fail("SCMP_ACT_NOTIFY cannot be used as default action");
  }
  if (notify && seccomp.listenerPath.empty()) {
    return fail("linux.seccomp uses SCMP_ACT_NOTIFY: listenerPath is not set");
  }
  return notify;
}

// The architectures the filter holds: the native one and those the profile adds.
Result<std::vector<uint32_t>> filter_architectures(const oci::Seccomp& seccomp) {
  std::vector<uint32_t> arches = {seccomp_arch_native()};
  for (const auto& name : seccomp.architectures) {
    std::string lower = name.starts_with("SCMP_ARCH_") ? name.substr(10) : name;
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    uint32_t arch = seccomp_arch_resolve_name(lower.c_str());
    if (arch == 0) return fail("unknown seccomp architecture \"" + name + "\"");
    // x32's syscalls arrive as x86_64's, with bit 30 set: the x86_64 block leaves them alone.
    if (arch == SCMP_ARCH_X32) continue;
    if (std::ranges::find(arches, arch) == arches.end()) arches.push_back(arch);
  }
  return arches;
}

// The highest syscall number the profile names for `arch`; -1 if it names none there.
long newest_listed_syscall(const oci::Seccomp& seccomp, uint32_t arch) {
  long newest = -1;
  for (const auto& rule : seccomp.syscalls) {
    for (const auto& name : rule.names) {
      int number = seccomp_syscall_resolve_name_arch(arch, name.c_str());
      if (number >= 0) newest = std::max<long>(newest, number);
    }
  }
  return newest;
}

// runc's rule: a syscall newer than every syscall the profile names gets -ENOSYS, not the
// default action, so that libc falls back to the older call it replaces (clone3 -> clone,
// faccessat2 -> faccessat, openat2 -> openat) instead of failing with EPERM. Prepended to the
// filter: per architecture, "nr > newest listed -> ENOSYS", everything else on to libseccomp's
// program, which starts by loading what it needs itself.
std::vector<sock_filter> enosys_stub(const oci::Seccomp& seccomp,
                                     const std::vector<uint32_t>& arches) {
  constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
  constexpr uint32_t kNumberOffset = offsetof(seccomp_data, nr);
  constexpr uint32_t kX32Bit = 0x40000000;
  struct Block {
    uint32_t arch;
    long newest;
  };
  std::vector<Block> blocks;
  for (uint32_t arch : arches) {
    long newest = newest_listed_syscall(seccomp, arch);
    if (newest >= 0) blocks.push_back({arch, newest});
  }
  if (blocks.empty()) return {};
  // Each block: load arch; not this arch -> next block; load nr; (x86_64: x32 -> program);
  // nr > newest -> ENOSYS, else -> program. Then "ja program", "ret ENOSYS", program.
  std::vector<sock_filter> stub;
  std::vector<size_t> to_enosys, to_program;  // jump sources, patched below
  for (const Block& block : blocks) {
    bool x86_64 = block.arch == SCMP_ARCH_X86_64;
    uint8_t rest = x86_64 ? 3 : 2;
    stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset));
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, block.arch, 0, rest));
    stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNumberOffset));
    if (x86_64) {
      to_program.push_back(stub.size());
      stub.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 0));
    }
    to_enosys.push_back(stub.size());
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(block.newest), 0, 0));
  }
  stub.push_back(BPF_STMT(BPF_JMP | BPF_JA | BPF_K, 1));
  size_t enosys = stub.size();
  stub.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
  size_t program = stub.size();
  // Conditional jumps are relative to the next instruction and fit in 8 bits: a stub has a
  // handful of blocks of five instructions at most.
  auto offset = [](size_t from, size_t to) { return static_cast<uint8_t>(to - from - 1); };
  for (size_t at : to_program) stub[at].jt = offset(at, program);
  for (size_t at : to_enosys) {
    stub[at].jt = offset(at, enosys);
    stub[at].jf = offset(at, program);
  }
  return stub;
}

}  // namespace

std::vector<std::string> seccomp_actions() {
  return names_of(kActions, [](const ActionName& a) { return a.name; });
}
std::vector<std::string> seccomp_operators() {
  return names_of(kOperators, [](const auto& entry) { return entry.first; });
}
std::vector<std::string> seccomp_flags() {
  return names_of(kFlags, [](const auto& entry) { return entry.first; });
}
std::vector<std::string> seccomp_supported_flags() {
  std::vector<std::string> names;
  for (auto [name, flag] : kFlags) {
    if (kernel_accepts(flag)) names.emplace_back(name);
  }
  return names;
}
std::vector<std::string> seccomp_architectures() {
  std::vector<std::string> names;
  for (std::string_view arch : kArchitectures) {
    if (seccomp_arch_resolve_name(std::string(arch).c_str()) == 0) continue;
    std::string upper(arch);
    std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return std::toupper(c); });
    names.push_back("SCMP_ARCH_" + upper);
  }
  return names;
}

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp) {
  bool notify = MKRUN_TRY(check_notify(seccomp));
  uint32_t default_action = MKRUN_TRY(action_of(seccomp.defaultAction, seccomp.defaultErrnoRet));
  Context context(seccomp_init(default_action));
  if (!context) return fail("seccomp_init");
  MKRUN_CHECK(add_architectures(context.get(), seccomp.architectures));
  for (const auto& syscall : seccomp.syscalls) {
    uint32_t action = MKRUN_TRY(action_of(syscall.action, syscall.errnoRet));
    if (action == default_action) continue;  // libseccomp refuses rules that change nothing
    for (const auto& name : syscall.names) {
      int number = seccomp_syscall_resolve_name(name.c_str());
      if (number == __NR_SCMP_ERROR) continue;  // unknown to this kernel/arch: runc skips it
      MKRUN_CHECK(add_rule(context.get(), action, number, name, syscall.args));
    }
  }
  SeccompProgram program;
  if (seccomp.flags) {
    for (const auto& flag : *seccomp.flags) program.flags |= MKRUN_TRY(flag_of(flag));
  } else if (kernel_accepts(SECCOMP_FILTER_FLAG_SPEC_ALLOW)) {
    // runc: no flags at all (not even an empty list) means SPEC_ALLOW where supported.
    program.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  if (notify) program.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  program.new_listener = notify;
  program.filter = MKRUN_TRY(export_program(context.get()));
  if (default_action != SCMP_ACT_ALLOW && default_action != SCMP_ACT_LOG) {
    auto stub = enosys_stub(seccomp, MKRUN_TRY(filter_architectures(seccomp)));
    program.filter.insert(program.filter.begin(), stub.begin(), stub.end());
  }
  if (program.filter.size() > 0xffff) return fail("the seccomp filter is too long");
  return program;
}

}  // namespace mkrun::plan
