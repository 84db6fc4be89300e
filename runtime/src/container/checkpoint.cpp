// `checkpoint` and `restore` through Debian's (or any) `criu` binary, driven by its command line
// as runc drives it over RPC: the same options, external mounts and namespaces, images and logs
// (dump.log, restore.log, runc's descriptors.json). criu_args.cpp builds the command lines.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <optional>

#include "container/container.hpp"
#include "container/criu_args.hpp"
#include "container/foreground.hpp"
#include "container/internal.hpp"
#include "mkrun/base/command.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/base/paths.hpp"
#include "mkrun/base/text.hpp"
#include "mkrun/oci/descriptors.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {
namespace {

using internal::Container;
using internal::Status;
namespace criu = internal::criu;

constexpr std::string_view kDescriptorsFile = "descriptors.json";
constexpr std::string_view kConfigAnnotation = "org.criu.config";
constexpr std::string_view kDefaultConfig = "/etc/criu/runc.conf";

void warn_if_rootless(const GlobalOptions& global, std::string_view command) {
  if (::geteuid() != 0 || running_in_user_namespace()) {
    internal::warn(global,
                   "mkrun " + std::string(command) + " is untested with rootless containers");
  }
}

// runc asks criu for its version first and needs 3.0; an absent binary fails here, clearly.
Result<int> criu_version(const std::string& criu) {
  auto output = command::run({criu, "--version"}, command::Stderr::kCapture);
  if (!output) {
    return std::unexpected(std::move(output).error().wrap("CRIU version check failed"));
  }
  if (!output->succeeded()) {
    return fail("CRIU version check failed: `" + criu + " --version`: " + output->text);
  }
  auto version = criu::parse_criu_version(output->text);
  if (!version)
    return std::unexpected(std::move(version).error().wrap("CRIU version check failed"));
  return *version;
}

Result<void> require_criu(const std::string& criu, int minimum, std::string_view refusal) {
  const int version = MKRUN_TRY(criu_version(criu));
  if (version < minimum) return fail(std::string(refusal));
  return {};
}

Result<void> check_common(const CriuOptions& options) {
  MKRUN_CHECK(criu::check_manage_cgroups_mode(options.manage_cgroups_mode));
  return criu::check_empty_ns(options.empty_ns);
}

// "Error" lines of criu's log, quoted as warnings the way runc quotes them.
void quote_log_errors(const GlobalOptions& global, const std::string& log) {
  auto text = files::read_file(log);
  if (!text) {
    internal::warn(global, text.error().render());
    return;
  }
  const std::vector<std::string> lines = criu::error_lines(*text);
  if (lines.empty()) return;
  internal::warn(global, "--- Quoting \"" + log + "\"");
  for (const std::string& line : lines) internal::warn(global, line);
  internal::warn(global, "---");
}

std::string describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "wait status " + std::to_string(wait_status);
}

// Runs criu; a failure names criu's log and quotes its errors.
Result<void> run_criu(const GlobalOptions& global, const std::vector<std::string>& args,
                      const std::vector<command::FdAt>& fds, std::string_view type,
                      const std::string& log) {
  internal::debug(global, "running " + text::join(args, " "));
  const int status = MKRUN_TRY(command::run_attached(args, fds));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  quote_log_errors(global, log);
  return fail("criu failed: type " + std::string(type) + ": " + describe_status(status) +
              ", log file: " + log);
}

// runc's org.criu.config annotation: a file of criu options; empty means none. Without it,
// /etc/criu/runc.conf. Given only when it exists: criu's command line refuses a missing one.
std::string config_file(const std::map<std::string, std::string>& annotations) {
  const auto found = annotations.find(std::string(kConfigAnnotation));
  const std::string path = found != annotations.end() ? found->second : std::string(kDefaultConfig);
  if (path.empty() || ::access(path.c_str(), R_OK) != 0) return "";
  return path;
}

Result<void> make_directory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) return fail_errno("mkdir " + path);
  return {};
}

// ---- checkpoint --------------------------------------------------------------------------------

Result<void> check_parent(const std::string& image_dir, const std::string& parent) {
  if (parent.empty()) return {};
  MKRUN_CHECK(criu::check_parent_path(parent));
  const std::string real_parent = paths::clean_absolute(image_dir + "/" + parent);
  struct stat info {};
  if (::stat(real_parent.c_str(), &info) < 0) {
    return fail_errno("invalid --parent-path: stat " + real_parent);
  }
  if (!S_ISDIR(info.st_mode)) {
    return fail_errno("invalid --parent-path: stat " + real_parent, ENOTDIR);
  }
  return {};
}

// Masked paths that are files in the running container: /dev/null is bound over each. Looked up
// inside the container's root: a symlink there must not make mkrun look at a host path.
std::vector<std::string> masked_files(const oci::Spec& spec, pid_t pid) {
  std::vector<std::string> found;
  if (!spec.linux) return found;
  auto root = files::open("/proc/" + std::to_string(pid) + "/root", O_PATH | O_DIRECTORY);
  if (!root) return found;
  for (const std::string& path : spec.linux->maskedPaths) {
    auto masked = files::open_in_root(root->get(), path, O_PATH);
    struct stat info {};
    if (masked && ::fstat(masked->get(), &info) == 0 && !S_ISDIR(info.st_mode)) {
      found.push_back(path);
    }
  }
  return found;
}

std::string criu_namespace_name(std::string_view type) {
  if (type == "network") return "net";
  if (type == "mount") return "mnt";
  return std::string(type);
}

std::string external_namespace_key(std::string_view type) {
  return type == "network" ? "extRootNetNS" : "extRootPidNS";
}

// runc: a network or pid namespace the config names by path is left to the host: criu saves
// only a reference to it, which restore resolves to the namespace the config names then.
Result<std::vector<std::string>> external_namespaces(const oci::Spec& spec) {
  std::vector<std::string> externals;
  if (!spec.linux) return externals;
  for (const oci::Namespace& ns : spec.linux->namespaces) {
    if (ns.path.empty() || (ns.type != "network" && ns.type != "pid")) continue;
    struct stat info {};
    if (::stat(ns.path.c_str(), &info) < 0) return fail_errno("stat " + ns.path);
    externals.push_back(criu_namespace_name(ns.type) + "[" + std::to_string(info.st_ino) +
                        "]:" + external_namespace_key(ns.type));
  }
  return externals;
}

// The init's stdio as runc records it, for restore to reconnect the pipes among them.
Result<void> write_descriptors(const std::string& image_dir, pid_t pid) {
  std::vector<std::string> descriptors;
  for (int fd = 0; fd < 3; ++fd) {
    const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    char target[PATH_MAX];
    const ssize_t length = ::readlink(link.c_str(), target, sizeof target - 1);
    descriptors.push_back(length < 0 ? std::string() : std::string(target, length));
  }
  return files::write_file(image_dir + "/" + std::string(kDescriptorsFile),
                           oci::render_descriptors(descriptors), O_WRONLY | O_CREAT | O_TRUNC,
                           0600);
}

// The directory criu freezes the container through (cgroup v2's cgroup.freeze, v1's freezer).
std::string freezer_directory(Container& container) {
  auto cgroup = container.cgroup();
  if (!cgroup) return "";
  const bool v2 = (*cgroup)->layout() == cgroups::Layout::kV2;
  return (*cgroup)->directory_of(v2 ? "" : "freezer");
}

}  // namespace

Result<void> Runtime::checkpoint(const CheckpointOptions& options) {
  warn_if_rootless(options_, "checkpoint");
  auto container = MKRUN_TRY(Container::open(options_.root, options.id));
  const Status status = container.status();
  if (status == Status::kCreated || status == Status::kStopped) {
    return fail("Container cannot be checkpointed in " + std::string(status.name()) + " state");
  }
  criu::DumpPlan plan;
  plan.criu = options_.criu;
  plan.options = &options;
  plan.image_dir = options.criu.image_path;
  MKRUN_CHECK(files::make_directories(plan.image_dir, 0700));
  MKRUN_CHECK(check_parent(plan.image_dir, options.parent_path));
  if (!options.page_server.empty()) {
    std::tie(plan.page_server_address, plan.page_server_port) =
        MKRUN_TRY(criu::parse_page_server(options.page_server));
  }
  MKRUN_CHECK(check_common(options.criu));
  MKRUN_CHECK(require_criu(options_.criu, 30000, "checkpoint needs at least CRIU 3.0"));

  const oci::Spec spec = MKRUN_TRY(container.spec());
  plan.pid = container.record().pid;
  plan.rootfs = container.record().rootfs;
  plan.work_dir = options.criu.work_path;
  if (!plan.work_dir.empty()) MKRUN_CHECK(make_directory(plan.work_dir));
  plan.freeze_cgroup = freezer_directory(container);
  plan.config_file = config_file(container.record().annotations);
  plan.externals = MKRUN_TRY(external_namespaces(spec));
  plan.mounts = criu::dump_mounts(spec, masked_files(spec, plan.pid));
  if (!options.pre_dump) MKRUN_CHECK(write_descriptors(plan.image_dir, plan.pid));

  const std::string log_dir = plan.work_dir.empty() ? plan.image_dir : plan.work_dir;
  MKRUN_CHECK(run_criu(options_, criu::dump_arguments(plan), {},
                       options.pre_dump ? "PRE_DUMP" : "DUMP", log_dir + "/dump.log"));
  if (options.leave_running || options.pre_dump) return {};
  // criu has killed the processes; the container goes as runc's Destroy removes it.
  if (auto destroyed = container.destroy(options_); !destroyed) {
    internal::warn(options_, destroyed.error().render());
  }
  return {};
}

// ---- restore -----------------------------------------------------------------------------------

namespace {

// criu wants its --root to be a mount point whose parent is not overmounted: the rootfs is
// bound at <state dir>/criu-root while criu runs, as runc does.
class CriuRoot {
 public:
  static Result<CriuRoot> bind(const std::string& rootfs, const std::string& state_dir) {
    CriuRoot root(state_dir + "/criu-root");
    if (::mkdir(root.path_.c_str(), 0755) < 0) return fail_errno("mkdir " + root.path_);
    root.made_ = true;
    if (::mount(rootfs.c_str(), root.path_.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      return fail_errno("bind " + rootfs + " to " + root.path_);
    }
    root.mounted_ = true;
    return root;
  }
  CriuRoot(CriuRoot&& other) noexcept
      : path_(std::move(other.path_)),
        made_(std::exchange(other.made_, false)),
        mounted_(std::exchange(other.mounted_, false)) {}
  CriuRoot(const CriuRoot&) = delete;
  CriuRoot& operator=(const CriuRoot&) = delete;
  CriuRoot& operator=(CriuRoot&&) = delete;
  ~CriuRoot() {
    if (mounted_) (void)::umount2(path_.c_str(), MNT_DETACH);
    if (made_) (void)::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  explicit CriuRoot(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool made_ = false;
  bool mounted_ = false;
};

bool is_under(const std::string& path, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (path.starts_with(prefix + "/")) return true;
  }
  return false;
}

// runc's prepareCriuRestoreMounts, simplified: the mount points criu mounts onto must exist in
// the rootfs, except under a tmpfs, whose contents criu restores itself. A bind of a file needs
// a file there, anything else a directory. They are made inside the rootfs, never through a
// symlink of the image out of it.
Result<void> make_mount_points(const oci::Spec& spec, const std::string& rootfs,
                               const std::string& bundle) {
  std::vector<std::string> tmpfs;
  for (const oci::Mount& mount : spec.mounts) {
    if (mount.type == "tmpfs") tmpfs.push_back(paths::clean_absolute(mount.destination));
  }
  auto root = MKRUN_TRY(files::open(rootfs, O_PATH | O_DIRECTORY));
  for (const oci::Mount& mount : spec.mounts) {
    const std::string destination = paths::clean_absolute(mount.destination);
    if (mount.type == "cgroup" || mount.type == "cgroup2" || is_under(destination, tmpfs)) continue;
    if (files::open_in_root(root.get(), destination, O_PATH)) continue;  // there already
    const std::string source =
        mount.source.starts_with('/') ? mount.source : bundle + "/" + mount.source;
    struct stat source_info {};
    const bool file = ::stat(source.c_str(), &source_info) == 0 && !S_ISDIR(source_info.st_mode);
    MKRUN_CHECK(files::make_in_root(root.get(), destination, !file, file ? 0644 : 0755));
  }
  return {};
}

// The cgroup criu puts the restored processes in: the new container's, below each mount.
std::vector<std::string> cgroup_roots(const internal::RestoreTarget& target) {
  std::vector<std::string> roots;
  for (const cgroups::Hierarchy& hierarchy : target.host.hierarchies) {
    const std::string controller = hierarchy.unified ? "" : hierarchy.controllers.front();
    const std::string directory = target.cgroup.directory_of(controller);
    if (directory.empty() || !directory.starts_with(hierarchy.mount_point)) continue;
    std::string relative = directory.substr(hierarchy.mount_point.size());
    if (relative.empty()) relative = "/";
    roots.push_back(hierarchy.unified ? relative : controller + ":" + relative);
  }
  return roots;
}

// What criu gets besides its stdio: the namespaces the config names by path (network and pid as
// runc's external keys, the others joined) and the caller's stdio for the init's pipes.
struct Handover {
  std::vector<UniqueFd> files;
  std::vector<command::FdAt> fds;
};

Result<void> hand_over_namespaces(const oci::Spec& spec, criu::RestorePlan& plan,
                                  Handover& handover) {
  if (!spec.linux) return {};
  for (const oci::Namespace& ns : spec.linux->namespaces) {
    if (ns.path.empty()) continue;
    if (ns.type == "cgroup") return fail("Do not know how to handle namespace cgroup");
    if (ns.type != "network" && ns.type != "pid") {
      plan.joined.emplace_back(criu_namespace_name(ns.type), ns.path);
      continue;
    }
    auto file = files::open(ns.path, O_RDONLY);
    if (!file) return fail("Requested namespace " + ns.path + " does not exist");
    const int target = 3 + static_cast<int>(handover.fds.size());
    handover.fds.push_back({file->get(), target});
    handover.files.push_back(std::move(*file));
    plan.inherited.push_back({target, external_namespace_key(ns.type)});
  }
  return {};
}

// runc: each of the init's stdio that was a pipe becomes the same fd of the restoring caller.
// criu gets it under another number: its own stdout goes to stderr.
Result<void> hand_over_pipes(const std::string& image_dir, criu::RestorePlan& plan,
                             Handover& handover) {
  const std::string path = image_dir + "/" + std::string(kDescriptorsFile);
  const std::string text = MKRUN_TRY(files::read_file(path));
  auto descriptors = oci::parse_descriptors(text);
  if (!descriptors) return fail("parse " + path + ": " + descriptors.error().message);
  for (std::size_t fd = 0; fd < descriptors->size() && fd < 3; ++fd) {
    const std::string& key = (*descriptors)[fd];
    if (key.find("pipe:") == std::string::npos) continue;
    const int target = 3 + static_cast<int>(handover.fds.size());
    handover.fds.push_back({static_cast<int>(fd), target});
    plan.inherited.push_back({target, key});
  }
  return {};
}

Result<pid_t> read_restored_pid(const std::string& path) {
  const std::string text = MKRUN_TRY(files::read_file(path));
  (void)::unlink(path.c_str());
  std::string_view digits = text;
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == ' '))
    digits.remove_suffix(1);
  if (auto pid = parse_number<pid_t>(digits); pid && *pid > 0) return *pid;
  return fail("criu wrote no pid to " + path);
}

Result<pid_t> restore_with_criu(const GlobalOptions& global, const RestoreOptions& options,
                                const std::string& image_dir,
                                const internal::RestoreTarget& target) {
  if (target.spec.process && target.spec.process->terminal) {
    // criu's command line cannot hand back the pty master (its RPC's orphan-pts-master does).
    return fail("restore of a container with a terminal is not supported by mkrun");
  }
  criu::RestorePlan plan;
  plan.criu = global.criu;
  plan.options = &options;
  plan.image_dir = image_dir;
  plan.work_dir = options.criu.work_path;
  if (!plan.work_dir.empty()) MKRUN_CHECK(make_directory(plan.work_dir));
  plan.pid_file = target.state_dir + "/criu-restore.pid";
  plan.config_file = config_file(target.spec.annotations);
  plan.cgroup_roots = cgroup_roots(target);
  plan.mounts = criu::restore_mounts(target.spec, target.bundle);
  Handover handover;
  MKRUN_CHECK(hand_over_namespaces(target.spec, plan, handover));
  MKRUN_CHECK(hand_over_pipes(image_dir, plan, handover));
  MKRUN_CHECK(make_mount_points(target.spec, target.rootfs, target.bundle));
  const CriuRoot root = MKRUN_TRY(CriuRoot::bind(target.rootfs, target.state_dir));
  plan.root = root.path();
  const std::string log_dir = plan.work_dir.empty() ? image_dir : plan.work_dir;
  MKRUN_CHECK(run_criu(global, criu::restore_arguments(plan), handover.fds, "RESTORE",
                       log_dir + "/restore.log"));
  return read_restored_pid(plan.pid_file);
}

Result<void> check_restore_options(const RestoreOptions& options, const std::string& criu,
                                   const std::string& image_dir) {
  MKRUN_CHECK(check_common(options.criu));
  struct stat info {};
  if (::stat(image_dir.c_str(), &info) < 0) return fail_errno("open " + image_dir);
  MKRUN_CHECK(require_criu(criu, 30000, "restore needs at least CRIU 3.0"));
  if (!options.lsm_profile.empty()) {
    MKRUN_CHECK(require_criu(criu, 31600, "--lsm-profile requires at least CRIU 3.16"));
  }
  if (!options.lsm_mount_context.empty()) {
    MKRUN_CHECK(require_criu(criu, 31600, "--lsm-mount-context requires at least CRIU 3.16"));
  }
  return {};
}

Result<void> delete_restored(const GlobalOptions& global, std::string_view id) {
  auto container = MKRUN_TRY(Container::open(global.root, id));
  return container.destroy(global);
}

}  // namespace

Result<int> Runtime::restore(const RestoreOptions& options) {
  warn_if_rootless(options_, "restore");
  const std::string& image_dir = options.criu.image_path;
  MKRUN_CHECK(check_restore_options(options, options_.criu, image_dir));
  const bool foreground = !options.detach;
  if (foreground && !options.no_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    return fail_errno("become a subreaper");
  }
  internal::BlockedSignals signals;
  const pid_t pid = MKRUN_TRY(internal::restore_container(
      options_, options.create, [&](const internal::RestoreTarget& target) {
        return restore_with_criu(options_, options, image_dir, target);
      }));
  if (!foreground) return 0;
  auto code = internal::wait_in_foreground(pid, signals, {});
  if (auto deleted = delete_restored(options_, options.create.id); !deleted && code) {
    return std::unexpected(std::move(deleted).error());
  }
  return code;
}

}  // namespace mkrun::runtime
