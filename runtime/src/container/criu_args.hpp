// The criu command lines of checkpoint and restore, and the checks of runc's flags that go into
// them: pure functions, unit-tested (runtime/tests/criu_args_test.cpp). checkpoint.cpp gathers
// the facts (pid, rootfs, mounts, cgroup) and runs criu.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime::internal::criu {

// An external mount: at dump, the mount at `key` (inside the container) is saved as `value`;
// at restore, that saved name `key` is bound from the host path `value`.
struct ExternalMount {
  std::string key;
  std::string value;
  bool operator==(const ExternalMount&) const = default;
};

// An fd criu gets (at `fd`) for what the image calls `key` (runc's --inherit-fd).
struct InheritedFd {
  int fd;
  std::string key;
};

struct DumpPlan {
  std::string criu;  // the binary
  const CheckpointOptions* options = nullptr;
  pid_t pid = 0;
  std::string image_dir;  // absolute
  std::string work_dir;   // empty: criu's default, the image directory
  std::string rootfs;
  std::string freeze_cgroup;  // the container's cgroup directory (criu freezes it); may be empty
  std::string config_file;    // empty: none
  std::string page_server_address;
  int page_server_port = 0;
  std::vector<ExternalMount> mounts;
  std::vector<std::string> externals;  // --external net[<inode>]:extRootNetNS
};

struct RestorePlan {
  std::string criu;
  const RestoreOptions* options = nullptr;
  std::string image_dir;
  std::string work_dir;
  std::string root;  // a mount point holding the rootfs (criu's requirement)
  std::string pid_file;
  std::vector<std::string> cgroup_roots;  // [controller:]path below each hierarchy's mount
  std::string config_file;
  std::vector<ExternalMount> mounts;
  std::vector<InheritedFd> inherited;
  std::vector<std::pair<std::string, std::string>> joined;  // criu's ns name, the ns file
};

std::vector<std::string> dump_arguments(const DumpPlan& plan);
std::vector<std::string> restore_arguments(const RestorePlan& plan);

// runc's checks, with its words.
Result<void> check_manage_cgroups_mode(std::string_view mode);
Result<void> check_empty_ns(const std::vector<std::string>& namespaces);
// "ADDRESS:PORT" (an IPv6 address in brackets) as Go's net.SplitHostPort and strconv.Atoi.
Result<std::pair<std::string, int>> parse_page_server(std::string_view text);
// --parent-path: relative, and (checked by the caller) a directory under the image path.
Result<void> check_parent_path(std::string_view parent);

// `criu --version` prints "Version: 3.17.1" (and a GitCommitID line): 31701, runc's encoding.
Result<int> parse_criu_version(std::string_view output);

// The mount points criu must leave to the host (runc's external mounts): at dump the bind
// mounts, the devices and the masked files (`masked_files`, those that exist as files); at
// restore the same names mapped to the host paths (relative bind sources under `bundle`).
std::vector<ExternalMount> dump_mounts(const oci::Spec& spec,
                                       const std::vector<std::string>& masked_files);
std::vector<ExternalMount> restore_mounts(const oci::Spec& spec, std::string_view bundle);

// The lines of a criu log worth showing when it failed: each line with "Error" and up to five
// lines before it, "N:text", as runc's logCriuErrors quotes them.
std::vector<std::string> error_lines(std::string_view log);

}  // namespace mkrun::runtime::internal::criu
