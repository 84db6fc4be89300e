// What mkrun checks and touches on the host for McKernel, outside IHK's library: privileges,
// the IHK build-id, the instance's device node.
#pragma once

#include <sys/types.h>

#include <string>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/ihk.hpp"
#include "mkrun/lwk/config.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::lwk {

// Loads libihk.so and checks the driver answers; "IHK is not loaded" when /dev/mcd<N> is absent.
Result<void> check_ihk_loaded(ihk::Ihk& ihk, const HostConfig& config);

// With `build_id` configured: the loaded IHK's build-id (`ihkconfig <dev> get buildid`) must be
// the one the installed McKernel and mcexec were built with, or mcexec refuses to run later.
Result<void> check_build_id(const HostConfig& config);

Result<void> check_executable(const std::string& path, const std::string& what);
Result<void> check_readable(const std::string& path, const std::string& what);
bool is_directory(const std::string& path);
bool is_missing(const std::string& path);  // lstat says ENOENT

struct DeviceNumbers {
  int64_t major = 0, minor = 0;
};
// stat() of /dev/mcos<os>: the numbers are dynamic (alloc_chrdev_region), never assumed.
Result<DeviceNumbers> instance_device(int os);
// "major:minor", as a claim keeps them and `state` shows them.
std::string device_node_of(const DeviceNumbers& numbers);

// Which instance /dev/mcos<os> stands for: its inode. IHK has no creation counter or owner, and
// an index is reused as soon as its instance is destroyed. What ihklib can be asked does not
// tell two instances apart either: an instance holds no CPUs and no memory before they are
// assigned and after it is shut down, and status, kernel arguments and IKC map are alike from
// one container to the next. But every ihk_create_os makes a new node (device_create; devtmpfs
// gives it an inode of its own) and ihk_destroy_os removes it, and ihklib reaches the instance
// through that node for every call, so (index, inode) names one instance for the node's life.
Result<uint64_t> instance_identity(int os);

// Gives a dedicated instance's node to the container's user (as mcreboot.sh's -o does), mapped
// to the host through the container's user namespace when it has one.
Result<void> give_device_to(int os, const oci::Spec& spec);

// Gives a job's instance node to the job's user: only that user (and root) may open it.
Result<void> give_device_to_user(int os, uint32_t uid, uint32_t gid);

// Whether the caller may open /dev/mcos<os> read-write as mcexec does: the node's owner and mode
// decide, as McKernel's tools leave them (mcreboot.sh -o <user> chowns it); never changed here.
Result<void> check_device_usable(int os);

// The pid namespace the container's mcexec will run in, as recorded in its claim: "new" for one
// of its own, else "ns:<device>:<inode>" of the one it shares (mkrun's, when the spec has none,
// or the one the spec joins by path). McKernel keys its processes by mcexec's pid in that
// namespace, so only containers in one shared namespace can share an instance.
Result<std::string> pid_namespace_of(const oci::Spec& spec);

// Whether a pid_namespace_of value is the host's initial pid namespace (its inode is the
// kernel's fixed PROC_PID_INIT_INO).
bool is_initial_pid_namespace(const std::string& pid_namespace);

}  // namespace mkrun::lwk
