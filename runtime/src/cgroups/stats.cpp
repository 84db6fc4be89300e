// Statistics from cgroup files. The readers follow runc 1.1: libcontainer/cgroups/fs/{cpu,
// cpuacct,cpuset,memory,pids,blkio,hugetlb}.go for v1 and fs2/{cpu,memory,pids,io,hugetlb}.go for
// v2, with its conversions (v1 ticks and v2 microseconds to nanoseconds, v2 swap reported as
// memory + swap, "max" pids as 0).
#include "cgroups/stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <memory>

#include "cgroups/disabled.hpp"
#include "cgroups/util.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::cgroups {
namespace {

constexpr uint64_t kNanosecondsPerSecond = 1'000'000'000;

std::unexpected<Error> malformed(std::string_view what, std::string_view detail) {
  return fail("parse `" + std::string(what) + "`: " + std::string(detail));
}

// A cgroup file's text, or nullopt when the file does not exist (a controller or kernel
// feature this cgroup lacks: runc's os.IsNotExist checks).
Result<std::optional<std::string>> read_if_present(const std::string& dir, std::string_view name) {
  auto text = util::read_text(util::join(dir, name));
  if (!text && (text.error().errc() == ENOENT || text.error().errc() == ENODEV)) {
    return std::nullopt;
  }
  if (!text) return std::unexpected(std::move(text).error());
  return std::move(*text);
}

// A number file; absent reads as 0.
Result<uint64_t> read_uint(const std::string& dir, std::string_view name) {
  auto text = MKRUN_TRY(read_if_present(dir, name));
  if (!text) return 0;
  return parse_cgroup_uint(*text, util::join(dir, name));
}

Result<std::map<std::string, uint64_t>> read_keyed(const std::string& dir, std::string_view name) {
  auto text = MKRUN_TRY(read_if_present(dir, name));
  if (!text) return std::map<std::string, uint64_t>{};
  return parse_flat_keyed(*text, util::join(dir, name));
}

uint64_t value_of(const std::map<std::string, uint64_t>& keyed, const std::string& key) {
  auto found = keyed.find(key);
  return found == keyed.end() ? 0 : found->second;
}

// ---- cpu -------------------------------------------------------------------------------------

Result<void> read_cpu_v1(const std::string& dir, oci::CpuStats& cpu) {
  auto stat = MKRUN_TRY(read_keyed(dir, "cpu.stat"));
  cpu.throttling.periods = value_of(stat, "nr_periods");
  cpu.throttling.throttled_periods = value_of(stat, "nr_throttled");
  cpu.throttling.throttled_time = value_of(stat, "throttled_time");
  return {};
}

// cpuacct.stat counts USER_HZ ticks.
uint64_t ticks_to_nanoseconds(uint64_t ticks) {
  long hz = ::sysconf(_SC_CLK_TCK);
  return ticks * kNanosecondsPerSecond / static_cast<uint64_t>(hz > 0 ? hz : 100);
}

Result<void> read_cpuacct_v1(const std::string& dir, oci::CpuUsage& usage) {
  auto stat = MKRUN_TRY(read_keyed(dir, "cpuacct.stat"));
  usage.user = ticks_to_nanoseconds(value_of(stat, "user"));
  usage.kernel = ticks_to_nanoseconds(value_of(stat, "system"));
  usage.total = MKRUN_TRY(read_uint(dir, "cpuacct.usage"));
  if (auto percpu = MKRUN_TRY(read_if_present(dir, "cpuacct.usage_percpu"))) {
    usage.percpu = MKRUN_TRY(parse_uint_list(*percpu, util::join(dir, "cpuacct.usage_percpu")));
  }
  if (auto all = MKRUN_TRY(read_if_present(dir, "cpuacct.usage_all"))) {
    auto modes = MKRUN_TRY(parse_cpuacct_usage_all(*all, util::join(dir, "cpuacct.usage_all")));
    usage.percpu_kernel = std::move(modes.kernel);
    usage.percpu_user = std::move(modes.user);
  }
  return {};
}

// cpu.stat exists in every v2 cgroup, controller enabled or not; its times are microseconds.
Result<void> read_cpu_v2(const std::string& dir, oci::CpuStats& cpu) {
  auto stat = MKRUN_TRY(read_keyed(dir, "cpu.stat"));
  cpu.usage.total = value_of(stat, "usage_usec") * 1000;
  cpu.usage.user = value_of(stat, "user_usec") * 1000;
  cpu.usage.kernel = value_of(stat, "system_usec") * 1000;
  cpu.throttling.periods = value_of(stat, "nr_periods");
  cpu.throttling.throttled_periods = value_of(stat, "nr_throttled");
  cpu.throttling.throttled_time = value_of(stat, "throttled_usec") * 1000;
  return {};
}

// ---- cpuset ----------------------------------------------------------------------------------

Result<std::vector<uint16_t>> read_cpu_list(const std::string& dir, std::string_view name) {
  auto text = MKRUN_TRY(read_if_present(dir, name));
  if (!text) return std::vector<uint16_t>{};
  return parse_cpu_list(*text, util::join(dir, name));
}

Result<void> read_cpuset_v1(const std::string& dir, oci::CpusetStats& cpuset) {
  cpuset.cpus = MKRUN_TRY(read_cpu_list(dir, "cpuset.cpus"));
  cpuset.cpu_exclusive = MKRUN_TRY(read_uint(dir, "cpuset.cpu_exclusive"));
  cpuset.mems = MKRUN_TRY(read_cpu_list(dir, "cpuset.mems"));
  cpuset.mem_hardwall = MKRUN_TRY(read_uint(dir, "cpuset.mem_hardwall"));
  cpuset.mem_exclusive = MKRUN_TRY(read_uint(dir, "cpuset.mem_exclusive"));
  cpuset.memory_migrate = MKRUN_TRY(read_uint(dir, "cpuset.memory_migrate"));
  cpuset.memory_spread_page = MKRUN_TRY(read_uint(dir, "cpuset.memory_spread_page"));
  cpuset.memory_spread_slab = MKRUN_TRY(read_uint(dir, "cpuset.memory_spread_slab"));
  cpuset.memory_pressure = MKRUN_TRY(read_uint(dir, "cpuset.memory_pressure"));
  cpuset.sched_load_balance = MKRUN_TRY(read_uint(dir, "cpuset.sched_load_balance"));
  if (auto level = MKRUN_TRY(read_if_present(dir, "cpuset.sched_relax_domain_level"))) {
    cpuset.sched_relax_domain_level =
        MKRUN_TRY(parse_cgroup_int(*level, util::join(dir, "cpuset.sched_relax_domain_level")));
  }
  return {};
}

// v2 has no flags, only the sets in effect.
Result<void> read_cpuset_v2(const std::string& dir, oci::CpusetStats& cpuset) {
  cpuset.cpus = MKRUN_TRY(read_cpu_list(dir, "cpuset.cpus.effective"));
  cpuset.mems = MKRUN_TRY(read_cpu_list(dir, "cpuset.mems.effective"));
  return {};
}

// ---- memory ----------------------------------------------------------------------------------

// runc's getMemoryData: "memory", "memory.memsw", "memory.kmem", "memory.kmem.tcp". Swap and
// kernel accounting are optional in the kernel: without their usage file the entry stays zero.
Result<oci::MemoryEntry> read_memory_entry_v1(const std::string& dir, const std::string& module) {
  oci::MemoryEntry entry;
  auto usage = MKRUN_TRY(read_if_present(dir, module + ".usage_in_bytes"));
  if (!usage) return entry;
  entry.usage = MKRUN_TRY(parse_cgroup_uint(*usage, util::join(dir, module + ".usage_in_bytes")));
  entry.max = MKRUN_TRY(read_uint(dir, module + ".max_usage_in_bytes"));
  entry.failcnt = MKRUN_TRY(read_uint(dir, module + ".failcnt"));
  entry.limit = MKRUN_TRY(read_uint(dir, module + ".limit_in_bytes"));
  return entry;
}

Result<void> read_memory_v1(const std::string& dir, oci::MemoryStats& memory) {
  auto stat = MKRUN_TRY(read_if_present(dir, "memory.stat"));
  if (!stat) return {};
  memory.raw = MKRUN_TRY(parse_flat_keyed(*stat, util::join(dir, "memory.stat")));
  memory.cache = value_of(memory.raw, "cache");
  memory.usage = MKRUN_TRY(read_memory_entry_v1(dir, "memory"));
  memory.swap = MKRUN_TRY(read_memory_entry_v1(dir, "memory.memsw"));
  memory.kernel = MKRUN_TRY(read_memory_entry_v1(dir, "memory.kmem"));
  memory.kernel_tcp = MKRUN_TRY(read_memory_entry_v1(dir, "memory.kmem.tcp"));
  return {};
}

// runc's getMemoryDataV2: "memory" or "memory.swap"; .current, .max and (Linux 5.19+) .peak.
Result<oci::MemoryEntry> read_memory_entry_v2(const std::string& dir, const std::string& module) {
  oci::MemoryEntry entry;
  auto current = MKRUN_TRY(read_if_present(dir, module + ".current"));
  if (!current) return entry;
  entry.usage = MKRUN_TRY(parse_cgroup_uint(*current, util::join(dir, module + ".current")));
  entry.limit = MKRUN_TRY(read_uint(dir, module + ".max"));
  entry.max = MKRUN_TRY(read_uint(dir, module + ".peak"));
  return entry;
}

Result<void> read_memory_v2(const std::string& dir, oci::MemoryStats& memory) {
  auto stat = MKRUN_TRY(read_if_present(dir, "memory.stat"));
  if (!stat) return {};
  memory.raw = MKRUN_TRY(parse_flat_keyed(*stat, util::join(dir, "memory.stat")));
  memory.cache = value_of(memory.raw, "file");
  memory.usage = MKRUN_TRY(read_memory_entry_v2(dir, "memory"));
  memory.swap = MKRUN_TRY(read_memory_entry_v2(dir, "memory.swap"));
  // v1 reports memory + swap; runc adds memory to v2's swap-only values to match.
  memory.swap.usage += memory.usage.usage;
  if (memory.swap.limit != std::numeric_limits<uint64_t>::max()) {
    memory.swap.limit += memory.usage.limit;
  }
  return {};
}

// ---- pids ------------------------------------------------------------------------------------

// "max" is no limit, which runc reports as 0.
Result<uint64_t> read_pids_limit(const std::string& dir) {
  uint64_t limit = MKRUN_TRY(read_uint(dir, "pids.max"));
  return limit == std::numeric_limits<uint64_t>::max() ? 0 : limit;
}

Result<void> read_pids_v1(const std::string& dir, oci::PidsStats& pids) {
  pids.current = MKRUN_TRY(read_uint(dir, "pids.current"));
  pids.limit = MKRUN_TRY(read_pids_limit(dir));
  return {};
}

// Without the pids controller enabled, runc counts the cgroup's processes instead.
Result<void> read_pids_v2(const std::string& dir, oci::PidsStats& pids) {
  if (auto current = MKRUN_TRY(read_if_present(dir, "pids.current"))) {
    pids.current = MKRUN_TRY(parse_cgroup_uint(*current, util::join(dir, "pids.current")));
    pids.limit = MKRUN_TRY(read_pids_limit(dir));
    return {};
  }
  auto procs = MKRUN_TRY(read_if_present(dir, "cgroup.procs"));
  pids.current = procs ? util::words(*procs).size() : 0;
  return {};
}

// ---- blkio / io ------------------------------------------------------------------------------

using BlkioField = std::vector<oci::BlkioEntry> oci::BlkioStats::*;
struct BlkioSource {
  const char* file;
  BlkioField field;
};

// runc's blkio GetStats: the first group whose first file has entries wins (BFQ with debug
// statistics, BFQ, CFQ, throttling recursive, throttling).
Result<void> read_blkio_v1(const std::string& dir, oci::BlkioStats& blkio) {
  using S = oci::BlkioStats;
  const std::vector<std::vector<BlkioSource>> groups = {
      {{"blkio.bfq.sectors_recursive", &S::sectors_recursive},
       {"blkio.bfq.io_service_time_recursive", &S::io_service_time_recursive},
       {"blkio.bfq.io_wait_time_recursive", &S::io_wait_time_recursive},
       {"blkio.bfq.io_merged_recursive", &S::io_merged_recursive},
       {"blkio.bfq.io_queued_recursive", &S::io_queued_recursive},
       {"blkio.bfq.time_recursive", &S::io_time_recursive},
       {"blkio.bfq.io_serviced_recursive", &S::io_serviced_recursive},
       {"blkio.bfq.io_service_bytes_recursive", &S::io_service_bytes_recursive}},
      {{"blkio.bfq.io_serviced_recursive", &S::io_serviced_recursive},
       {"blkio.bfq.io_service_bytes_recursive", &S::io_service_bytes_recursive}},
      {{"blkio.sectors_recursive", &S::sectors_recursive},
       {"blkio.io_service_time_recursive", &S::io_service_time_recursive},
       {"blkio.io_wait_time_recursive", &S::io_wait_time_recursive},
       {"blkio.io_merged_recursive", &S::io_merged_recursive},
       {"blkio.io_queued_recursive", &S::io_queued_recursive},
       {"blkio.time_recursive", &S::io_time_recursive},
       {"blkio.io_serviced_recursive", &S::io_serviced_recursive},
       {"blkio.io_service_bytes_recursive", &S::io_service_bytes_recursive}},
      {{"blkio.throttle.io_serviced_recursive", &S::io_serviced_recursive},
       {"blkio.throttle.io_service_bytes_recursive", &S::io_service_bytes_recursive}},
      {{"blkio.throttle.io_serviced", &S::io_serviced_recursive},
       {"blkio.throttle.io_service_bytes", &S::io_service_bytes_recursive}},
  };
  for (const auto& group : groups) {
    for (size_t i = 0; i < group.size(); ++i) {
      auto text = read_if_present(dir, group[i].file);
      std::vector<oci::BlkioEntry> entries;
      if (text && *text) {
        auto parsed = parse_blkio_file(**text, util::join(dir, group[i].file));
        if (parsed) entries = std::move(*parsed);
        if (!parsed && i > 0) return std::unexpected(std::move(parsed).error());
      } else if (!text && i > 0) {
        return std::unexpected(std::move(text).error());
      }
      if (entries.empty()) {
        if (i == 0) break;  // this group's statistics are not kept: try the next one
        return {};
      }
      blkio.*group[i].field = std::move(entries);
      if (i + 1 == group.size()) return {};
    }
  }
  return {};
}

Result<void> read_io_v2(const std::string& dir, oci::BlkioStats& blkio) {
  auto text = MKRUN_TRY(read_if_present(dir, "io.stat"));
  if (text) blkio = MKRUN_TRY(parse_io_stat(*text, util::join(dir, "io.stat")));
  return {};
}

// ---- hugetlb ---------------------------------------------------------------------------------

Result<void> read_hugetlb_v1(const std::string& dir, const std::vector<std::string>& sizes,
                             std::map<std::string, oci::HugetlbStats>& hugetlb) {
  for (const std::string& size : sizes) {
    std::string prefix = "hugetlb." + size + ".";
    auto usage = MKRUN_TRY(read_if_present(dir, prefix + "usage_in_bytes"));
    if (!usage) continue;
    oci::HugetlbStats& stats = hugetlb[size];
    stats.usage = MKRUN_TRY(parse_cgroup_uint(*usage, util::join(dir, prefix + "usage_in_bytes")));
    stats.max = MKRUN_TRY(read_uint(dir, prefix + "max_usage_in_bytes"));
    stats.failcnt = MKRUN_TRY(read_uint(dir, prefix + "failcnt"));
  }
  return {};
}

// v2 keeps no peak; the failure count is the "max" line of hugetlb.<size>.events.
Result<void> read_hugetlb_v2(const std::string& dir, const std::vector<std::string>& sizes,
                             std::map<std::string, oci::HugetlbStats>& hugetlb) {
  for (const std::string& size : sizes) {
    std::string prefix = "hugetlb." + size + ".";
    auto current = MKRUN_TRY(read_if_present(dir, prefix + "current"));
    if (!current) continue;
    oci::HugetlbStats& stats = hugetlb[size];
    stats.usage = MKRUN_TRY(parse_cgroup_uint(*current, util::join(dir, prefix + "current")));
    stats.failcnt = value_of(MKRUN_TRY(read_keyed(dir, prefix + "events")), "max");
  }
  return {};
}

// ---- layouts ---------------------------------------------------------------------------------

// Where a controller's files are for this container: its v1 hierarchy, else the unified one
// when that has the controller (hybrid hugetlb), else nowhere.
struct ControllerDir {
  std::string directory;
  bool unified = false;
};

std::optional<ControllerDir> locate(const Manager& manager, std::string_view v1_name,
                                    std::string_view v2_name) {
  const std::string unified = manager.directory_of("");
  std::string v1 = manager.directory_of(v1_name);
  if (!v1.empty() && v1 != unified) return ControllerDir{v1, false};
  std::string v2 = manager.directory_of(v2_name);
  if (!v2.empty() && v2 == unified) return ControllerDir{v2, true};
  return std::nullopt;
}

Result<oci::Stats> read_unified(const std::string& dir, const std::vector<std::string>& sizes) {
  oci::Stats stats;
  MKRUN_CHECK(read_pids_v2(dir, stats.pids));
  MKRUN_CHECK(read_memory_v2(dir, stats.memory));
  MKRUN_CHECK(read_io_v2(dir, stats.blkio));
  MKRUN_CHECK(read_cpu_v2(dir, stats.cpu));
  MKRUN_CHECK(read_cpuset_v2(dir, stats.cpuset));
  MKRUN_CHECK(read_hugetlb_v2(dir, sizes, stats.hugetlb));
  return stats;
}

Result<void> read_cpu_split(const Manager& manager, oci::CpuStats& cpu) {
  auto throttling = locate(manager, "cpu", "cpu");
  auto usage = locate(manager, "cpuacct", "cpu");
  if (throttling && throttling->unified) return read_cpu_v2(throttling->directory, cpu);
  if (throttling) MKRUN_CHECK(read_cpu_v1(throttling->directory, cpu));
  if (usage && !usage->unified) MKRUN_CHECK(read_cpuacct_v1(usage->directory, cpu.usage));
  return {};
}

Result<oci::Stats> read_per_controller(const Manager& manager,
                                       const std::vector<std::string>& sizes) {
  oci::Stats stats;
  MKRUN_CHECK(read_cpu_split(manager, stats.cpu));
  if (auto where = locate(manager, "cpuset", "cpuset")) {
    MKRUN_CHECK(where->unified ? read_cpuset_v2(where->directory, stats.cpuset)
                               : read_cpuset_v1(where->directory, stats.cpuset));
  }
  if (auto where = locate(manager, "memory", "memory")) {
    MKRUN_CHECK(where->unified ? read_memory_v2(where->directory, stats.memory)
                               : read_memory_v1(where->directory, stats.memory));
  }
  if (auto where = locate(manager, "pids", "pids")) {
    MKRUN_CHECK(where->unified ? read_pids_v2(where->directory, stats.pids)
                               : read_pids_v1(where->directory, stats.pids));
  }
  if (auto where = locate(manager, "blkio", "io")) {
    MKRUN_CHECK(where->unified ? read_io_v2(where->directory, stats.blkio)
                               : read_blkio_v1(where->directory, stats.blkio));
  }
  if (auto where = locate(manager, "hugetlb", "hugetlb")) {
    MKRUN_CHECK(where->unified ? read_hugetlb_v2(where->directory, sizes, stats.hugetlb)
                               : read_hugetlb_v1(where->directory, sizes, stats.hugetlb));
  }
  return stats;
}

}  // namespace

// ---- file formats ----------------------------------------------------------------------------

Result<uint64_t> parse_cgroup_uint(std::string_view text, std::string_view what) {
  text = util::trim(text);
  if (text == "max") return std::numeric_limits<uint64_t>::max();
  if (auto value = parse_number<uint64_t>(text)) return *value;
  // runc: a negative number is 0 ("-1" in a v1 file meaning "not set").
  if (text.starts_with('-') && text.size() > 1 &&
      std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  return malformed(what, "not a number: \"" + std::string(text) + "\"");
}

Result<int64_t> parse_cgroup_int(std::string_view text, std::string_view what) {
  text = util::trim(text);
  if (auto value = parse_number<int64_t>(text)) return *value;
  return malformed(what, "not a number: \"" + std::string(text) + "\"");
}

Result<std::map<std::string, uint64_t>> parse_flat_keyed(std::string_view text,
                                                         std::string_view what) {
  std::map<std::string, uint64_t> out;
  for (std::string_view line : util::split(text, '\n')) {
    auto fields = util::words(line);
    if (fields.empty()) continue;
    std::optional<uint64_t> value;
    if (fields.size() == 2) value = parse_number<uint64_t>(fields[1]);
    if (!value) return malformed(what, "line \"" + std::string(line) + "\" is not \"key value\"");
    out[std::string(fields[0])] = *value;
  }
  return out;
}

Result<std::vector<uint64_t>> parse_uint_list(std::string_view text, std::string_view what) {
  std::vector<uint64_t> out;
  for (std::string_view word : util::words(text)) {
    auto value = parse_number<uint64_t>(word);
    if (!value) return malformed(what, "not a number: \"" + std::string(word) + "\"");
    out.push_back(*value);
  }
  return out;
}

Result<std::vector<uint16_t>> parse_cpu_list(std::string_view text, std::string_view what) {
  std::vector<uint16_t> out;
  text = util::trim(text);
  if (text.empty()) return out;
  for (std::string_view range : util::split(text, ',')) {
    auto dash = range.find('-');
    auto first = parse_number<uint16_t>(range.substr(0, dash));
    auto last =
        dash == std::string_view::npos ? first : parse_number<uint16_t>(range.substr(dash + 1));
    if (!first || !last || *last < *first) {
      return malformed(what, "bad cpu range \"" + std::string(range) + "\"");
    }
    for (uint32_t cpu = *first; cpu <= *last; ++cpu) out.push_back(static_cast<uint16_t>(cpu));
  }
  return out;
}

// runc skips the header and every line that does not have exactly three columns.
Result<PercpuModes> parse_cpuacct_usage_all(std::string_view text, std::string_view what) {
  PercpuModes out;
  auto lines = util::split(text, '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    auto fields = util::words(lines[i]);
    if (fields.size() != 3) continue;
    auto user = parse_number<uint64_t>(fields[1]);
    auto kernel = parse_number<uint64_t>(fields[2]);
    if (!user || !kernel) {
      return malformed(what, "line \"" + std::string(lines[i]) + "\" is not \"cpu user system\"");
    }
    out.user.push_back(*user);
    out.kernel.push_back(*kernel);
  }
  return out;
}

Result<std::vector<oci::BlkioEntry>> parse_blkio_file(std::string_view text,
                                                      std::string_view what) {
  std::vector<oci::BlkioEntry> out;
  for (std::string_view line : util::split(text, '\n')) {
    std::vector<std::string_view> fields;
    for (std::string_view word : util::words(line)) {
      for (std::string_view part : util::split(word, ':')) {
        if (!part.empty()) fields.push_back(part);
      }
    }
    if (fields.empty() || (fields.size() == 2 && fields[0] == "Total")) continue;
    auto bad = [&] { return malformed(what, "malformed line \"" + std::string(line) + "\""); };
    if (fields.size() < 3 || fields.size() > 4) return bad();
    auto major = parse_number<uint64_t>(fields[0]);
    auto minor = parse_number<uint64_t>(fields[1]);
    auto value = parse_number<uint64_t>(fields.back());
    if (!major || !minor || !value) return bad();
    std::string op = fields.size() == 4 ? std::string(fields[2]) : std::string();
    out.push_back({*major, *minor, std::move(op), *value});
  }
  return out;
}

Result<oci::BlkioStats> parse_io_stat(std::string_view text, std::string_view what) {
  oci::BlkioStats out;
  for (std::string_view line : util::split(text, '\n')) {
    auto fields = util::words(line);
    if (fields.empty()) continue;
    auto device = util::split(fields[0], ':');
    std::optional<uint64_t> major, minor;
    if (device.size() == 2) major = parse_number<uint64_t>(device[0]);
    if (device.size() == 2) minor = parse_number<uint64_t>(device[1]);
    if (!major || !minor) return malformed(what, "bad device \"" + std::string(fields[0]) + "\"");
    for (size_t i = 1; i < fields.size(); ++i) {
      auto pair = util::split(fields[i], '=');
      if (pair.size() != 2) continue;
      auto value = parse_number<uint64_t>(pair[1]);
      if (!value) return malformed(what, "bad value \"" + std::string(fields[i]) + "\"");
      const std::string_view key = pair[0];
      if (key == "rbytes" || key == "wbytes") {
        out.io_service_bytes_recursive.push_back(
            {*major, *minor, key == "rbytes" ? "Read" : "Write", *value});
      } else if (key == "rios" || key == "wios") {
        out.io_serviced_recursive.push_back(
            {*major, *minor, key == "rios" ? "Read" : "Write", *value});
      }
    }
  }
  return out;
}

// Linux names the sizes in kB; the cgroup files use the kernel's mem_fmt: "2MB", "1GB", "64KB".
std::vector<std::string> hugepage_sizes_from_names(const std::vector<std::string>& names) {
  std::vector<std::string> sizes;
  for (std::string_view name : names) {
    if (!name.starts_with("hugepages-") || !name.ends_with("kB")) continue;
    name.remove_prefix(std::string_view("hugepages-").size());
    name.remove_suffix(2);
    auto kilobytes = parse_number<uint64_t>(name);
    if (!kilobytes) continue;
    if (*kilobytes >= (1U << 20)) {
      sizes.push_back(std::to_string(*kilobytes >> 20) + "GB");
    } else if (*kilobytes >= (1U << 10)) {
      sizes.push_back(std::to_string(*kilobytes >> 10) + "MB");
    } else {
      sizes.push_back(std::to_string(*kilobytes) + "KB");
    }
  }
  return sizes;
}

// ---- reading ---------------------------------------------------------------------------------

std::vector<std::string> host_hugepage_sizes() {
  struct Closer {
    void operator()(DIR* dir) const { ::closedir(dir); }
  };
  std::unique_ptr<DIR, Closer> dir(::opendir("/sys/kernel/mm/hugepages"));
  if (!dir) return {};
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir.get())) names.emplace_back(entry->d_name);
  std::sort(names.begin(), names.end());  // runc lists the directory sorted (os.ReadDir)
  return hugepage_sizes_from_names(names);
}

Result<oci::Stats> read_stats(const Manager& manager,
                              const std::vector<std::string>& hugepage_sizes) {
  if (manager.driver() == Driver::kDisabled) {
    return without_cgroup("read statistics");
  }
  if (manager.layout() == Layout::kV2) {
    std::string unified = manager.directory_of("");
    if (unified.empty()) return fail("the container has no cgroup to read statistics from");
    return read_unified(unified, hugepage_sizes);
  }
  return read_per_controller(manager, hugepage_sizes);
}

std::optional<OomCounter> oom_counter(const Manager& manager) {
  auto where = locate(manager, "memory", "memory");
  if (!where) return std::nullopt;
  return OomCounter{where->directory, where->unified ? "memory.events" : "memory.oom_control",
                    where->unified};
}

Result<uint64_t> read_oom_kills(const OomCounter& counter) {
  auto keyed = MKRUN_TRY(util::read_text(util::join(counter.directory, counter.file)));
  auto values = MKRUN_TRY(parse_flat_keyed(keyed, util::join(counter.directory, counter.file)));
  return value_of(values, "oom_kill");
}

}  // namespace mkrun::cgroups
