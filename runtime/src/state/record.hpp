// What mkrun remembers about a container between commands: <root>/<id>/state.json. mkrun's own
// format, not the runtime spec's; a field missing from the file keeps its default, so that a
// record written by an older mkrun still reads (and fields it no longer knows are ignored).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/oci/parse.hpp"

namespace mkrun::state {

struct CgroupRecord {
  std::string driver;                    // "cgroupfs" (or empty), "systemd" or "disabled"
  std::vector<std::string> directories;  // the cgroup's absolute directory in each hierarchy
  bool owned = true;                     // mkrun created it, so delete removes it
};

// A container without a mount namespace of its own mounts into one it shares (the caller's, or
// one joined by path), where nothing removes those mounts when it ends: `delete` removes what is
// below the rootfs then and was not there before the init began to set itself up.
struct SharedMountsRecord {
  std::string namespace_path;  // the spec's path of a joined namespace; empty: mkrun's own
  uint64_t namespace_device = 0;
  uint64_t namespace_inode = 0;
  std::vector<int64_t> mounts_before;  // mount ids at or below the rootfs before the setup
};

// The container's Intel RDT groups in resctrl (linux/resctrl.hpp): a class of service (CLOS),
// and a monitoring group below it.
struct IntelRdtRecord {
  std::string clos;      // its directory below resctrl's root; empty: the root group itself
  bool created = false;  // mkrun made that directory for the container alone: delete removes it
  std::string monitor;   // the monitoring group, mon_groups/<monitor> in the CLOS; empty: none
};

struct ContainerRecord {
  std::string id;
  std::string ociVersion;
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::map<std::string, std::string> annotations;
  uint32_t owner_uid = 0;
  int pid = 0;                  // host pid of the init; 0 before it exists
  uint64_t pid_start_time = 0;  // field 22 of /proc/<pid>/stat, guards against pid reuse
  CgroupRecord cgroup;
  std::string kernel;  // the kernel backend running the application; empty for Linux
  std::map<std::string, std::string> kernel_journal;  // that backend's progress (Journal)
  std::optional<SharedMountsRecord> shared_mounts;
  std::optional<IntelRdtRecord> intel_rdt;
};

std::string render_record(const ContainerRecord& record);
oci::SpecResult<ContainerRecord> parse_record(std::string_view json);

}  // namespace mkrun::state
