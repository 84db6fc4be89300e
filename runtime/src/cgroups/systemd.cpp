// The systemd cgroup driver: unit naming, runc's property translation, the D-Bus calls to
// systemd's manager, and the SystemdManager's three steps (adopt at create, properties at update,
// stop at delete).
#include "cgroups/systemd.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <initializer_list>
#include <limits>
#include <map>
#include <optional>

#include "cgroups/resources.hpp"
#include "cgroups/util.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::cgroups::systemd {
namespace {

constexpr int kCallTimeoutMs = 25000;  // libdbus's default reply timeout, which runc gets
constexpr int kJobTimeoutMs = 30000;   // runc's wait for a unit job
constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();  // systemd's USEC/limit max
constexpr uint64_t kDefaultCpuPeriod = 100000;                        // runc's defCPUQuotaPeriod

constexpr const char* kPrivateSocket = "/run/systemd/private";
constexpr const char* kSystemBusSocket = "/var/run/dbus/system_bus_socket";
constexpr const char* kManagerInterface = "org.freedesktop.systemd1.Manager";

dbus::Property property(std::string name, dbus::Value value) {
  return {std::move(name), std::move(value)};
}

// runc's addCpuQuota: systemd takes the quota as CPU time per second of wall time, whole percent
// of a CPU (10 ms steps), so a fractional percent is rounded up, leaving the exact quota to the
// cpu.max write.
void add_cpu_quota(std::vector<dbus::Property>& out, int64_t quota, uint64_t period,
                   unsigned version) {
  if (period != 0 && version >= 242) out.push_back(property("CPUQuotaPeriodUSec", period));
  if (quota == 0 && period == 0) return;
  uint64_t per_second = kInfinity;
  if (quota > 0) {
    uint64_t effective_period = period != 0 ? period : kDefaultCpuPeriod;
    per_second = static_cast<uint64_t>(quota) * 1000000 / effective_period;
    if (per_second % 10000 != 0) per_second = (per_second / 10000 + 1) * 10000;
  }
  out.push_back(property("CPUQuotaPerSecUSec", per_second));
}

// runc's addCpuset: systemd knows AllowedCPUs/AllowedMemoryNodes from v244 on.
Result<void> add_cpuset(std::vector<dbus::Property>& out, const std::string& cpus,
                        const std::string& mems, unsigned version) {
  if (version < 244) return {};
  if (!cpus.empty()) out.push_back(property("AllowedCPUs", MKRUN_TRY(cpuset_bits(cpus))));
  if (!mems.empty()) out.push_back(property("AllowedMemoryNodes", MKRUN_TRY(cpuset_bits(mems))));
  return {};
}

std::unexpected<Error> unified_invalid(const std::string& key, const std::string& value) {
  return fail("unified resource \"" + key + "\" value invalid: \"" + value + "\"");
}

// "max" or a number, for the memory and pids keys.
Result<uint64_t> limit_value(const std::string& key, std::string_view value, bool signed_value) {
  if (value == "max") return kInfinity;
  if (signed_value) {
    if (auto number = parse_number<int64_t>(value)) return static_cast<uint64_t>(*number);
  } else if (auto number = parse_number<uint64_t>(value)) {
    return *number;
  }
  return unified_invalid(key, std::string(value));
}

Result<void> add_unified_cpu_max(std::vector<dbus::Property>& out, const std::string& key,
                                 const std::string& value, unsigned version) {
  auto fields = util::words(value);
  if (fields.empty() || fields.size() > 2) return unified_invalid(key, value);
  int64_t quota = 0;  // "max": no quota
  uint64_t period = kDefaultCpuPeriod;
  if (fields[0] != "max") {
    auto parsed = parse_number<int64_t>(fields[0]);
    if (!parsed) return unified_invalid(key, value);
    quota = *parsed;
  }
  if (fields.size() == 2) {
    auto parsed = parse_number<uint64_t>(fields[1]);
    if (!parsed) return unified_invalid(key, value);
    period = *parsed;
  }
  add_cpu_quota(out, quota, period, version);
  return {};
}

// runc's unifiedResToSystemdProps: the keys systemd has a property for; the rest only goes to
// cgroupfs.
Result<void> add_unified(std::vector<dbus::Property>& out,
                         const std::map<std::string, std::string>& unified, unsigned version) {
  static const std::map<std::string_view, const char*> kMemory = {
      {"memory.high", "MemoryHigh"},
      {"memory.low", "MemoryLow"},
      {"memory.max", "MemoryMax"},
      {"memory.min", "MemoryMin"},
      {"memory.swap.max", "MemorySwapMax"}};
  for (const auto& [key, raw] : unified) {
    std::string value(util::trim(raw));
    if (key == "cpu.max") {
      MKRUN_CHECK(add_unified_cpu_max(out, key, value, version));
    } else if (key == "cpu.weight") {
      auto weight = parse_number<uint64_t>(value);
      if (!weight) return unified_invalid(key, value);
      out.push_back(property("CPUWeight", *weight));
    } else if (key == "cpuset.cpus" || key == "cpuset.mems") {
      if (version < 244) continue;
      auto bits = cpuset_bits(value);
      if (!bits) return unified_invalid(key, value);
      out.push_back(property(key == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", *bits));
    } else if (auto memory = kMemory.find(key); memory != kMemory.end()) {
      out.push_back(property(memory->second, MKRUN_TRY(limit_value(key, value, false))));
    } else if (key == "pids.max") {
      out.push_back(property("TasksMax", MKRUN_TRY(limit_value(key, value, true))));
    }
  }
  return {};
}

Result<void> add_memory(std::vector<dbus::Property>& out, const oci::MemoryResources& memory,
                        bool unified) {
  int64_t limit = memory.limit.value_or(0);
  if (!unified) {
    if (limit != 0) out.push_back(property("MemoryLimit", static_cast<uint64_t>(limit)));
    return {};
  }
  // uint64 of -1 is systemd's infinity, as in runc.
  if (limit != 0) out.push_back(property("MemoryMax", static_cast<uint64_t>(limit)));
  if (int64_t low = memory.reservation.value_or(0); low != 0) {
    out.push_back(property("MemoryLow", static_cast<uint64_t>(low)));
  }
  auto swap = memory_swap_to_v2(memory.swap.value_or(0), limit);
  if (!swap) return fail("invalid `linux.resources.memory.swap`: " + swap.error().what());
  if (*swap != 0) out.push_back(property("MemorySwapMax", static_cast<uint64_t>(*swap)));
  return {};
}

void add_cpu(std::vector<dbus::Property>& out, const oci::CpuResources& cpu, unsigned version,
             bool unified) {
  if (uint64_t shares = cpu.shares.value_or(0); shares != 0) {
    if (unified) {
      out.push_back(property("CPUWeight", cpu_shares_to_weight(shares)));
    } else {
      out.push_back(property("CPUShares", shares));
    }
  }
  add_cpu_quota(out, cpu.quota.value_or(0), cpu.period.value_or(0), version);
}

bool is_directory(const char* path) {
  struct stat st {};
  return ::lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

// A body of strings only: StopUnit(name, mode), ResetFailedUnit(name), Get(interface, name).
std::vector<uint8_t> strings_body(std::initializer_list<std::string_view> values) {
  dbus::Writer body;
  for (std::string_view value : values) body.string(value);
  return body.take();
}

}  // namespace

bool is_running() {
  return is_directory("/run/systemd/system");
}

Result<Unit> unit_of(std::string_view directory, std::string_view mount_point) {
  std::string_view inside = directory;
  if (inside.starts_with(mount_point)) inside.remove_prefix(mount_point.size());
  auto parts = util::split(inside, '/');
  std::erase_if(parts, [](std::string_view part) { return part.empty(); });
  bool unit_name =
      !parts.empty() && (parts.back().ends_with(".scope") || parts.back().ends_with(".slice"));
  if (!unit_name) {
    return fail("cgroup `" + std::string(directory) + "` is not a systemd scope or slice");
  }
  Unit unit{std::string(parts.back()), "-.slice"};
  if (parts.size() >= 2) unit.slice = std::string(parts[parts.size() - 2]);
  return unit;
}

unsigned major_version(std::string_view version) {
  if (version.starts_with('v')) version.remove_prefix(1);
  size_t digits = 0;
  while (digits < version.size() && version[digits] >= '0' && version[digits] <= '9') ++digits;
  return parse_number<unsigned>(version.substr(0, digits)).value_or(0);
}

Result<std::vector<uint8_t>> cpuset_bits(std::string_view list) {
  constexpr uint32_t kMaxIndex = 1u << 16;  // far beyond any machine; bounds the mask
  std::vector<uint8_t> bits;
  auto bad = [&] { return fail("invalid cpuset list \"" + std::string(list) + "\""); };
  for (std::string_view range : util::split(util::trim(list), ',')) {
    range = util::trim(range);
    if (range.empty()) continue;
    auto dash = range.find('-');
    auto first = parse_number<uint32_t>(range.substr(0, dash));
    auto last =
        dash == std::string_view::npos ? first : parse_number<uint32_t>(range.substr(dash + 1));
    if (!first || !last || *last < *first || *last >= kMaxIndex) return bad();
    if (bits.size() <= *last / 8) bits.resize(*last / 8 + 1, 0);
    for (uint32_t i = *first; i <= *last; ++i) bits[i / 8] |= uint8_t(1u << (i % 8));
  }
  if (bits.empty()) return bad();
  return bits;
}

Result<std::vector<dbus::Property>> resource_properties(const oci::Resources& resources,
                                                        unsigned systemd_version, bool unified) {
  std::vector<dbus::Property> out;
  if (resources.memory) MKRUN_CHECK(add_memory(out, *resources.memory, unified));
  if (resources.cpu) add_cpu(out, *resources.cpu, systemd_version, unified);
  if (!unified && resources.blockIO && resources.blockIO->weight.value_or(0) != 0) {
    out.push_back(property("BlockIOWeight", uint64_t{*resources.blockIO->weight}));
  }
  if (resources.pids && resources.pids->limit) {
    int64_t limit = applied_pids_limit(*resources.pids->limit);
    out.push_back(property("TasksMax", limit < 0 ? kInfinity : static_cast<uint64_t>(limit)));
  }
  if (resources.cpu) {
    MKRUN_CHECK(add_cpuset(out, resources.cpu->cpus, resources.cpu->mems, systemd_version));
  }
  if (unified) MKRUN_CHECK(add_unified(out, resources.unified, systemd_version));
  return out;
}

Result<std::vector<dbus::Property>> unit_properties(const Unit& unit, pid_t pid,
                                                    const oci::Resources* resources,
                                                    unsigned systemd_version, bool unified) {
  std::vector<dbus::Property> out;
  out.push_back(property("Description", "mkrun container " + unit.name));
  if (unit.name.ends_with(".slice")) {
    // A slice gets its parent through Wants= (runc).
    out.push_back(property("Wants", std::vector<std::string>{unit.slice}));
  } else {
    out.push_back(property("Slice", unit.slice));
    // The container may make its own sub-cgroups; systemd leaves a delegated subtree alone.
    out.push_back(property("Delegate", true));
  }
  out.push_back(property("PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}));
  // runc: accounting on for the same behaviour as cgroupfs; no default dependencies, so that the
  // scope does not wait for or stop with unrelated units.
  out.push_back(property("MemoryAccounting", true));
  out.push_back(property("CPUAccounting", true));
  out.push_back(property(unified ? "IOAccounting" : "BlockIOAccounting", true));
  out.push_back(property("TasksAccounting", true));
  out.push_back(property("DefaultDependencies", false));
  if (resources) {
    auto limits = MKRUN_TRY(resource_properties(*resources, systemd_version, unified));
    out.insert(out.end(), limits.begin(), limits.end());
  }
  return out;
}

// ---- Client ----------------------------------------------------------------------------------

Result<Client> Client::connect(Transport transport) {
  // Root talks to systemd directly, as systemctl does: no bus daemon in between, and systemd sends
  // its job signals to every direct connection without a subscription.
  if (transport == Transport::kAuto && ::geteuid() == 0) {
    auto direct = dbus::Connection::open(kPrivateSocket, false, kCallTimeoutMs);
    if (direct) return Client(std::move(*direct), false);
  }
  auto bus = dbus::Connection::open(kSystemBusSocket, true, kCallTimeoutMs);
  if (!bus) return std::unexpected(std::move(bus).error().wrap("connect to systemd"));
  return Client(std::move(*bus), true);
}

Result<dbus::Message> Client::manager_call(std::string member, std::string signature,
                                           std::vector<uint8_t> body) {
  return connection_.call(dbus::method_call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                            kManagerInterface, std::move(member),
                                            std::move(signature), std::move(body)));
}

// On the system bus, systemd emits JobRemoved only while someone is subscribed, and the bus
// delivers it only to connections with a matching rule.
Result<void> Client::subscribe() {
  if (!bus_ || subscribed_) return {};
  dbus::Writer rule;
  rule.string(
      "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1."
      "Manager',member='JobRemoved',path='/org/freedesktop/systemd1'");
  auto matched = MKRUN_TRY(
      connection_.call(dbus::method_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "AddMatch", "s", rule.take())));
  if (matched.type != dbus::MessageType::kReturn) return fail("AddMatch: " + matched.error_text());
  auto subscribed = MKRUN_TRY(manager_call("Subscribe", {}, {}));
  if (subscribed.type != dbus::MessageType::kReturn) {
    return fail("Subscribe: " + subscribed.error_text());
  }
  subscribed_ = true;
  return {};
}

Result<unsigned> Client::version() {
  auto reply = MKRUN_TRY(connection_.call(dbus::method_call(
      "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.DBus.Properties",
      "Get", "ss", strings_body({kManagerInterface, "Version"}))));
  if (reply.type != dbus::MessageType::kReturn) {
    return fail("read systemd's version: " + reply.error_text());
  }
  dbus::Reader in(reply.body);
  return major_version(MKRUN_TRY(in.variant_string()));
}

// The job's object path; a D-Bus error reply becomes an Error starting with its name.
Result<std::string> Client::start_job(const std::string& name,
                                      const std::vector<dbus::Property>& properties) {
  dbus::Writer body;
  body.string(name);
  body.string("replace");
  body.properties(properties);
  body.end_array(body.begin_array(8));  // no auxiliary units
  auto reply = MKRUN_TRY(manager_call("StartTransientUnit", "ssa(sv)a(sa(sv))", body.take()));
  if (reply.type != dbus::MessageType::kReturn) return fail(reply.error_text());
  dbus::Reader in(reply.body);
  return in.string();
}

// JobRemoved(u id, o job, s unit, s result): the result of `job` ("done", "failed", ...).
Result<std::string> Client::wait_for_job(const std::string& job) {
  auto is_ours = [&](const dbus::Message& signal) {
    if (signal.member != "JobRemoved" || signal.interface != kManagerInterface) return false;
    dbus::Reader in(signal.body);
    auto id = in.uint32();
    auto path = in.string();
    return id && path && *path == job;
  };
  auto removed = MKRUN_TRY(connection_.wait_for_signal(is_ours, kJobTimeoutMs));
  dbus::Reader in(removed.body);
  MKRUN_TRY(in.uint32());
  MKRUN_TRY(in.string());
  MKRUN_TRY(in.string());
  return in.string();
}

Result<void> Client::start_unit(const std::string& name,
                                const std::vector<dbus::Property>& properties) {
  MKRUN_CHECK(subscribe());
  auto job = start_job(name, properties);
  if (!job && job.error().what().starts_with("org.freedesktop.systemd1.UnitExists")) {
    // Most likely a failed unit left from an earlier container of the same name: let systemd
    // forget it, and try once more (runc).
    (void)manager_call("ResetFailedUnit", "s", strings_body({name}));
    job = start_job(name, properties);
  }
  if (!job) return fail("unable to start systemd unit \"" + name + "\": " + job.error().what());
  auto result = wait_for_job(*job);
  if (!result) {
    return fail("waiting for systemd to create \"" + name + "\": " + result.error().what());
  }
  if (*result != "done") {
    return fail("error creating systemd unit \"" + name + "\": got \"" + *result + "\"");
  }
  return {};
}

Result<void> Client::stop_unit(const std::string& name) {
  MKRUN_CHECK(subscribe());
  auto reply = MKRUN_TRY(manager_call("StopUnit", "ss", strings_body({name, "replace"})));
  if (reply.type == dbus::MessageType::kReturn) {
    dbus::Reader in(reply.body);
    std::string job = MKRUN_TRY(in.string());
    // A job result other than "done" is only a warning in runc: the cgroup goes next anyway.
    if (auto removed = wait_for_job(job); !removed) {
      return fail("waiting for systemd to remove \"" + name + "\": " + removed.error().what());
    }
  }
  // NoSuchUnit and the like: the scope already ended with its last process. A failed unit stays
  // listed until reset.
  (void)manager_call("ResetFailedUnit", "s", strings_body({name}));
  return {};
}

Result<void> Client::set_properties(const std::string& name,
                                    const std::vector<dbus::Property>& properties) {
  dbus::Writer body;
  body.string(name);
  body.boolean(true);  // runtime: not written to /etc
  body.properties(properties);
  auto reply = MKRUN_TRY(manager_call("SetUnitProperties", "sba(sv)", body.take()));
  if (reply.type != dbus::MessageType::kReturn) {
    return fail("unable to set properties of systemd unit \"" + name + "\": " + reply.error_text());
  }
  return {};
}

}  // namespace mkrun::cgroups::systemd

// ---- SystemdManager ------------------------------------------------------------------------

namespace mkrun::cgroups {

bool SystemdManager::under_systemd() const {
  return !directories().empty() && systemd::is_running();
}

// The unit of the cgroup: its first directory names it in every hierarchy.
Result<systemd::Unit> SystemdManager::unit() const {
  return systemd::unit_of(directories().front(), host().hierarchies.front().mount_point);
}

Result<void> SystemdManager::adopt(pid_t pid, const oci::Resources* resources) {
  if (!under_systemd()) return {};
  systemd::Unit unit = MKRUN_TRY(this->unit());
  auto client = MKRUN_TRY(systemd::Client::connect());
  unsigned version = MKRUN_TRY(client.version());
  bool unified = layout() == Layout::kV2;
  auto properties = MKRUN_TRY(systemd::unit_properties(unit, pid, resources, version, unified));
  MKRUN_CHECK(client.start_unit(unit.name, properties));
  // Adopting the cgroup, systemd wrote its own values (its defaults for whatever the properties
  // leave out, such as TasksMax) into it: the spec's limits go in again, as runc's Set does after
  // Apply.
  if (!resources) return {};
  return write_resources(*resources, DeviceRules::kSet);
}

Result<void> SystemdManager::update(const oci::Resources& resources) {
  MKRUN_CHECK(set_unit_properties(resources));  // runc's Set: systemd first, then cgroupfs
  return CgroupfsManager::update(resources);
}

// runc's Destroy: systemd stops the scope (and removes its cgroup) before the rmdirs. The first
// failure is the one reported.
Result<void> SystemdManager::destroy() {
  if (!owned()) return {};
  Result<void> stopped = stop_unit();
  Result<void> removed = CgroupfsManager::destroy();
  return stopped ? removed : stopped;
}

Result<void> SystemdManager::set_unit_properties(const oci::Resources& resources) const {
  if (!under_systemd()) return {};
  systemd::Unit unit = MKRUN_TRY(this->unit());
  auto client = MKRUN_TRY(systemd::Client::connect());
  unsigned version = MKRUN_TRY(client.version());
  auto properties =
      MKRUN_TRY(systemd::resource_properties(resources, version, layout() == Layout::kV2));
  if (properties.empty()) return {};
  return client.set_properties(unit.name, properties);
}

Result<void> SystemdManager::stop_unit() const {
  if (!under_systemd()) return {};
  auto unit = this->unit();
  if (!unit) return {};  // not at a unit's path: nothing systemd would know
  auto client = MKRUN_TRY(systemd::Client::connect());
  return client.stop_unit(unit->name);
}

}  // namespace mkrun::cgroups
