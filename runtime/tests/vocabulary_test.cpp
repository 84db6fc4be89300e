// The spec's vocabularies are one table each (mkrun/oci/vocabulary.hpp): whatever validation
// accepts, the plan builder must be able to apply, and `features` must list exactly that.
#include <sched.h>
#include <sys/mount.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "plan/builder.hpp"
#include "plan/builder_parts.hpp"

using namespace mkrun;
namespace vocabulary = oci::vocabulary;

namespace {

// What `runc spec` makes, trimmed to what validation looks at.
oci::Spec valid_spec() {
  oci::Spec spec;
  spec.ociVersion = "1.2.0";
  spec.root = oci::Root{"rootfs", true};
  spec.process.emplace();
  spec.process->args = {"sh"};
  spec.process->cwd = "/";
  spec.linux.emplace();
  spec.linux->namespaces = {{"mount", ""}};
  return spec;
}

bool validates(const oci::Spec& spec) {
  auto status = oci::validate_spec(spec);
  if (!status) UNSCOPED_INFO(status.error().message);
  return status.has_value();
}

oci::Scheduler scheduler(std::string policy, std::vector<std::string> flags = {}) {
  return oci::Scheduler{std::move(policy), {}, {}, std::move(flags), {}, {}, {}};
}

}  // namespace

TEST_CASE("every namespace validation accepts, the builder makes", "[vocabulary]") {
  for (const auto& kind : vocabulary::kNamespaces) {
    CAPTURE(kind.name);
    oci::Spec spec = valid_spec();
    if (kind.name != "mount") spec.linux->namespaces.push_back({std::string(kind.name), ""});
    if (kind.name == "user") {
      spec.linux->uidMappings = {{0, 1000, 1}};
      spec.linux->gidMappings = {{0, 1000, 1}};
    }
    CHECK(validates(spec));
    auto decision = plan::decide_namespaces(spec.linux->namespaces);
    REQUIRE(decision);
    CHECK(((decision->clone_flags | decision->unshare_flags) & kind.clone_flag) != 0);
  }
  oci::Spec spec = valid_spec();
  spec.linux->namespaces.push_back({"bogus", ""});
  CHECK_FALSE(validates(spec));
  CHECK_FALSE(plan::decide_namespaces(spec.linux->namespaces));
}

TEST_CASE("every rlimit validation accepts, the builder sets", "[vocabulary]") {
  for (const auto& limit : vocabulary::kRlimits) {
    CAPTURE(limit.name);
    oci::Spec spec = valid_spec();
    spec.process->rlimits = {{std::string(limit.name), 1, 1}};
    CHECK(validates(spec));
    CHECK(plan::rlimit_resource(limit.name) == limit.value);
  }
  CHECK_FALSE(plan::rlimit_resource("RLIMIT_BOGUS"));
}

// The drift this table ended: SCHED_ISO validated, then create failed on it.
TEST_CASE("every scheduler policy and flag validation accepts, the builder sets", "[vocabulary]") {
  for (const auto& policy : vocabulary::kSchedulerPolicies) {
    CAPTURE(policy.name);
    oci::Spec spec = valid_spec();
    spec.process->scheduler = scheduler(std::string(policy.name));
    CHECK(validates(spec));
    auto attributes = plan::scheduler_of(*spec.process->scheduler);
    REQUIRE(attributes);
    CHECK(attributes->policy == policy.value);
  }
  for (const auto& flag : vocabulary::kSchedulerFlags) {
    CAPTURE(flag.name);
    oci::Spec spec = valid_spec();
    spec.process->scheduler = scheduler("SCHED_OTHER", {std::string(flag.name)});
    CHECK(validates(spec));
    auto attributes = plan::scheduler_of(*spec.process->scheduler);
    REQUIRE(attributes);
    CHECK(attributes->flags == flag.value);
  }
  CHECK(plan::scheduler_of(scheduler("SCHED_ISO"))->policy == 4);
  CHECK_FALSE(plan::scheduler_of(scheduler("SCHED_FAST")));
}

TEST_CASE(
    "every I/O class, personality domain and propagation validation accepts, the builder "
    "applies",
    "[vocabulary]") {
  for (const auto& io_class : vocabulary::kIoPriorityClasses) {
    CAPTURE(io_class.name);
    oci::Spec spec = valid_spec();
    spec.process->ioPriority = oci::IoPriority{std::string(io_class.name), 0};
    CHECK(validates(spec));
    CHECK(plan::io_priority_of(*spec.process->ioPriority) == io_class.value << 13);
  }
  for (const auto& domain : vocabulary::kPersonalityDomains) {
    CAPTURE(domain.name);
    oci::Spec spec = valid_spec();
    spec.linux->personality = oci::Personality{std::string(domain.name), {}};
    CHECK(validates(spec));
    CHECK(plan::personality_of(*spec.linux->personality) == static_cast<long>(domain.value));
  }
  for (const auto& propagation : vocabulary::propagation_options()) {
    CAPTURE(propagation.name);
    oci::Spec spec = valid_spec();
    spec.linux->rootfsPropagation = std::string(propagation.name);
    CHECK(validates(spec));
    auto options = plan::parse_mount_options({std::string(propagation.name)});
    CHECK(options.propagation == propagation.value);
    CHECK(options.data.empty());
  }
}

TEST_CASE("features lists exactly the tables' names", "[vocabulary]") {
  oci::Features features = runtime::features();
  auto namespaces = vocabulary::names(vocabulary::kNamespaces);
  std::ranges::sort(namespaces);
  CHECK(features.namespaces == namespaces);
  CHECK(features.namespaces == std::vector<std::string>{"cgroup", "ipc", "mount", "network", "pid",
                                                        "time", "user", "uts"});
  // The kernel may know fewer capabilities than the table: a prefix of it, in its order.
  REQUIRE(features.capabilities.size() <= vocabulary::kCapabilities.size());
  for (size_t i = 0; i < features.capabilities.size(); ++i) {
    CHECK(features.capabilities[i] == vocabulary::kCapabilities[i]);
  }
  for (const auto& option : vocabulary::mount_flag_options()) {
    CHECK(std::ranges::count(features.mountOptions, option.name) == 1);
  }
  for (const auto& option : vocabulary::propagation_options()) {
    CHECK(std::ranges::count(features.mountOptions, option.name) == 1);
  }
}

TEST_CASE("features: the 1.3 fields, memory policy names sorted, seccomp flags the kernel has",
          "[vocabulary]") {
  oci::Features features = runtime::features();
  CHECK(features.ociVersionMax == "1.3.0");
  CHECK(features.memoryPolicy.modes ==
        std::vector<std::string>{"MPOL_BIND", "MPOL_DEFAULT", "MPOL_INTERLEAVE", "MPOL_LOCAL",
                                 "MPOL_PREFERRED", "MPOL_PREFERRED_MANY",
                                 "MPOL_WEIGHTED_INTERLEAVE"});
  CHECK(features.memoryPolicy.flags == std::vector<std::string>{"MPOL_F_NUMA_BALANCING",
                                                                "MPOL_F_RELATIVE_NODES",
                                                                "MPOL_F_STATIC_NODES"});
  for (const auto& mode : vocabulary::kMemoryPolicyModes) {
    CHECK(std::ranges::count(features.memoryPolicy.modes, mode.name) == 1);
  }
  for (const auto& flag : features.seccomp.supportedFlags) {
    CHECK(std::ranges::count(features.seccomp.knownFlags, flag) == 1);
  }
  // Linux 4.14 and later know both: any kernel mkrun runs on.
  CHECK(std::ranges::count(features.seccomp.supportedFlags, "SECCOMP_FILTER_FLAG_LOG") == 1);
  CHECK(features.netDevices);
  CHECK(features.intelRdt.enabled);  // what mkrun implements, not what the host has
  CHECK(features.intelRdt.schemata);
  CHECK(features.intelRdt.monitoring);
}

TEST_CASE("capability names: the table's, in any case, with or without CAP_", "[vocabulary]") {
  for (size_t cap = 0; cap < vocabulary::kCapabilities.size(); ++cap) {
    std::string name(vocabulary::kCapabilities[cap]);
    CAPTURE(name);
    CHECK(plan::capability_mask({name}, 40) == 1ULL << cap);
    CHECK(oci::capability_number(name) == static_cast<int>(cap));
  }
  CHECK(plan::capability_mask({"sys_admin", "Cap_Kill"}, 40) == ((1ULL << 21) | (1ULL << 5)));
  std::vector<std::string> unknown;
  CHECK(plan::capability_mask({"CAP_BPF", "5"}, 37, &unknown) == 0);
  CHECK(unknown == std::vector<std::string>{"CAP_BPF", "5"});
}

TEST_CASE("the child's namespace names come from the table", "[vocabulary]") {
  static_assert(vocabulary::namespace_of_flag(CLONE_NEWNET)->name == "network");
  static_assert(vocabulary::namespace_of_flag(CLONE_NEWNS)->proc_file == "mnt");
  static_assert(vocabulary::namespace_of_flag(0) == nullptr);
  static_assert(vocabulary::kNamespaces.front().name == "user");
  static_assert(vocabulary::kNamespaces.back().name == "mount");
  for (const auto& kind : vocabulary::kNamespaces) {
    CHECK(plan::namespace_flag(kind.name) == kind.clone_flag);
    CHECK(kind.name.data()[kind.name.size()] == '\0');
  }
}
