// How the process runs: personality, memory policy, I/O priority, scheduler, CPU affinity,
// LSM labels.
#include <sched.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <span>

#include "mkrun/base/files.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "plan/builder_parts.hpp"

namespace mkrun::plan {

namespace vocabulary = oci::vocabulary;

Result<long> personality_of(const oci::Personality& personality) {
  const auto* domain = vocabulary::find(vocabulary::kPersonalityDomains, personality.domain);
  if (domain == nullptr) return fail("unknown personality domain \"" + personality.domain + "\"");
  auto value = static_cast<long>(domain->value);
  for (const auto& name : personality.flags) {
    const auto* flag = vocabulary::find(vocabulary::kPersonalityFlags, name);
    if (flag == nullptr) return fail("unsupported personality flag \"" + name + "\"");
    value |= static_cast<long>(flag->value);
  }
  return value;
}

Result<int> io_priority_of(const oci::IoPriority& priority) {
  const auto* io_class = vocabulary::find(vocabulary::kIoPriorityClasses, priority.ioClass);
  if (io_class == nullptr) return fail("unknown ioPriority class \"" + priority.ioClass + "\"");
  return io_class->value << 13 | (priority.priority & 0x1fff);
}

Result<SchedulerAttributes> scheduler_of(const oci::Scheduler& scheduler) {
  SchedulerAttributes attributes;
  attributes.size = sizeof attributes;
  const auto* policy = vocabulary::find(vocabulary::kSchedulerPolicies, scheduler.policy);
  if (policy == nullptr) return fail("unknown scheduler policy \"" + scheduler.policy + "\"");
  attributes.policy = policy->value;
  for (const auto& name : scheduler.flags) {
    const auto* flag = vocabulary::find(vocabulary::kSchedulerFlags, name);
    if (flag == nullptr) return fail("unknown scheduler flag \"" + name + "\"");
    attributes.flags |= flag->value;
  }
  attributes.nice = scheduler.nice.value_or(0);
  attributes.priority = static_cast<uint32_t>(scheduler.priority.value_or(0));
  attributes.runtime = scheduler.runtime.value_or(0);
  attributes.deadline = scheduler.deadline.value_or(0);
  attributes.period = scheduler.period.value_or(0);
  return attributes;
}

// A mask of every CPU the kernel may have: runc 1.5's 64Ki bits (its tryResetCPUAffinity), far
// beyond any kernel's NR_CPUS, which the kernel clamps it to.
std::span<const unsigned char> all_cpus_mask() {
  static const auto mask = [] {
    std::array<unsigned char, 64 * 1024 / 8> bits;
    bits.fill(0xff);
    return bits;
  }();
  return mask;
}

// The process gets its cgroup's CPUs, not mkrun's affinity, unless execCPUAffinity says
// otherwise (runc 1.3.1's reset, done for the init and for an exec without execCPUAffinity).
void add_affinity_reset(ChildPlan& plan) {
  if (plan.set_initial_affinity || plan.set_final_affinity) return;
  plan.reset_affinity_mask = all_cpus_mask().data();
  plan.reset_affinity_size = all_cpus_mask().size();
}

// linux.memoryPolicy, already validated, as set_mempolicy(2)'s mode and node mask.
Result<void> add_memory_policy(PreparedPlan& prepared, const oci::MemoryPolicy& policy) {
  ChildPlan& plan = prepared.plan;
  const auto* mode = vocabulary::find(vocabulary::kMemoryPolicyModes, policy.mode);
  if (mode == nullptr) return fail("unknown memory policy mode \"" + policy.mode + "\"");
  plan.memory_policy_mode = mode->value;
  plan.memory_policy_name = mode->name.data();  // a literal: NUL-terminated
  plan.memory_policy_node_list = prepared.keep(policy.nodes);
  for (const auto& name : policy.flags) {
    const auto* flag = vocabulary::find(vocabulary::kMemoryPolicyFlags, name);
    if (flag == nullptr) return fail("unknown memory policy flag \"" + name + "\"");
    plan.memory_policy_mode |= flag->value;
  }
  auto nodes = oci::memory_nodes(policy.nodes);
  if (!nodes) {
    return fail("memory policy nodes \"" + policy.nodes + "\": " + nodes.error().message);
  }
  constexpr unsigned kBitsPerWord = 8 * sizeof(unsigned long);
  for (unsigned node : *nodes) {
    plan.memory_policy_nodes[node / kBitsPerWord] |= 1UL << (node % kBitsPerWord);
  }
  // The kernel reads maxnode - 1 bits (mm/mempolicy.c get_nodes), so one more than the mask.
  if (!nodes->empty()) plan.memory_policy_max_node = vocabulary::kMaxMemoryNodes + 1;
  plan.set_memory_policy = true;
  return {};
}

// "0-3,6" to a CPU set.
Result<cpu_set_t> cpu_set_of(std::string_view list) {
  cpu_set_t set;
  CPU_ZERO(&set);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view range = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    auto dash = range.find('-');
    unsigned first = 0, last = 0;
    auto parse = [](std::string_view text, unsigned& out) {
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      return ec == std::errc() && end == text.data() + text.size() && out < CPU_SETSIZE;
    };
    bool ok = dash == std::string_view::npos
                  ? parse(range, first) && parse(range, last)
                  : parse(range.substr(0, dash), first) && parse(range.substr(dash + 1), last);
    if (!ok || first > last) return fail("invalid CPU list \"" + std::string(range) + "\"");
    for (unsigned cpu = first; cpu <= last; ++cpu) CPU_SET(cpu, &set);
  }
  return set;
}

// AppArmor and SELinux apply only where the host has them; asking for one that is not there is
// an error, not a silent no-op.
Result<void> add_security_labels(PreparedPlan& prepared, const oci::Process& process) {
  if (!process.apparmorProfile.empty()) {
    auto enabled = files::read_file("/sys/module/apparmor/parameters/enabled");
    if (!enabled || !enabled->starts_with('Y')) {
      return fail("apparmor profile \"" + process.apparmorProfile +
                  "\" requested, but AppArmor is not enabled on this host");
    }
    bool stacked = ::access("/proc/self/attr/apparmor/exec", F_OK) == 0;
    prepared.plan.lsm_exec_attr_path = stacked ? "self/attr/apparmor/exec" : "self/attr/exec";
    prepared.plan.lsm_exec_attr_value = prepared.keep("exec " + process.apparmorProfile);
  }
  if (!process.selinuxLabel.empty()) {
    if (::access("/sys/fs/selinux/enforce", F_OK) != 0) {
      return fail("selinux label \"" + process.selinuxLabel +
                  "\" requested, but SELinux is not enabled on this host");
    }
    if (prepared.plan.lsm_exec_attr_path != nullptr) {
      return fail("both an AppArmor profile and an SELinux label are set: a host has one LSM");
    }
    prepared.plan.lsm_exec_attr_path = "self/attr/exec";
    prepared.plan.lsm_exec_attr_value = prepared.keep(process.selinuxLabel);
  }
  return {};
}

Result<void> add_scheduling(PreparedPlan& prepared, const oci::Spec& spec) {
  ChildPlan& plan = prepared.plan;
  const oci::Process& process = *spec.process;
  if (spec.linux && spec.linux->personality) {
    plan.personality = MKRUN_TRY(personality_of(*spec.linux->personality));
  }
  if (spec.linux && spec.linux->memoryPolicy) {
    MKRUN_CHECK(add_memory_policy(prepared, *spec.linux->memoryPolicy));
  }
  if (process.ioPriority) plan.io_priority = MKRUN_TRY(io_priority_of(*process.ioPriority));
  if (process.scheduler) {
    plan.scheduler = MKRUN_TRY(scheduler_of(*process.scheduler));
    plan.set_scheduler = true;
    const oci::Resources* resources =
        spec.linux && spec.linux->resources ? &*spec.linux->resources : nullptr;
    plan.scheduler_with_allowed_cpus = resources && resources->cpu && !resources->cpu->cpus.empty();
  }
  if (process.execCPUAffinity) {
    if (!process.execCPUAffinity->initial.empty()) {
      plan.initial_affinity = MKRUN_TRY(cpu_set_of(process.execCPUAffinity->initial));
      plan.set_initial_affinity = true;
    }
    if (!process.execCPUAffinity->final.empty()) {
      plan.final_affinity = MKRUN_TRY(cpu_set_of(process.execCPUAffinity->final));
      plan.set_final_affinity = true;
    }
  }
  add_affinity_reset(plan);
  return add_security_labels(prepared, process);
}

}  // namespace mkrun::plan
