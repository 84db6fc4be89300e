// CDI on the host: the spec directories read (with their owners and modes checked), the host's
// device nodes looked at, and the devices a container asks for applied to its config before
// anything of the container exists. The parsing, validation and edits themselves are pure and
// live in oci-spec (mkrun/oci/cdi.hpp).
#pragma once

#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/cdi.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime::internal {

// CDI's default directories, lowest priority first.
inline const std::vector<std::string> kDefaultCdiSpecDirs = {"/etc/cdi", "/var/run/cdi"};

// Every spec file of `dirs` (index = priority) in a registry. A directory that does not exist is
// skipped; one that is a symlink, not root's (or the caller's), or writable by group or others
// is an error: its files could give any container a host device or a hook that runs as root. A
// file with the same faults, or that does not parse or validate, is recorded as broken.
Result<oci::cdi::Registry> load_cdi_registry(const std::vector<std::string>& dirs);

// The host's node at `path`, not following a final symlink, as CDI does.
oci::SpecResult<oci::cdi::HostDevice> stat_host_device(const std::string& path);

// The devices the config's cdi.k8s.io/ annotations and --cdi-device ask for, applied to `spec`,
// and written into `config_text` too (the state keeps that copy). False when none are asked
// for: then nothing is read.
Result<bool> inject_cdi_devices(const GlobalOptions& global, oci::Spec& spec,
                                std::string& config_text);

}  // namespace mkrun::runtime::internal
