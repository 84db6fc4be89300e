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

// IHK's partitioning calls check the host's uid 0 (current_euid().val == 0 in the driver), so
// mkrun must be real root in the initial user namespace; a rootless mkrun cannot boot an LWK.
Result<void> check_real_root();

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

}  // namespace mkrun::lwk
