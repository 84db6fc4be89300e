#include <catch2/catch.hpp>

#include <string>

#include "mkrun/oci/parse.hpp"

using namespace mkrun::oci;

// The tests build specs with designated initializers that name only the members that matter;
// GCC 12 warns about the others, which keep their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

// A container as `runc spec` makes it, trimmed to what the checks look at.
Spec valid_spec() {
  Spec spec;
  spec.ociVersion = "1.2.0";
  spec.root = Root{.path = "rootfs", .readonly = true};
  spec.process.emplace();
  spec.process->args = {"sh"};
  spec.process->cwd = "/";
  spec.hostname = "box";
  spec.mounts = {{.destination = "/proc", .type = "proc", .source = "proc"}};
  spec.linux.emplace();
  for (const char* type : {"pid", "network", "ipc", "uts", "mount"}) {
    spec.linux->namespaces.push_back({.type = type});
  }
  spec.linux->maskedPaths = {"/proc/kcore"};
  spec.linux->readonlyPaths = {"/proc/sys"};
  return spec;
}

std::string error_of(const Spec& spec) {
  auto result = validate_spec(spec);
  REQUIRE_FALSE(result);
  return result.error().message;
}

bool is_valid(const Spec& spec) {
  auto result = validate_spec(spec);
  if (!result) UNSCOPED_INFO(result.error().message);
  return result.has_value();
}

void remove_namespace(Spec& spec, const std::string& type) {
  std::erase_if(spec.linux->namespaces, [&](const Namespace& ns) { return ns.type == type; });
}

void add_user_namespace(Spec& spec, std::string path = "") {
  spec.linux->namespaces.push_back({.type = "user", .path = std::move(path)});
}

void map_root(Spec& spec) {
  spec.linux->uidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
  spec.linux->gidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
}

}  // namespace

TEST_CASE("validate: the base config is valid", "[validate]") {
  CHECK(is_valid(valid_spec()));
}

TEST_CASE("validate: ociVersion, root and root.path are required", "[validate]") {
  Spec spec = valid_spec();
  spec.ociVersion.clear();
  CHECK(error_of(spec) == "ociVersion must not be empty");

  spec = valid_spec();
  spec.root.reset();
  CHECK(error_of(spec) == "root must be specified");

  spec = valid_spec();
  spec.root->path.clear();
  CHECK(error_of(spec) == "root.path must not be empty");

  spec = valid_spec();
  spec.root->path = "/abs/rootfs";  // absolute or relative to the bundle: both fine
  CHECK(is_valid(spec));
}

TEST_CASE("validate: any ociVersion up to 1.3.x is accepted, as runc accepts any", "[validate]") {
  Spec spec = valid_spec();
  for (const char* version : {"1.0.0", "1.0.2-dev", "1.2.1", "1.3.0", "1.3.9", "1.4.0-rc.1"}) {
    spec.ociVersion = version;
    CHECK(is_valid(spec));
  }
}

TEST_CASE("validate: process needs args and an absolute cwd", "[validate]") {
  Spec spec = valid_spec();
  spec.process.reset();
  CHECK(error_of(spec) == "process property must not be empty");

  spec = valid_spec();
  spec.process->cwd.clear();
  CHECK(error_of(spec) == "Cwd property must not be empty");

  spec = valid_spec();
  spec.process->cwd = "work";
  CHECK(error_of(spec) == "Cwd must be an absolute path (process.cwd is \"work\")");

  spec = valid_spec();
  spec.process->args.clear();
  CHECK(error_of(spec) == "args must not be empty");

  spec = valid_spec();
  spec.process->cwd = "/var/lib";
  CHECK(is_valid(spec));
}

TEST_CASE("validate: rlimit types known and not repeated", "[validate]") {
  Spec spec = valid_spec();
  for (const char* type :
       {"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
        "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"}) {
    spec.process->rlimits.push_back({.type = type, .hard = 10, .soft = 5});
  }
  CHECK(is_valid(spec));

  spec.process->rlimits.push_back({.type = "RLIMIT_NOFILE"});
  CHECK(error_of(spec) == "process.rlimits[16]: duplicated rlimit \"RLIMIT_NOFILE\"");

  spec = valid_spec();
  spec.process->rlimits = {{.type = "RLIMIT_NOFILE"}, {.type = "RLIMIT_FOO"}};
  CHECK(error_of(spec) == "process.rlimits[1]: wrong rlimit value: RLIMIT_FOO");

  spec.process->rlimits = {{.type = "rlimit_nofile"}};  // names are case-sensitive
  CHECK(error_of(spec) == "process.rlimits[0]: wrong rlimit value: rlimit_nofile");
}

TEST_CASE("validate: scheduler", "[validate]") {
  Spec spec = valid_spec();
  auto& scheduler = spec.process->scheduler.emplace();

  scheduler = {.policy = "SCHED_OTHER", .nice = -20};
  CHECK(is_valid(spec));
  scheduler = {.policy = "SCHED_FIFO", .priority = 50};
  CHECK(is_valid(spec));
  scheduler = {.policy = "SCHED_DEADLINE", .runtime = 1, .deadline = 2, .period = 3};
  scheduler.flags = {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_UTIL_CLAMP_MAX"};
  CHECK(is_valid(spec));

  scheduler = {};
  CHECK(error_of(spec) == "scheduler policy is required");
  scheduler = {.policy = "SCHED_FAST"};
  CHECK(error_of(spec) == "process.scheduler.policy: invalid scheduler policy \"SCHED_FAST\"");
  scheduler = {.policy = "SCHED_OTHER", .flags = {"SCHED_FLAG_NOPE"}};
  CHECK(error_of(spec) == "process.scheduler.flags: invalid scheduler flag \"SCHED_FLAG_NOPE\"");
  scheduler = {.policy = "SCHED_OTHER", .nice = 20};
  CHECK(error_of(spec) == "invalid scheduler.nice: 20");
  scheduler = {.policy = "SCHED_BATCH", .nice = -21};
  CHECK(error_of(spec) == "invalid scheduler.nice: -21");
  scheduler = {.policy = "SCHED_OTHER", .priority = 1};
  CHECK(error_of(spec) ==
        "scheduler.priority can only be specified for SchedFIFO or SchedRR policy");
  scheduler = {.policy = "SCHED_RR", .period = 10};
  CHECK(error_of(spec) ==
        "scheduler runtime/deadline/period can only be specified for SchedDeadline policy");
}

TEST_CASE("validate: ioPriority", "[validate]") {
  Spec spec = valid_spec();
  for (const char* io_class : {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"}) {
    spec.process->ioPriority = IoPriority{.ioClass = io_class, .priority = 7};
    CHECK(is_valid(spec));
  }
  spec.process->ioPriority = IoPriority{.ioClass = "IOPRIO_CLASS_NONE", .priority = 0};
  CHECK(error_of(spec) ==
        "process.ioPriority.class: invalid io priority class \"IOPRIO_CLASS_NONE\"");
  spec.process->ioPriority = IoPriority{.ioClass = "IOPRIO_CLASS_BE", .priority = 8};
  CHECK(error_of(spec) == "invalid ioPriority.Priority: 8 (must be 0 to 7)");
  spec.process->ioPriority = IoPriority{.ioClass = "IOPRIO_CLASS_BE", .priority = -1};
  CHECK(error_of(spec) == "invalid ioPriority.Priority: -1 (must be 0 to 7)");
}

TEST_CASE("validate: unknown capabilities pass, and are reported", "[validate]") {
  Spec spec = valid_spec();
  spec.process->capabilities = Capabilities{
      .bounding = std::vector<std::string>{"CAP_CHOWN", "CAP_FUTURE", "CAP_CHECKPOINT_RESTORE"},
      .effective = std::vector<std::string>{"CAP_FUTURE", "cap_kill"},
      .inheritable = std::nullopt,
      .permitted = std::vector<std::string>{},
      .ambient = std::vector<std::string>{"CAP_BPF", "CAP_OTHER"},
  };
  CHECK(is_valid(spec));
  CHECK(unknown_capabilities(spec) ==
        std::vector<std::string>{"CAP_FUTURE", "cap_kill", "CAP_OTHER"});
  CHECK(unknown_capabilities(valid_spec()).empty());
  Spec no_process = valid_spec();
  no_process.process.reset();
  CHECK(unknown_capabilities(no_process).empty());
}

TEST_CASE("capability_number: the kernel's numbers", "[validate]") {
  CHECK(capability_number("CAP_CHOWN") == 0);
  CHECK(capability_number("CAP_KILL") == 5);
  CHECK(capability_number("CAP_NET_BIND_SERVICE") == 10);
  CHECK(capability_number("CAP_SYS_ADMIN") == 21);
  CHECK(capability_number("CAP_AUDIT_WRITE") == 29);
  CHECK(capability_number("CAP_AUDIT_READ") == 37);
  CHECK(capability_number("CAP_CHECKPOINT_RESTORE") == 40);
  CHECK_FALSE(capability_number("CAP_FUTURE"));
  CHECK_FALSE(capability_number("cap_chown"));
  CHECK_FALSE(capability_number(""));
}

TEST_CASE("validate: hooks need an absolute path and a positive timeout", "[validate]") {
  Spec spec = valid_spec();
  spec.hooks.emplace();
  spec.hooks->prestart = {{.path = "/bin/true", .timeout = 1}};
  spec.hooks->poststop = {{.path = "/bin/true"}};
  CHECK(is_valid(spec));

  spec.hooks->poststop.push_back({.path = "bin/true"});
  CHECK(error_of(spec) == "hooks.poststop[1].path: \"bin/true\" is not an absolute path");

  spec.hooks->poststop.clear();
  spec.hooks->createRuntime = {{.path = "/x", .timeout = 0}};
  CHECK(error_of(spec) == "hooks.createRuntime[0].timeout: must be greater than zero, got 0");
  spec.hooks->createRuntime = {{.path = "/x", .timeout = -5}};
  CHECK(error_of(spec) == "hooks.createRuntime[0].timeout: must be greater than zero, got -5");

  spec.hooks->createRuntime.clear();
  spec.hooks->createContainer = {{.path = ""}};
  CHECK(error_of(spec) == "hooks.createContainer[0].path: \"\" is not an absolute path");
  spec.hooks->createContainer.clear();
  spec.hooks->startContainer = {{.path = "x"}};
  CHECK(error_of(spec) == "hooks.startContainer[0].path: \"x\" is not an absolute path");
  spec.hooks->startContainer.clear();
  spec.hooks->poststart = {{.path = "x"}};
  CHECK(error_of(spec) == "hooks.poststart[0].path: \"x\" is not an absolute path");
}

TEST_CASE("validate: a relative mount destination is taken as relative to /", "[validate]") {
  Spec spec = valid_spec();
  spec.mounts.push_back({.destination = "data", .type = "bind", .source = "/srv"});
  CHECK(is_valid(spec));
}

TEST_CASE("validate: id-mapped mounts", "[validate]") {
  Spec spec = valid_spec();
  add_user_namespace(spec);
  map_root(spec);
  Mount mount{.destination = "/data", .type = "bind", .source = "/srv", .options = {"bind"}};
  mount.uidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
  mount.gidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
  spec.mounts.push_back(mount);
  CHECK(is_valid(spec));

  spec.mounts.back().gidMappings.clear();
  CHECK(error_of(spec) == "mounts[1] (/data): uidMappings and gidMappings must be given together");

  spec = valid_spec();  // without a user namespace: the mount's own mappings (runc 1.3+)
  spec.mounts.push_back(mount);
  CHECK(is_valid(spec));
}

TEST_CASE("validate: namespace types known and unique", "[validate]") {
  Spec spec = valid_spec();
  add_user_namespace(spec);
  map_root(spec);
  spec.linux->namespaces.push_back({.type = "cgroup"});
  spec.linux->namespaces.push_back({.type = "time"});
  CHECK(is_valid(spec));

  spec.linux->namespaces.push_back({.type = "pid", .path = "/proc/1/ns/pid"});
  CHECK(error_of(spec) == "malformed spec file: duplicated ns \"pid\"");

  spec = valid_spec();
  spec.linux->namespaces.push_back({.type = "net"});
  CHECK(error_of(spec) == "namespace \"net\" does not exist");
}

TEST_CASE("validate: hostname and domainname need a UTS namespace", "[validate]") {
  Spec spec = valid_spec();
  remove_namespace(spec, "uts");
  CHECK(error_of(spec) == "unable to set hostname without a private UTS namespace");

  spec.hostname.clear();
  CHECK(is_valid(spec));
  spec.domainname = "example.org";
  CHECK(error_of(spec) == "unable to set domainname without a private UTS namespace");

  spec.linux->namespaces.push_back({.type = "uts", .path = "/proc/1/ns/uts"});  // joined is fine
  spec.hostname = "box";
  CHECK(is_valid(spec));

  spec.linux.reset();  // no linux section at all: no namespaces
  CHECK(error_of(spec) == "unable to set hostname without a private UTS namespace");
  spec.hostname.clear();
  spec.domainname.clear();
  CHECK(is_valid(spec));
}

TEST_CASE("validate: masked and read-only paths need a mount namespace", "[validate]") {
  Spec spec = valid_spec();
  remove_namespace(spec, "mount");
  CHECK(error_of(spec) == "unable to restrict sys entries without a private MNT namespace");
  spec.linux->maskedPaths.clear();
  CHECK(error_of(spec) == "unable to restrict sys entries without a private MNT namespace");
  spec.linux->readonlyPaths.clear();
  CHECK(is_valid(spec));
}

TEST_CASE("validate: id mappings and the user namespace go together", "[validate]") {
  Spec spec = valid_spec();
  map_root(spec);
  CHECK(error_of(spec) ==
        "User namespace mappings specified, but USER namespace isn't enabled in the config");
  spec.linux->uidMappings.clear();
  CHECK(error_of(spec) ==
        "User namespace mappings specified, but USER namespace isn't enabled in the config");

  spec = valid_spec();
  add_user_namespace(spec);
  CHECK(error_of(spec) == "User namespaces enabled, but no uid mappings found.");
  spec.linux->uidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
  CHECK(error_of(spec) == "User namespaces enabled, but no gid mappings found.");
  spec.linux->gidMappings = {{.containerID = 0, .hostID = 1000, .size = 1}};
  CHECK(is_valid(spec));

  spec.linux->uidMappings = {{.containerID = 1, .hostID = 1000, .size = 1}};
  CHECK(error_of(spec) == "User namespaces enabled, but no user mapping found.");
  spec.linux->uidMappings = {{.containerID = 1, .hostID = 1000, .size = 1},
                             {.containerID = 0, .hostID = 2000, .size = 1}};
  spec.linux->gidMappings = {{.containerID = 5, .hostID = 1000, .size = 1}};
  CHECK(error_of(spec) == "User namespaces enabled, but no group mapping found.");

  spec = valid_spec();
  add_user_namespace(spec, "/proc/1234/ns/user");  // joined: its mappings exist already
  CHECK(is_valid(spec));
}

TEST_CASE("validate: time offsets need a new time namespace", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->timeOffsets = {{"monotonic", {.secs = -10, .nanosecs = 999'999'999}},
                             {"boottime", {.secs = 86400}}};
  CHECK(error_of(spec) ==
        "time namespace offsets specified, but time namespace isn't enabled in the config");

  spec.linux->namespaces.push_back({.type = "time", .path = "/proc/1/ns/time"});
  CHECK(error_of(spec) ==
        "unable to set time namespace offsets when joining an existing time namespace");

  spec.linux->namespaces.back().path.clear();
  CHECK(is_valid(spec));

  spec.linux->timeOffsets["realtime"] = {.secs = 1};
  CHECK(error_of(spec) ==
        "linux.timeOffsets: unknown clock \"realtime\" (only \"monotonic\" and "
        "\"boottime\" have offsets)");
  spec.linux->timeOffsets.erase("realtime");
  spec.linux->timeOffsets["boottime"].nanosecs = 1'000'000'000;
  CHECK(error_of(spec) ==
        "linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000");

  Spec joined = valid_spec();  // joining a time namespace without offsets is fine
  joined.linux->namespaces.push_back({.type = "time", .path = "/proc/1/ns/time"});
  CHECK(is_valid(joined));
}

TEST_CASE("validate: IPC sysctls need an IPC namespace", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->sysctl = {
      {"kernel.msgmax", "1"},    {"kernel.msgmnb", "1"},          {"kernel.msgmni", "1"},
      {"kernel.sem", "1 2 3 4"}, {"kernel.shmall", "1"},          {"kernel.shmmax", "1"},
      {"kernel.shmmni", "1"},    {"kernel.shm_rmid_forced", "1"}, {"fs.mqueue.msg_max", "1"}};
  CHECK(is_valid(spec));
  remove_namespace(spec, "ipc");
  spec.linux->sysctl = {{"fs.mqueue.queues_max", "1"}};
  CHECK(error_of(spec) ==
        "sysctl \"fs.mqueue.queues_max\" is not allowed in the hosts ipc "
        "namespace");
  spec.linux->sysctl = {{"kernel.shmmax", "1"}};
  CHECK(error_of(spec) == "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace");
  spec.linux->sysctl = {{"kernel.shmfoo", "1"}};  // not an IPC one: not namespaced at all
  CHECK(error_of(spec) == "sysctl \"kernel.shmfoo\" is not in a separate kernel namespace");
}

TEST_CASE("validate: net sysctls need a network namespace", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->sysctl = {{"net.ipv4.ip_forward", "1"}};
  CHECK(is_valid(spec));

  remove_namespace(spec, "network");
  CHECK(error_of(spec) == "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");

  spec.linux->namespaces.push_back({.type = "network", .path = "/var/run/netns/x"});
  CHECK(is_valid(spec));
}

TEST_CASE("validate: UTS sysctls", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->sysctl = {{"kernel.domainname", "example.org"}};
  CHECK(is_valid(spec));
  spec.linux->sysctl = {{"kernel.hostname", "box"}};
  CHECK(error_of(spec) ==
        "sysctl \"kernel.hostname\" is not allowed as it conflicts with the "
        "OCI \"hostname\" field");
  remove_namespace(spec, "uts");
  spec.hostname.clear();
  spec.linux->sysctl = {{"kernel.domainname", "example.org"}};
  CHECK(error_of(spec) == "sysctl \"kernel.domainname\" is not in a separate kernel namespace");
}

TEST_CASE("validate: other sysctls are refused", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->sysctl = {{"vm.swappiness", "10"}};
  CHECK(error_of(spec) == "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
  spec.linux->sysctl = {{"kernel.pid_max", "10"}};
  CHECK(error_of(spec) == "sysctl \"kernel.pid_max\" is not in a separate kernel namespace");
}

TEST_CASE("validate: sysctl names with slashes are read as sysctl(8) does", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->sysctl = {{"net/ipv4/conf/eth0.100/rp_filter", "1"}, {"kernel/shmmax", "1"}};
  CHECK(is_valid(spec));
  remove_namespace(spec, "network");
  CHECK(error_of(spec) ==
        "sysctl \"net.ipv4.conf.eth0/100.rp_filter\" not allowed in host network namespace");
  spec.linux->sysctl = {{"vm/overcommit_memory", "1"}};
  CHECK(error_of(spec) == "sysctl \"vm.overcommit_memory\" is not in a separate kernel namespace");
}

TEST_CASE("validate: rootfsPropagation", "[validate]") {
  Spec spec = valid_spec();
  for (const char* mode : {"", "shared", "slave", "private", "rshared", "rslave", "rprivate",
                           "unbindable", "runbindable"}) {
    spec.linux->rootfsPropagation = mode;
    CHECK(is_valid(spec));
  }
  spec.linux->rootfsPropagation = "recursive";
  CHECK(error_of(spec) == "rootfsPropagation=recursive is not supported");
}

TEST_CASE("validate: devices", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->devices = {{.type = "c", .path = "/dev/fuse", .major = 10, .minor = 229},
                         {.type = "b", .path = "/dev/sda", .major = 8, .minor = 0},
                         {.type = "u", .path = "/dev/null2", .major = 1, .minor = 3},
                         {.type = "p", .path = "/dev/fifo"}};
  CHECK(is_valid(spec));

  spec.linux->devices.push_back({.type = "x", .path = "/dev/x"});
  CHECK(error_of(spec) == "linux.devices[4]: invalid device type \"x\"");
  spec.linux->devices.back() = {.type = "c", .path = "dev/x", .major = 1, .minor = 1};
  CHECK(error_of(spec) == "linux.devices[4].path: \"dev/x\" is not an absolute path");
  // A fifo's major and minor mean nothing (mknod ignores them), and runc accepts them.
  spec.linux->devices.back() = {.type = "p", .path = "/dev/p", .major = 1, .minor = 2};
  CHECK(is_valid(spec));
}

TEST_CASE("validate: device cgroup rules", "[validate]") {
  Spec spec = valid_spec();
  auto& rules = spec.linux->resources.emplace().devices;
  rules = {{.allow = false, .access = "rwm"},
           {.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rw"},
           {.allow = true, .type = "b", .major = 8},
           {.allow = true, .type = "a", .access = "m"}};
  CHECK(is_valid(spec));

  // Letters other than r, w and m are ignored, as runc does ("rwa" is in its bats suite).
  rules.push_back({.allow = false, .type = "c", .major = 1, .minor = 11, .access = "rwa"});
  CHECK(is_valid(spec));

  rules.push_back({.allow = true, .type = "p"});
  CHECK(error_of(spec) == "linux.resources.devices[5]: invalid cgroup device type \"p\"");
}

TEST_CASE("validate: network devices", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->netDevices = {{"eth1", {.name = "ctr0"}}, {"enp0s31f6", {}}};
  CHECK(is_valid(spec));

  remove_namespace(spec, "network");
  CHECK(error_of(spec) == "unable to move network devices without a private NET namespace");

  spec = valid_spec();
  spec.linux->netDevices = {{"a-very-long-name", {}}};  // 16 bytes: one too many
  CHECK(error_of(spec) == "linux.netDevices: invalid network device name \"a-very-long-name\"");
  spec.linux->netDevices = {{"eth/1", {}}};
  CHECK(error_of(spec) == "linux.netDevices: invalid network device name \"eth/1\"");
  spec.linux->netDevices = {{"..", {}}};
  CHECK(error_of(spec) == "linux.netDevices: invalid network device name \"..\"");
  spec.linux->netDevices = {{"eth1", {.name = "a b"}}};
  CHECK(error_of(spec) == "linux.netDevices.eth1.name: invalid network device name \"a b\"");
  spec.linux->netDevices = {{"eth1", {.name = "x:1"}}};
  CHECK(error_of(spec) == "linux.netDevices.eth1.name: invalid network device name \"x:1\"");
}

TEST_CASE("validate: personality domain", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->personality = Personality{.domain = "LINUX32"};
  CHECK(is_valid(spec));
  spec.linux->personality = Personality{.domain = "LINUX"};
  CHECK(is_valid(spec));
  spec.linux->personality = Personality{.domain = "SVR4"};
  CHECK(error_of(spec) == "linux.personality.domain: invalid personality domain \"SVR4\"");
}

TEST_CASE("validate: intelRdt closID is a plain directory name", "[validate]") {
  Spec spec = valid_spec();
  spec.linux->intelRdt = IntelRdt{.closID = "guaranteed"};
  CHECK(is_valid(spec));
  for (const char* bad : {".", "..", "a/b"}) {
    spec.linux->intelRdt->closID = bad;
    CHECK(error_of(spec) == "invalid intelRdt.ClosID \"" + std::string(bad) + "\"");
  }
}

TEST_CASE("validate: the checks run on a parsed runc spec", "[validate]") {
  auto spec = parse_spec(R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/"}, "hostname": "h",
      "linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}})");
  REQUIRE(spec);
  CHECK(error_of(*spec) == "malformed spec file: duplicated ns \"pid\"");
}

// runtime-spec 1.3 config-linux.md "Memory policy": "Some modes require that there are no
// nodes, e.g. `MPOL_DEFAULT` and `MPOL_LOCAL`. Others that there is at least one node, e.g.
// `MPOL_BIND` and `MPOL_INTERLEAVE`."
TEST_CASE("validate: memoryPolicy", "[validate]") {
  Spec spec = valid_spec();
  auto& policy = spec.linux->memoryPolicy.emplace();
  for (auto [mode, nodes] : {std::pair{"MPOL_DEFAULT", ""},
                             {"MPOL_LOCAL", ""},
                             {"MPOL_PREFERRED", ""},
                             {"MPOL_PREFERRED", "1"},
                             {"MPOL_BIND", "0-3,7"},
                             {"MPOL_INTERLEAVE", "0,2"},
                             {"MPOL_PREFERRED_MANY", "1023"},
                             {"MPOL_WEIGHTED_INTERLEAVE", "0"}}) {
    policy = {.mode = mode, .nodes = nodes, .flags = {"MPOL_F_STATIC_NODES"}};
    CHECK(is_valid(spec));
  }
  policy = {.mode = "MPOL_SPREAD", .nodes = "0"};
  CHECK(error_of(spec) == "linux.memoryPolicy.mode: invalid memory policy mode \"MPOL_SPREAD\"");
  policy = {.mode = "MPOL_BIND", .nodes = "0", .flags = {"MPOL_F_NUMA_BALANCING", "MPOL_F_X"}};
  CHECK(error_of(spec) == "linux.memoryPolicy.flags: invalid memory policy flag \"MPOL_F_X\"");
  policy = {.mode = "MPOL_BIND"};
  CHECK(error_of(spec) ==
        "linux.memoryPolicy.nodes: memory policy mode requires at least one node but got 0 "
        "(MPOL_BIND)");
  policy = {.mode = "MPOL_LOCAL", .nodes = "0-1"};
  CHECK(error_of(spec) ==
        "linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got 2 (MPOL_LOCAL, "
        "\"0-1\")");
  policy = {.mode = "MPOL_BIND", .nodes = "3-1"};
  CHECK(error_of(spec) ==
        "linux.memoryPolicy.nodes: invalid memory policy nodes \"3-1\": "
        "range \"3-1\" ends before it starts");
  policy = {.mode = "MPOL_BIND", .nodes = "0,x"};
  CHECK(error_of(spec) ==
        "linux.memoryPolicy.nodes: invalid memory policy nodes \"0,x\": "
        "\"x\" is not a node or a range of nodes");
  policy = {.mode = "MPOL_BIND", .nodes = "1024"};
  CHECK(error_of(spec) ==
        "linux.memoryPolicy.nodes: invalid memory policy nodes \"1024\": "
        "node 1024 is not below 1024");
}

TEST_CASE("memory_nodes: numbers and ranges, sorted and each once", "[validate]") {
  CHECK(memory_nodes("").value().empty());
  CHECK(memory_nodes("0-3,7,2") == std::vector<unsigned>{0, 1, 2, 3, 7});
  CHECK_FALSE(memory_nodes("1,"));
  CHECK_FALSE(memory_nodes(",1"));
  CHECK_FALSE(memory_nodes("-1"));
  CHECK_FALSE(memory_nodes("1-"));
  CHECK_FALSE(memory_nodes(" 1"));
}
