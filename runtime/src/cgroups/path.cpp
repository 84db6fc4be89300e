// cgroupsPath -> the container's cgroup path in each hierarchy, by runc's rules
// (libcontainer/specconv CreateCgroupConfig, cgroups/fs paths.go, cgroups/systemd ExpandSlice).
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "cgroups/util.hpp"

namespace mkrun::cgroups {
namespace {

// runc's utils.CleanPath: like filepath.Clean, but ".." can never climb above the start, so a
// relative path stays under the caller's cgroup and an absolute one under the hierarchy root.
// Returns the components; the caller keeps track of whether the path was absolute.
std::vector<std::string_view> clean_components(std::string_view path) {
  std::vector<std::string_view> kept;
  for (std::string_view part : util::split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(part);
  }
  return kept;
}

std::string joined(const std::vector<std::string_view>& parts, bool absolute) {
  std::string out;
  for (std::string_view part : parts) {
    if (absolute || !out.empty()) out += '/';
    out += part;
  }
  return out;
}

Result<CgroupPath> resolve_cgroupfs(std::string_view cgroups_path, std::string_view id) {
  // runc: an empty cgroupsPath becomes Name=<id> with no Parent, i.e. the relative path "<id>".
  std::string_view wanted = cgroups_path.empty() ? id : cgroups_path;
  bool absolute = wanted.starts_with('/');
  auto parts = clean_components(wanted);
  if (parts.empty()) {
    // runc would put the container in the hierarchy root (or in its own cgroup) and destroy
    // would then try to remove that: refuse instead.
    return fail("cgroupsPath `" + std::string(wanted) +
                "` names the root of the cgroup hierarchy or the caller's own cgroup, not a "
                "cgroup for the container");
  }
  return CgroupPath{joined(parts, absolute), absolute};
}

std::unexpected<Error> invalid_slice(std::string_view slice) {
  return fail("invalid slice name: " + std::string(slice));
}

// runc's ExpandSlice: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", "-.slice" -> "/".
Result<std::string> expand_slice(std::string_view slice) {
  constexpr std::string_view kSuffix = ".slice";
  if (!slice.ends_with(kSuffix) || slice.find('/') != std::string_view::npos) {
    return invalid_slice(slice);
  }
  std::string_view name = slice.substr(0, slice.size() - kSuffix.size());
  if (name == "-") return std::string("/");
  std::string path;
  std::string prefix;
  for (std::string_view component : util::split(name, '-')) {
    // "test--a.slice", "-test.slice" and ".slice" itself have an empty component.
    if (component.empty()) return invalid_slice(slice);
    path += "/" + prefix + std::string(component) + std::string(kSuffix);
    prefix += std::string(component) + "-";
  }
  return path;
}

// systemd would refuse a unit name with a slash; without systemd it would escape the slice.
Result<void> check_unit_part(std::string_view part, std::string_view cgroups_path) {
  if (part.find('/') == std::string_view::npos && part != "." && part != "..") return {};
  return fail("invalid cgroupsPath \"" + std::string(cgroups_path) + "\": \"" + std::string(part) +
              "\" is not a valid systemd unit name part");
}

// --systemd-cgroup without systemd: the cgroupfs path systemd would have given the scope.
Result<CgroupPath> resolve_systemd(std::string_view cgroups_path, std::string_view id) {
  // runc defaults to Parent "system.slice" and ScopePrefix "runc"; mkrun names its own scopes.
  std::string_view slice = "system.slice";
  std::string prefix = "mkrun";
  std::string_view name = id;
  if (!cgroups_path.empty()) {
    auto parts = util::split(cgroups_path, ':');
    if (parts.size() != 3) {
      return fail(
          "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got "
          "\"" +
          std::string(cgroups_path) + "\" instead");
    }
    if (!parts[0].empty()) slice = parts[0];
    prefix = parts[1];
    name = parts[2];
  }
  MKRUN_CHECK(check_unit_part(prefix, cgroups_path));
  MKRUN_CHECK(check_unit_part(name, cgroups_path));
  std::string expanded = MKRUN_TRY(expand_slice(slice));
  // runc's getUnitName: a scope, unless the name asks for a slice.
  std::string unit =
      name.ends_with(".slice") ? std::string(name) : prefix + "-" + std::string(name) + ".scope";
  return CgroupPath{util::join(expanded, unit), true};
}

}  // namespace

Result<CgroupPath> resolve_cgroups_path(std::string_view cgroups_path, std::string_view id,
                                        bool systemd) {
  if (systemd) return resolve_systemd(cgroups_path, id);
  return resolve_cgroupfs(cgroups_path, id);
}

}  // namespace mkrun::cgroups
