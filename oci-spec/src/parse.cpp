// config.json -> Spec. Each struct's reader lists its JSON keys; json/read.hpp does the typing,
// the paths and the errors.
//
// The readers are `static` in mkrun::oci rather than in an anonymous namespace: the generic
// readers find them by argument-dependent lookup, which does not look into anonymous namespaces.
#include "mkrun/oci/parse.hpp"

#include "mkrun/oci/json/read.hpp"

namespace mkrun::oci {

using json::Fields;
using json::Status;
using json::Value;
using Path = std::string;

// Declared first because they refer to each other in any order.
static Status read_json(const Value& v, const Path& path, ConsoleSize& out);
static Status read_json(const Value& v, const Path& path, User& out);
static Status read_json(const Value& v, const Path& path, Capabilities& out);
static Status read_json(const Value& v, const Path& path, Rlimit& out);
static Status read_json(const Value& v, const Path& path, Scheduler& out);
static Status read_json(const Value& v, const Path& path, IoPriority& out);
static Status read_json(const Value& v, const Path& path, ExecCpuAffinity& out);
static Status read_json(const Value& v, const Path& path, Process& out);
static Status read_json(const Value& v, const Path& path, Root& out);
static Status read_json(const Value& v, const Path& path, IdMapping& out);
static Status read_json(const Value& v, const Path& path, Mount& out);
static Status read_json(const Value& v, const Path& path, Hook& out);
static Status read_json(const Value& v, const Path& path, Hooks& out);
static Status read_json(const Value& v, const Path& path, Namespace& out);
static Status read_json(const Value& v, const Path& path, Device& out);
static Status read_json(const Value& v, const Path& path, DeviceCgroupRule& out);
static Status read_json(const Value& v, const Path& path, MemoryResources& out);
static Status read_json(const Value& v, const Path& path, CpuResources& out);
static Status read_json(const Value& v, const Path& path, PidsResources& out);
static Status read_json(const Value& v, const Path& path, WeightDevice& out);
static Status read_json(const Value& v, const Path& path, ThrottleDevice& out);
static Status read_json(const Value& v, const Path& path, BlockIoResources& out);
static Status read_json(const Value& v, const Path& path, HugepageLimit& out);
static Status read_json(const Value& v, const Path& path, InterfacePriority& out);
static Status read_json(const Value& v, const Path& path, NetworkResources& out);
static Status read_json(const Value& v, const Path& path, RdmaLimit& out);
static Status read_json(const Value& v, const Path& path, Resources& out);
static Status read_json(const Value& v, const Path& path, SeccompArg& out);
static Status read_json(const Value& v, const Path& path, SeccompSyscall& out);
static Status read_json(const Value& v, const Path& path, Seccomp& out);
static Status read_json(const Value& v, const Path& path, IntelRdt& out);
static Status read_json(const Value& v, const Path& path, Personality& out);
static Status read_json(const Value& v, const Path& path, MemoryPolicy& out);
static Status read_json(const Value& v, const Path& path, TimeOffset& out);
static Status read_json(const Value& v, const Path& path, NetDevice& out);
static Status read_json(const Value& v, const Path& path, Linux& out);
static Status read_json(const Value& v, const Path& path, Spec& out);

// --- process ---

static Status read_json(const Value& v, const Path& path, ConsoleSize& out) {
  return Fields(v, path).get("height", out.height).get("width", out.width).status();
}

static Status read_json(const Value& v, const Path& path, User& out) {
  return Fields(v, path)
      .get("uid", out.uid)
      .get("gid", out.gid)
      .get("umask", out.umask)
      .get("additionalGids", out.additionalGids)
      .status();
}

static Status read_json(const Value& v, const Path& path, Capabilities& out) {
  return Fields(v, path)
      .get("bounding", out.bounding)
      .get("effective", out.effective)
      .get("inheritable", out.inheritable)
      .get("permitted", out.permitted)
      .get("ambient", out.ambient)
      .status();
}

static Status read_json(const Value& v, const Path& path, Rlimit& out) {
  return Fields(v, path).get("type", out.type).get("hard", out.hard).get("soft", out.soft).status();
}

static Status read_json(const Value& v, const Path& path, Scheduler& out) {
  return Fields(v, path)
      .get("policy", out.policy)
      .get("nice", out.nice)
      .get("priority", out.priority)
      .get("flags", out.flags)
      .get("runtime", out.runtime)
      .get("deadline", out.deadline)
      .get("period", out.period)
      .status();
}

static Status read_json(const Value& v, const Path& path, IoPriority& out) {
  return Fields(v, path).get("class", out.ioClass).get("priority", out.priority).status();
}

static Status read_json(const Value& v, const Path& path, ExecCpuAffinity& out) {
  return Fields(v, path).get("initial", out.initial).get("final", out.final).status();
}

static Status read_json(const Value& v, const Path& path, Process& out) {
  return Fields(v, path)
      .get("terminal", out.terminal)
      .get("consoleSize", out.consoleSize)
      .get("user", out.user)
      .get("args", out.args)
      .get("env", out.env)
      .get("cwd", out.cwd)
      .get("capabilities", out.capabilities)
      .get("rlimits", out.rlimits)
      .get("noNewPrivileges", out.noNewPrivileges)
      .get("apparmorProfile", out.apparmorProfile)
      .get("oomScoreAdj", out.oomScoreAdj)
      .get("selinuxLabel", out.selinuxLabel)
      .get("scheduler", out.scheduler)
      .get("ioPriority", out.ioPriority)
      .get("execCPUAffinity", out.execCPUAffinity)
      .status();
}

// --- root, mounts, hooks ---

static Status read_json(const Value& v, const Path& path, Root& out) {
  return Fields(v, path).get("path", out.path).get("readonly", out.readonly).status();
}

static Status read_json(const Value& v, const Path& path, IdMapping& out) {
  return Fields(v, path)
      .get("containerID", out.containerID)
      .get("hostID", out.hostID)
      .get("size", out.size)
      .status();
}

static Status read_json(const Value& v, const Path& path, Mount& out) {
  return Fields(v, path)
      .get("destination", out.destination)
      .get("type", out.type)
      .get("source", out.source)
      .get("options", out.options)
      .get("uidMappings", out.uidMappings)
      .get("gidMappings", out.gidMappings)
      .status();
}

static Status read_json(const Value& v, const Path& path, Hook& out) {
  return Fields(v, path)
      .get("path", out.path)
      .get("args", out.args)
      .get("env", out.env)
      .get("timeout", out.timeout)
      .status();
}

static Status read_json(const Value& v, const Path& path, Hooks& out) {
  return Fields(v, path)
      .get("prestart", out.prestart)
      .get("createRuntime", out.createRuntime)
      .get("createContainer", out.createContainer)
      .get("startContainer", out.startContainer)
      .get("poststart", out.poststart)
      .get("poststop", out.poststop)
      .status();
}

// --- linux ---

static Status read_json(const Value& v, const Path& path, Namespace& out) {
  return Fields(v, path).get("type", out.type).get("path", out.path).status();
}

static Status read_json(const Value& v, const Path& path, Device& out) {
  return Fields(v, path)
      .get("type", out.type)
      .get("path", out.path)
      .get("major", out.major)
      .get("minor", out.minor)
      .get("fileMode", out.fileMode)
      .get("uid", out.uid)
      .get("gid", out.gid)
      .status();
}

static Status read_json(const Value& v, const Path& path, DeviceCgroupRule& out) {
  return Fields(v, path)
      .get("allow", out.allow)
      .get("type", out.type)
      .get("major", out.major)
      .get("minor", out.minor)
      .get("access", out.access)
      .status();
}

static Status read_json(const Value& v, const Path& path, MemoryResources& out) {
  return Fields(v, path)
      .get("limit", out.limit)
      .get("reservation", out.reservation)
      .get("swap", out.swap)
      .get("kernel", out.kernel)
      .get("kernelTCP", out.kernelTCP)
      .get("swappiness", out.swappiness)
      .get("disableOOMKiller", out.disableOOMKiller)
      .get("useHierarchy", out.useHierarchy)
      .get("checkBeforeUpdate", out.checkBeforeUpdate)
      .status();
}

static Status read_json(const Value& v, const Path& path, CpuResources& out) {
  return Fields(v, path)
      .get("shares", out.shares)
      .get("quota", out.quota)
      .get("burst", out.burst)
      .get("period", out.period)
      .get("realtimeRuntime", out.realtimeRuntime)
      .get("realtimePeriod", out.realtimePeriod)
      .get("cpus", out.cpus)
      .get("mems", out.mems)
      .get("idle", out.idle)
      .status();
}

static Status read_json(const Value& v, const Path& path, PidsResources& out) {
  return Fields(v, path).get("limit", out.limit).status();
}

static Status read_json(const Value& v, const Path& path, WeightDevice& out) {
  return Fields(v, path)
      .get("major", out.major)
      .get("minor", out.minor)
      .get("weight", out.weight)
      .get("leafWeight", out.leafWeight)
      .status();
}

static Status read_json(const Value& v, const Path& path, ThrottleDevice& out) {
  return Fields(v, path)
      .get("major", out.major)
      .get("minor", out.minor)
      .get("rate", out.rate)
      .status();
}

static Status read_json(const Value& v, const Path& path, BlockIoResources& out) {
  return Fields(v, path)
      .get("weight", out.weight)
      .get("leafWeight", out.leafWeight)
      .get("weightDevice", out.weightDevice)
      .get("throttleReadBpsDevice", out.throttleReadBpsDevice)
      .get("throttleWriteBpsDevice", out.throttleWriteBpsDevice)
      .get("throttleReadIOPSDevice", out.throttleReadIOPSDevice)
      .get("throttleWriteIOPSDevice", out.throttleWriteIOPSDevice)
      .status();
}

static Status read_json(const Value& v, const Path& path, HugepageLimit& out) {
  return Fields(v, path).get("pageSize", out.pageSize).get("limit", out.limit).status();
}

static Status read_json(const Value& v, const Path& path, InterfacePriority& out) {
  return Fields(v, path).get("name", out.name).get("priority", out.priority).status();
}

static Status read_json(const Value& v, const Path& path, NetworkResources& out) {
  return Fields(v, path).get("classID", out.classID).get("priorities", out.priorities).status();
}

static Status read_json(const Value& v, const Path& path, RdmaLimit& out) {
  return Fields(v, path)
      .get("hcaHandles", out.hcaHandles)
      .get("hcaObjects", out.hcaObjects)
      .status();
}

static Status read_json(const Value& v, const Path& path, Resources& out) {
  return Fields(v, path)
      .get("devices", out.devices)
      .get("memory", out.memory)
      .get("cpu", out.cpu)
      .get("pids", out.pids)
      .get("blockIO", out.blockIO)
      .get("hugepageLimits", out.hugepageLimits)
      .get("network", out.network)
      .get("rdma", out.rdma)
      .get("unified", out.unified)
      .status();
}

static Status read_json(const Value& v, const Path& path, SeccompArg& out) {
  return Fields(v, path)
      .get("index", out.index)
      .get("value", out.value)
      .get("valueTwo", out.valueTwo)
      .get("op", out.op)
      .status();
}

static Status read_json(const Value& v, const Path& path, SeccompSyscall& out) {
  return Fields(v, path)
      .get("names", out.names)
      .get("action", out.action)
      .get("errnoRet", out.errnoRet)
      .get("args", out.args)
      .status();
}

static Status read_json(const Value& v, const Path& path, Seccomp& out) {
  return Fields(v, path)
      .get("defaultAction", out.defaultAction)
      .get("defaultErrnoRet", out.defaultErrnoRet)
      .get("architectures", out.architectures)
      .get("flags", out.flags)
      .get("listenerPath", out.listenerPath)
      .get("listenerMetadata", out.listenerMetadata)
      .get("syscalls", out.syscalls)
      .status();
}

static Status read_json(const Value& v, const Path& path, IntelRdt& out) {
  return Fields(v, path)
      .get("closID", out.closID)
      .get("l3CacheSchema", out.l3CacheSchema)
      .get("memBwSchema", out.memBwSchema)
      .get("schemata", out.schemata)
      .get("enableMonitoring", out.enableMonitoring)
      .get("enableCMT", out.enableCMT)
      .get("enableMBM", out.enableMBM)
      .status();
}

static Status read_json(const Value& v, const Path& path, Personality& out) {
  return Fields(v, path).get("domain", out.domain).get("flags", out.flags).status();
}

static Status read_json(const Value& v, const Path& path, MemoryPolicy& out) {
  return Fields(v, path)
      .get("mode", out.mode)
      .get("nodes", out.nodes)
      .get("flags", out.flags)
      .status();
}

static Status read_json(const Value& v, const Path& path, TimeOffset& out) {
  return Fields(v, path).get("secs", out.secs).get("nanosecs", out.nanosecs).status();
}

static Status read_json(const Value& v, const Path& path, NetDevice& out) {
  return Fields(v, path).get("name", out.name).status();
}

static Status read_json(const Value& v, const Path& path, Linux& out) {
  return Fields(v, path)
      .get("uidMappings", out.uidMappings)
      .get("gidMappings", out.gidMappings)
      .get("sysctl", out.sysctl)
      .get("resources", out.resources)
      .get("cgroupsPath", out.cgroupsPath)
      .get("namespaces", out.namespaces)
      .get("devices", out.devices)
      .get("seccomp", out.seccomp)
      .get("rootfsPropagation", out.rootfsPropagation)
      .get("maskedPaths", out.maskedPaths)
      .get("readonlyPaths", out.readonlyPaths)
      .get("mountLabel", out.mountLabel)
      .get("intelRdt", out.intelRdt)
      .get("personality", out.personality)
      .get("timeOffsets", out.timeOffsets)
      .get("netDevices", out.netDevices)
      .get("memoryPolicy", out.memoryPolicy)
      .status();
}

// --- the document ---

static Status read_json(const Value& v, const Path& path, Spec& out) {
  return Fields(v, path)
      .get("ociVersion", out.ociVersion)
      .get("process", out.process)
      .get("root", out.root)
      .get("hostname", out.hostname)
      .get("domainname", out.domainname)
      .get("mounts", out.mounts)
      .get("hooks", out.hooks)
      .get("annotations", out.annotations)
      .get("linux", out.linux)
      .status();
}

namespace {

template <class T>
SpecResult<T> parse_as(std::string_view text) {
  rapidjson::Document doc;
  if (auto parsed = json::parse_document(text, doc); !parsed)
    return std::unexpected(parsed.error());
  T result{};
  if (auto read = read_json(doc, Path{}, result); !read) return std::unexpected(read.error());
  return result;
}

}  // namespace

SpecResult<Spec> parse_spec(std::string_view text) {
  return parse_as<Spec>(text);
}

SpecResult<Process> parse_process(std::string_view text) {
  return parse_as<Process>(text);
}

SpecResult<Resources> parse_resources(std::string_view text) {
  return parse_as<Resources>(text);
}

}  // namespace mkrun::oci
