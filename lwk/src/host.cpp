#include "host.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "mkrun/base/command.hpp"
#include "mkrun/base/fd.hpp"
#include "text_files.hpp"

namespace mkrun::lwk {
namespace {

// ihkconfig exits with the ioctl's raw return value: only its output is meaningful.
Result<std::string> capture_output(const std::vector<std::string>& argv) {
  return MKRUN_TRY(command::run(argv, command::Stderr::kDiscard)).text;
}

uint32_t host_id(uint32_t id, const std::vector<oci::IdMapping>& mappings) {
  for (const oci::IdMapping& m : mappings) {
    if (id >= m.containerID && id - m.containerID < m.size) return m.hostID + (id - m.containerID);
  }
  return id;
}

}  // namespace

Result<void> check_ihk_loaded(ihk::Ihk& ihk, const HostConfig& config) {
  auto probe = ihk.reserved_cpus(config.device);
  if (probe) return {};
  std::string device = "/dev/mcd" + std::to_string(config.device);
  if (probe.error().errc() == ENOENT)
    return fail("IHK is not loaded: " + device +
                " is missing (load ihk.ko, ihk-smp-<arch>.ko and mcctrl.ko from " + config.prefix +
                "/kmod, as mcreboot.sh does)");
  return std::unexpected(std::move(probe).error().wrap("IHK does not answer on " + device));
}

Result<void> check_build_id(const HostConfig& config) {
  if (config.build_id.empty()) return {};
  MKRUN_CHECK(check_executable(config.ihkconfig, "ihkconfig"));
  std::string loaded = trimmed(MKRUN_TRY(
      capture_output({config.ihkconfig, std::to_string(config.device), "get", "buildid"})));
  if (loaded == config.build_id) return {};
  return fail("build-id mismatch: the loaded IHK reports \"" + loaded +
              "\" but this host's McKernel was built for \"" + config.build_id +
              "\" (build_id in " + config.path +
              "); mcexec would refuse to run: load the matching IHK modules");
}

namespace {

// A path from the host configuration that is missing is a configuration problem: said in words,
// as engines take ENOENT's text for a missing executable (exit 127).
Result<void> check_access(const std::string& path, int mode, const std::string& what) {
  if (::access(path.c_str(), mode) == 0) return {};
  if (errno == ENOENT) return fail(what + " `" + path + "` is missing");
  return fail_errno(what + " `" + path + "`");
}

}  // namespace

Result<void> check_executable(const std::string& path, const std::string& what) {
  return check_access(path, X_OK, what);
}

Result<void> check_readable(const std::string& path, const std::string& what) {
  return check_access(path, R_OK, what);
}

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

bool is_missing(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) < 0 && errno == ENOENT;
}

Result<DeviceNumbers> instance_device(int os) {
  std::string path = "/dev/mcos" + std::to_string(os);
  struct stat info {};
  if (::stat(path.c_str(), &info) < 0) return fail_errno("stat `" + path + "`");
  if (!S_ISCHR(info.st_mode)) return fail("`" + path + "` is not a character device");
  return DeviceNumbers{static_cast<int64_t>(major(info.st_rdev)),
                       static_cast<int64_t>(minor(info.st_rdev))};
}

std::string device_node_of(const DeviceNumbers& numbers) {
  return std::to_string(numbers.major) + ":" + std::to_string(numbers.minor);
}

Result<uint64_t> instance_identity(int os) {
  std::string path = "/dev/mcos" + std::to_string(os);
  struct stat info {};
  if (::stat(path.c_str(), &info) < 0) return fail_errno("stat `" + path + "`");
  return static_cast<uint64_t>(info.st_ino);
}

Result<void> give_device_to(int os, const oci::Spec& spec) {
  uint32_t uid = spec.process->user.uid;
  uint32_t gid = spec.process->user.gid;
  if (spec.linux) {
    uid = host_id(uid, spec.linux->uidMappings);
    gid = host_id(gid, spec.linux->gidMappings);
  }
  if (uid == 0 && gid == 0) return {};
  std::string path = "/dev/mcos" + std::to_string(os);
  if (::chown(path.c_str(), uid, gid) < 0) return fail_errno("chown `" + path + "`");
  return {};
}

Result<void> give_device_to_user(int os, uint32_t uid, uint32_t gid) {
  std::string path = "/dev/mcos" + std::to_string(os);
  if (::chown(path.c_str(), uid, gid) < 0) return fail_errno("chown `" + path + "`");
  return {};
}

Result<void> check_device_usable(int os) {
  std::string path = "/dev/mcos" + std::to_string(os);
  if (::access(path.c_str(), R_OK | W_OK) == 0) return {};
  if (errno == ENOENT) return fail("there is no McKernel instance " + std::to_string(os));
  return fail_errno("this user cannot use McKernel instance " + std::to_string(os) + ": `" + path +
                    "` (its owner and mode decide who may run mcexec on it: mcreboot.sh -o "
                    "<user>, or mkrun-lwk boot --user, gives it to a user)");
}

Result<std::string> pid_namespace_of(const oci::Spec& spec) {
  std::string path = "/proc/self/ns/pid";
  if (spec.linux) {
    for (const oci::Namespace& ns : spec.linux->namespaces) {
      if (ns.type != "pid") continue;
      if (ns.path.empty()) return std::string("new");
      path = ns.path;
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return fail_errno("stat the pid namespace `" + path + "`");
  return "ns:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

bool is_initial_pid_namespace(const std::string& pid_namespace) {
  constexpr std::string_view kInitialInode = ":4026531836";  // PROC_PID_INIT_INO, 0xEFFFFFFC
  return pid_namespace.starts_with("ns:") && pid_namespace.ends_with(kInitialInode);
}

}  // namespace mkrun::lwk
