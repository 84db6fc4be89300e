// The OCI runtime-spec 1.2 configuration (config.json) for Linux, as typed values.
//
// This header is the contract between oci-spec/ (which fills it from JSON and validates it) and
// runtime/ (which turns it into a container). It holds data only: no syscalls, no JSON.
// Field names follow the spec's JSON keys so that an error path such as
// "/linux/resources/memory/limit" maps to a member by reading it.
// An absent optional value is std::nullopt; an absent list is empty.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mkrun::oci {

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additionalGids;
};

// Each set is optional: an absent set is left alone, an empty one is cleared.
struct Capabilities {
  std::optional<std::vector<std::string>> bounding;
  std::optional<std::vector<std::string>> effective;
  std::optional<std::vector<std::string>> inheritable;
  std::optional<std::vector<std::string>> permitted;
  std::optional<std::vector<std::string>> ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Scheduler {
  std::string policy;  // "SCHED_OTHER", ...
  std::optional<int32_t> nice;
  std::optional<int32_t> priority;
  std::vector<std::string> flags;
  std::optional<uint64_t> runtime;
  std::optional<uint64_t> deadline;
  std::optional<uint64_t> period;
};

struct IoPriority {
  std::string ioClass;  // JSON key "class"
  int32_t priority = 0;
};

struct ExecCpuAffinity {
  std::string initial;
  std::string final;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> consoleSize;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool noNewPrivileges = false;
  std::string apparmorProfile;
  std::optional<int32_t> oomScoreAdj;
  std::string selinuxLabel;
  std::optional<Scheduler> scheduler;
  std::optional<IoPriority> ioPriority;
  std::optional<ExecCpuAffinity> execCPUAffinity;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct IdMapping {
  uint32_t containerID = 0;
  uint32_t hostID = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uidMappings;
  std::vector<IdMapping> gidMappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::optional<std::vector<std::string>> env;  // absent: the runtime's own environment
  std::optional<int32_t> timeout;               // seconds
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> createRuntime;
  std::vector<Hook> createContainer;
  std::vector<Hook> startContainer;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Namespace {
  std::string type;  // "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"
  std::string path;  // empty: create a new one
};

struct Device {
  std::string type;  // "c", "b", "u", "p"
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> fileMode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // "a", "c", "b"; empty means all
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // subset of "rwm"; empty means all
};

struct MemoryResources {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernelTCP;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disableOOMKiller;
  std::optional<bool> useHierarchy;
  std::optional<bool> checkBeforeUpdate;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> burst;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtimeRuntime;
  std::optional<uint64_t> realtimePeriod;
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;
};

struct PidsResources {
  std::optional<int64_t> limit;
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leafWeight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct BlockIoResources {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leafWeight;
  std::vector<WeightDevice> weightDevice;
  std::vector<ThrottleDevice> throttleReadBpsDevice;
  std::vector<ThrottleDevice> throttleWriteBpsDevice;
  std::vector<ThrottleDevice> throttleReadIOPSDevice;
  std::vector<ThrottleDevice> throttleWriteIOPSDevice;
};

struct HugepageLimit {
  std::string pageSize;  // "2MB"
  uint64_t limit = 0;
};

struct InterfacePriority {
  std::string name;
  uint32_t priority = 0;
};

struct NetworkResources {
  std::optional<uint32_t> classID;
  std::vector<InterfacePriority> priorities;
};

struct RdmaLimit {
  std::optional<uint32_t> hcaHandles;
  std::optional<uint32_t> hcaObjects;
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> blockIO;
  std::vector<HugepageLimit> hugepageLimits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t valueTwo = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;
  std::optional<uint32_t> errnoRet;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string defaultAction;
  std::optional<uint32_t> defaultErrnoRet;
  std::vector<std::string> architectures;
  // Absent (or null): runc's default, SECCOMP_FILTER_FLAG_SPEC_ALLOW where the kernel has it;
  // an empty list: no flag.
  std::optional<std::vector<std::string>> flags;
  std::string listenerPath;
  std::string listenerMetadata;
  std::vector<SeccompSyscall> syscalls;
};

struct IntelRdt {
  std::string closID;  // empty: the container's id; "/": resctrl's root group
  std::string l3CacheSchema;
  std::string memBwSchema;
  std::vector<std::string> schemata;  // 1.3: more lines of the `schemata` file, written last
  bool enableMonitoring = false;      // 1.3: a monitoring group of the container's own
  std::optional<bool> enableCMT;      // 1.1-1.2, replaced by enableMonitoring: read, ignored
  std::optional<bool> enableMBM;
};

struct Personality {
  std::string domain;  // "LINUX", "LINUX32"
  std::vector<std::string> flags;
};

// runtime-spec 1.3's NUMA memory policy for the container's processes (set_mempolicy(2)).
struct MemoryPolicy {
  std::string mode;                // "MPOL_BIND"
  std::string nodes;               // "0-3,7"
  std::vector<std::string> flags;  // "MPOL_F_STATIC_NODES"
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct NetDevice {
  std::string name;  // the name inside the container; empty keeps the host name
};

struct Linux {
  std::vector<IdMapping> uidMappings;
  std::vector<IdMapping> gidMappings;
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroupsPath;
  std::vector<Namespace> namespaces;
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfsPropagation;
  std::vector<std::string> maskedPaths;
  std::vector<std::string> readonlyPaths;
  std::string mountLabel;
  std::optional<IntelRdt> intelRdt;
  std::optional<Personality> personality;
  std::map<std::string, TimeOffset> timeOffsets;  // "monotonic", "boottime"
  std::map<std::string, NetDevice> netDevices;    // host interface name -> settings
  std::optional<MemoryPolicy> memoryPolicy;
};

struct Spec {
  std::string ociVersion;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;
};

}  // namespace mkrun::oci
