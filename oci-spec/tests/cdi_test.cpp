// CDI: parsing (JSON and YAML), validation, names, the registry's priority rule, and the edits.
#include <catch2/catch.hpp>

#include "mkrun/oci/cdi.hpp"
#include "mkrun/oci/parse.hpp"

namespace oci = mkrun::oci;
using namespace mkrun::oci::cdi;

namespace {

// Every field of a 1.1.0 spec.
constexpr const char* kEveryFieldJson = R"({
  "cdiVersion": "1.1.0", "kind": "vendor.com/net.fabric",
  "annotations": {"origin": "test"},
  "containerEdits": {
    "env": ["FABRIC=1"],
    "hooks": [{"hookName": "createContainer", "path": "/bin/hook", "args": ["hook", "x"],
               "env": ["A=b"], "timeout": 5}],
    "additionalGids": [44, 0]
  },
  "devices": [{
    "name": "nic0",
    "annotations": {"slot": "3"},
    "containerEdits": {
      "deviceNodes": [{"path": "/dev/fab0", "hostPath": "/dev/fabric/0", "type": "c",
                       "major": 240, "minor": 3, "fileMode": 432, "permissions": "rw",
                       "uid": 1000, "gid": 1001}],
      "mounts": [{"hostPath": "/opt/fab/lib", "containerPath": "/usr/lib/fab",
                  "options": ["ro", "bind"], "type": "bind"}],
      "netDevices": [{"hostInterfaceName": "ib0", "name": "fab0"}],
      "intelRdt": {"closID": "hpc", "l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50",
                   "schemata": ["L2:0=3"], "enableMonitoring": true}
    }
  }]
})";

// The same, in YAML, with YAML's notations (a leading-zero octal mode, unquoted numbers).
constexpr const char* kEveryFieldYaml = R"(---
cdiVersion: 1.1.0
kind: vendor.com/net.fabric
annotations:
  origin: test
containerEdits:
  env: [FABRIC=1]
  hooks:
  - hookName: createContainer
    path: /bin/hook
    args: [hook, x]
    env: ["A=b"]
    timeout: 5
  additionalGids: [44, 0]
devices:
- name: nic0
  annotations: {slot: "3"}
  containerEdits:
    deviceNodes:
    - path: /dev/fab0
      hostPath: /dev/fabric/0
      type: c
      major: 240
      minor: 3
      fileMode: 0660
      permissions: rw
      uid: 1000
      gid: 1001
    mounts:
    - {hostPath: /opt/fab/lib, containerPath: /usr/lib/fab, options: [ro, bind], type: bind}
    netDevices:
    - hostInterfaceName: ib0
      name: fab0
    intelRdt:
      closID: hpc
      l3CacheSchema: "L3:0=f"
      memBwSchema: "MB:0=50"
      schemata: ["L2:0=3"]
      enableMonitoring: true
)";

// What NVIDIA's `nvidia-ctk cdi generate` writes (trimmed to one GPU), host paths in a scratch
// directory as the integration test uses them.
constexpr const char* kNvidiaCtkYaml = R"(---
cdiVersion: 0.5.0
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
    hostPath: /scratch/dev/nvidiactl
  - path: /dev/nvidia-uvm
    hostPath: /scratch/dev/nvidia-uvm
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  hooks:
  - args:
    - nvidia-ctk
    - hook
    - update-ldcache
    - --folder
    - /usr/lib/x86_64-linux-gnu
    hookName: createContainer
    path: /usr/bin/nvidia-ctk
  mounts:
  - containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05
    hostPath: /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05
    options:
    - ro
    - nosuid
    - nodev
    - bind
devices:
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: /scratch/dev/nvidia0
  name: "0"
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: /scratch/dev/nvidia0
  name: GPU-6b5f3a09-8d9c-2f4e-b7a1-0c1d2e3f4a5b
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: /scratch/dev/nvidia0
  name: all
kind: nvidia.com/gpu
)";

Spec parsed(const char* text, Format format = Format::kJson) {
  auto spec = mkrun::oci::cdi::parse_spec(text, format);
  INFO((spec ? std::string() : spec.error().message));
  REQUIRE(spec);
  return *spec;
}

std::string parse_error(const std::string& text, Format format = Format::kJson) {
  auto spec = mkrun::oci::cdi::parse_spec(text, format);
  REQUIRE_FALSE(spec);
  return spec.error().message;
}

std::string validation_error(const std::string& text, Format format = Format::kJson) {
  Spec spec = parsed(text.c_str(), format);
  auto valid = mkrun::oci::cdi::validate_spec(spec);
  REQUIRE_FALSE(valid);
  return valid.error().message;
}

// A minimal valid spec of `version` with one device whose edits are `edits` (JSON).
std::string spec_with(const std::string& version, const std::string& edits,
                      const std::string& name = "d0", const std::string& kind = "v.com/c") {
  return R"({"cdiVersion":")" + version + R"(","kind":")" + kind + R"(","devices":[{"name":")" +
         name + R"(","containerEdits":)" + edits + "}]}";
}

HostDeviceLookup fake_host(std::map<std::string, HostDevice> nodes) {
  return [nodes](const std::string& path) -> oci::SpecResult<HostDevice> {
    auto found = nodes.find(path);
    if (found == nodes.end()) return std::unexpected(oci::SpecError{"no such file or directory"});
    return found->second;
  };
}

DeviceNode node(std::string path, std::string host = "", std::string type = "", int64_t major = 0,
                std::string permissions = "") {
  DeviceNode n;
  n.path = std::move(path);
  n.hostPath = std::move(host);
  n.type = std::move(type);
  n.major = major;
  n.permissions = std::move(permissions);
  return n;
}

oci::Spec base_config() {
  auto spec = oci::parse_spec(
      R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","env":["PATH=/bin","A=1"],)"
      R"("user":{"uid":0,"gid":0}},"root":{"path":"rootfs"},)"
      R"("mounts":[{"destination":"/proc","type":"proc","source":"proc"},)"
      R"({"destination":"/dev/pts","type":"devpts","source":"devpts"},)"
      R"({"destination":"/dev","type":"tmpfs","source":"tmpfs"}],)"
      R"("linux":{"namespaces":[{"type":"mount"}],)"
      R"("resources":{"devices":[{"allow":false,"access":"rwm"}]}}})");
  REQUIRE(spec);
  return *spec;
}

}  // namespace

TEST_CASE("cdi: every field of a 1.1.0 spec is read, from JSON and from YAML alike") {
  for (auto [text, format] :
       {std::pair{kEveryFieldJson, Format::kJson}, std::pair{kEveryFieldYaml, Format::kYaml}}) {
    Spec spec = parsed(text, format);
    CHECK(validate_spec(spec));
    CHECK(spec.cdiVersion == "1.1.0");
    CHECK(spec.kind == "vendor.com/net.fabric");
    CHECK(spec.annotations.at("origin") == "test");
    CHECK(spec.containerEdits.env == std::vector<std::string>{"FABRIC=1"});
    REQUIRE(spec.containerEdits.hooks.size() == 1);
    const Hook& hook = spec.containerEdits.hooks[0];
    CHECK(hook.hookName == "createContainer");
    CHECK(hook.args == std::vector<std::string>{"hook", "x"});
    CHECK(hook.env == std::vector<std::string>{"A=b"});
    CHECK(hook.timeout == 5);
    CHECK(spec.containerEdits.additionalGids == std::vector<uint32_t>{44, 0});
    REQUIRE(spec.devices.size() == 1);
    const Device& device = spec.devices[0];
    CHECK(device.name == "nic0");
    CHECK(device.annotations.at("slot") == "3");
    REQUIRE(device.containerEdits.deviceNodes.size() == 1);
    const DeviceNode& node = device.containerEdits.deviceNodes[0];
    CHECK(node.path == "/dev/fab0");
    CHECK(node.hostPath == "/dev/fabric/0");
    CHECK(node.type == "c");
    CHECK(node.major == 240);
    CHECK(node.minor == 3);
    CHECK(node.fileMode == 0660u);
    CHECK(node.permissions == "rw");
    CHECK(node.uid == 1000u);
    CHECK(node.gid == 1001u);
    REQUIRE(device.containerEdits.mounts.size() == 1);
    CHECK(device.containerEdits.mounts[0].hostPath == "/opt/fab/lib");
    CHECK(device.containerEdits.mounts[0].containerPath == "/usr/lib/fab");
    CHECK(device.containerEdits.mounts[0].options == std::vector<std::string>{"ro", "bind"});
    CHECK(device.containerEdits.mounts[0].type == "bind");
    REQUIRE(device.containerEdits.netDevices.size() == 1);
    CHECK(device.containerEdits.netDevices[0].hostInterfaceName == "ib0");
    CHECK(device.containerEdits.netDevices[0].name == "fab0");
    REQUIRE(device.containerEdits.intelRdt);
    CHECK(device.containerEdits.intelRdt->closID == "hpc");
    CHECK(device.containerEdits.intelRdt->l3CacheSchema == "L3:0=f");
    CHECK(device.containerEdits.intelRdt->memBwSchema == "MB:0=50");
    CHECK(device.containerEdits.intelRdt->schemata == std::vector<std::string>{"L2:0=3"});
    CHECK(device.containerEdits.intelRdt->enableMonitoring);
  }
}

TEST_CASE("cdi: nvidia-ctk's output reads and validates; `name: \"0\"` is the device 0") {
  Spec spec = parsed(kNvidiaCtkYaml, Format::kYaml);
  CHECK(validate_spec(spec));
  REQUIRE(spec.devices.size() == 3);
  CHECK(spec.devices[0].name == "0");
  CHECK(spec.devices[2].name == "all");
  CHECK(spec.containerEdits.hooks[0].args.back() == "/usr/lib/x86_64-linux-gnu");
  CHECK(minimum_version(spec) == "0.5.0");  // hostPath in deviceNodes, names starting with a digit
}

TEST_CASE("cdi: YAML scalars are typed by the field, as CDI's decoder does") {
  Spec spec = parsed(R"(
cdiVersion: "0.5.0"
kind: v.com/c
devices:
- name: 0
  annotations: {uid: 5, gid: true}
  containerEdits:
    env: [TRUE=yes, N=1]
    deviceNodes: [{path: /dev/x, major: 0x10, minor: 0o7, uid: 12}]
)",
                     Format::kYaml);
  CHECK(spec.devices[0].name == "0");
  CHECK(spec.devices[0].annotations.at("uid") == "5");  // a name there, not the field
  CHECK(spec.devices[0].annotations.at("gid") == "true");
  CHECK(spec.devices[0].containerEdits.deviceNodes[0].major == 16);
  CHECK(spec.devices[0].containerEdits.deviceNodes[0].minor == 7);
  CHECK(spec.devices[0].containerEdits.deviceNodes[0].uid == 12u);
}

TEST_CASE("cdi: each version from 0.3.0 to 1.1.0 is read; older, newer and unknown are not") {
  for (const char* version :
       {"0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0", "v1.0.0"}) {
    Spec spec = parsed(spec_with(version, R"({"env":["A=1"]})").c_str());
    INFO(version);
    CHECK(validate_spec(spec));
  }
  for (const char* version : {"0.2.0", "1.2.0", "", "1.0"}) {
    INFO(version);
    CHECK(validation_error(spec_with(version, R"({"env":["A=1"]})")).starts_with("cdiVersion: "));
  }
}

TEST_CASE("cdi: a field newer than the spec's version is refused, naming the version needed") {
  struct Case {
    const char* edits;
    const char* needs;
  };
  for (auto [edits, needs] : {
           Case{R"({"mounts":[{"hostPath":"/a","containerPath":"/b","type":"bind"}]})", "0.4.0"},
           Case{R"({"deviceNodes":[{"path":"/dev/a","hostPath":"/dev/b"}]})", "0.5.0"},
           Case{R"({"intelRdt":{"closID":"x"}})", "0.7.0"},
           Case{R"({"additionalGids":[5]})", "0.7.0"},
           Case{R"({"netDevices":[{"hostInterfaceName":"e","name":"f"}]})", "1.1.0"},
           Case{R"({"intelRdt":{"enableMonitoring":true}})", "1.1.0"},
       }) {
    INFO(edits);
    Spec spec = parsed(spec_with("0.3.0", edits).c_str());
    CHECK(minimum_version(spec) == needs);
    CHECK(validation_error(spec_with("0.3.0", edits)) ==
          std::string("cdiVersion: \"0.3.0\" is too old for the fields used: they need at least ") +
              needs);
    CHECK(validate_spec(parsed(spec_with(needs, edits).c_str())));
  }
  CHECK(minimum_version(parsed(spec_with("0.3.0", R"({"env":["A=1"]})", "1d").c_str())) == "0.5.0");
  CHECK(minimum_version(
            parsed(spec_with("0.3.0", R"({"env":["A=1"]})", "d", "v.com/c.x").c_str())) == "0.6.0");
}

TEST_CASE("cdi: broken files say where and what") {
  CHECK(parse_error("{\"cdiVersion\": ").starts_with("unexpected end of JSON input"));
  CHECK(parse_error("cdiVersion: [1,\n", Format::kYaml).starts_with("yaml: "));
  CHECK(parse_error("", Format::kYaml) == "no spec data (empty file)");
  CHECK(parse_error(R"({"cdiVersion":"0.3.0","kind":"v.com/c","devices":[{"name":"a",)"
                    R"("containerEdits":{"mounts":[{"hostpath":"/a","containerPath":"/b",)"
                    R"("source":"/x"}]}}]})") ==
        "devices[0].containerEdits.mounts[0].source: unknown field");
  CHECK(parse_error(R"({"cdiVersion":"0.3.0","devices":[{"name":7}]})") ==
        "devices[0].name: expected string, got number");
  CHECK(parse_error(spec_with("0.3.0", R"({"deviceNodes":[{"path":"/d","major":"1"}]})")) ==
        "devices[0].containerEdits.deviceNodes[0].major: expected int64, got string");
  CHECK(parse_error("a: &x [1]\nb: *x\n", Format::kYaml).ends_with("aliases are not supported"));
  CHECK(parse_error("kind: a\nkind: b\n", Format::kYaml).ends_with("key \"kind\" already set"));
  CHECK(parse_error(R"({"kind":"a","kind":"b"})") == "kind: duplicate key");
  CHECK(parse_error("[1]") == "(top level): expected object, got array");
}

TEST_CASE("cdi: validation refuses what CDI refuses, naming the field") {
  auto edits_error = [](const std::string& edits) {
    return validation_error(spec_with("1.1.0", edits));
  };
  CHECK(edits_error(R"({"env":["=x"]})") ==
        "devices[0].containerEdits.env[0]: \"=x\" is not NAME=value");
  CHECK(edits_error(R"({"env":["NOVALUE"]})").starts_with("devices[0].containerEdits.env[0]"));
  CHECK(edits_error(R"({"deviceNodes":[{"path":""}]})") ==
        "devices[0].containerEdits.deviceNodes[0].path: empty device path");
  CHECK(edits_error(R"({"deviceNodes":[{"path":"/d","type":"x"}]})")
            .starts_with("devices[0].containerEdits.deviceNodes[0].type: invalid type \"x\""));
  CHECK(edits_error(R"({"deviceNodes":[{"path":"/d","permissions":"rwx"}]})")
            .starts_with("devices[0].containerEdits.deviceNodes[0].permissions: "));
  CHECK(edits_error(R"({"hooks":[{"hookName":"preStart","path":"/h"}]})") ==
        "devices[0].containerEdits.hooks[0].hookName: invalid hook name \"preStart\"");
  CHECK(edits_error(R"({"hooks":[{"hookName":"poststop"}]})") ==
        "devices[0].containerEdits.hooks[0].path: empty hook path");
  CHECK(edits_error(R"({"hooks":[{"hookName":"poststop","path":"/h","env":["x"]}]})")
            .starts_with("devices[0].containerEdits.hooks[0].env[0]"));
  CHECK(edits_error(R"({"mounts":[{"containerPath":"/b"}]})") ==
        "devices[0].containerEdits.mounts[0].hostPath: empty host path");
  CHECK(edits_error(R"({"mounts":[{"hostPath":"/b"}]})") ==
        "devices[0].containerEdits.mounts[0].containerPath: empty container path");
  CHECK(edits_error(R"({"intelRdt":{"closID":"a/b"}})") ==
        "devices[0].containerEdits.intelRdt.closID: invalid CLOS id \"a/b\"");
  CHECK(edits_error(R"({"netDevices":[{"hostInterfaceName":"e","name":"f"},)"
                    R"({"hostInterfaceName":"e","name":"g"}]})") ==
        "devices[0].containerEdits.netDevices[1].hostInterfaceName: \"e\" given twice");
  CHECK(edits_error(R"({"netDevices":[{"hostInterfaceName":"e"}]})") ==
        "devices[0].containerEdits.netDevices[0].name: empty");
  CHECK(edits_error(R"({})") == "devices[0].containerEdits: a device must edit something");
  CHECK(validation_error(spec_with("1.1.0", R"({"env":["A=1"]})", "-bad")) ==
        "devices[0].name: \"-bad\" should start with a letter or digit");
  CHECK(validation_error(spec_with("1.1.0", R"({"env":["A=1"]})", "a/b")) ==
        "devices[0].name: invalid character '/' in \"a/b\"");
  CHECK(validation_error(spec_with("1.1.0", R"({"env":["A=1"]})", "d", "vendor")) ==
        "kind: \"vendor\" is not vendor/class");
  CHECK(validation_error(spec_with("1.1.0", R"({"env":["A=1"]})", "d", "1v/c")) ==
        "kind: vendor \"1v\" should start with a letter");
  CHECK(validation_error(spec_with("1.1.0", R"({"env":["A=1"]})", "d", "v/c-")) ==
        "kind: class \"c-\" should end with a letter or digit");
  CHECK(validation_error(R"({"cdiVersion":"1.1.0","kind":"v/c","devices":[]})") ==
        "devices: a spec must define at least one device");
  CHECK(validation_error(R"({"cdiVersion":"1.1.0","kind":"v/c","devices":[)"
                         R"({"name":"a","containerEdits":{"env":["A=1"]}},)"
                         R"({"name":"a","containerEdits":{"env":["A=2"]}}]})") ==
        "devices[1].name: device \"a\" defined twice");
  CHECK(validation_error(R"({"cdiVersion":"1.1.0","kind":"v/c","containerEdits":{"env":["x"]},)"
                         R"("devices":[{"name":"a","containerEdits":{"env":["A=1"]}}]})") ==
        "containerEdits.env[0]: \"x\" is not NAME=value");
}

TEST_CASE("cdi: qualified names and the annotations that ask for devices") {
  auto name = parse_qualified_name("nvidia.com/gpu=GPU-1:0");
  REQUIRE(name);
  CHECK(name->vendor == "nvidia.com");
  CHECK(name->device_class == "gpu");
  CHECK(name->name == "GPU-1:0");
  for (const char* bad : {"gpu=0", "/gpu=0", "nvidia.com/gpu", "nvidia.com/gpu=", "a/b=c d",
                          "nvidia.com/=0", "1a/b=c"}) {
    INFO(bad);
    CHECK_FALSE(parse_qualified_name(bad));
  }
  auto devices = requested_devices({{"cdi.k8s.io/b", "v.com/c=1,v.com/c=0"},
                                    {"cdi.k8s.io/a", "v.com/c=0"},
                                    {"other", "not a device"}});
  REQUIRE(devices);
  CHECK(*devices == std::vector<std::string>{"v.com/c=0", "v.com/c=1"});
  auto bad = requested_devices({{"cdi.k8s.io/x", "v.com/c=0,,"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("annotation cdi.k8s.io/x: invalid CDI device name \"\""));
}

TEST_CASE("cdi: the registry's priorities: later directories win, the same one conflicts") {
  auto spec = [](const char* env) {
    return parsed(spec_with("0.3.0", std::string(R"({"env":[")") + env + "\"]}").c_str());
  };
  SECTION("a higher priority wins") {
    Registry registry;
    registry.add("/etc/cdi/a.json", 0, spec("FROM=etc"));
    registry.add("/var/run/cdi/a.json", 1, spec("FROM=run"));
    auto edits = registry.edits_for({"v.com/c=d0"});
    REQUIRE(edits);
    CHECK(edits->env == std::vector<std::string>{"FROM=run"});
  }
  SECTION("a lower priority added later loses") {
    Registry registry;
    registry.add("/var/run/cdi/a.json", 1, spec("FROM=run"));
    registry.add("/etc/cdi/a.json", 0, spec("FROM=etc"));
    CHECK(registry.edits_for({"v.com/c=d0"})->env == std::vector<std::string>{"FROM=run"});
  }
  SECTION("the same priority is a conflict naming both files") {
    Registry registry;
    registry.add("/etc/cdi/a.json", 0, spec("FROM=a"));
    registry.add("/etc/cdi/b.json", 0, spec("FROM=b"));
    auto edits = registry.edits_for({"v.com/c=d0"});
    REQUIRE_FALSE(edits);
    CHECK(edits.error().message ==
          "CDI device \"v.com/c=d0\" is defined in both /etc/cdi/a.json and /etc/cdi/b.json, "
          "directories of the same priority");
  }
  SECTION("an unknown device names the files that failed to load") {
    Registry registry;
    registry.add("/etc/cdi/a.json", 0, spec("A=1"));
    registry.add_broken("/etc/cdi/x.yaml", "kind: \"x\" is not vendor/class");
    auto edits = registry.edits_for({"v.com/c=nope"});
    REQUIRE_FALSE(edits);
    CHECK(edits.error().message ==
          "unknown CDI device \"v.com/c=nope\": no spec that loaded defines it; not loaded: "
          "/etc/cdi/x.yaml: kind: \"x\" is not vendor/class");
  }
}

TEST_CASE("cdi: edits come in CDI's order: a spec's own once, then each device's") {
  Registry registry;
  registry.add("/a.json", 0,
               parsed(R"({"cdiVersion":"0.3.0","kind":"v.com/c","containerEdits":{"env":["S=a"]},)"
                      R"("devices":[{"name":"x","containerEdits":{"env":["X=1"]}},)"
                      R"({"name":"y","containerEdits":{"env":["Y=1"]}}]})"));
  registry.add("/b.json", 0,
               parsed(R"({"cdiVersion":"0.3.0","kind":"w.com/c","containerEdits":{"env":["S=b"]},)"
                      R"("devices":[{"name":"z","containerEdits":{"env":["Z=1"]}}]})"));
  auto edits = registry.edits_for({"v.com/c=x", "w.com/c=z", "v.com/c=y"});
  REQUIRE(edits);
  CHECK(edits->env == std::vector<std::string>{"S=a", "X=1", "S=b", "Z=1", "Y=1"});
}

TEST_CASE("cdi: env replaces a variable of the same name where it stands, appends the rest") {
  oci::Spec config = base_config();
  ContainerEdits edits;
  edits.env = {"A=2", "B=3"};
  REQUIRE(apply_edits(edits, fake_host({}), config));
  CHECK(config.process->env == std::vector<std::string>{"PATH=/bin", "A=2", "B=3"});
}

TEST_CASE("cdi: device nodes take what they leave out from the host, and a cgroup rule") {
  oci::Spec config = base_config();
  config.process->user.uid = 1000;
  config.process->user.gid = 100;
  ContainerEdits edits;
  edits.deviceNodes = {node("/dev/fuse"), node("/dev/gpu0", "/scratch/gpu0", "", 0, "rw"),
                       node("/dev/vendor", "", "c", 250, "none"), node("/dev/pipe", "", "p")};
  edits.deviceNodes[1].uid = 0;
  auto host =
      fake_host({{"/dev/fuse", {"c", 10, 229, 0666}}, {"/scratch/gpu0", {"c", 195, 0, 0600}}});
  REQUIRE(apply_edits(edits, host, config));
  const auto& devices = config.linux->devices;
  REQUIRE(devices.size() == 4);
  CHECK(devices[0].path == "/dev/fuse");
  CHECK(devices[0].type == "c");
  CHECK(devices[0].major == 10);
  CHECK(devices[0].minor == 229);
  CHECK(devices[0].fileMode == 0666u);
  CHECK(devices[0].uid == 1000u);  // the process's user, as CDI
  CHECK(devices[0].gid == 100u);
  CHECK(devices[1].path == "/dev/gpu0");
  CHECK(devices[1].major == 195);
  CHECK(devices[1].uid == 0u);  // given
  CHECK(devices[2].major == 250);
  CHECK_FALSE(devices[2].fileMode);  // no host node: taken as given
  CHECK(devices[3].type == "p");
  const auto& rules = config.linux->resources->devices;
  REQUIRE(rules.size() == 3);  // the deny-all, fuse, gpu0; "none" and the fifo get none
  CHECK(rules[1].allow);
  CHECK(rules[1].type == "c");
  CHECK(rules[1].major == 10);
  CHECK(rules[1].minor == 229);
  CHECK(rules[1].access == "rwm");
  CHECK(rules[2].access == "rw");
}

TEST_CASE("cdi: a device node the host lacks, or of another type, is an error") {
  oci::Spec config = base_config();
  ContainerEdits missing;
  missing.deviceNodes = {node("/dev/nope")};
  auto error = apply_edits(missing, fake_host({}), config);
  REQUIRE_FALSE(error);
  CHECK(error.error().message ==
        "device node /dev/nope: host device /dev/nope: no such file or directory");
  ContainerEdits mismatch;
  mismatch.deviceNodes = {node("/dev/sda", "", "c")};
  error = apply_edits(mismatch, fake_host({{"/dev/sda", {"b", 8, 0, 0660}}}), config);
  REQUIRE_FALSE(error);
  CHECK(error.error().message ==
        "device node /dev/sda: type \"c\" but host device /dev/sda has type \"b\"");
}

TEST_CASE("cdi: a device node replaces the config's at the same path") {
  oci::Spec config = base_config();
  config.linux->devices.push_back(oci::Device{"c", "/dev/fuse", 1, 1, std::nullopt, {}, {}});
  ContainerEdits edits;
  edits.deviceNodes = {node("/dev/fuse")};
  REQUIRE(apply_edits(edits, fake_host({{"/dev/fuse", {"c", 10, 229, 0666}}}), config));
  REQUIRE(config.linux->devices.size() == 1);
  CHECK(config.linux->devices[0].major == 10);
}

TEST_CASE("cdi: mounts replace the config's at their destination, then all sort by depth") {
  oci::Spec config = base_config();
  ContainerEdits edits;
  edits.mounts = {Mount{"/host/lib", "/usr/lib/mpi", {"ro", "bind"}, ""},
                  Mount{"/host/shm", "/dev", {"rbind"}, ""},
                  Mount{"/host/x", "/opt/../x", {}, "bind"}};
  REQUIRE(apply_edits(edits, fake_host({}), config));
  std::vector<std::string> destinations;
  for (const auto& m : config.mounts) destinations.push_back(m.destination);
  CHECK(destinations ==
        std::vector<std::string>{"/proc", "/dev", "/opt/../x", "/dev/pts", "/usr/lib/mpi"});
  CHECK(config.mounts[1].source == "/host/shm");  // replaced the tmpfs
  CHECK(config.mounts[1].options == std::vector<std::string>{"rbind"});
}

TEST_CASE("cdi: in a user namespace, binds are idmapped unless the spec chose") {
  oci::Spec config = base_config();
  config.linux->namespaces.push_back({"user", ""});
  ContainerEdits edits;
  edits.mounts = {Mount{"/a", "/a", {"bind"}, ""}, Mount{"/b", "/b", {"rbind"}, ""},
                  Mount{"/c", "/c", {}, "bind"}, Mount{"/d", "/d", {"rbind", "idmap"}, ""},
                  Mount{"/e", "/e", {}, "tmpfs"}};
  REQUIRE(apply_edits(edits, fake_host({}), config));
  auto options = [&](const char* destination) {
    for (const auto& m : config.mounts) {
      if (m.destination == destination) return m.options;
    }
    return std::vector<std::string>{"missing"};
  };
  CHECK(options("/a") == std::vector<std::string>{"bind", "idmap"});
  CHECK(options("/b") == std::vector<std::string>{"rbind", "ridmap"});
  CHECK(options("/c") == std::vector<std::string>{"idmap"});
  CHECK(options("/d") == std::vector<std::string>{"rbind", "idmap"});
  CHECK(options("/e").empty());
}

TEST_CASE("cdi: hooks go to their kind, gids once each, net devices and intelRdt set") {
  oci::Spec config = base_config();
  config.process->user.additionalGids = {44};
  Spec spec = parsed(kEveryFieldJson);
  Registry registry;
  registry.add("/x.json", 0, spec);
  auto edits = registry.edits_for({"vendor.com/net.fabric=nic0"});
  REQUIRE(edits);
  edits->hooks.push_back(Hook{"poststop", "/bin/stop", {}, {}, std::nullopt});
  edits->additionalGids.push_back(45);
  REQUIRE(apply_edits(*edits, fake_host({}), config));
  REQUIRE(config.hooks);
  REQUIRE(config.hooks->createContainer.size() == 1);
  CHECK(config.hooks->createContainer[0].path == "/bin/hook");
  CHECK(config.hooks->createContainer[0].env == std::vector<std::string>{"A=b"});
  CHECK(config.hooks->createContainer[0].timeout == 5);
  REQUIRE(config.hooks->poststop.size() == 1);
  CHECK_FALSE(config.hooks->poststop[0].env);  // none given: the runtime's environment
  CHECK(config.process->user.additionalGids == std::vector<uint32_t>{44, 45});  // 0 skipped
  CHECK(config.linux->netDevices.at("ib0").name == "fab0");
  REQUIRE(config.linux->intelRdt);
  CHECK(config.linux->intelRdt->closID == "hpc");
  CHECK(config.linux->intelRdt->schemata == std::vector<std::string>{"L2:0=3"});  // CDI 1.1
  CHECK(config.linux->intelRdt->enableMonitoring);
  CHECK(config.linux->devices[0].uid == 1000u);
}

TEST_CASE("cdi: a device applied twice has its hooks once; other edits stay idempotent") {
  oci::Spec config = base_config();
  Spec spec = parsed(kEveryFieldJson);
  Registry registry;
  registry.add("/x.json", 0, spec);
  auto edits = registry.edits_for({"vendor.com/net.fabric=nic0"});
  REQUIRE(edits);
  REQUIRE(apply_edits(*edits, fake_host({}), config));
  const oci::Spec once = config;
  REQUIRE(apply_edits(*edits, fake_host({}), config));  // an engine did it before mkrun
  CHECK(config.hooks->createContainer.size() == once.hooks->createContainer.size());
  CHECK(config.process->env == once.process->env);
  CHECK(config.mounts.size() == once.mounts.size());
  CHECK(config.linux->devices.size() == once.linux->devices.size());
  // A hook that differs (its arguments) is another hook.
  edits->hooks[0].args.push_back("--again");
  REQUIRE(apply_edits(*edits, fake_host({}), config));
  CHECK(config.hooks->createContainer.size() == once.hooks->createContainer.size() + 1);
}

TEST_CASE("cdi: the edited sections are written back, the rest of the config kept") {
  const std::string original =
      R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","env":["A=1"],"user":{"uid":0,)"
      R"("gid":0}},"root":{"path":"rootfs"},"x-unknown":{"kept":true},"mounts":[],)"
      R"("linux":{"namespaces":[{"type":"mount"}],"resources":{"memory":{"limit":1048576}}}})";
  auto config = oci::parse_spec(original);
  REQUIRE(config);
  Registry registry;
  registry.add("/x.json", 0, parsed(kEveryFieldJson));
  auto edits = registry.edits_for({"vendor.com/net.fabric=nic0"});
  REQUIRE(edits);
  REQUIRE(apply_edits(*edits, fake_host({}), *config));
  auto written = write_edited_sections(original, *config, *edits);
  REQUIRE(written);
  CHECK(written->find(R"("x-unknown":{"kept":true})") != std::string::npos);
  auto reread = oci::parse_spec(*written);
  REQUIRE(reread);
  CHECK(reread->process->env == config->process->env);
  CHECK(reread->process->user.additionalGids == std::vector<uint32_t>{44});
  REQUIRE(reread->mounts.size() == 1);
  CHECK(reread->mounts[0].destination == "/usr/lib/fab");
  CHECK(reread->hooks->createContainer.size() == 1);
  REQUIRE(reread->linux->devices.size() == 1);
  CHECK(reread->linux->devices[0].fileMode == 432u);
  CHECK(reread->linux->resources->devices.size() == 1);
  CHECK(reread->linux->resources->memory->limit == 1048576);
  CHECK(reread->linux->netDevices.at("ib0").name == "fab0");
  CHECK(reread->linux->intelRdt->memBwSchema == "MB:0=50");
  CHECK(reread->linux->intelRdt->schemata == std::vector<std::string>{"L2:0=3"});
  CHECK(reread->linux->intelRdt->enableMonitoring);
}
