#include <catch2/catch.hpp>

#include <string>

#include "mkrun/oci/parse.hpp"

using namespace mkrun::oci;

namespace {

// Every field of runtime-spec 1.2 for Linux, each with a value unlike its default.
constexpr const char* kFullConfig = R"json({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6]},
    "args": ["sh", "-c", "true"],
    "env": ["PATH=/bin", "TERM=xterm"],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_KILL", "CAP_CHOWN"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_KILL"],
      "ambient": ["CAP_NET_RAW"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 4096, "soft": 1024}],
    "noNewPrivileges": true,
    "apparmorProfile": "docker-default",
    "oomScoreAdj": -500,
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "scheduler": {"policy": "SCHED_DEADLINE", "nice": -3, "priority": 2,
                  "flags": ["SCHED_FLAG_RECLAIM"], "runtime": 100, "deadline": 200, "period": 300},
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0-1", "final": "2"}
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]}
  ],
  "hooks": {
    "prestart": [{"path": "/bin/pre", "args": ["pre", "x"], "env": ["A=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/cr"}],
    "createContainer": [{"path": "/bin/cc", "env": []}],
    "startContainer": [{"path": "/bin/sc"}],
    "poststart": [{"path": "/bin/ps"}],
    "poststop": [{"path": "/bin/pst"}, {"path": "/bin/pst2"}]
  },
  "annotations": {"org.example/key": "value", "b": ""},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1001, "size": 2}],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"},
    "resources": {
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "memory": {"limit": 1048576, "reservation": 524288, "swap": -1, "kernel": 1, "kernelTCP": 2,
                 "swappiness": 60, "disableOOMKiller": true, "useHierarchy": false,
                 "checkBeforeUpdate": true},
      "cpu": {"shares": 1024, "quota": 50000, "burst": 10, "period": 100000,
              "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "0-3", "mems": "0",
              "idle": 1},
      "pids": {"limit": 32},
      "blockIO": {
        "weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 1, "rate": 2000}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 2, "rate": 3000}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 3, "rate": 4000}]
      },
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
      "unified": {"io.weight": "default 100"}
    },
    "cgroupsPath": "/myRuntime/myContainer",
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"},
                   {"type": "mount"}, {"type": "user"}, {"type": "time"}],
    "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438,
                 "uid": 0, "gid": 5}],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/seccomp.sock", "listenerMetadata": "meta",
      "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1,
                    "args": [{"index": 0, "value": 2114060288, "valueTwo": 7,
                              "op": "SCMP_CMP_MASKED_EQ"}]}]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "intelRdt": {"closID": "guaranteed", "l3CacheSchema": "L3:0=7f0", "memBwSchema": "MB:0=20",
                 "schemata": ["L2:0=3"], "enableMonitoring": true,
                 "enableCMT": true, "enableMBM": false},
    "personality": {"domain": "LINUX32", "flags": ["x"]},
    "timeOffsets": {"monotonic": {"secs": -86400, "nanosecs": 5}, "boottime": {"secs": 3}},
    "netDevices": {"eth1": {"name": "ctr0"}, "eth2": {}},
    "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "2-3", "flags": ["MPOL_F_STATIC_NODES"]}
  }
})json";

std::string error_of(std::string_view json) {
  auto result = parse_spec(json);
  REQUIRE_FALSE(result);
  return result.error().message;
}

}  // namespace

TEST_CASE("parse: every field of a full config", "[parse]") {
  auto parsed = parse_spec(kFullConfig);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed);
  const Spec& spec = *parsed;
  CHECK(spec.ociVersion == "1.2.0");
  CHECK(spec.hostname == "box");
  CHECK(spec.domainname == "example.org");
  CHECK(spec.annotations ==
        std::map<std::string, std::string>{{"org.example/key", "value"}, {"b", ""}});
  REQUIRE(spec.root);
  CHECK(spec.root->path == "rootfs");
  CHECK(spec.root->readonly);

  SECTION("process") {
    REQUIRE(spec.process);
    const Process& p = *spec.process;
    CHECK(p.terminal);
    REQUIRE(p.consoleSize);
    CHECK(p.consoleSize->height == 24);
    CHECK(p.consoleSize->width == 80);
    CHECK(p.user.uid == 1000);
    CHECK(p.user.gid == 1001);
    CHECK(p.user.umask == 18u);
    CHECK(p.user.additionalGids == std::vector<uint32_t>{5, 6});
    CHECK(p.args == std::vector<std::string>{"sh", "-c", "true"});
    CHECK(p.env == std::vector<std::string>{"PATH=/bin", "TERM=xterm"});
    CHECK(p.cwd == "/work");
    REQUIRE(p.capabilities);
    CHECK(p.capabilities->bounding == std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"});
    CHECK(p.capabilities->effective == std::vector<std::string>{"CAP_KILL"});
    CHECK(p.capabilities->inheritable == std::vector<std::string>{});
    CHECK(p.capabilities->permitted == std::vector<std::string>{"CAP_KILL"});
    CHECK(p.capabilities->ambient == std::vector<std::string>{"CAP_NET_RAW"});
    REQUIRE(p.rlimits.size() == 1);
    CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
    CHECK(p.rlimits[0].hard == 4096);
    CHECK(p.rlimits[0].soft == 1024);
    CHECK(p.noNewPrivileges);
    CHECK(p.apparmorProfile == "docker-default");
    CHECK(p.oomScoreAdj == -500);
    CHECK(p.selinuxLabel == "system_u:system_r:container_t:s0");
    REQUIRE(p.scheduler);
    CHECK(p.scheduler->policy == "SCHED_DEADLINE");
    CHECK(p.scheduler->nice == -3);
    CHECK(p.scheduler->priority == 2);
    CHECK(p.scheduler->flags == std::vector<std::string>{"SCHED_FLAG_RECLAIM"});
    CHECK(p.scheduler->runtime == 100u);
    CHECK(p.scheduler->deadline == 200u);
    CHECK(p.scheduler->period == 300u);
    REQUIRE(p.ioPriority);
    CHECK(p.ioPriority->ioClass == "IOPRIO_CLASS_BE");
    CHECK(p.ioPriority->priority == 4);
    REQUIRE(p.execCPUAffinity);
    CHECK(p.execCPUAffinity->initial == "0-1");
    CHECK(p.execCPUAffinity->final == "2");
  }

  SECTION("mounts") {
    REQUIRE(spec.mounts.size() == 2);
    CHECK(spec.mounts[0].destination == "/proc");
    CHECK(spec.mounts[0].type == "proc");
    CHECK(spec.mounts[0].source == "proc");
    CHECK(spec.mounts[0].options.empty());
    const Mount& m = spec.mounts[1];
    CHECK(m.options == std::vector<std::string>{"rbind", "ro"});
    REQUIRE(m.uidMappings.size() == 1);
    CHECK(m.uidMappings[0].hostID == 100000);
    CHECK(m.uidMappings[0].size == 65536);
    REQUIRE(m.gidMappings.size() == 1);
    CHECK(m.gidMappings[0].hostID == 200000);
  }

  SECTION("hooks") {
    REQUIRE(spec.hooks);
    const Hooks& h = *spec.hooks;
    REQUIRE(h.prestart.size() == 1);
    CHECK(h.prestart[0].path == "/bin/pre");
    CHECK(h.prestart[0].args == std::vector<std::string>{"pre", "x"});
    CHECK(h.prestart[0].env == std::vector<std::string>{"A=1"});
    CHECK(h.prestart[0].timeout == 5);
    REQUIRE(h.createRuntime.size() == 1);
    CHECK(h.createRuntime[0].path == "/bin/cr");
    CHECK_FALSE(h.createRuntime[0].env);  // absent: the runtime's environment
    CHECK_FALSE(h.createRuntime[0].timeout);
    REQUIRE(h.createContainer.size() == 1);
    REQUIRE(h.createContainer[0].env);  // present and empty: an empty environment
    CHECK(h.createContainer[0].env->empty());
    REQUIRE(h.startContainer.size() == 1);
    CHECK(h.startContainer[0].path == "/bin/sc");
    REQUIRE(h.poststart.size() == 1);
    CHECK(h.poststart[0].path == "/bin/ps");
    REQUIRE(h.poststop.size() == 2);
    CHECK(h.poststop[1].path == "/bin/pst2");
  }

  SECTION("linux") {
    REQUIRE(spec.linux);
    const Linux& l = *spec.linux;
    REQUIRE(l.uidMappings.size() == 1);
    CHECK(l.uidMappings[0].containerID == 0);
    CHECK(l.uidMappings[0].hostID == 1000);
    CHECK(l.uidMappings[0].size == 1);
    REQUIRE(l.gidMappings.size() == 1);
    CHECK(l.gidMappings[0].size == 2);
    CHECK(l.sysctl == std::map<std::string, std::string>{{"net.ipv4.ip_forward", "1"},
                                                         {"kernel.shmmax", "4096"}});
    CHECK(l.cgroupsPath == "/myRuntime/myContainer");
    REQUIRE(l.namespaces.size() == 5);
    CHECK(l.namespaces[1].type == "network");
    CHECK(l.namespaces[1].path == "/var/run/netns/x");
    CHECK(l.namespaces[4].type == "time");
    CHECK(l.namespaces[4].path.empty());
    REQUIRE(l.devices.size() == 1);
    CHECK(l.devices[0].type == "c");
    CHECK(l.devices[0].path == "/dev/fuse");
    CHECK(l.devices[0].major == 10);
    CHECK(l.devices[0].minor == 229);
    CHECK(l.devices[0].fileMode == 438u);
    CHECK(l.devices[0].uid == 0u);
    CHECK(l.devices[0].gid == 5u);
    CHECK(l.rootfsPropagation == "rslave");
    CHECK(l.maskedPaths == std::vector<std::string>{"/proc/kcore"});
    CHECK(l.readonlyPaths == std::vector<std::string>{"/proc/sys"});
    CHECK(l.mountLabel == "system_u:object_r:container_file_t:s0");
    REQUIRE(l.intelRdt);
    CHECK(l.intelRdt->closID == "guaranteed");
    CHECK(l.intelRdt->l3CacheSchema == "L3:0=7f0");
    CHECK(l.intelRdt->memBwSchema == "MB:0=20");
    CHECK(l.intelRdt->enableCMT == true);
    CHECK(l.intelRdt->enableMBM == false);
    CHECK(l.intelRdt->schemata == std::vector<std::string>{"L2:0=3"});
    CHECK(l.intelRdt->enableMonitoring);
    REQUIRE(l.personality);
    CHECK(l.personality->domain == "LINUX32");
    CHECK(l.personality->flags == std::vector<std::string>{"x"});
    REQUIRE(l.timeOffsets.size() == 2);
    CHECK(l.timeOffsets.at("monotonic").secs == -86400);
    CHECK(l.timeOffsets.at("monotonic").nanosecs == 5);
    CHECK(l.timeOffsets.at("boottime").secs == 3);
    CHECK(l.timeOffsets.at("boottime").nanosecs == 0);
    REQUIRE(l.netDevices.size() == 2);
    CHECK(l.netDevices.at("eth1").name == "ctr0");
    CHECK(l.netDevices.at("eth2").name.empty());
    REQUIRE(l.memoryPolicy);
    CHECK(l.memoryPolicy->mode == "MPOL_INTERLEAVE");
    CHECK(l.memoryPolicy->nodes == "2-3");
    CHECK(l.memoryPolicy->flags == std::vector<std::string>{"MPOL_F_STATIC_NODES"});
  }

  SECTION("linux.seccomp") {
    REQUIRE(spec.linux);
    REQUIRE(spec.linux->seccomp);
    const Seccomp& s = *spec.linux->seccomp;
    CHECK(s.defaultAction == "SCMP_ACT_ERRNO");
    CHECK(s.defaultErrnoRet == 38u);
    CHECK(s.architectures == std::vector<std::string>{"SCMP_ARCH_X86_64"});
    CHECK(s.flags == std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
    CHECK(s.listenerPath == "/run/seccomp.sock");
    CHECK(s.listenerMetadata == "meta");
    REQUIRE(s.syscalls.size() == 1);
    CHECK(s.syscalls[0].names == std::vector<std::string>{"clone"});
    CHECK(s.syscalls[0].action == "SCMP_ACT_ALLOW");
    CHECK(s.syscalls[0].errnoRet == 1u);
    REQUIRE(s.syscalls[0].args.size() == 1);
    CHECK(s.syscalls[0].args[0].index == 0);
    CHECK(s.syscalls[0].args[0].value == 2114060288u);
    CHECK(s.syscalls[0].args[0].valueTwo == 7);
    CHECK(s.syscalls[0].args[0].op == "SCMP_CMP_MASKED_EQ");
  }

  SECTION("linux.resources") {
    REQUIRE(spec.linux);
    REQUIRE(spec.linux->resources);
    const Resources& r = *spec.linux->resources;
    REQUIRE(r.devices.size() == 2);
    CHECK_FALSE(r.devices[0].allow);
    CHECK(r.devices[0].type.empty());
    CHECK_FALSE(r.devices[0].major);
    CHECK(r.devices[0].access == "rwm");
    CHECK(r.devices[1].allow);
    CHECK(r.devices[1].type == "c");
    CHECK(r.devices[1].major == 1);
    CHECK(r.devices[1].minor == 3);
    REQUIRE(r.memory);
    CHECK(r.memory->limit == 1048576);
    CHECK(r.memory->reservation == 524288);
    CHECK(r.memory->swap == -1);
    CHECK(r.memory->kernel == 1);
    CHECK(r.memory->kernelTCP == 2);
    CHECK(r.memory->swappiness == 60u);
    CHECK(r.memory->disableOOMKiller == true);
    CHECK(r.memory->useHierarchy == false);
    CHECK(r.memory->checkBeforeUpdate == true);
    REQUIRE(r.cpu);
    CHECK(r.cpu->shares == 1024u);
    CHECK(r.cpu->quota == 50000);
    CHECK(r.cpu->burst == 10u);
    CHECK(r.cpu->period == 100000u);
    CHECK(r.cpu->realtimeRuntime == 950000);
    CHECK(r.cpu->realtimePeriod == 1000000u);
    CHECK(r.cpu->cpus == "0-3");
    CHECK(r.cpu->mems == "0");
    CHECK(r.cpu->idle == 1);
    REQUIRE(r.pids);
    CHECK(r.pids->limit == 32);
    REQUIRE(r.blockIO);
    CHECK(r.blockIO->weight == 500);
    CHECK(r.blockIO->leafWeight == 300);
    REQUIRE(r.blockIO->weightDevice.size() == 1);
    CHECK(r.blockIO->weightDevice[0].major == 8);
    CHECK(r.blockIO->weightDevice[0].weight == 600);
    CHECK(r.blockIO->weightDevice[0].leafWeight == 200);
    REQUIRE(r.blockIO->throttleReadBpsDevice.size() == 1);
    CHECK(r.blockIO->throttleReadBpsDevice[0].rate == 1000);
    REQUIRE(r.blockIO->throttleWriteBpsDevice.size() == 1);
    CHECK(r.blockIO->throttleWriteBpsDevice[0].minor == 1);
    CHECK(r.blockIO->throttleWriteBpsDevice[0].rate == 2000);
    REQUIRE(r.blockIO->throttleReadIOPSDevice.size() == 1);
    CHECK(r.blockIO->throttleReadIOPSDevice[0].rate == 3000);
    REQUIRE(r.blockIO->throttleWriteIOPSDevice.size() == 1);
    CHECK(r.blockIO->throttleWriteIOPSDevice[0].rate == 4000);
    REQUIRE(r.hugepageLimits.size() == 1);
    CHECK(r.hugepageLimits[0].pageSize == "2MB");
    CHECK(r.hugepageLimits[0].limit == 209715200);
    REQUIRE(r.network);
    CHECK(r.network->classID == 1048577u);
    REQUIRE(r.network->priorities.size() == 1);
    CHECK(r.network->priorities[0].name == "eth0");
    CHECK(r.network->priorities[0].priority == 500);
    REQUIRE(r.rdma.size() == 1);
    CHECK(r.rdma.at("mlx5_1").hcaHandles == 3u);
    CHECK(r.rdma.at("mlx5_1").hcaObjects == 10000u);
    CHECK(r.unified == std::map<std::string, std::string>{{"io.weight", "default 100"}});
  }
}

TEST_CASE("parse: an empty object gives all defaults", "[parse]") {
  auto spec = parse_spec("{}");
  REQUIRE(spec);
  CHECK(spec->ociVersion.empty());
  CHECK_FALSE(spec->process);
  CHECK_FALSE(spec->root);
  CHECK_FALSE(spec->hooks);
  CHECK_FALSE(spec->linux);
  CHECK(spec->mounts.empty());
  CHECK(spec->annotations.empty());
}

TEST_CASE("parse: absent optionals stay absent", "[parse]") {
  auto spec = parse_spec(R"({"process": {"capabilities": {"bounding": ["CAP_KILL"]}},
                             "linux": {"resources": {}}})");
  REQUIRE(spec);
  const Process& p = *spec->process;
  CHECK_FALSE(p.consoleSize);
  CHECK_FALSE(p.user.umask);
  CHECK_FALSE(p.oomScoreAdj);
  CHECK_FALSE(p.scheduler);
  CHECK_FALSE(p.ioPriority);
  CHECK_FALSE(p.execCPUAffinity);
  REQUIRE(p.capabilities);
  CHECK(p.capabilities->bounding);
  CHECK_FALSE(p.capabilities->effective);
  CHECK_FALSE(p.capabilities->inheritable);
  CHECK_FALSE(p.capabilities->permitted);
  CHECK_FALSE(p.capabilities->ambient);
  const Resources& r = *spec->linux->resources;
  CHECK_FALSE(r.memory);
  CHECK_FALSE(r.cpu);
  CHECK_FALSE(r.pids);
  CHECK_FALSE(r.blockIO);
  CHECK_FALSE(r.network);
  CHECK_FALSE(spec->linux->seccomp);
  CHECK_FALSE(spec->linux->intelRdt);
  CHECK_FALSE(spec->linux->personality);
}

TEST_CASE("parse: JSON null counts as absent", "[parse]") {
  auto spec = parse_spec(R"({"ociVersion": null, "process": null, "hooks": {
      "prestart": [{"path": "/x", "env": null, "timeout": null}]},
      "linux": {"namespaces": null, "resources": {"memory": {"limit": null}}},
      "hostname": null})");
  REQUIRE(spec);
  CHECK(spec->ociVersion.empty());
  CHECK_FALSE(spec->process);
  CHECK(spec->hostname.empty());
  CHECK_FALSE(spec->hooks->prestart[0].env);
  CHECK_FALSE(spec->hooks->prestart[0].timeout);
  CHECK(spec->linux->namespaces.empty());
  REQUIRE(spec->linux->resources->memory);
  CHECK_FALSE(spec->linux->resources->memory->limit);
}

TEST_CASE("parse: unknown fields are ignored, whatever their type", "[parse]") {
  auto spec = parse_spec(R"({"ociVersion": "1.0.0", "future": {"deep": [1, 2]},
      "process": {"commandLine": 7, "user": {"username": ["x"]}, "args": ["sh"]},
      "windows": {"layerFolders": ["C:\\"]}, "vm": null})");
  REQUIRE(spec);
  CHECK(spec->ociVersion == "1.0.0");
  CHECK(spec->process->args == std::vector<std::string>{"sh"});
}

TEST_CASE("parse: keys match case-insensitively and the last duplicate wins, as in Go", "[parse]") {
  auto spec = parse_spec(R"({"Hostname": "a", "hostname": "b", "OCIVERSION": "1.0.0",
                             "annotations": {"k": "1", "k": "2", "K": "3"}})");
  REQUIRE(spec);
  CHECK(spec->hostname == "b");
  CHECK(spec->ociVersion == "1.0.0");
  // Map keys are data, not field names: they stay exact.
  CHECK(spec->annotations == std::map<std::string, std::string>{{"k", "2"}, {"K", "3"}});
}

TEST_CASE("parse: a wrong type names the value's JSON pointer", "[parse]") {
  CHECK(error_of(R"({"linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                                               {"type": 3}]}})") ==
        "/linux/namespaces/3/type: expected string, got number");
  CHECK(error_of(R"({"ociVersion": 1})") == "/ociVersion: expected string, got number");
  CHECK(error_of(R"({"process": {"args": ["sh", false]}})") ==
        "/process/args/1: expected string, got boolean");
  CHECK(error_of(R"({"process": {"terminal": "yes"}})") ==
        "/process/terminal: expected boolean, got string");
  CHECK(error_of(R"({"root": "rootfs"})") == "/root: expected object, got string");
  CHECK(error_of(R"({"mounts": {}})") == "/mounts: expected array, got object");
  CHECK(error_of(R"({"linux": {"sysctl": []}})") == "/linux/sysctl: expected object, got array");
  CHECK(error_of(R"({"hooks": {"poststop": [{"path": "/x", "timeout": "5"}]}})") ==
        "/hooks/poststop/0/timeout: expected int32, got string");
  CHECK(error_of(R"({"process": {"user": {"uid": "0"}}})") ==
        "/process/user/uid: expected uint32, got string");
  CHECK(error_of(R"({"linux": {"netDevices": {"eth0": {"name": 1}}}})") ==
        "/linux/netDevices/eth0/name: expected string, got number");
  CHECK(error_of(R"({"linux": {"timeOffsets": {"boottime": {"secs": "1"}}}})") ==
        "/linux/timeOffsets/boottime/secs: expected int64, got string");
  CHECK(error_of(R"({"linux": {"resources": {"rdma": {"mlx": {"hcaHandles": []}}}}})") ==
        "/linux/resources/rdma/mlx/hcaHandles: expected uint32, got array");
  CHECK(error_of(R"({"process": {"capabilities": {"ambient": "CAP_KILL"}}})") ==
        "/process/capabilities/ambient: expected array, got string");
  CHECK(error_of(R"({"process": {"ioPriority": {"class": 2}}})") ==
        "/process/ioPriority/class: expected string, got number");
}

TEST_CASE("parse: the document itself must be an object", "[parse]") {
  CHECK(error_of("[]") == "/: expected object, got array");
  CHECK(error_of("null") == "/: expected object, got null");
  CHECK(error_of("\"x\"") == "/: expected object, got string");
}

TEST_CASE("parse: map keys are escaped in the pointer (RFC 6901)", "[parse]") {
  CHECK(error_of(R"({"annotations": {"a/b~c": 5}})") ==
        "/annotations/a~1b~0c: expected string, got number");
  CHECK(error_of(R"({"linux": {"sysctl": {"net/ipv4/ip_forward": true}}})") ==
        "/linux/sysctl/net~1ipv4~1ip_forward: expected string, got boolean");
}

TEST_CASE("parse: integers are range-checked for their field", "[parse]") {
  CHECK(error_of(R"({"process": {"user": {"uid": -1}}})") ==
        "/process/user/uid: -1 is out of range for uint32");
  CHECK(error_of(R"({"process": {"user": {"gid": 4294967296}}})") ==
        "/process/user/gid: 4294967296 is out of range for uint32");
  CHECK(error_of(R"({"process": {"oomScoreAdj": 2147483648}})") ==
        "/process/oomScoreAdj: 2147483648 is out of range for int32");
  CHECK(error_of(R"({"process": {"oomScoreAdj": -2147483649}})") ==
        "/process/oomScoreAdj: -2147483649 is out of range for int32");
  CHECK(error_of(R"({"linux": {"resources": {"blockIO": {"weight": 65536}}}})") ==
        "/linux/resources/blockIO/weight: 65536 is out of range for uint16");
  CHECK(error_of(R"({"linux": {"resources": {"memory": {"swappiness": -1}}}})") ==
        "/linux/resources/memory/swappiness: -1 is out of range for uint64");
  CHECK(error_of(R"({"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}})") ==
        "/linux/resources/memory/limit: 9223372036854775808 is out of range for int64");
  CHECK(error_of(R"({"linux": {"seccomp": {"syscalls": [{"args": [{"value": 1e30}]}]}}})") ==
        "/linux/seccomp/syscalls/0/args/0/value: 1e+30 is out of range for uint64");
  CHECK(error_of(R"({"process": {"rlimits": [{"hard": 18446744073709551616}]}})") ==
        "/process/rlimits/0/hard: 18446744073709551616 is out of range for uint64");
}

TEST_CASE("parse: fractions and exponents are not integers", "[parse]") {
  CHECK(error_of(R"({"process": {"user": {"uid": 1.5}}})") ==
        "/process/user/uid: expected uint32, got non-integer number 1.5");
  CHECK(error_of(R"({"process": {"user": {"uid": 1e3}}})") ==
        "/process/user/uid: expected uint32, got non-integer number 1000");
  CHECK(error_of(R"({"process": {"user": {"uid": 1.0}}})") ==
        "/process/user/uid: expected uint32, got non-integer number 1");
}

TEST_CASE("parse: minus zero is zero", "[parse]") {
  auto spec = parse_spec(R"({"process": {"oomScoreAdj": -0, "user": {"uid": -0}}})");
  INFO((spec ? std::string() : spec.error().message));
  REQUIRE(spec);
  CHECK(spec->process->oomScoreAdj == 0);
  CHECK(spec->process->user.uid == 0);
}

TEST_CASE("parse: the extremes of each integer type are accepted", "[parse]") {
  auto spec = parse_spec(R"({
      "process": {"user": {"uid": 4294967295}, "oomScoreAdj": -2147483648,
                  "rlimits": [{"hard": 18446744073709551615, "soft": 0}]},
      "linux": {"resources": {"memory": {"limit": -9223372036854775808,
                                         "reservation": 9223372036854775807},
                              "blockIO": {"weight": 65535}}}})");
  INFO((spec ? std::string() : spec.error().message));
  REQUIRE(spec);
  CHECK(spec->process->user.uid == 4294967295u);
  CHECK(spec->process->oomScoreAdj == INT32_MIN);
  CHECK(spec->process->rlimits[0].hard == UINT64_MAX);
  CHECK(spec->linux->resources->memory->limit == INT64_MIN);
  CHECK(spec->linux->resources->memory->reservation == INT64_MAX);
  CHECK(spec->linux->resources->blockIO->weight == 65535);
}

TEST_CASE("parse: malformed JSON names the character and the offset", "[parse]") {
  CHECK(error_of(R"({"ociVersion": "1.0.0",})") ==
        "invalid character '}': parse error at offset 23: Missing a name for object member.");
  CHECK(error_of(R"({"a": tru})") ==
        "invalid character '}': parse error at offset 9: Invalid value.");
  CHECK(error_of("{} x") ==
        "invalid character 'x': parse error at offset 3: The document root must not be followed "
        "by other values.");
  CHECK(error_of("{\"a\": \x01}") ==
        "invalid character '\\x01': parse error at offset 6: Invalid value.");
}

TEST_CASE("parse: truncated or empty input is an unexpected end", "[parse]") {
  CHECK(error_of(R"({"ociVersion": "1.0)") ==
        "unexpected end of JSON input: parse error at offset 19: Missing a closing quotation "
        "mark in string.");
  CHECK(error_of("") ==
        "unexpected end of JSON input: parse error at offset 0: The document is empty.");
  CHECK(error_of("  ") ==
        "unexpected end of JSON input: parse error at offset 2: The document is empty.");
}

TEST_CASE("parse: strings keep escapes, embedded NULs and UTF-8", "[parse]") {
  auto spec = parse_spec(R"({"hostname": "a\u0000b\n\u00e9\u2028", "domainname": "ü"})");
  REQUIRE(spec);
  CHECK(spec->hostname == std::string("a\0b\n\xc3\xa9\xe2\x80\xa8", 9));
  CHECK(spec->domainname == "\xc3\xbc");
}

TEST_CASE("parse_process: an exec --process document", "[parse]") {
  auto process = parse_process(R"({"terminal": false, "user": {"uid": 5, "gid": 6},
      "args": ["ls", "-l"], "env": ["A=b"], "cwd": "/tmp",
      "capabilities": {"effective": ["CAP_KILL"]}, "noNewPrivileges": true})");
  REQUIRE(process);
  CHECK(process->user.uid == 5);
  CHECK(process->args == std::vector<std::string>{"ls", "-l"});
  CHECK(process->cwd == "/tmp");
  CHECK(process->noNewPrivileges);
  CHECK(process->capabilities->effective == std::vector<std::string>{"CAP_KILL"});
  CHECK_FALSE(process->capabilities->bounding);
}

TEST_CASE("parse_process: paths start at the process object", "[parse]") {
  auto process = parse_process(R"({"user": {"additionalGids": [1, -2]}})");
  REQUIRE_FALSE(process);
  CHECK(process.error().message == "/user/additionalGids/1: -2 is out of range for uint32");
  CHECK(parse_process("[").error().message ==
        "unexpected end of JSON input: parse error at offset 1: Invalid value.");
}

TEST_CASE("parse_resources: an update --resources document", "[parse]") {
  auto resources = parse_resources(R"({"memory": {"limit": 1000, "swap": 2000},
      "cpu": {"shares": 512, "cpus": "1"}, "pids": {"limit": -1},
      "unified": {"memory.high": "max"}})");
  REQUIRE(resources);
  CHECK(resources->memory->limit == 1000);
  CHECK(resources->memory->swap == 2000);
  CHECK(resources->cpu->shares == 512u);
  CHECK(resources->cpu->cpus == "1");
  CHECK(resources->pids->limit == -1);
  CHECK(resources->unified.at("memory.high") == "max");

  auto bad = parse_resources(R"({"cpu": {"quota": "max"}})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "/cpu/quota: expected int64, got string");
}
