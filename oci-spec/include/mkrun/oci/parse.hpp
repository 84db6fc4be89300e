// JSON -> typed spec, and the semantic checks runc makes before it touches the kernel.
// Pure functions: no file or kernel access.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/oci/spec.hpp"

namespace mkrun::oci {

// What is wrong with a document, with the JSON pointer of the offending value first, e.g.
// "/linux/namespaces/3/type: expected string, got number". A document that is not JSON reads
// like Go's decoder, with RapidJSON's offset and text: "invalid character '}': parse error at
// offset 17: Missing a name for object member."
struct SpecError {
  std::string message;
};

template <class T>
using SpecResult = std::expected<T, SpecError>;

// Parses a whole config.json. Unknown fields are ignored; a known field of the wrong type is an
// error naming its path.
SpecResult<Spec> parse_spec(std::string_view json);

// Parses a runtime-spec `Process` object (the `exec --process` file).
SpecResult<Process> parse_process(std::string_view json);

// Parses a runtime-spec `LinuxResources` object (the `update --resources` input).
SpecResult<Resources> parse_resources(std::string_view json);

// The checks runc's configs/validate and specconv make, on values only: ociVersion, root.path
// and process (args, absolute cwd) given, namespace types known and unique, hostname needs a UTS
// namespace, sysctls allowed by the namespaces, id mappings need a user namespace and a user
// namespace needs them, hooks absolute with positive timeouts, rlimit types known and unique,
// devices and rootfsPropagation valid. Returns the first problem found, naming the field.
// Like runc 1.1, a relative mount destination is accepted (taken as relative to "/") and unknown
// capabilities pass (see unknown_capabilities). Nothing here looks at the host: a joined
// namespace path, the kernel's features and the rootfs are the runtime's to check.
SpecResult<void> validate_spec(const Spec& spec);

// linux.memoryPolicy.nodes ("0-3,7": numbers and ranges, comma-separated) as the node
// numbers it names, sorted and each once, all below vocabulary::kMaxMemoryNodes; "" names none.
// The error says which element is wrong and why.
SpecResult<std::vector<unsigned>> memory_nodes(std::string_view list);

// Capability names in process.capabilities that this runtime does not know. Like runc, validation
// lets them pass (the runtime skips them, so a config written for a newer kernel still runs);
// the runtime warns about each of these. In order of first appearance, without repeats.
std::vector<std::string> unknown_capabilities(const Spec& spec);

// The number of a capability name ("CAP_CHOWN" -> 0, up to "CAP_CHECKPOINT_RESTORE" -> 40);
// nullopt for a name not known. Names are case-sensitive, as in runc.
std::optional<int> capability_number(std::string_view name);

}  // namespace mkrun::oci
