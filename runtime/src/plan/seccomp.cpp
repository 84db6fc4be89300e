#include "plan/seccomp.hpp"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <set>

#include "core/files.hpp"

namespace mkrun::plan {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx context) const { seccomp_release(context); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Result<uint32_t> action_of(const std::string& name, std::optional<uint32_t> errno_ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return fail(
        "seccomp action SCMP_ACT_NOTIFY is not supported yet (it needs listenerPath support)");
  }
  return fail("unknown seccomp action \"" + name + "\"");
}

Result<scmp_compare> operator_of(const std::string& name) {
  static constexpr std::array<std::pair<std::string_view, scmp_compare>, 7> kOperators = {{
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  }};
  for (auto [operator_name, compare] : kOperators) {
    if (operator_name == name) return compare;
  }
  return fail("unknown seccomp operator \"" + name + "\"");
}

Result<unsigned> flag_of(const std::string& name) {
  if (name == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (name == "SECCOMP_FILTER_FLAG_TSYNC") return 0;  // mkrun's init is single-threaded
  return fail("unknown seccomp flag \"" + name + "\"");
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

}  // namespace

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp) {
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
  for (const auto& flag : seccomp.flags) program.flags |= MKRUN_TRY(flag_of(flag));
  program.filter = MKRUN_TRY(export_program(context.get()));
  if (program.filter.size() > 0xffff) return fail("the seccomp filter is too long");
  return program;
}

}  // namespace mkrun::plan
