// `list`'s table, as runc prints it through Go's tabwriter.
#pragma once

#include <span>
#include <string>

#include "mkrun/oci/state.hpp"

namespace mkrun::cli {

// "ID PID STATUS BUNDLE CREATED OWNER" and a row per container, cells padded to the widest of
// their column plus 3, at least 12; the last column unpadded. `created` is printed as it is
// stored (RFC3339Nano, UTC), `pid` as 0 for a stopped container, as the library reports it.
std::string render_list_table(std::span<const oci::State> states);

}  // namespace mkrun::cli
