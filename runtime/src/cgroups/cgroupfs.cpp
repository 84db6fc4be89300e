// The cgroupfs peer: directories in every hierarchy, limits, membership, signals, freezing and
// removal.
#include "cgroups/cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <memory>
#include <thread>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/resources.hpp"
#include "cgroups/util.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::cgroups {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The hierarchies runc's v1 manager joins (fs.go `subsystems`), name=systemd included: runc
// joins it so the container's /proc/self/cgroup is consistent with the others.
constexpr std::array<std::string_view, 14> kJoinedV1 = {
    "cpuset",  "devices", "memory",   "cpu",        "cpuacct", "pids", "blkio",
    "hugetlb", "net_cls", "net_prio", "perf_event", "freezer", "rdma", "name=systemd"};

bool joined(const Hierarchy& hierarchy) {
  if (hierarchy.unified) return true;
  return std::any_of(kJoinedV1.begin(), kJoinedV1.end(),
                     [&](std::string_view name) { return hierarchy.has(name); });
}

std::string cgroup_directory(const Hierarchy& hierarchy, const CgroupPath& path, Layout layout) {
  std::string base = hierarchy.own_path;
  // runc fs2 (_defaultDirPath): on pure v2 a relative path goes under the parent of the caller's
  // cgroup. The caller's own cgroup holds processes (the caller), so the kernel would refuse to
  // pass it domain controllers, and a child of it could even end up in a threaded subtree.
  if (!path.absolute && hierarchy.unified && layout == Layout::kV2) {
    auto slash = base.find_last_of('/');
    base = slash == 0 || slash == std::string::npos ? "/" : base.substr(0, slash);
  }
  std::string inside = path.absolute ? path.path : util::join(base, path.path);
  return util::join(hierarchy.mount_point, inside);
}

// "/m" and "/m/a/b" -> {"/m/a", "/m/a/b"}: the levels below the mount point, top down.
std::vector<std::string> levels_below(const std::string& mount_point, const std::string& dir) {
  std::vector<std::string> levels;
  std::string current = mount_point;
  std::string_view rest = std::string_view(dir).substr(std::min(mount_point.size(), dir.size()));
  for (std::string_view part : util::split(rest, '/')) {
    if (part.empty()) continue;
    current = util::join(current, part);
    levels.push_back(current);
  }
  return levels;
}

// The mount point and every level above `dir` below it: where subtree_control applies to `dir`.
std::vector<std::string> parents_of(const std::string& mount_point, const std::string& dir) {
  std::vector<std::string> parents{mount_point};
  auto levels = levels_below(mount_point, dir);
  if (!levels.empty()) levels.pop_back();
  parents.insert(parents.end(), levels.begin(), levels.end());
  return parents;
}

std::string parent_of(const std::string& dir) {
  auto slash = dir.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

// ---- directories -----------------------------------------------------------------------------

Result<void> make_directory(const std::string& dir, std::vector<std::string>& made) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    made.push_back(dir);
    return {};
  }
  if (errno == EEXIST) return {};
  return fail_errno("create cgroup `" + dir + "`");
}

// A new v1 cpuset cgroup starts with empty cpus and mems, and the kernel refuses tasks (ENOSPC)
// until both are set: copy the parent's down, as runc's cpusetEnsureParent does for every level.
Result<void> inherit_cpuset(const std::string& dir) {
  for (const char* name : {"cpuset.cpus", "cpuset.mems"}) {
    std::string file = util::join(dir, name);
    std::string own = MKRUN_TRY(util::read_text(file));
    if (!util::trim(own).empty()) continue;
    std::string parent = MKRUN_TRY(util::read_text(util::join(parent_of(dir), name)));
    if (util::trim(parent).empty()) continue;
    MKRUN_CHECK(util::write_text(file, util::trim(parent)));
  }
  return {};
}

// Like runc's fs2 CreateCgroupPath: enable in every parent all the controllers it offers, all at
// once, else one by one. Failures are ignored (a nested cgroup with processes, rootless): the
// limit writes report what is really missing.
void enable_all_controllers(const std::string& mount_point, const std::string& dir) {
  auto parents = parents_of(mount_point, dir);
  for (const std::string& parent : parents) {
    auto offered = util::read_text(util::join(parent, "cgroup.controllers"));
    if (!offered) continue;
    std::string all;
    for (std::string_view controller : util::words(*offered)) {
      all += (all.empty() ? "+" : " +") + std::string(controller);
    }
    if (all.empty()) continue;
    std::string control = util::join(parent, "cgroup.subtree_control");
    if (util::write_text(control, all)) continue;
    for (std::string_view one : util::words(all)) (void)util::write_text(control, one);
  }
}

// Hybrid: enable in the unified hierarchy only what the limits written there need (hugetlb on
// the usual host), leaving the rest of the shared unified tree as it is.
Result<void> enable_controllers(const std::string& mount_point, const std::string& dir,
                                const std::vector<std::string>& controllers) {
  auto parents = parents_of(mount_point, dir);
  for (const std::string& parent : parents) {
    std::string control = util::join(parent, "cgroup.subtree_control");
    std::string enabled = MKRUN_TRY(util::read_text(control));
    auto on = util::words(enabled);
    for (const std::string& controller : controllers) {
      if (std::find(on.begin(), on.end(), controller) != on.end()) continue;
      MKRUN_CHECK(util::write_text(control, "+" + controller));
    }
  }
  return {};
}

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// The sub-cgroups of `dir` (a container may make its own). Missing `dir`: none.
Result<std::vector<std::string>> subdirectories(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd && errno == ENOENT) return std::vector<std::string>{};
  if (!fd) return fail_errno("open cgroup `" + dir + "`");
  DirPtr stream(::fdopendir(fd.get()));
  if (!stream) return fail_errno("read cgroup `" + dir + "`");
  fd.release();  // the DIR owns it now
  std::vector<std::string> out;
  while (const dirent* entry = ::readdir(stream.get())) {
    std::string_view name = entry->d_name;
    if (entry->d_type != DT_DIR || name == "." || name == "..") continue;
    out.push_back(util::join(dir, name));
  }
  return out;
}

// runc's RemovePath: sub-cgroups first; EBUSY while tasks are still exiting, so retry briefly.
Result<void> remove_cgroup(const std::string& dir) {
  auto deadline = Clock::now() + 1s;
  bool children_removed = false;
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    int error = errno;
    if ((error == EBUSY || error == ENOTEMPTY) && !children_removed) {
      children_removed = true;
      auto children = MKRUN_TRY(subdirectories(dir));
      for (const std::string& child : children) MKRUN_CHECK(remove_cgroup(child));
      continue;
    }
    if (error != EBUSY || Clock::now() >= deadline) {
      return fail_errno("remove cgroup `" + dir + "`", error);
    }
    std::this_thread::sleep_for(10ms);
  }
}

Result<void> collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  auto text = util::read_text(util::join(dir, "cgroup.procs"));
  // A sub-cgroup may vanish while we walk.
  if (!text && text.error().errc() == ENOENT) return {};
  if (!text) return std::unexpected(std::move(text).error());
  for (std::string_view line : util::words(*text)) {
    if (auto pid = parse_number<pid_t>(util::trim(line))) out.push_back(*pid);
  }
  auto children = MKRUN_TRY(subdirectories(dir));
  for (const std::string& child : children) MKRUN_CHECK(collect_pids(child, out));
  return {};
}

// ---- resource writes -------------------------------------------------------------------------

struct Planned {
  std::string directory;
  Write write;
};

std::unexpected<Error> controller_missing(const Write& write) {
  return fail("cannot set `" + write.setting + "`: this host has no `" + write.controller +
              "` cgroup controller");
}

// runc fs2 setUnified's message.
std::unexpected<Error> unified_controller_missing(const Write& write) {
  return fail("unified resource \"" + write.file + "\" can't be set: controller \"" +
              write.controller + "\" not available");
}

// runc fs/memory.go: EBUSY means the new limit is below what the cgroup already uses.
std::unexpected<Error> memory_busy(const std::string& dir, const std::string& value,
                                   Error original) {
  auto usage = util::read_text(util::join(dir, "memory.usage_in_bytes"));
  auto peak = util::read_text(util::join(dir, "memory.max_usage_in_bytes"));
  if (!usage || !peak) return std::unexpected(std::move(original));
  return fail("unable to set memory limit to " + value +
              " (current usage: " + std::string(util::trim(*usage)) +
              ", peak usage: " + std::string(util::trim(*peak)) + ")");
}

// runc fs/cpu.go: the kernel clamps cpu.shares to [2, 262144] without an error.
Result<void> verify(const std::string& path, const Write& write) {
  std::string text = MKRUN_TRY(util::read_text(path));
  auto got = parse_number<uint64_t>(util::trim(text));
  auto wanted = parse_number<uint64_t>(util::trim(write.value));
  if (!got || !wanted || *got == *wanted) return {};
  const char* bound = *wanted > *got ? "maximum" : "minimum";
  return fail("the " + std::string(bound) + " allowed cpu-shares is " + std::to_string(*got));
}

// The file of the previous write, kept open: consecutive writes to one file (the devices rules,
// a dozen by default) then cost one open, not one each.
struct OpenFile {
  std::string path;
  UniqueFd fd;
};

Result<void> perform(const Planned& planned, OpenFile& last) {
  const Write& write = planned.write;
  std::string path = util::join(planned.directory, write.file);
  std::string value = write.value;
  bool probe = write.skip_if_missing || write.if_missing;
  if (probe && !util::exists(path)) {
    if (!write.if_missing) return {};
    path = util::join(planned.directory, write.if_missing->file);
    value = write.if_missing->value;
  }
  if (!last.fd || last.path != path) {
    last.fd.reset();
    last.fd = MKRUN_TRY(util::open_for_writing(path, value));
    last.path = path;
  }
  auto written = util::write_text_to(last.fd.get(), path, value);
  if (!written) {
    int errc = written.error().errc();
    if (errc == EINVAL && write.tolerate_einval) return {};
    if (errc == EBUSY && write.file == "memory.limit_in_bytes") {
      return memory_busy(planned.directory, value, std::move(written).error());
    }
    return written;
  }
  if (write.verify) return verify(path, write);
  return {};
}

}  // namespace

// ---- placement -------------------------------------------------------------------------------

Result<Placement> plan_placement(const Host& host, const CgroupPath& path) {
  if (path.path.empty()) return fail("empty cgroup path");
  Placement placement;
  placement.host.layout = host.layout;
  for (const Hierarchy& hierarchy : host.hierarchies) {
    if (!joined(hierarchy)) continue;
    placement.host.hierarchies.push_back(hierarchy);
    placement.directories.push_back(cgroup_directory(hierarchy, path, host.layout));
  }
  return placement;
}

Result<Placement> placement_of(const Host& host, const state::CgroupRecord& record) {
  Placement placement;
  placement.owned = record.owned;
  placement.host.layout = host.layout;
  for (const std::string& dir : record.directories) {
    // The deepest mount point holding `dir` (a v1 mount may sit below the v2 one).
    const Hierarchy* best = nullptr;
    for (const Hierarchy& hierarchy : host.hierarchies) {
      const std::string& mount = hierarchy.mount_point;
      bool holds = dir.starts_with(mount) &&
                   (dir.size() == mount.size() || mount.ends_with('/') || dir[mount.size()] == '/');
      if (holds && (!best || mount.size() > best->mount_point.size())) best = &hierarchy;
    }
    if (!best) continue;
    placement.host.hierarchies.push_back(*best);
    placement.directories.push_back(dir);
  }
  if (!record.directories.empty() && placement.directories.empty()) {
    return fail("the container's cgroup `" + record.directories.front() +
                "` is on no cgroup hierarchy mounted now");
  }
  return placement;
}

// ---- CgroupfsManager -------------------------------------------------------------------------

Result<void> CgroupfsManager::create() {
  std::vector<std::string> made;
  auto undo = [&] {
    for (auto it = made.rbegin(); it != made.rend(); ++it) (void)::rmdir(it->c_str());
  };
  for (size_t i = 0; i < directories_.size(); ++i) {
    const Hierarchy& hierarchy = host_.hierarchies[i];
    bool cpuset = !hierarchy.unified && hierarchy.has("cpuset");
    for (const std::string& level : levels_below(hierarchy.mount_point, directories_[i])) {
      auto step = make_directory(level, made);
      if (step && cpuset) step = inherit_cpuset(level);
      if (!step) {
        undo();
        return step;
      }
    }
    if (hierarchy.unified && host_.layout == Layout::kV2) {
      enable_all_controllers(hierarchy.mount_point, directories_[i]);
    }
  }
  return {};
}

Result<void> CgroupfsManager::apply(const oci::Resources& resources, bool rootless) {
  return write_resources(resources, rootless ? DeviceRules::kTry : DeviceRules::kSet);
}

Result<void> CgroupfsManager::update(const oci::Resources& resources) {
  return write_resources(resources, DeviceRules::kLeave);
}

Result<void> CgroupfsManager::write_resources(const oci::Resources& resources,
                                              DeviceRules devices) {
  TranslateOptions options;
  options.devices = devices != DeviceRules::kLeave;
  const std::string memory_dir = directory_of("memory");
  const auto& memory = resources.memory;
  bool reorder = memory && memory->limit.value_or(0) != 0 && memory->swap.value_or(0) != 0;
  if (reorder && host_.layout != Layout::kV2 && !memory_dir.empty()) {
    auto text = util::read_text(util::join(memory_dir, "memory.limit_in_bytes"));
    if (text) options.current_memory_limit = parse_number<uint64_t>(util::trim(*text));
  }

  const std::string* unified_dir = unified_directory();
  const Hierarchy* unified = host_.unified();
  std::vector<Planned> plan;
  std::vector<std::string> unified_controllers;  // hybrid: to enable in the unified tree
  auto to_unified = [&](const Write& write) -> Result<void> {
    bool core = write.controller == "cgroup";
    if (!unified_dir || (!core && !unified->has(write.controller))) {
      if (write.setting == "linux.resources.unified") return unified_controller_missing(write);
      return controller_missing(write);
    }
    plan.push_back({*unified_dir, write});
    bool listed = std::find(unified_controllers.begin(), unified_controllers.end(),
                            write.controller) != unified_controllers.end();
    if (!core && !listed) unified_controllers.push_back(write.controller);
    return {};
  };

  if (host_.layout == Layout::kV2) {
    for (const Write& write : MKRUN_TRY(translate(resources, Version::kV2, options))) {
      MKRUN_CHECK(to_unified(write));
    }
  } else {
    // runc refuses the unified map unless the host is pure v2, hybrid hosts included.
    if (!resources.unified.empty()) {
      return fail(
          "invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified "
          "needs a pure cgroup v2 host)");
    }
    // v1 first; a controller that only the unified hierarchy has is translated for v2 there.
    std::vector<std::string> v2_only;
    for (const Write& write : MKRUN_TRY(translate(resources, Version::kV1, options))) {
      std::string dir = directory_of(write.controller);
      if (host_.v1_with(write.controller) && !dir.empty()) {
        plan.push_back({dir, write});
        continue;
      }
      std::string v2 = std::string(v2_controller_of(write.controller));
      if (v2.empty() || !unified || !unified->has(v2)) return controller_missing(write);
      if (std::find(v2_only.begin(), v2_only.end(), v2) == v2_only.end()) v2_only.push_back(v2);
    }
    for (const std::string& controller : v2_only) {
      auto part = only_controller(resources, controller);
      for (const Write& write : MKRUN_TRY(translate(part, Version::kV2, options))) {
        MKRUN_CHECK(to_unified(write));
      }
    }
    for (const Write& write : MKRUN_TRY(translate_unified(resources.unified))) {
      MKRUN_CHECK(to_unified(write));
    }
  }

  if (host_.layout == Layout::kHybrid && unified_dir && !unified_controllers.empty()) {
    MKRUN_CHECK(enable_controllers(unified->mount_point, *unified_dir, unified_controllers));
  }
  OpenFile last;
  for (const Planned& planned : plan) {
    auto written = perform(planned, last);
    bool may_fail = devices == DeviceRules::kTry && planned.write.controller == "devices";
    if (!written && !may_fail) return written;
  }
  // v2 has no devices controller: the rules become an eBPF program on the cgroup (runc fs2
  // setDevices). Hybrid keeps them in v1's devices cgroup, as runc does.
  if (devices != DeviceRules::kLeave && host_.layout == Layout::kV2 && unified_dir) {
    auto filtered = devices_bpf::apply(*unified_dir, resources.devices);
    if (!filtered && devices == DeviceRules::kSet) return filtered;
  }
  return {};
}

Result<void> CgroupfsManager::add_process(pid_t pid) {
  for (const std::string& dir : directories_) {
    MKRUN_CHECK(util::write_text(util::join(dir, "cgroup.procs"), std::to_string(pid)));
  }
  return {};
}

std::vector<std::string> CgroupfsManager::v1_task_files() const {
  std::vector<std::string> files;
  for (size_t i = 0; i < directories_.size(); ++i) {
    if (!host_.hierarchies[i].unified) files.push_back(util::join(directories_[i], "tasks"));
  }
  return files;
}

Result<void> CgroupfsManager::add_process_to_unified(pid_t pid) {
  const std::string* dir = unified_directory();
  if (!dir) return {};
  return util::write_text(util::join(*dir, "cgroup.procs"), std::to_string(pid));
}

Result<std::vector<pid_t>> CgroupfsManager::pids() const {
  std::vector<pid_t> out;
  std::string dir = pids_directory();
  if (dir.empty()) return out;
  MKRUN_CHECK(collect_pids(dir, out));
  return out;
}

Result<void> CgroupfsManager::kill_all(int signal) const {
  const std::string* unified_dir = unified_directory();
  if (signal == SIGKILL && unified_dir) {
    // One write kills the whole subtree, racing no fork (Linux 5.14+), as runc 1.5 does on v2
    // and hybrid hosts. On hybrid the container's processes are in the unified hierarchy too
    // (its children inherit it), but one moved out of it there alone would be missed: the v1
    // listing below still runs, and finds nothing left but the dying.
    std::string kill_file = util::join(*unified_dir, "cgroup.kill");
    if (util::exists(kill_file)) {
      MKRUN_CHECK(util::write_text(kill_file, "1"));
      if (host_.layout == Layout::kV2) return {};
    }
  }
  // Signal what is listed; new children of a dying process can appear meanwhile, so SIGKILL
  // repeats until the cgroup is empty, for about a second (the kernel unlists exited tasks).
  int rounds = signal == SIGKILL ? 50 : 1;
  for (int round = 0; round < rounds; ++round) {
    auto listed = MKRUN_TRY(pids());
    if (listed.empty()) return {};
    for (pid_t pid : listed) {
      if (::kill(pid, signal) != 0 && errno != ESRCH) {
        return fail_errno("kill process " + std::to_string(pid) + " of the container");
      }
    }
    // Tasks of a paused container do not act on SIGKILL until thawed (runc thaws after
    // signalling too).
    if (signal == SIGKILL && round == 0 && is_frozen().value_or(false)) (void)thaw();
    if (round + 1 < rounds) std::this_thread::sleep_for(20ms);
  }
  return {};
}

Result<void> CgroupfsManager::freeze() const {
  std::string v1 = host_.v1_with("freezer") ? directory_of("freezer") : std::string();
  if (!v1.empty()) {
    // runc fs/freezer.go: the state goes FREEZING -> FROZEN; writing again nudges tasks that
    // were busy in the kernel the first time.
    std::string state_file = util::join(v1, "freezer.state");
    auto deadline = Clock::now() + 1s;
    for (;;) {
      MKRUN_CHECK(util::write_text(state_file, "FROZEN"));
      std::string state = MKRUN_TRY(util::read_text(state_file));
      if (util::trim(state) == "FROZEN") return {};
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(10ms);
    }
    (void)util::write_text(state_file, "THAWED");
    return fail("cgroup `" + v1 + "` did not freeze within a second");
  }
  const std::string* unified_dir = unified_directory();
  if (!unified_dir) return fail("this host has no freezer cgroup controller");
  MKRUN_CHECK(util::write_text(util::join(*unified_dir, "cgroup.freeze"), "1"));
  // cgroup.events says "frozen 1" once every task has stopped.
  std::string events_file = util::join(*unified_dir, "cgroup.events");
  auto deadline = Clock::now() + 1s;
  while (util::exists(events_file)) {
    std::string events = MKRUN_TRY(util::read_text(events_file));
    if (events.find("frozen 1") != std::string::npos) return {};
    if (Clock::now() >= deadline) {
      (void)util::write_text(util::join(*unified_dir, "cgroup.freeze"), "0");
      return fail("cgroup `" + *unified_dir + "` did not freeze within a second");
    }
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

Result<void> CgroupfsManager::thaw() const {
  const std::string* unified_dir = unified_directory();
  if (host_.v1_with("freezer")) {
    MKRUN_CHECK(util::write_text(util::join(directory_of("freezer"), "freezer.state"), "THAWED"));
    // On hybrid hosts the init is in the unified hierarchy too, where someone else may have set
    // cgroup.freeze: a kill that thaws must not leave the tasks stopped there.
    if (unified_dir) {
      std::string freeze_file = util::join(*unified_dir, "cgroup.freeze");
      auto freeze = util::read_text(freeze_file);
      if (freeze && util::trim(*freeze) == "1") return util::write_text(freeze_file, "0");
    }
    return {};
  }
  if (!unified_dir) return fail("this host has no freezer cgroup controller");
  return util::write_text(util::join(*unified_dir, "cgroup.freeze"), "0");
}

Result<bool> CgroupfsManager::is_frozen() const {
  if (host_.v1_with("freezer")) {
    std::string state =
        MKRUN_TRY(util::read_text(util::join(directory_of("freezer"), "freezer.state")));
    return util::trim(state) == "FROZEN";
  }
  const std::string* unified_dir = unified_directory();
  if (!unified_dir) return false;
  std::string freeze = MKRUN_TRY(util::read_text(util::join(*unified_dir, "cgroup.freeze")));
  return util::trim(freeze) == "1";
}

namespace {

// `dir` and its ancestors inside the hierarchy mounted at `mount_point`, the mount point
// excluded: the root cgroup can be neither frozen nor made to.
std::vector<std::string> cgroup_and_ancestors(std::string dir, const std::string& mount_point) {
  std::vector<std::string> chain;
  while (dir.size() > mount_point.size() && dir.starts_with(mount_point)) {
    chain.push_back(dir);
    dir.resize(dir.rfind('/'));
  }
  return chain;
}

// The file's content, or nothing when it (or its cgroup) does not exist.
Result<std::optional<std::string>> read_if_present(const std::string& path) {
  auto text = util::read_text(path);
  if (text) return std::optional<std::string>(std::string(util::trim(*text)));
  if (text.error().errc() == ENOENT || text.error().errc() == ENODEV) return std::nullopt;
  return std::unexpected(std::move(text).error());
}

}  // namespace

Result<bool> CgroupfsManager::frozen_before_join() const {
  for (size_t i = 0; i < directories_.size(); ++i) {
    const Hierarchy& hierarchy = host_.hierarchies[i];
    const auto chain = cgroup_and_ancestors(directories_[i], hierarchy.mount_point);
    if (hierarchy.unified) {
      for (const std::string& dir : chain) {
        auto freeze = MKRUN_TRY(read_if_present(util::join(dir, "cgroup.freeze")));
        if (freeze && *freeze == "1") return true;
      }
    } else if (hierarchy.has("freezer")) {
      for (const std::string& dir : chain) {
        auto state = MKRUN_TRY(read_if_present(util::join(dir, "freezer.state")));
        if (!state) continue;  // not made yet: its parent's state is what it would get
        if (*state != "THAWED") return true;
        break;  // the closest existing one reports what is inherited; other hierarchies next
      }
    }
  }
  return false;
}

Result<void> CgroupfsManager::destroy() {
  if (!owned_) return {};
  Result<void> first_error;
  for (auto it = directories_.rbegin(); it != directories_.rend(); ++it) {
    auto removed = remove_cgroup(*it);
    if (!removed && first_error) first_error = std::move(removed);
  }
  return first_error;
}

Result<UniqueFd> CgroupfsManager::open_unified_dir() const {
  const std::string* dir = unified_directory();
  if (!dir) return UniqueFd();
  UniqueFd fd(::open(dir->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open cgroup `" + *dir + "`");
  return fd;
}

state::CgroupRecord CgroupfsManager::record() const {
  return {std::string(driver_name(driver())), directories_, owned_};
}

std::string CgroupfsManager::directory_of(std::string_view controller) const {
  for (size_t i = 0; i < directories_.size(); ++i) {
    const Hierarchy& hierarchy = host_.hierarchies[i];
    bool match =
        controller.empty() ? hierarchy.unified : !hierarchy.unified && hierarchy.has(controller);
    if (match) return directories_[i];
  }
  // No v1 hierarchy: on v2 every controller lives in the unified one; on hybrid the ones it has.
  const std::string* unified_dir = unified_directory();
  bool in_unified =
      host_.layout == Layout::kV2 || (host_.unified() && host_.unified()->has(controller));
  if (!controller.empty() && unified_dir && in_unified) return *unified_dir;
  return {};
}

const std::string* CgroupfsManager::unified_directory() const {
  for (size_t i = 0; i < directories_.size(); ++i) {
    if (host_.hierarchies[i].unified) return &directories_[i];
  }
  return nullptr;
}

// runc reads the pids of a v1 container from one hierarchy; all hold the same processes.
std::string CgroupfsManager::pids_directory() const {
  if (host_.layout == Layout::kV2) {
    const std::string* dir = unified_directory();
    return dir ? *dir : std::string();
  }
  for (const char* controller : {"pids", "memory"}) {
    if (host_.v1_with(controller)) return directory_of(controller);
  }
  for (size_t i = 0; i < directories_.size(); ++i) {
    if (!host_.hierarchies[i].unified) return directories_[i];
  }
  const std::string* dir = unified_directory();
  return dir ? *dir : std::string();
}

}  // namespace mkrun::cgroups
