// What a spec may ask that an application on McKernel does not get. McKernel's documentation
// (docs/users.rst) lists what its processes ignore: rlimits are not enforced, Linux scheduling
// has no effect, MPOL_INTERLEAVE and relative nodes are unsupported, and the LWK has no
// namespaces (its clocks are its own). Each setting is decided on its own, in lwk/README.md:
// a refusal where the application would silently run without what it explicitly asked for, a
// warning where the setting still holds for mcexec, the Linux proxy that runs the application's
// offloaded system calls. Pure: reads the spec only.
#pragma once

#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::lwk {

// The warnings to give for `spec` on McKernel, or the error for the first setting refused.
Result<std::vector<std::string>> check_unhonoured_settings(const oci::Spec& spec);

}  // namespace mkrun::lwk
