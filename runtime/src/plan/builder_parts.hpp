// The builder's parts, one concern a file; what builder.cpp assembles and the tests call.
// Internal to the plan: builder.hpp is the API.
#pragma once

#include <sched.h>

#include <string>
#include <string_view>

#include "plan/builder.hpp"

namespace mkrun::plan {

// namespaces.cpp
bool joins_or_makes_user_namespace(const NamespaceDecision& namespaces);
Result<void> add_namespaces(PreparedPlan& prepared, const oci::Linux& linux);
// `exec`: every namespace the container has, entered through its init.
Result<void> add_joined_namespaces(PreparedPlan& prepared, const oci::Spec& spec, pid_t init_pid);

// mounts.cpp
std::string relative_to_root(std::string_view path);  // "/dev/" -> "dev"
Result<void> add_mount(PreparedPlan& prepared, const BuildInputs& inputs, const oci::Mount& mount);
Result<void> add_host_proc_mounts(PreparedPlan& prepared, const std::string& rootfs);
unsigned long root_propagation(std::string_view name);         // before pivot_root
unsigned long propagation_after_pivot(std::string_view name);  // 0: nothing to change

// devices.cpp
bool needs_dev_setup(const oci::Spec& spec);
void add_default_devices(PreparedPlan& prepared, const oci::Spec& spec);

// process.cpp: the process half of a plan, shared by create and exec.
Result<void> add_process_settings(PreparedPlan& prepared, const BuildInputs& inputs);

// scheduling.cpp
Result<void> add_scheduling(PreparedPlan& prepared, const oci::Spec& spec);
Result<long> personality_of(const oci::Personality& personality);
Result<int> io_priority_of(const oci::IoPriority& priority);  // ioprio_set(2)'s value
Result<SchedulerAttributes> scheduler_of(const oci::Scheduler& scheduler);
Result<cpu_set_t> cpu_set_of(std::string_view list);  // "0-3,6"

}  // namespace mkrun::plan
