// The library behind the `mkrun` command line: one call per runc command. The CLI parses flags
// and renders results; everything else happens here, so tests can drive it directly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/features.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"

namespace mkrun::runtime {

// Who manages a new container's cgroup (crun's --cgroup-manager): mkrun writing the cgroup
// filesystem, the same with a systemd unit, or no cgroup at all.
enum class CgroupManagerKind { kCgroupfs, kSystemd, kDisabled };

// The global flags that matter below the CLI.
struct GlobalOptions {
  std::string root;  // state root; default_root() when empty
  CgroupManagerKind cgroup_manager = CgroupManagerKind::kCgroupfs;
  bool rootless = false;
  // The kernel for containers whose config does not choose one (io.mkrun.kernel): `--kernel`.
  std::string default_kernel;
  // CDI devices for every container created, besides those its cdi.k8s.io/ annotations name,
  // for engines that pass none (`--cdi-device vendor/class=name`, repeatable).
  std::vector<std::string> cdi_devices;
  // The CDI spec directories, lowest priority first; empty: /etc/cdi, /var/run/cdi.
  std::vector<std::string> cdi_spec_dirs;
  // Receives what is worth a warning but not a failure (a poststart or poststop hook that
  // failed, as the runtime spec rules); the CLI logs it. May be empty.
  std::function<void(const std::string&)> warn;
  // Receives each step mkrun takes (the bundle it reads, the process it clones, the cgroup it
  // removes, ...) for --debug; the CLI logs it at level debug. Empty, as without --debug: the
  // steps go unsaid.
  std::function<void(const std::string&)> debug;
  std::string criu = "criu";  // looked up in PATH unless it holds a '/'
};

struct CreateOptions {
  std::string id;
  std::string bundle;          // empty: the current directory
  std::string console_socket;  // AF_UNIX path that receives the pty master
  std::string pidfd_socket;    // AF_UNIX path that receives a pidfd of the init (runc 1.2+)
  std::string pid_file;
  bool no_pivot = false;
  bool no_new_keyring = false;
  unsigned preserve_fds = 0;
};

struct RunOptions {
  CreateOptions create;
  bool detach = false;
  bool keep = false;  // keep the stopped container instead of deleting it
  bool no_subreaper = false;
};

// `exec`: a new process in a running container, in every namespace and the cgroup of its init.
struct ExecOptions {
  std::string id;
  std::string process_file;       // --process: a full runtime-spec Process; the flags below but
                                  // console_socket, pidfd_socket, detach, pid_file,
                                  // preserve_fds, cgroup and ignore_paused are then ignored, as
                                  // in runc
  std::vector<std::string> args;  // the command and its arguments
  std::string console_socket;
  std::string pidfd_socket;  // AF_UNIX path that receives a pidfd of the process (runc 1.2+)
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::string cwd;
  std::vector<std::string> env;  // added to (or replacing) the container's env
  std::string user;              // "uid[:gid]"
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> capabilities;  // --cap: added to the container's sets
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::string process_label;
  unsigned preserve_fds = 0;
  // --cgroup: the sub-cgroup (below the container's) to join, per controller; "" for every one
  std::map<std::string, std::string> sub_cgroups;
  bool ignore_paused = false;
};

// The CRIU options checkpoint and restore share, as runc's flags name them.
struct CriuOptions {
  std::string image_path;  // where the images go (the CLI: runc's ./checkpoint by default)
  std::string work_path;   // empty: the image directory (logs go there too)
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  bool auto_dedup = false;
  bool lazy_pages = false;
  std::string manage_cgroups_mode;    // soft, full, strict, ignore; empty: criu's default
  std::vector<std::string> empty_ns;  // namespaces made but not restored; only "network"
};

// `checkpoint`: criu dumps a running or paused container; without leave_running or pre_dump the
// container is destroyed afterwards, as runc does.
struct CheckpointOptions {
  std::string id;
  CriuOptions criu;
  std::string parent_path;  // relative to image_path: the pre-dump to build on
  bool leave_running = false;
  bool pre_dump = false;
  int status_fd = -1;       // with lazy_pages: criu writes \0 there once it serves pages
  std::string page_server;  // "ADDRESS:PORT"
};

// `restore`: a new container from the bundle, its processes restored by criu from the image.
struct RestoreOptions {
  CreateOptions create;  // id, bundle, console_socket, pid_file, no_pivot
  CriuOptions criu;
  bool detach = false;
  bool no_subreaper = false;
  std::string lsm_profile;
  std::string lsm_mount_context;
};

class Runtime {
 public:
  explicit Runtime(GlobalOptions options);

  // Leaves the container's init set up and blocked, in the `created` state.
  Result<void> create(const CreateOptions& options);
  // Releases a created container's init to exec its process.
  Result<void> start(std::string_view id);
  // create + start; in the foreground waits as a subreaper, forwarding signals, and returns the
  // container's exit status (128+signal when killed). Detached: returns 0 once it runs.
  Result<int> run(const RunOptions& options);
  Result<oci::State> state(std::string_view id);
  // Every container under the root, by id; `owner` is set.
  Result<std::vector<oci::State>> list();
  // Signals the init, or with `all` every process of the container's cgroup; SIGKILL to a
  // container without a pid namespace of its own is always `all` (runc 1.5).
  Result<void> kill(std::string_view id, int signal, bool all);
  Result<void> remove(std::string_view id, bool force);

  // Foreground: the process's exit status (128+signal when killed). Detached: 0 once it runs.
  Result<int> exec(const ExecOptions& options);
  // Whether exec may run in the container now: runc's refusal for a missing, stopped or (without
  // `ignore_paused`) paused one, which it reports before any error in exec's own flags.
  Result<void> check_exec(std::string_view id, bool ignore_paused);
  // `ps`: host pids of every process in the container's cgroup.
  Result<std::vector<int>> pids(std::string_view id);
  Result<void> pause(std::string_view id);
  Result<void> resume(std::string_view id);
  // `update`: new limits for a created, running or paused container; also saved in its record.
  // `rdt`: `--l3-cache-schema` and `--mem-bw-schema`, new schemata lines for the container's
  // Intel RDT class of service; empty ones are left as they are.
  struct IntelRdtUpdate {
    std::string l3CacheSchema;
    std::string memBwSchema;
  };
  Result<void> update(std::string_view id, const oci::Resources& resources,
                      const IntelRdtUpdate& rdt = {});

  Result<void> checkpoint(const CheckpointOptions& options);
  // Foreground: waits like `run` and returns the container's exit status. Detached: 0.
  Result<int> restore(const RestoreOptions& options);

  const GlobalOptions& options() const { return options_; }

 private:
  GlobalOptions options_;
};

// /run/mkrun for root; $XDG_RUNTIME_DIR/mkrun when rootless and XDG_RUNTIME_DIR is set.
std::string default_root();

// Whether mkrun runs in a user namespace other than the initial one (rootless podman, a nested
// container): there even euid 0 is rootless for runc's `--rootless auto`.
bool running_in_user_namespace();

// runc's id rule: ^[\w+-\.]+$, and not "." or "..".
bool is_valid_container_id(std::string_view id);

// "KILL", "kill", "SIGKILL", "9" -> 9; "0" -> 0, the null signal. Unknown: error
// `unknown signal "FOO"`.
Result<int> parse_signal(std::string_view text);

// `features`: what this build implements (runtime-spec features.md), without the version
// annotations, which the CLI adds.
oci::Features features();

// `spec`: writes the default config.json into `bundle`, refusing to overwrite one.
Result<void> write_default_spec(std::string_view bundle, bool rootless);

}  // namespace mkrun::runtime
