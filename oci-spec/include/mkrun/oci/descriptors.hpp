// runc's descriptors.json in a checkpoint's image directory: what the container's init had as
// fds 0, 1 and 2 (readlink of /proc/<pid>/fd/N: "pipe:[1234]", "/dev/null", ...), as a JSON
// array of strings. restore hands its own stdio to criu in place of the pipes among them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mkrun/oci/parse.hpp"

namespace mkrun::oci {

// json.Marshal of a []string: `["pipe:[1]","/dev/null"]`, no newline.
std::string render_descriptors(const std::vector<std::string>& descriptors);
SpecResult<std::vector<std::string>> parse_descriptors(std::string_view json);

}  // namespace mkrun::oci
