// What the CDI sources share and nobody else needs.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "mkrun/oci/parse.hpp"

namespace mkrun::oci::cdi::internal {

// A YAML spec file as the JSON tree the readers take. Plain scalars become numbers or booleans
// only under the keys whose fields are numbers or booleans (major, minor, fileMode, uid, gid,
// timeout, additionalGids, enableMonitoring), strings everywhere else, as CDI's YAML decoder
// converts by the target field's type: `name: 0` is the device "0". The first document only.
SpecResult<void> parse_yaml(std::string_view text, rapidjson::Document& doc);

// A JSON pointer ("/devices/2/name") as the field path errors show ("devices[2].name").
std::string field_path(std::string_view pointer);

// An error whose message starts with a JSON pointer, rewritten to start with a field path.
SpecError with_field_path(SpecError error);

}  // namespace mkrun::oci::cdi::internal
