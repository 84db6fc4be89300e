// The config.json that `spec` writes: runc 1.1's template, and its --rootless variant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mkrun::oci {

// Pretty JSON indented with tabs, byte for byte what runc 1.1 writes into config.json (which
// has no trailing newline). `rootless` maps root in the container to `host_uid`/`host_gid`,
// drops the network namespace and cgroup limits, as runc's does. `pure_cgroup_v2`: the host
// mounts only cgroup v2 at /sys/fs/cgroup.
std::string default_spec_json(bool rootless, uint32_t host_uid = 0, uint32_t host_gid = 0,
                              bool pure_cgroup_v2 = false);

// The template's namespaces in runc's order: runc's Example() adds a cgroup namespace on a pure
// cgroup v2 host; ToRootless then drops the network namespace and appends the user namespace.
std::vector<std::string_view> default_namespaces(bool rootless, bool pure_cgroup_v2);

}  // namespace mkrun::oci
