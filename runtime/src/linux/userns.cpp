#include "linux/userns.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "mkrun/base/files.hpp"

namespace mkrun::userns {

// ---- Pure rules -------------------------------------------------------------------------------

std::string id_map_text(const std::vector<oci::IdMapping>& mappings) {
  std::string text;
  for (const auto& m : mappings) {
    text += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " +
            std::to_string(m.size) + "\n";
  }
  return text;
}

std::vector<std::string> mapping_tool_args(pid_t pid, const std::vector<oci::IdMapping>& mappings) {
  std::vector<std::string> args = {std::to_string(pid)};
  for (const auto& m : mappings) {
    args.push_back(std::to_string(m.containerID));
    args.push_back(std::to_string(m.hostID));
    args.push_back(std::to_string(m.size));
  }
  return args;
}

bool must_deny_setgroups(const std::vector<oci::IdMapping>& gid_mappings, bool rootless,
                         gid_t egid) {
  if (!rootless || gid_mappings.size() != 1) return false;
  const oci::IdMapping& only = gid_mappings.front();
  return only.containerID == 0 && only.hostID == egid && only.size == 1;
}

bool is_initial_uid_map(std::string_view uid_map) {
  std::istringstream first_line{std::string(uid_map.substr(0, uid_map.find('\n')))};
  uint64_t inside = 1, outside = 1, size = 0;
  if (!(first_line >> inside >> outside >> size)) return false;
  return inside == 0 && outside == 0 && size == 4294967295ULL;
}

// ---- The container's user namespace -----------------------------------------------------------

namespace {

std::string proc_file(pid_t pid, std::string_view name) {
  return "/proc/" + std::to_string(pid) + "/" + std::string(name);
}

// Go's exec.LookPath: the first executable regular file named `name` in $PATH.
std::string look_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (true) {
    auto colon = rest.find(':');
    std::string_view directory = rest.substr(0, colon);
    std::string candidate = (directory.empty() ? "." : std::string(directory)) + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

// waitpid for one child, through EINTR; the raw status.
Result<int> wait_for(pid_t pid, const std::string& what) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail_errno("wait for " + what);
  }
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

// Runs newuidmap/newgidmap as runc does: an empty environment (the tools are setuid root), and
// nothing but stdio open, so the fds mkrun preserves for the container never reach them.
Result<void> run_mapping_tool(const std::string& tool, pid_t pid,
                              const std::vector<oci::IdMapping>& mappings) {
  std::vector<std::string> args = mapping_tool_args(pid, mappings);
  std::string program = tool;
  std::vector<char*> argv = {program.data()};
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* no_environment[] = {nullptr};
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t child = -1;
  int spawned =
      ::posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), no_environment);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return fail_errno("exec `" + tool + "`", spawned);
  int status = MKRUN_TRY(wait_for(child, "`" + tool + "`"));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return fail("`" + tool + "` " + describe_status(status));
}

// runc: writing "deny" fails with ENOENT on kernels before 3.19, which have no such file and no
// such restriction either.
Result<void> deny_setgroups(pid_t pid) {
  std::string path = proc_file(pid, "setgroups");
  auto written = files::write_file(path, "deny", O_WRONLY);
  if (written || written.error().errc() == ENOENT) return {};
  return fail_errno("failed to write 'deny' to " + path, written.error().errc());
}

enum class IdKind { kUser, kGroup };

// One map: directly, else (refused, unprivileged) through the mapping tool.
Result<void> write_id_map(pid_t pid, IdKind kind, const std::vector<oci::IdMapping>& mappings,
                          bool rootless, const std::string& tool) {
  if (mappings.empty()) return {};
  std::string path = proc_file(pid, kind == IdKind::kUser ? "uid_map" : "gid_map");
  auto written = files::write_file(path, id_map_text(mappings), O_WRONLY);
  if (written) return {};
  int errc = written.error().errc();
  if (errc != EPERM || !rootless) return fail_errno("failed to update " + path, errc);
  if (tool.empty()) return fail_errno("mapping tool not present", EPERM);
  auto ran = run_mapping_tool(tool, pid, mappings);
  if (ran) return {};
  std::string context = std::string(kind == IdKind::kUser ? "failed to use newuid map on "
                                                          : "failed to use newgid map on ") +
                        std::to_string(pid);
  return std::unexpected(std::move(ran).error().wrap(context));
}

}  // namespace

MappingTools find_mapping_tools() {
  return {look_path("newuidmap"), look_path("newgidmap")};
}

Result<void> write_id_maps(pid_t pid, const oci::Linux& linux, bool rootless) {
  // Only an unprivileged mkrun ever needs the tools: do not search $PATH otherwise.
  return write_id_maps(pid, linux, rootless, rootless ? find_mapping_tools() : MappingTools{});
}

Result<void> write_id_maps(pid_t pid, const oci::Linux& linux, bool rootless,
                           const MappingTools& tools) {
  if (must_deny_setgroups(linux.gidMappings, rootless, ::getegid())) {
    MKRUN_CHECK(deny_setgroups(pid));
  }
  MKRUN_CHECK(write_id_map(pid, IdKind::kUser, linux.uidMappings, rootless, tools.newuidmap));
  return write_id_map(pid, IdKind::kGroup, linux.gidMappings, rootless, tools.newgidmap);
}

bool running_in_user_namespace() {
  auto uid_map = files::read_file("/proc/self/uid_map");
  // No such file: a kernel without user namespaces, so certainly not in one.
  return uid_map && !is_initial_uid_map(*uid_map);
}

// ---- Idmapped mounts --------------------------------------------------------------------------

namespace {

// A helper process parked in a new user namespace; it exits once `release` is closed, and the
// destructor reaps it, whatever happened in between.
struct ParkedHelper {
  ParkedHelper() = default;
  ParkedHelper(const ParkedHelper&) = delete;
  ParkedHelper& operator=(const ParkedHelper&) = delete;
  ~ParkedHelper() {
    release.reset();
    if (pid > 0) (void)wait_for(pid, "the user namespace helper");
  }
  pid_t pid = -1;
  UniqueFd release;
};

// The helper's whole life: wait for the parent to close its end, then leave. Runs in a copy of
// the single-threaded parent, so only plain syscalls, and _exit so no destructor runs twice.
[[noreturn]] void park(int wait_fd, int release_fd) {
  (void)::close(release_fd);
  (void)::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char byte;
  while (::read(wait_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

Result<void> spawn_parked_helper(ParkedHelper& helper) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return fail_errno("pipe for the user namespace helper");
  UniqueFd wait_end(pipe_fds[0]);
  helper.release.reset(pipe_fds[1]);
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return fail_errno("clone a user namespace for an idmapped mount");
  if (pid == 0) park(wait_end.get(), helper.release.get());
  helper.pid = static_cast<pid_t>(pid);
  return {};
}

}  // namespace

Result<UniqueFd> make_userns_fd(const std::vector<oci::IdMapping>& uid_mappings,
                                const std::vector<oci::IdMapping>& gid_mappings) {
  ParkedHelper helper;
  MKRUN_CHECK(spawn_parked_helper(helper));
  oci::Linux maps;
  maps.uidMappings = uid_mappings;
  maps.gidMappings = gid_mappings;
  MKRUN_CHECK(write_id_maps(helper.pid, maps, false, MappingTools{}));
  return files::open(proc_file(helper.pid, "ns/user"), O_RDONLY);
}

Result<UniqueFd> clone_mount_tree(const std::string& source, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0U);
  int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), flags));
  if (tree >= 0) return UniqueFd(tree);
  if (errno == ENOSYS)
    return fail_errno("open_tree `" + source + "`: not supported by this kernel");
  return fail_errno("open_tree `" + source + "`");
}

Result<UniqueFd> make_idmapped_mount(const std::string& source,
                                     const std::vector<oci::IdMapping>& uid_mappings,
                                     const std::vector<oci::IdMapping>& gid_mappings,
                                     bool recursive, bool recursive_idmap) {
  auto wrap = [&source](Error error) {
    return std::unexpected(std::move(error).wrap("idmapped mount of `" + source + "`"));
  };
  auto userns = make_userns_fd(uid_mappings, gid_mappings);
  if (!userns) return wrap(std::move(userns).error());
  auto tree = clone_mount_tree(source, recursive);
  if (!tree) return wrap(std::move(tree).error());
  UniqueFd tree_fd = std::move(*tree);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns->get());
  unsigned setattr_flags = AT_EMPTY_PATH | (recursive_idmap ? AT_RECURSIVE : 0U);
  if (::syscall(SYS_mount_setattr, tree_fd.get(), "", setattr_flags, &attr, sizeof attr) < 0) {
    if (errno == EINVAL) {
      return wrap(sys_error("mount_setattr MOUNT_ATTR_IDMAP (is the file system idmappable?)"));
    }
    return wrap(sys_error("mount_setattr MOUNT_ATTR_IDMAP"));
  }
  return tree_fd;
}

}  // namespace mkrun::userns
