// JSON -> typed spec, and the semantic checks runc makes before it touches the kernel.
// Pure functions: no file or kernel access.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "mkrun/oci/spec.hpp"

namespace mkrun::oci {

// What is wrong with a document, with the JSON pointer of the offending value first, e.g.
// "/linux/namespaces/3/type: expected a string, got a number".
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

// The checks runc's configs/validate makes, on values only: rootfs given, namespace types known
// and unique, hostname needs a UTS namespace, sysctls allowed by the namespaces, id mappings
// need a user namespace, mount destinations absolute, hooks absolute with positive timeouts,
// rlimit and capability names known.
SpecResult<void> validate_spec(const Spec& spec);

}  // namespace mkrun::oci
