// Which cgroup hierarchies the host has mounted, which controllers each holds, and where this
// process sits in each: the facts every other part of the module builds on.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "cgroups/util.hpp"
#include "core/mountinfo.hpp"

namespace mkrun::cgroups {
namespace {

// The v1 controllers the kernel knows. A super option of a "cgroup" mount is a controller when
// it is one of these, a "name=" hierarchy, or listed in /proc/self/cgroup (runc's test, which
// also catches controllers newer than this list).
constexpr std::array<std::string_view, 15> kKnownV1Controllers = {
    "blkio",  "cpu",     "cpuacct",  "cpuset",     "debug", "devices", "freezer", "hugetlb",
    "memory", "net_cls", "net_prio", "perf_event", "pids",  "rdma",    "misc"};

using mountinfo::MountLine;

struct ProcCgroupLine {
  std::vector<std::string_view> controllers;  // empty for the unified hierarchy ("0::/x")
  std::string_view path;
};

// "4:memory:/process_api/x", "1:name=systemd:/", "0::/". The path may itself hold colons.
std::vector<ProcCgroupLine> parse_proc_cgroup(std::string_view text) {
  std::vector<ProcCgroupLine> lines;
  for (std::string_view line : util::split(text, '\n')) {
    auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view list = line.substr(first + 1, second - first - 1);
    ProcCgroupLine parsed{{}, line.substr(second + 1)};
    if (!list.empty()) parsed.controllers = util::split(list, ',');
    lines.push_back(parsed);
  }
  return lines;
}

bool listed_in(const std::vector<ProcCgroupLine>& proc, std::string_view option) {
  return std::any_of(proc.begin(), proc.end(), [&](const ProcCgroupLine& line) {
    return std::find(line.controllers.begin(), line.controllers.end(), option) !=
           line.controllers.end();
  });
}

std::vector<std::string> v1_controllers(std::string_view super_options,
                                        const std::vector<ProcCgroupLine>& proc) {
  std::vector<std::string> controllers;
  for (std::string_view option : util::split(super_options, ',')) {
    bool known = std::find(kKnownV1Controllers.begin(), kKnownV1Controllers.end(), option) !=
                 kKnownV1Controllers.end();
    if (option.starts_with("name=") || known || listed_in(proc, option)) {
      controllers.emplace_back(option);
    }
  }
  return controllers;
}

// The /proc/self/cgroup path is relative to the cgroup namespace root; the mount shows the
// hierarchy from `mount_root` on (runc: filepath.Rel(root, cgroup) in getCgroupPathHelper).
std::string relative_to_mount(std::string_view path, std::string_view mount_root) {
  if (mount_root == "/" || mount_root.empty()) return std::string(path);
  if (path == mount_root) return "/";
  if (path.starts_with(mount_root) && path[mount_root.size()] == '/') {
    return std::string(path.substr(mount_root.size()));
  }
  // A mount root outside our view ("/.." from another cgroup namespace): best effort.
  return std::string(path);
}

std::string own_path_of(const Hierarchy& hierarchy, std::string_view mount_root,
                        const std::vector<ProcCgroupLine>& proc) {
  for (const ProcCgroupLine& line : proc) {
    bool match = hierarchy.unified
                     ? line.controllers.empty()
                     : !line.controllers.empty() && hierarchy.has(line.controllers.front());
    if (match) return relative_to_mount(line.path, mount_root);
  }
  return "/";
}

bool same_hierarchy(const Hierarchy& a, const Hierarchy& b) {
  if (a.unified || b.unified) return a.unified == b.unified;
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  return sorted(a.controllers) == sorted(b.controllers);
}

std::vector<std::string> controller_list(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view word : util::words(text)) out.emplace_back(word);
  return out;
}

Layout layout_of(const std::vector<Hierarchy>& hierarchies) {
  bool any_v1 = std::any_of(hierarchies.begin(), hierarchies.end(),
                            [](const Hierarchy& h) { return !h.unified; });
  bool any_v2 = std::any_of(hierarchies.begin(), hierarchies.end(),
                            [](const Hierarchy& h) { return h.unified; });
  if (any_v1 && any_v2) return Layout::kHybrid;
  return any_v1 ? Layout::kV1 : Layout::kV2;
}

}  // namespace

bool Hierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

const Hierarchy* Host::unified() const {
  auto it = std::find_if(hierarchies.begin(), hierarchies.end(),
                         [](const Hierarchy& h) { return h.unified; });
  return it == hierarchies.end() ? nullptr : &*it;
}

const Hierarchy* Host::v1_with(std::string_view controller) const {
  auto it = std::find_if(hierarchies.begin(), hierarchies.end(),
                         [&](const Hierarchy& h) { return !h.unified && h.has(controller); });
  return it == hierarchies.end() ? nullptr : &*it;
}

Result<Host> parse_host(std::string_view mountinfo, std::string_view proc_self_cgroup,
                        std::string_view unified_controllers) {
  auto proc = parse_proc_cgroup(proc_self_cgroup);
  Host host;
  for (std::string_view line : util::split(mountinfo, '\n')) {
    auto mount = mountinfo::parse_line(line);
    if (!mount || (mount->fstype != "cgroup" && mount->fstype != "cgroup2")) continue;
    Hierarchy hierarchy;
    hierarchy.mount_point = mount->mount_point;
    hierarchy.unified = mount->fstype == "cgroup2";
    hierarchy.controllers = hierarchy.unified ? controller_list(unified_controllers)
                                              : v1_controllers(mount->super_options, proc);
    if (!hierarchy.unified && hierarchy.controllers.empty()) continue;
    bool duplicate = std::any_of(host.hierarchies.begin(), host.hierarchies.end(),
                                 [&](const Hierarchy& h) { return same_hierarchy(h, hierarchy); });
    if (duplicate) continue;
    hierarchy.own_path = own_path_of(hierarchy, mount->root, proc);
    host.hierarchies.push_back(std::move(hierarchy));
  }
  if (host.hierarchies.empty())
    return fail("no cgroup file system is mounted (/proc/self/mountinfo)");
  host.layout = layout_of(host.hierarchies);
  return host;
}

Result<Host> detect_host() {
  std::string mountinfo = MKRUN_TRY(util::read_text("/proc/self/mountinfo"));
  std::string proc_cgroup = MKRUN_TRY(util::read_text("/proc/self/cgroup"));
  Host host = MKRUN_TRY(parse_host(mountinfo, proc_cgroup));
  for (Hierarchy& hierarchy : host.hierarchies) {
    if (!hierarchy.unified) continue;
    std::string text =
        MKRUN_TRY(util::read_text(util::join(hierarchy.mount_point, "cgroup.controllers")));
    hierarchy.controllers = controller_list(text);
  }
  return host;
}

}  // namespace mkrun::cgroups
