// The config.json that `spec` writes: runc 1.1's template, and its --rootless variant.
#pragma once

#include <cstdint>
#include <string>

namespace mkrun::oci {

// Pretty JSON indented with tabs, byte for byte what runc 1.1 writes into config.json (which
// has no trailing newline). `rootless` maps root in the container to `host_uid`/`host_gid`,
// drops the network namespace and cgroup limits, as runc's does.
std::string default_spec_json(bool rootless, uint32_t host_uid = 0, uint32_t host_gid = 0);

}  // namespace mkrun::oci
