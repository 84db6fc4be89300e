#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "plan/builder.hpp"

using namespace mkrun;

namespace {
std::vector<oci::Namespace> namespaces(std::initializer_list<oci::Namespace> list) {
  return list;
}
}  // namespace

TEST_CASE("new namespaces are created at clone, cgroup and time afterwards", "[plan]") {
  auto decision = plan::decide_namespaces(
      namespaces({{"pid", ""}, {"mount", ""}, {"network", ""}, {"cgroup", ""}, {"uts", ""}}));
  REQUIRE(decision);
  CHECK(decision->clone_flags == (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS));
  CHECK(decision->unshare_flags == CLONE_NEWCGROUP);
  CHECK_FALSE(decision->fork_after_unshare);
  CHECK(decision->pid_new);
}

TEST_CASE("a joined pid namespace needs a second fork", "[plan]") {
  auto decision = plan::decide_namespaces(namespaces({{"pid", "/proc/1/ns/pid"}, {"mount", ""}}));
  REQUIRE(decision);
  CHECK(decision->clone_flags == CLONE_NEWNS);
  CHECK(decision->fork_after_unshare);
  REQUIRE(decision->joins.size() == 1);
}

TEST_CASE("a joined user namespace is entered first and everything else follows it", "[plan]") {
  auto decision = plan::decide_namespaces(
      namespaces({{"network", "/n"}, {"user", "/u"}, {"pid", ""}, {"mount", ""}}));
  REQUIRE(decision);
  CHECK(decision->clone_flags == 0);
  CHECK(decision->unshare_flags == (CLONE_NEWPID | CLONE_NEWNS));
  REQUIRE(decision->joins.size() == 2);
  CHECK(decision->joins[0].type == "user");
  CHECK(decision->fork_after_unshare);
}

TEST_CASE("a new user namespace with joined ones unshares after setns", "[plan]") {
  auto decision =
      plan::decide_namespaces(namespaces({{"user", ""}, {"network", "/n"}, {"mount", ""}}));
  REQUIRE(decision);
  CHECK(decision->clone_flags == 0);
  CHECK(decision->unshare_flags == (CLONE_NEWUSER | CLONE_NEWNS));
  CHECK(decision->user_new);
  CHECK_FALSE(decision->fork_after_unshare);
}

TEST_CASE("a new time namespace forks so offsets apply before the init runs", "[plan]") {
  auto decision = plan::decide_namespaces(namespaces({{"time", ""}, {"mount", ""}}));
  REQUIRE(decision);
  CHECK(decision->unshare_flags == CLONE_NEWTIME);
  CHECK(decision->fork_after_unshare);
}

TEST_CASE("namespaces that cannot work are refused", "[plan]") {
  CHECK_FALSE(plan::decide_namespaces(namespaces({{"mount", ""}, {"bogus", ""}})));
}

TEST_CASE("a mount namespace is new, joined by path or the caller's", "[plan]") {
  auto made = plan::decide_namespaces(namespaces({{"mount", ""}}));
  REQUIRE(made);
  CHECK(made->mount_new);
  auto joined = plan::decide_namespaces(namespaces({{"mount", "/proc/1/ns/mnt"}}));
  REQUIRE(joined);
  CHECK_FALSE(joined->mount_new);
  REQUIRE(joined->joins.size() == 1);
  CHECK(joined->joins[0].type == "mount");
  auto shared = plan::decide_namespaces(namespaces({{"pid", ""}}));
  REQUIRE(shared);
  CHECK_FALSE(shared->mount_new);
}

TEST_CASE("mount options split into flags, propagation and data", "[plan]") {
  auto options = plan::parse_mount_options({"nosuid", "strictatime", "mode=755", "size=65536k"});
  CHECK(options.flags == (MS_NOSUID | MS_STRICTATIME));
  CHECK(options.data == "mode=755,size=65536k");
  CHECK_FALSE(options.bind);

  auto bind = plan::parse_mount_options({"rbind", "ro", "rprivate"});
  CHECK(bind.bind);
  CHECK(bind.flags == (MS_BIND | MS_REC | MS_RDONLY));
  CHECK(bind.propagation == (MS_PRIVATE | MS_REC));

  auto cleared = plan::parse_mount_options({"ro", "rw", "nodev", "dev"});
  CHECK(cleared.flags == 0);
  CHECK(plan::parse_mount_options({"rro"}).recursive_readonly);
  auto copy_up = plan::parse_mount_options({"tmpcopyup", "nosuid", "mode=1777"});
  CHECK(copy_up.copy_up);
  CHECK(copy_up.flags == MS_NOSUID);
  CHECK(copy_up.data == "mode=1777");  // not for the kernel
  CHECK_FALSE(plan::parse_mount_options({"mode=1777"}).copy_up);
}

TEST_CASE("idmap and ridmap mark an idmapped bind and never reach the file system", "[plan]") {
  auto idmap = plan::parse_mount_options({"bind", "idmap"});
  CHECK(idmap.idmap);
  CHECK(idmap.data.empty());
  auto ridmap = plan::parse_mount_options({"rbind", "ridmap"});
  CHECK(ridmap.idmap);
  CHECK(ridmap.flags == (MS_BIND | MS_REC));
  CHECK_FALSE(plan::parse_mount_options({"bind"}).idmap);
}

TEST_CASE("capability names map to bits, unknown ones are reported", "[plan]") {
  std::vector<std::string> unknown;
  uint64_t mask =
      plan::capability_mask({"CAP_CHOWN", "CAP_KILL", "CAP_BOGUS", "cap_net_raw"}, 40, &unknown);
  CHECK(mask == ((1ULL << 0) | (1ULL << 5) | (1ULL << 13)));
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0] == "CAP_BOGUS");
}

TEST_CASE("rlimit names", "[plan]") {
  CHECK(plan::rlimit_resource("RLIMIT_NOFILE") == RLIMIT_NOFILE);
  CHECK(plan::rlimit_resource("RLIMIT_STACK") == RLIMIT_STACK);
  CHECK_FALSE(plan::rlimit_resource("RLIMIT_BOGUS"));
}

TEST_CASE("the plan holds the process and the default /dev", "[plan]") {
  oci::Spec spec;
  spec.ociVersion = "1.0.2";
  spec.root = oci::Root{"rootfs", true};
  spec.process = oci::Process{};
  spec.process->args = {"sh", "-c", "true"};
  spec.process->env = {"PATH=/bin:/usr/bin", "TERM=xterm"};
  spec.process->cwd = "/";
  spec.process->user.uid = 1000;
  spec.process->rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  spec.hostname = "box";
  spec.mounts = {{"/proc", "proc", "proc", {}, {}, {}},
                 {"/dev", "tmpfs", "tmpfs", {"nosuid", "mode=755"}, {}, {}}};
  spec.linux = oci::Linux{};
  spec.linux->namespaces = {{"pid", ""}, {"mount", ""}, {"uts", ""}};
  spec.linux->maskedPaths = {"/proc/kcore"};
  spec.linux->sysctl = {{"net.ipv4.ip_forward", "1"}};
  plan::BuildInputs inputs;
  inputs.spec = &spec;
  inputs.bundle = "/b";
  inputs.rootfs = "/b/rootfs";
  inputs.container_id = "c1";
  auto prepared = plan::build_plan(inputs);
  REQUIRE(prepared);
  const plan::ChildPlan& p = (*prepared)->plan;
  CHECK(std::string(p.argv[0]) == "sh");
  CHECK(p.argv[3] == nullptr);
  CHECK(std::string(p.path_env) == "/bin:/usr/bin");
  CHECK(p.uid == 1000);
  CHECK(p.readonly_root);
  CHECK(std::string(p.hostname) == "box");
  REQUIRE(p.mount_count == 2);
  CHECK(std::string(p.mounts[1].destination) == "dev");
  CHECK(std::string(p.mounts[1].data) == "mode=755");
  CHECK(p.device_count == 6);
  CHECK(std::string(p.devices[0].path) == "dev/null");
  CHECK(std::string(p.sysctls[0].path) == "sys/net/ipv4/ip_forward");
  CHECK(p.rlimit_count == 1);
  CHECK(std::string(p.keyring_name) == "_ses.c1");
}

namespace {
plan::BuildInputs inputs_for(const oci::Spec& spec) {
  plan::BuildInputs inputs;
  inputs.spec = &spec;
  inputs.bundle = "/b";
  inputs.rootfs = "/b/rootfs";
  inputs.container_id = "c1";
  return inputs;
}

oci::Spec minimal_spec() {
  oci::Spec spec;
  spec.root = oci::Root{"rootfs", false};
  spec.process = oci::Process{};
  spec.process->args = {"true"};
  spec.linux = oci::Linux{};
  spec.linux->namespaces = {{"mount", ""}, {"pid", ""}};
  return spec;
}
}  // namespace

TEST_CASE("personality, I/O priority, scheduler and CPU affinity reach the plan", "[plan]") {
  oci::Spec spec = minimal_spec();
  spec.linux->personality = oci::Personality{"LINUX", {"ADDR_NO_RANDOMIZE"}};
  spec.process->ioPriority = oci::IoPriority{"IOPRIO_CLASS_BE", 4};
  spec.process->scheduler =
      oci::Scheduler{"SCHED_BATCH", 5, std::nullopt, {"SCHED_FLAG_RESET_ON_FORK"}, {}, {}, {}};
  spec.process->execCPUAffinity = oci::ExecCpuAffinity{"0-1", "1"};
  auto prepared = plan::build_plan(inputs_for(spec));
  REQUIRE(prepared);
  const plan::ChildPlan& p = (*prepared)->plan;
  CHECK(p.personality == 0x0040000);
  CHECK(p.io_priority == (2 << 13 | 4));
  CHECK(p.set_scheduler);
  CHECK(p.scheduler.policy == 3);
  CHECK(p.scheduler.flags == 1);
  CHECK(p.scheduler.nice == 5);
  CHECK(p.set_initial_affinity);
  CHECK(CPU_COUNT(&p.initial_affinity) == 2);
  CHECK(CPU_ISSET(1, &p.final_affinity));
  CHECK_FALSE(CPU_ISSET(0, &p.final_affinity));
  CHECK(p.reset_affinity_mask == nullptr);  // execCPUAffinity's, not the reset
}

TEST_CASE("without execCPUAffinity the process's affinity is reset to every CPU", "[plan]") {
  oci::Spec spec = minimal_spec();
  auto prepared = plan::build_plan(inputs_for(spec));
  REQUIRE(prepared);
  const plan::ChildPlan& p = (*prepared)->plan;
  REQUIRE(p.reset_affinity_mask != nullptr);
  CHECK(p.reset_affinity_size == 64 * 1024 / 8);  // runc 1.5's 64Ki CPUs
  CHECK(p.reset_affinity_mask[0] == 0xff);
  CHECK(p.reset_affinity_mask[p.reset_affinity_size - 1] == 0xff);
}

TEST_CASE("linux.memoryPolicy reaches the plan as set_mempolicy's mode and node mask", "[plan]") {
  oci::Spec spec = minimal_spec();
  spec.linux->memoryPolicy =
      oci::MemoryPolicy{"MPOL_INTERLEAVE", "1-2,64", {"MPOL_F_STATIC_NODES"}};
  auto prepared = plan::build_plan(inputs_for(spec));
  REQUIRE(prepared);
  const plan::ChildPlan& p = (*prepared)->plan;
  CHECK(p.set_memory_policy);
  CHECK(p.memory_policy_mode == (3 | 1 << 15));
  CHECK(p.memory_policy_nodes[0] == 0b110);
  CHECK(p.memory_policy_nodes[1] == 1);
  CHECK(p.memory_policy_max_node == 1025);
  CHECK(std::string(p.memory_policy_name) == "MPOL_INTERLEAVE");

  spec.linux->memoryPolicy = oci::MemoryPolicy{"MPOL_LOCAL", "", {}};
  prepared = plan::build_plan(inputs_for(spec));
  REQUIRE(prepared);
  CHECK((*prepared)->plan.memory_policy_mode == 4);
  CHECK((*prepared)->plan.memory_policy_max_node == 0);  // no mask at all

  spec.linux->memoryPolicy.reset();
  prepared = plan::build_plan(inputs_for(spec));
  REQUIRE(prepared);
  CHECK_FALSE((*prepared)->plan.set_memory_policy);
}

TEST_CASE("bad scheduling values are refused by name", "[plan]") {
  oci::Spec spec = minimal_spec();
  spec.linux->personality = oci::Personality{"LINUX64", {}};
  CHECK(plan::build_plan(inputs_for(spec)).error().render() ==
        "unknown personality domain \"LINUX64\"");
  spec.linux->personality.reset();
  spec.process->scheduler = oci::Scheduler{"SCHED_FAST", {}, {}, {}, {}, {}, {}};
  CHECK(plan::build_plan(inputs_for(spec)).error().render() ==
        "unknown scheduler policy \"SCHED_FAST\"");
  spec.process->scheduler.reset();
  spec.process->execCPUAffinity = oci::ExecCpuAffinity{"3-1", ""};
  CHECK(plan::build_plan(inputs_for(spec)).error().render() == "invalid CPU list \"3-1\"");
  spec.process->execCPUAffinity.reset();
  spec.process->apparmorProfile = "docker-default";
  if (::access("/sys/module/apparmor/parameters/enabled", F_OK) != 0) {
    CHECK(
        plan::build_plan(inputs_for(spec)).error().render() ==
        "apparmor profile \"docker-default\" requested, but AppArmor is not enabled on this host");
  }
}

TEST_CASE("an exec plan joins the init's namespaces, user first and mount last", "[plan]") {
  oci::Spec spec = minimal_spec();
  spec.linux->namespaces = {{"mount", ""}, {"network", ""}, {"pid", ""}};
  auto prepared = plan::build_exec_plan(inputs_for(spec), ::getpid());
  REQUIRE(prepared);
  const plan::ChildPlan& p = (*prepared)->plan;
  CHECK(p.exec_mode);
  CHECK(p.fork_after_unshare);
  CHECK(p.clone_flags == 0);
  CHECK(p.mount_count == 0);
  REQUIRE(p.join_count == 3);
  CHECK(p.joins[0].type == CLONE_NEWNET);
  CHECK(p.joins[1].type == CLONE_NEWPID);
  CHECK(p.joins[2].type == CLONE_NEWNS);
}

TEST_CASE("capabilities the spec does not list are not granted, the bounding set too", "[plan]") {
  oci::Spec spec = minimal_spec();
  auto sets_of = [&](const oci::Spec& s) {
    auto prepared = plan::build_plan(inputs_for(s));
    REQUIRE(prepared);
    return (*prepared)->plan.capabilities;
  };
  SECTION("no capabilities key (podman --cap-drop all)") {
    plan::Capabilities caps = sets_of(spec);
    CHECK(caps.bounding == 0);
    CHECK(caps.effective == 0);
    CHECK(caps.permitted == 0);
    CHECK(caps.inheritable == 0);
    CHECK(caps.ambient == 0);
  }
  SECTION("an empty capabilities object") {
    spec.process->capabilities = oci::Capabilities{};
    CHECK(sets_of(spec).bounding == 0);
  }
  SECTION("only the sets listed") {
    spec.process->capabilities = oci::Capabilities{};
    spec.process->capabilities->bounding = std::vector<std::string>{"CAP_KILL"};
    spec.process->capabilities->effective = std::vector<std::string>{};
    plan::Capabilities caps = sets_of(spec);
    CHECK(caps.bounding == (1ULL << 5));
    CHECK(caps.effective == 0);
    CHECK(caps.permitted == 0);
  }
}

TEST_CASE("nothing is mounted inside /proc but what runc allows, and /proc only gets a procfs",
          "[plan]") {
  oci::Spec spec = minimal_spec();
  auto build = [&](oci::Mount mount) {
    spec.mounts = {mount};
    return plan::build_plan(inputs_for(spec));
  };
  oci::Mount core_pattern{"/proc/sys/kernel/core_pattern", "bind", "/tmp", {"bind"}, {}, {}};
  auto refused = build(core_pattern);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().what() ==
        "\"/proc/sys/kernel/core_pattern\" cannot be mounted because it is inside /proc");
  oci::Mount sneaky{"/proc/../proc/./sys", "bind", "/tmp", {"bind"}, {}, {}};
  CHECK_FALSE(build(sneaky));
  oci::Mount not_proc{"/proc", "tmpfs", "tmpfs", {}, {}, {}};
  auto wrong_type = build(not_proc);
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().what() == "\"/proc\" cannot be mounted because it is not of type proc");
  oci::Mount lxcfs{"/proc/meminfo", "bind", "/tmp", {"bind"}, {}, {}};
  auto allowed = build(lxcfs);
  REQUIRE(allowed);
  CHECK((*allowed)->plan.mounts[0].allowed_in_proc);
  oci::Mount procfs{"/proc", "proc", "proc", {}, {}, {}};
  auto proc = build(procfs);
  REQUIRE(proc);
  CHECK(proc->get()->plan.mounts[0].allowed_in_proc);
  CHECK(proc->get()->plan.mounts[0].ordinary_directory);
  oci::Mount elsewhere{"/procfoo", "bind", "/tmp", {"bind"}, {}, {}};
  auto other = build(elsewhere);
  REQUIRE(other);
  CHECK_FALSE(other->get()->plan.mounts[0].allowed_in_proc);
}

TEST_CASE("the environment: the last setting of a variable wins, HOME is filled in", "[plan]") {
  auto home = [] { return std::string("/root"); };
  CHECK(plan::process_environment({"ONE=two", "ONE=", "PATH=/usr/bin:/bin"}, home) ==
        std::vector<std::string>{"ONE=", "PATH=/usr/bin:/bin", "HOME=/root"});
  CHECK(plan::process_environment({"HOME=/override", "HOME="}, home) ==
        std::vector<std::string>{"HOME=/root"});
  CHECK(plan::process_environment({"HOME=/x", "A=1"}, home) ==
        std::vector<std::string>{"HOME=/x", "A=1"});
  CHECK(plan::process_environment({"A=1", "B=2", "A=3"}, home) ==
        std::vector<std::string>{"B=2", "A=3", "HOME=/root"});
}
