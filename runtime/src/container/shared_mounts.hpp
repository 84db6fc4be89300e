// A container without a mount namespace of its own (none in the spec, or one joined by path)
// makes its mounts below the rootfs in a namespace it shares with others, where nothing removes
// them when it ends: runc leaves them there. mkrun notes which mounts were below the rootfs
// before the init began its setup and removes the others at `delete` (or when create fails).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/mountinfo.hpp"
#include "mkrun/base/error.hpp"
#include "state/record.hpp"

namespace mkrun::runtime::shared_mounts {

// The mounts of a mountinfo text whose mount point is `rootfs` or below it, in the text's order.
std::vector<mountinfo::MountLine> mounts_below(std::string_view mountinfo_text,
                                               const std::string& rootfs);

// Which mount namespace the init (`init_pid`, still before its setup) is in, and what is below
// the rootfs there now. `namespace_path` is the spec's path of a joined namespace, or empty.
Result<state::SharedMountsRecord> note_before_setup(pid_t init_pid,
                                                    const std::string& namespace_path,
                                                    const std::string& rootfs);

// Unmounts, deepest first, every mount below `rootfs` in the noted namespace that was not there
// before. A mount is unmounted through a descriptor checked to be that very mount (its id and
// mount root), so a path the container changed meanwhile cannot point the unmount elsewhere.
Result<void> remove_added(const state::SharedMountsRecord& noted, const std::string& rootfs);

}  // namespace mkrun::runtime::shared_mounts
