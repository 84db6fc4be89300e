#include "container/cdi.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "container/internal.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/text.hpp"

namespace mkrun::runtime::internal {
namespace {

namespace cdi = oci::cdi;

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};
using DirHandle = std::unique_ptr<DIR, DirCloser>;

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// A spec is host configuration, as trusted as the engine: whoever may write it may give any
// container a host device, a bind of any host path, or a hook that runs as root on the host.
// So the file (or directory) must be root's, or the caller's for a rootless mkrun, and not
// writable by group or others. (CDI's Go library checks nothing; this is mkrun's own rule.)
std::optional<std::string> ownership_problem(const struct stat& info) {
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    return "owned by uid " + std::to_string(info.st_uid) + ", not root";
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "writable by group or others (mode " + octal_mode(info.st_mode) + ")";
  }
  return std::nullopt;
}

// The names in a directory, sorted as CDI scans them (a later file of the same priority only
// matters for conflicts, but errors then list the files in a stable order).
Result<std::vector<std::string>> sorted_names(int dir_fd, const std::string& dir) {
  int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return fail_errno("cdi: " + dir);
  DirHandle handle(::fdopendir(copy));
  if (!handle) {
    ::close(copy);
    return fail_errno("cdi: read " + dir);
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(handle.get())) {
    std::string name = entry->d_name;
    if (cdi::format_of(name)) names.push_back(std::move(name));
  }
  std::ranges::sort(names);
  return names;
}

// One spec file, opened below its directory's descriptor; a problem is the file's, not fatal.
oci::SpecResult<cdi::Spec> read_spec_file(int dir_fd, const std::string& name, bool& is_dir) {
  auto fd = files::open_at(dir_fd, name, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::unexpected(oci::SpecError{fd.error().render()});
  struct stat info {};
  if (::fstat(fd->get(), &info) < 0) return std::unexpected(oci::SpecError{"fstat failed"});
  is_dir = S_ISDIR(info.st_mode);
  if (is_dir) return std::unexpected(oci::SpecError{"a directory"});
  if (!S_ISREG(info.st_mode)) return std::unexpected(oci::SpecError{"not a regular file"});
  if (auto problem = ownership_problem(info)) return std::unexpected(oci::SpecError{*problem});
  auto text = files::read_fd(fd->get(), name);
  if (!text) return std::unexpected(oci::SpecError{text.error().render()});
  auto spec = cdi::parse_spec(*text, *cdi::format_of(name));
  if (!spec) return spec;
  if (auto valid = cdi::validate_spec(*spec); !valid) return std::unexpected(valid.error());
  return spec;
}

// Opens a spec directory; nullopt when it does not exist (CDI skips those).
Result<std::optional<UniqueFd>> open_spec_dir(const std::string& dir) {
  auto fd = files::open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!fd && fd.error().errc() == ENOENT) return std::optional<UniqueFd>();
  if (!fd) return std::unexpected(std::move(fd).error().wrap("cdi: spec directory"));
  struct stat info {};
  if (::fstat(fd->get(), &info) < 0) return fail_errno("cdi: stat " + dir);
  if (auto problem = ownership_problem(info)) {
    return fail("cdi: spec directory " + dir + " is " + *problem + ": refusing its specs");
  }
  return std::optional<UniqueFd>(std::move(*fd));
}

Result<void> load_spec_dir(const std::string& dir, int priority, cdi::Registry& registry) {
  auto fd = MKRUN_TRY(open_spec_dir(dir));
  if (!fd) return {};
  for (const std::string& name : MKRUN_TRY(sorted_names(fd->get(), dir))) {
    const std::string path = dir + "/" + name;
    bool is_dir = false;
    auto spec = read_spec_file(fd->get(), name, is_dir);
    if (is_dir) continue;  // CDI does not recurse
    if (spec) {
      registry.add(path, priority, std::move(*spec));
    } else {
      registry.add_broken(path, spec.error().message);
    }
  }
  return {};
}

// The devices asked for: the annotations' first, then --cdi-device's, each once.
Result<std::vector<std::string>> requested(const GlobalOptions& global, const oci::Spec& spec) {
  auto devices = cdi::requested_devices(spec.annotations);
  if (!devices) return fail("cdi: " + devices.error().message);
  for (const std::string& name : global.cdi_devices) {
    auto parsed = cdi::parse_qualified_name(name);
    if (!parsed) return fail("cdi: --cdi-device: " + parsed.error().message);
    if (std::ranges::find(*devices, name) == devices->end()) devices->push_back(name);
  }
  return std::move(*devices);
}

}  // namespace

Result<cdi::Registry> load_cdi_registry(const std::vector<std::string>& dirs) {
  cdi::Registry registry;
  for (size_t priority = 0; priority < dirs.size(); ++priority) {
    MKRUN_CHECK(load_spec_dir(dirs[priority], static_cast<int>(priority), registry));
  }
  return registry;
}

oci::SpecResult<cdi::HostDevice> stat_host_device(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) < 0) {
    return std::unexpected(oci::SpecError{sys_error("lstat").render()});
  }
  cdi::HostDevice device;
  switch (info.st_mode & S_IFMT) {
    case S_IFBLK:
      device.type = "b";
      break;
    case S_IFCHR:
      device.type = "c";
      break;
    case S_IFIFO:
      device.type = "p";
      break;
    default:
      return std::unexpected(oci::SpecError{"not a device node"});
  }
  device.major = major(info.st_rdev);
  device.minor = minor(info.st_rdev);
  device.mode = info.st_mode & 07777;
  return device;
}

Result<bool> inject_cdi_devices(const GlobalOptions& global, oci::Spec& spec,
                                std::string& config_text) {
  const std::vector<std::string> devices = MKRUN_TRY(requested(global, spec));
  if (devices.empty()) return false;
  const auto& dirs = global.cdi_spec_dirs.empty() ? kDefaultCdiSpecDirs : global.cdi_spec_dirs;
  cdi::Registry registry = MKRUN_TRY(load_cdi_registry(dirs));
  auto edits = registry.edits_for(devices);
  if (!edits) return fail("cdi: " + edits.error().message);
  for (const std::string& problem : registry.broken()) warn(global, "cdi: not loaded: " + problem);
  if (auto applied = cdi::apply_edits(*edits, stat_host_device, spec); !applied) {
    return fail("cdi: " + applied.error().message);
  }
  auto written = cdi::write_edited_sections(config_text, spec, *edits);
  if (!written) return fail("cdi: rewrite config: " + written.error().message);
  config_text = std::move(*written);
  debug(global, "cdi: injected " + text::join(devices, ", "));
  return true;
}

}  // namespace mkrun::runtime::internal
