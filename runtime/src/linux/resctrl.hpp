// linux.intelRdt (runtime-spec 1.3): Intel RDT through the resctrl file system. A class of
// service (CLOS) is a directory of resctrl: its `schemata` file says how much L3 cache and
// memory bandwidth the class may use, its `tasks` file who is in it; a task's children inherit
// its class. A monitoring group (`mon_groups/<name>` in a CLOS) counts what its tasks use.
//
// The container's CLOS is `closID`, or its id when the spec names none, or resctrl's root group
// for "/". mkrun creates the directory when it is missing and the spec gives schemata, writes
// them into a CLOS it made, and compares them with a CLOS that was there (another container's,
// or the administrator's), which it never changes. A CLOS named by closID must exist when the
// spec gives no schemata. Delete removes the monitoring group, and the CLOS only when it was
// made for this container alone (no closID). Every path is looked up below a descriptor of
// resctrl's root verified by its magic number, never by name from `/`.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "state/record.hpp"

namespace mkrun::resctrl {

// What the host's resctrl offers: info/L3 (cache allocation), info/MB (memory bandwidth
// allocation), info/L3_MON (monitoring).
struct Features {
  bool cat = false;
  bool mba = false;
  bool monitoring = false;
};

// ---- Pure rules -------------------------------------------------------------------------------

// The lines of the CLOS's `schemata`, in the spec's order: l3CacheSchema, memBwSchema, then
// `schemata`; empty ones left out.
std::vector<std::string> schemata_lines(const oci::IntelRdt& rdt);

// Whether the `schemata` file's text holds each wanted line: for every resource a wanted line
// names ("L3", "MB", "L3CODE", ...), each of its domains must have the same value (hex and
// decimal values compare as numbers, so "L3:0=0ff" matches the kernel's "L3:0=ff"). nullopt:
// it does; otherwise the first line that differs, as the spec has it.
std::optional<std::string> first_mismatch(std::string_view current,
                                          const std::vector<std::string>& wanted);

// The spec's checks against the host, in runc's words where runc has them: resctrl must be
// mounted, and cache or bandwidth schemata need the matching feature.
Result<void> check_host(const oci::IntelRdt& rdt, const std::optional<Features>& host);

// ---- resctrl ------------------------------------------------------------------------------------

// resctrl's root directory: a descriptor every path below is looked up from, and its path for
// messages.
struct Root {
  UniqueFd fd;
  std::string path;
};

// /sys/fs/resctrl, or where mountinfo says resctrl is mounted; the descriptor is checked to be
// resctrl (RDTGROUP_SUPER_MAGIC). nullopt: resctrl is not mounted.
std::optional<Root> open_root();
Features features_of(const Root& root);

// Makes or checks the container's CLOS and its monitoring group, as the header says. What it
// made is in the returned record, also on the error path's undo: on failure nothing is left.
Result<state::IntelRdtRecord> prepare(const Root& root, const oci::IntelRdt& rdt,
                                      const std::string& container_id);
// Moves `pid` into the CLOS, then into the monitoring group.
Result<void> join(const Root& root, const state::IntelRdtRecord& group, pid_t pid);
// Writes schemata lines into the CLOS (`update --l3-cache-schema/--mem-bw-schema`).
Result<void> write_schemata(const Root& root, const state::IntelRdtRecord& group,
                            const std::vector<std::string>& lines);
// Removes the monitoring group and, when mkrun made it, the CLOS. Already gone is fine.
Result<void> remove(const Root& root, const state::IntelRdtRecord& group);

}  // namespace mkrun::resctrl
