// The translation of linux.resources into cgroup file writes. Each controller has a v1 and a v2
// function; the comments name the runc code whose behaviour they copy.
#include "cgroups/resources.hpp"

#include <algorithm>
#include <limits>

#include "cgroups/util.hpp"
#include "mkrun/oci/vocabulary.hpp"

namespace mkrun::cgroups {
namespace {

class Writes {
 public:
  explicit Writes(std::vector<Write>& out) : out_(out) {}
  Write& add(std::string_view setting, std::string_view controller, std::string_view file,
             std::string value) {
    Write& write = out_.emplace_back();
    write.setting = "linux.resources." + std::string(setting);
    write.controller = controller;
    write.file = file;
    write.value = std::move(value);
    return write;
  }

 private:
  std::vector<Write>& out_;
};

std::unexpected<Error> invalid(std::string_view setting, std::string_view why) {
  return fail("invalid `linux.resources." + std::string(setting) + "`: " + std::string(why));
}

// runc fs2 numToStr: 0 is unset (""), -1 is "max".
std::string num_to_str(int64_t value) {
  if (value == 0) return {};
  if (value == -1) return "max";
  return std::to_string(value);
}

// ---- memory ----------------------------------------------------------------------------------

// runc fs/memory.go setMemoryAndSwap + Set. Kernel memory is ignored, as runc 1.1 does (kernels
// from 5.16 on dropped the v1 kmem limit); the TCP buffer limit still exists and is written.
Result<void> memory_v1(const oci::MemoryResources& memory, const TranslateOptions& options,
                       Writes& out) {
  int64_t limit = memory.limit.value_or(0);
  int64_t swap = memory.swap.value_or(0);
  // "memory -1, swap unset" means "unlimited memory and swap", where the kernel has swap
  // accounting (memsw files exist only with it).
  bool implied_swap = limit == -1 && swap == 0;
  if (implied_swap) swap = -1;
  // Limit <= memsw must hold after each write: raise memsw first when it grows past the current
  // limit (or becomes unlimited), else lower the limit first.
  uint64_t current = options.current_memory_limit.value_or(std::numeric_limits<uint64_t>::max());
  bool swap_first =
      limit != 0 && swap != 0 && (swap == -1 || current < static_cast<uint64_t>(swap));
  auto add_limit = [&] {
    if (limit != 0)
      out.add("memory.limit", "memory", "memory.limit_in_bytes", std::to_string(limit));
  };
  auto add_swap = [&] {
    if (swap == 0) return;
    Write& write = out.add(implied_swap ? "memory.limit" : "memory.swap", "memory",
                           "memory.memsw.limit_in_bytes", std::to_string(swap));
    write.skip_if_missing = implied_swap;
  };
  if (swap_first) {
    add_swap();
    add_limit();
  } else {
    add_limit();
    add_swap();
  }
  if (memory.reservation.value_or(0) != 0) {
    out.add("memory.reservation", "memory", "memory.soft_limit_in_bytes",
            std::to_string(*memory.reservation));
  }
  if (memory.kernelTCP.value_or(0) != 0) {
    out.add("memory.kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes",
            std::to_string(*memory.kernelTCP))
        .skip_if_missing = true;
  }
  if (memory.disableOOMKiller.value_or(false)) {
    out.add("memory.disableOOMKiller", "memory", "memory.oom_control", "1");
  }
  // runc: an absent swappiness, or -1 (which arrives as the largest uint64), leaves it alone.
  if (memory.swappiness && *memory.swappiness != std::numeric_limits<uint64_t>::max()) {
    if (*memory.swappiness > 100) {
      return invalid("memory.swappiness",
                     "invalid memory swappiness value: " + std::to_string(*memory.swappiness) +
                         " (valid range is 0-100)");
    }
    out.add("memory.swappiness", "memory", "memory.swappiness", std::to_string(*memory.swappiness));
  }
  return {};
}

// runc fs2/memory.go setMemory. v2 has no swappiness, OOM-killer switch or kernel limits; runc
// ignores them there and so does mkrun.
Result<void> memory_v2(const oci::MemoryResources& memory, Writes& out) {
  int64_t limit = memory.limit.value_or(0);
  int64_t swap = memory.swap.value_or(0);
  int64_t reservation = memory.reservation.value_or(0);
  if (limit == 0 && swap == 0 && reservation == 0) return {};
  auto converted = memory_swap_to_v2(swap, limit);
  if (!converted) return invalid("memory.swap", converted.error().what());
  std::string swap_max = num_to_str(*converted);
  // memory == memory+swap: no swap at all, which must be written as "0", not left unset.
  if (swap_max.empty() && *converted == 0 && swap > 0) swap_max = "0";
  if (!swap_max.empty()) {
    // Without swap accounting there is no memory.swap.max; "no limit" and "no swap" then hold
    // anyway (runc ignores ENOENT for exactly these two values).
    out.add("memory.swap", "memory", "memory.swap.max", swap_max).skip_if_missing =
        swap_max == "max" || swap_max == "0";
  }
  if (std::string max = num_to_str(limit); !max.empty()) {
    out.add("memory.limit", "memory", "memory.max", max);
  }
  if (std::string low = num_to_str(reservation); !low.empty()) {
    out.add("memory.reservation", "memory", "memory.low", low);
  }
  return {};
}

// ---- cpu -------------------------------------------------------------------------------------

// runc fs/cpu.go Set and SetRtSched (1.5: burst and idle too).
void cpu_v1(const oci::CpuResources& cpu, Writes& out) {
  uint64_t shares = cpu.shares.value_or(0);
  int64_t quota = cpu.quota.value_or(0);
  uint64_t period = cpu.period.value_or(0);
  if (shares != 0) {
    out.add("cpu.shares", "cpu", "cpu.shares", std::to_string(shares)).verify = true;
  }
  // A period smaller than the current one, or a burst larger, can be refused (EINVAL) until the
  // new quota is in: write them, tolerate that, write the quota, then both again.
  if (period != 0) {
    out.add("cpu.period", "cpu", "cpu.cfs_period_us", std::to_string(period)).tolerate_einval =
        quota != 0;
  }
  // A burst is a no-op where the kernel predates it (no cpu.cfs_burst_us, before 5.14): runc
  // ignores the missing file on v1.
  auto add_burst = [&](bool before_quota) {
    Write& write = out.add("cpu.burst", "cpu", "cpu.cfs_burst_us", std::to_string(*cpu.burst));
    write.skip_if_missing = true;
    write.tolerate_einval = before_quota && quota != 0;
  };
  if (cpu.burst) add_burst(true);
  if (quota != 0) {
    out.add("cpu.quota", "cpu", "cpu.cfs_quota_us", std::to_string(quota));
    if (period != 0) out.add("cpu.period", "cpu", "cpu.cfs_period_us", std::to_string(period));
    if (cpu.burst) add_burst(false);
  }
  if (cpu.idle) out.add("cpu.idle", "cpu", "cpu.idle", std::to_string(*cpu.idle));
  // The same for the realtime pair: a period below the current runtime is refused until the
  // new, smaller runtime is in (runc 1.5's "update rt period and runtime").
  const uint64_t rt_period = cpu.realtimePeriod.value_or(0);
  const int64_t rt_runtime = cpu.realtimeRuntime.value_or(0);
  auto add_rt_period = [&](bool before_runtime) {
    out.add("cpu.realtimePeriod", "cpu", "cpu.rt_period_us", std::to_string(rt_period))
        .tolerate_einval = before_runtime && rt_runtime != 0;
  };
  if (rt_period != 0) add_rt_period(true);
  if (rt_runtime != 0) {
    out.add("cpu.realtimeRuntime", "cpu", "cpu.rt_runtime_us", std::to_string(rt_runtime));
    if (rt_period != 0) add_rt_period(false);
  }
}

// runc fs2/cpu.go setCpu, with specconv's shares -> weight conversion.
Result<void> cpu_v2(const oci::CpuResources& cpu, Writes& out) {
  // v2 has no realtime group scheduling; silently dropping a requested limit would be worse.
  if (cpu.realtimeRuntime.value_or(0) != 0) {
    return invalid("cpu.realtimeRuntime", "realtime scheduling limits need cgroup v1");
  }
  if (cpu.realtimePeriod.value_or(0) != 0) {
    return invalid("cpu.realtimePeriod", "realtime scheduling limits need cgroup v1");
  }
  uint64_t shares = cpu.shares.value_or(0);
  int64_t quota = cpu.quota.value_or(0);
  uint64_t period = cpu.period.value_or(0);
  // Idle first: the kernel refuses a weight for an idle group, and runc writes it in this order.
  if (cpu.idle) out.add("cpu.idle", "cpu", "cpu.idle", std::to_string(*cpu.idle));
  if (shares != 0) {
    out.add("cpu.shares", "cpu", "cpu.weight", std::to_string(cpu_shares_to_weight(shares)));
  }
  bool max_set = quota != 0 || period != 0;
  // As for v1's period: a larger burst may be refused until cpu.max has its new quota.
  if (cpu.burst) {
    out.add("cpu.burst", "cpu", "cpu.max.burst", std::to_string(*cpu.burst)).tolerate_einval =
        max_set;
  }
  if (max_set) {
    // "max" for no quota; without a period the kernel keeps the current one.
    std::string value = quota > 0 ? std::to_string(quota) : "max";
    if (period != 0) value += " " + std::to_string(period);
    out.add(quota != 0 ? "cpu.quota" : "cpu.period", "cpu", "cpu.max", value);
    if (cpu.burst) out.add("cpu.burst", "cpu", "cpu.max.burst", std::to_string(*cpu.burst));
  }
  return {};
}

// Same files on v1 and v2 (runc fs/cpuset.go, fs2/cpuset.go).
void cpuset(const oci::CpuResources& cpu, Writes& out) {
  if (!cpu.cpus.empty()) out.add("cpu.cpus", "cpuset", "cpuset.cpus", cpu.cpus);
  if (!cpu.mems.empty()) out.add("cpu.mems", "cpuset", "cpuset.mems", cpu.mems);
}

// ---- pids ------------------------------------------------------------------------------------

// runtime-spec 1.3: a missing limit sets nothing, a negative one is "max", and 0 is a real
// limit. runc 1.5 (cgroups fs/pids.go, fs2/pids.go) writes 0 as 1, the value its systemd driver
// must use (systemd refuses TasksMax=0), so that both drivers give the same pids.max; a
// container's init is in the cgroup already, so either way it may not fork.
void pids(const oci::PidsResources& pids, Writes& out) {
  if (!pids.limit) return;
  int64_t limit = applied_pids_limit(*pids.limit);
  out.add("pids.limit", "pids", "pids.max", limit < 0 ? "max" : std::to_string(limit));
}

// ---- block I/O -------------------------------------------------------------------------------

std::string device(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

struct Throttle {
  const char* setting;
  const char* v1_file;
  const char* v2_key;
  const std::vector<oci::ThrottleDevice>* devices;
};

std::vector<Throttle> throttles(const oci::BlockIoResources& io) {
  return {{"blockIO.throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps",
           &io.throttleReadBpsDevice},
          {"blockIO.throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps",
           &io.throttleWriteBpsDevice},
          {"blockIO.throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops",
           &io.throttleReadIOPSDevice},
          {"blockIO.throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops",
           &io.throttleWriteIOPSDevice}};
}

// runc fs/blkio.go: the BFQ files when the kernel has them, else the CFQ ones.
void blkio_v1(const oci::BlockIoResources& io, Writes& out) {
  if (io.weight.value_or(0) != 0) {
    std::string value = std::to_string(*io.weight);
    out.add("blockIO.weight", "blkio", "blkio.bfq.weight", value).if_missing =
        FileValue{"blkio.weight", value};
  }
  if (io.leafWeight.value_or(0) != 0) {
    out.add("blockIO.leafWeight", "blkio", "blkio.leaf_weight", std::to_string(*io.leafWeight));
  }
  for (const oci::WeightDevice& wd : io.weightDevice) {
    if (wd.weight.value_or(0) != 0) {
      std::string value = device(wd.major, wd.minor) + " " + std::to_string(*wd.weight);
      out.add("blockIO.weightDevice", "blkio", "blkio.bfq.weight_device", value).if_missing =
          FileValue{"blkio.weight_device", value};
    }
    if (wd.leafWeight.value_or(0) != 0) {
      out.add("blockIO.weightDevice", "blkio", "blkio.leaf_weight_device",
              device(wd.major, wd.minor) + " " + std::to_string(*wd.leafWeight));
    }
  }
  for (const Throttle& throttle : throttles(io)) {
    for (const oci::ThrottleDevice& td : *throttle.devices) {
      out.add(throttle.setting, "blkio", throttle.v1_file,
              device(td.major, td.minor) + " " + std::to_string(td.rate));
    }
  }
}

// io.max takes "maj:min key=value..." and keeps the keys not given, so each device gets one
// line with all its limits, in the order the devices first appear.
void io_max(const oci::BlockIoResources& io, Writes& out) {
  struct Line {
    std::string device;
    std::string setting;
    std::string keys;
  };
  std::vector<Line> lines;
  for (const Throttle& throttle : throttles(io)) {
    for (const oci::ThrottleDevice& td : *throttle.devices) {
      std::string dev = device(td.major, td.minor);
      auto it = std::find_if(lines.begin(), lines.end(),
                             [&](const Line& line) { return line.device == dev; });
      if (it == lines.end()) it = lines.insert(lines.end(), Line{dev, throttle.setting, {}});
      it->keys += " " + std::string(throttle.v2_key) + "=" + std::to_string(td.rate);
    }
  }
  for (const Line& line : lines) out.add(line.setting, "io", "io.max", line.device + line.keys);
}

// runc fs2/io.go setIo: BFQ's io.bfq.weight takes the blkio weight as is; without BFQ, io.weight
// gets the converted value, and per-device weights (BFQ only) are dropped.
void io_v2(const oci::BlockIoResources& io, Writes& out) {
  if (io.weight.value_or(0) != 0) {
    out.add("blockIO.weight", "io", "io.bfq.weight", std::to_string(*io.weight)).if_missing =
        FileValue{"io.weight", std::to_string(blkio_weight_to_io_weight(*io.weight))};
  }
  for (const oci::WeightDevice& wd : io.weightDevice) {
    if (wd.weight.value_or(0) == 0) continue;
    out.add("blockIO.weightDevice", "io", "io.bfq.weight",
            device(wd.major, wd.minor) + " " + std::to_string(*wd.weight))
        .skip_if_missing = true;
  }
  io_max(io, out);
}

// ---- hugetlb, network, rdma ------------------------------------------------------------------

// "2MB", "1GB", "64KB": the page size is part of a file name, so nothing else may pass.
bool valid_page_size(std::string_view size) {
  size_t digits = 0;
  while (digits < size.size() && size[digits] >= '0' && size[digits] <= '9') ++digits;
  std::string_view unit = size.substr(digits);
  bool known_unit =
      unit == "B" || unit == "KB" || unit == "MB" || unit == "GB" || unit == "TB" || unit == "PB";
  return digits > 0 && known_unit;
}

// runc fs/hugetlb.go (hugetlb.<size>.limit_in_bytes) and fs2/hugetlb.go (hugetlb.<size>.max).
Result<void> hugetlb(const std::vector<oci::HugepageLimit>& limits, Version version, Writes& out) {
  for (const oci::HugepageLimit& limit : limits) {
    if (!valid_page_size(limit.pageSize)) {
      return invalid("hugepageLimits", "page size \"" + limit.pageSize + "\" is not like \"2MB\"");
    }
    std::string file =
        "hugetlb." + limit.pageSize + (version == Version::kV1 ? ".limit_in_bytes" : ".max");
    out.add("hugepageLimits", "hugetlb", file, std::to_string(limit.limit));
  }
  return {};
}

// runc fs/net_cls.go and fs/net_prio.go. v2 has neither controller and runc ignores them there.
Result<void> network_v1(const oci::NetworkResources& network, Writes& out) {
  if (network.classID) {
    out.add("network.classID", "net_cls", "net_cls.classid", std::to_string(*network.classID));
  }
  for (const oci::InterfacePriority& priority : network.priorities) {
    bool bad_name =
        priority.name.empty() || priority.name.find_first_of(" \t\n") != std::string::npos;
    if (bad_name) {
      return invalid("network.priorities", "interface name \"" + priority.name + "\"");
    }
    out.add("network.priorities", "net_prio", "net_prio.ifpriomap",
            priority.name + " " + std::to_string(priority.priority));
  }
  return {};
}

// runc fscommon/rdma.go: "<device> hca_handle=N hca_object=M", only the limits given.
Result<void> rdma(const std::map<std::string, oci::RdmaLimit>& limits, Writes& out) {
  for (const auto& [name, limit] : limits) {
    if (name.empty() || name.find_first_of(" \t\n") != std::string::npos) {
      return invalid("rdma", "device name \"" + name + "\"");
    }
    std::string value = name;
    if (limit.hcaHandles) value += " hca_handle=" + std::to_string(*limit.hcaHandles);
    if (limit.hcaObjects) value += " hca_object=" + std::to_string(*limit.hcaObjects);
    if (value != name) out.add("rdma", "rdma", "rdma.max", value);
  }
  return {};
}

// ---- devices (v1) ----------------------------------------------------------------------------

std::string device_number(const std::optional<int64_t>& number) {
  // runc's Wildcard is -1.
  return number && *number >= 0 ? std::to_string(*number) : "*";
}

// One spec rule as devices.allow/deny lines. The kernel reads any line starting with "a" as
// "reset to allow/deny everything", so an "a" rule narrower than a *:* rwm is written as the
// same rule for char and for block devices. A rule whose access names none of r, w and m
// changes nothing, and has no line.
Result<std::vector<std::string>> device_lines(const oci::DeviceCgroupRule& rule) {
  std::string type = rule.type.empty() ? "a" : rule.type;
  if (type != "a" && type != "b" && type != "c") {
    return invalid("devices", "device type \"" + rule.type + "\" is not one of a, b, c");
  }
  const std::string access(oci::vocabulary::device_access(rule.access));
  if (access.empty()) return std::vector<std::string>{};
  std::string numbers = device_number(rule.major) + ":" + device_number(rule.minor);
  bool everything = numbers == "*:*" && access == "rwm";
  if (type == "a" && everything) return std::vector<std::string>{"a"};
  if (type == "a")
    return std::vector<std::string>{"c " + numbers + " " + access, "b " + numbers + " " + access};
  return std::vector<std::string>{type + " " + numbers + " " + access};
}

// runc's default for a new container: deny everything, then the spec's rules in order (later
// rules win, as the spec says), then the default allowed devices.
Result<void> devices_v1(const std::vector<oci::DeviceCgroupRule>& rules, Writes& out) {
  out.add("devices", "devices", "devices.deny", "a");
  std::vector<oci::DeviceCgroupRule> all = rules;
  auto defaults = default_device_rules();
  all.insert(all.end(), defaults.begin(), defaults.end());
  for (const oci::DeviceCgroupRule& rule : all) {
    auto lines = MKRUN_TRY(device_lines(rule));
    for (std::string& line : lines) {
      out.add("devices", "devices", rule.allow ? "devices.allow" : "devices.deny", std::move(line));
    }
  }
  return {};
}

oci::DeviceCgroupRule allow(const char* type, std::optional<int64_t> major,
                            std::optional<int64_t> minor, const char* access) {
  return oci::DeviceCgroupRule{true, type, major, minor, access};
}

}  // namespace

int64_t applied_pids_limit(int64_t limit) {
  if (limit < 0) return -1;
  return limit == 0 ? 1 : limit;
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  // runc's formula underflows below 2; the kernel's v1 minimum is 2 anyway.
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + (weight - 10) * 9999 / 990;
}

Result<int64_t> memory_swap_to_v2(int64_t memory_swap, int64_t memory) {
  // v1 compatibility: unlimited memory with swap unset means unlimited swap too.
  if (memory == -1 && memory_swap == 0) return -1;
  if (memory_swap == -1 || memory_swap == 0) return memory_swap;
  if (memory == 0 || memory == -1) return fail("unable to set swap limit without memory limit");
  if (memory < 0) return fail("invalid memory value: " + std::to_string(memory));
  if (memory_swap < memory) return fail("memory+swap limit should be >= memory limit");
  return memory_swap - memory;
}

std::vector<oci::DeviceCgroupRule> default_device_rules() {
  return {
      allow("c", std::nullopt, std::nullopt, "m"),  // mknod of any char device
      allow("b", std::nullopt, std::nullopt, "m"),  // and any block device
      allow("c", 1, 3, "rwm"),                      // /dev/null
      allow("c", 1, 8, "rwm"),                      // /dev/random
      allow("c", 1, 7, "rwm"),                      // /dev/full
      allow("c", 5, 0, "rwm"),                      // /dev/tty
      allow("c", 1, 5, "rwm"),                      // /dev/zero
      allow("c", 1, 9, "rwm"),                      // /dev/urandom
      allow("c", 136, std::nullopt, "rwm"),         // /dev/pts/*
      allow("c", 5, 2, "rwm"),                      // /dev/ptmx
      allow("c", 10, 200, "rwm"),                   // /dev/net/tun
  };
}

std::string_view v2_controller_of(std::string_view v1_controller) {
  if (v1_controller == "blkio") return "io";
  if (v1_controller == "net_cls" || v1_controller == "net_prio" || v1_controller == "devices") {
    return {};
  }
  return v1_controller;
}

oci::Resources only_controller(const oci::Resources& resources, std::string_view controller) {
  oci::Resources only;
  if (controller == "memory") only.memory = resources.memory;
  if (controller == "pids") only.pids = resources.pids;
  if (controller == "io") only.blockIO = resources.blockIO;
  if (controller == "hugetlb") only.hugepageLimits = resources.hugepageLimits;
  if (controller == "rdma") only.rdma = resources.rdma;
  if (controller == "cpu" && resources.cpu) {
    only.cpu = resources.cpu;
    only.cpu->cpus.clear();
    only.cpu->mems.clear();
  }
  if (controller == "cpuset" && resources.cpu) {
    only.cpu.emplace();
    only.cpu->cpus = resources.cpu->cpus;
    only.cpu->mems = resources.cpu->mems;
  }
  return only;
}

Result<std::vector<Write>> translate_unified(const std::map<std::string, std::string>& unified) {
  std::vector<Write> writes;
  Writes out(writes);
  // runc fs2 setUnified: keys are file names in the container's directory.
  for (const auto& [key, value] : unified) {
    if (key.find('/') != std::string::npos) {
      return invalid("unified",
                     "unified resource \"" + key + "\" must be a file name (no slashes)");
    }
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size()) {
      return invalid("unified",
                     "unified resource \"" + key + "\" must be in the form CONTROLLER.PARAMETER");
    }
    out.add("unified", key.substr(0, dot), key, value);
  }
  return writes;
}

Result<std::vector<Write>> translate(const oci::Resources& resources, Version version,
                                     const TranslateOptions& options) {
  std::vector<Write> writes;
  Writes out(writes);
  bool v1 = version == Version::kV1;
  // The order follows runc's subsystem order: cpuset, devices, memory, cpu, pids, blkio,
  // hugetlb, net_cls, net_prio, rdma (then unified on v2).
  if (resources.cpu) cpuset(*resources.cpu, out);
  if (v1 && options.devices) MKRUN_CHECK(devices_v1(resources.devices, out));
  if (resources.memory) {
    if (v1) {
      MKRUN_CHECK(memory_v1(*resources.memory, options, out));
    } else {
      MKRUN_CHECK(memory_v2(*resources.memory, out));
    }
  }
  if (resources.cpu) {
    if (v1) {
      cpu_v1(*resources.cpu, out);
    } else {
      MKRUN_CHECK(cpu_v2(*resources.cpu, out));
    }
  }
  if (resources.pids) pids(*resources.pids, out);
  if (resources.blockIO) {
    if (v1) {
      blkio_v1(*resources.blockIO, out);
    } else {
      io_v2(*resources.blockIO, out);
    }
  }
  MKRUN_CHECK(hugetlb(resources.hugepageLimits, version, out));
  if (resources.network && v1) MKRUN_CHECK(network_v1(*resources.network, out));
  MKRUN_CHECK(rdma(resources.rdma, out));
  if (!v1) {
    auto unified = MKRUN_TRY(translate_unified(resources.unified));
    writes.insert(writes.end(), unified.begin(), unified.end());
  }
  return writes;
}

}  // namespace mkrun::cgroups
