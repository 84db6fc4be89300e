#include "mkrun/lwk/unhonoured.hpp"

#include <algorithm>

#include "mkrun/base/text.hpp"

namespace mkrun::lwk {
namespace {

// Warning: mcexec has them, and with them the application's offloaded calls (open, write...),
// but McKernel enforces none on the application's own memory, stack or CPU time.
std::optional<std::string> rlimits_warning(const oci::Process& process) {
  if (process.rlimits.empty()) return std::nullopt;
  std::vector<std::string> types;
  for (const oci::Rlimit& limit : process.rlimits) types.push_back(limit.type);
  return "process.rlimits (" + text::join(types, ", ") +
         ") hold for mcexec, the Linux proxy, and the system calls it runs for the application; "
         "McKernel does not enforce rlimits on the application itself";
}

// Refused: McKernel schedules its cores itself; a policy, priority or nice value asked for
// would silently not be there. Plain SCHED_OTHER asks for nothing.
Result<void> check_scheduler(const oci::Process& process) {
  if (!process.scheduler) return {};
  const oci::Scheduler& scheduler = *process.scheduler;
  bool asks_nothing = scheduler.policy == "SCHED_OTHER" && scheduler.nice.value_or(0) == 0 &&
                      scheduler.priority.value_or(0) == 0 && scheduler.flags.empty();
  if (asks_nothing) return {};
  return fail("process.scheduler (" + scheduler.policy +
              ") cannot be honoured on McKernel: its cores are scheduled by McKernel, which "
              "ignores Linux scheduling policies, priorities and nice values");
}

// Warning: the I/O the application does is offloaded to mcexec, which has the priority.
std::optional<std::string> io_priority_warning(const oci::Process& process) {
  if (!process.ioPriority) return std::nullopt;
  return "process.ioPriority (" + process.ioPriority->ioClass +
         ") holds for mcexec, which does the application's I/O; McKernel itself has no I/O "
         "priorities";
}

// Refused: McKernel's allocator has no interleaving and no relative node numbers.
Result<void> check_memory_policy(const oci::Linux& linux) {
  if (!linux.memoryPolicy) return {};
  const oci::MemoryPolicy& policy = *linux.memoryPolicy;
  if (policy.mode == "MPOL_INTERLEAVE" || policy.mode == "MPOL_WEIGHTED_INTERLEAVE") {
    return fail("linux.memoryPolicy mode " + policy.mode +
                " cannot be honoured on McKernel: it does not support interleaving");
  }
  if (std::ranges::find(policy.flags, "MPOL_F_RELATIVE_NODES") != policy.flags.end()) {
    return fail(
        "linux.memoryPolicy flag MPOL_F_RELATIVE_NODES cannot be honoured on McKernel: it does "
        "not support relative nodes");
  }
  return {};
}

// Refused: the LWK has no namespaces, and its clocks are its own.
Result<void> check_time_offsets(const oci::Linux& linux) {
  if (linux.timeOffsets.empty()) return {};
  return fail(
      "linux.timeOffsets cannot be honoured on McKernel: the application reads McKernel's "
      "clocks, which no time namespace offsets");
}

}  // namespace

Result<std::vector<std::string>> check_unhonoured_settings(const oci::Spec& spec) {
  std::vector<std::string> warnings;
  if (spec.process) {
    MKRUN_CHECK(check_scheduler(*spec.process));
    if (auto warning = rlimits_warning(*spec.process)) warnings.push_back(*warning);
    if (auto warning = io_priority_warning(*spec.process)) warnings.push_back(*warning);
  }
  if (spec.linux) {
    MKRUN_CHECK(check_memory_policy(*spec.linux));
    MKRUN_CHECK(check_time_offsets(*spec.linux));
  }
  return warnings;
}

}  // namespace mkrun::lwk
