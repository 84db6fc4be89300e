// Who runs mkrun, as the host sees it, and what such a caller may do with McKernel.
//
// IHK's partitioning calls need the host's uid 0 (the driver checks current_euid() for the
// per-instance admin ioctls, and /dev/mcd<N> is root's), so booting, reserving and releasing stay
// with real root. Attaching needs no privilege: mcexec's ioctls on /dev/mcos<N> are in IHK's
// unprivileged range, and only the node's owner and mode decide who may open it. An unprivileged
// mkrun therefore may attach where the host configuration lets its user (attach_users), or to the
// instance `mkrun-lwk boot` made for the user's job.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/lwk/config.hpp"

namespace mkrun::lwk {

struct Caller {
  bool real_root = false;  // euid 0 in the initial user namespace
  bool in_user_namespace = false;
  uint32_t uid = 0;            // the effective uid as the parent user namespace sees it
  std::vector<uint32_t> gids;  // effective and supplementary gids, the same way
  std::string uid_map;         // /proc/self/uid_map, to read file owners back to the host
};

// One line of a uid_map or gid_map: "<inside> <outside> <count>" ...; nullopt when unmapped.
std::optional<uint32_t> map_outward(uint32_t id, std::string_view map);
// The initial user namespace maps all 2^32 ids onto themselves.
bool is_identity_map(std::string_view map);

// From explicit values (the unit tests) or from the process (current_caller).
Caller caller_from(uid_t euid, gid_t egid, const std::vector<gid_t>& groups,
                   std::string_view uid_map, std::string_view gid_map);
Result<Caller> current_caller();

// "McKernel needs real root: ..." for a caller that is not.
Result<void> check_real_root(const Caller& caller);

// Whether attach_users in `config` names the caller's user or one of its groups; the error
// names the user and the key.
Result<void> check_attach_user(const HostConfig& config, const Caller& caller);

// For an unprivileged caller: the host configuration it reads is policy the administrator wrote.
// The file and every directory above it must be root's (owned by the id that is the host's uid
// 0; a directory writable by others only with the sticky bit), and the file writable by no one
// else, so that MKRUN_MCKERNEL_CONF cannot point mkrun at a policy of the caller's own. In a user
// namespace that does not map host root, the owner cannot be seen: the packaged path is then
// trusted as the host's /etc, any other is refused. Returns the path to read: the checked one,
// with its symlinks resolved, so that a symlink the caller owns cannot be turned elsewhere
// between the check and the read.
Result<std::string> trusted_config_path(const std::string& path, const Caller& caller);

}  // namespace mkrun::lwk
