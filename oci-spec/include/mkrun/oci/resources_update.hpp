// `update`: which limits of a LinuxResources runc 1.1 changes on a live container, and how the
// new ones are kept in the config.json snapshot so that later commands see them. Pure.
#pragma once

#include <string>
#include <string_view>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::oci {

// The part of `requested` that runc 1.1's `update` applies: memory limit, reservation and swap;
// cpu shares, quota, period, realtime runtime and period, cpus and mems; the block IO weight;
// the pids limit; `unified`. A 0 (or "") is runc's "not set" and is dropped; everything else
// (devices, hugepages, network, kernel memory, swappiness...) is ignored, as runc ignores it.
Resources updatable_part(const Resources& requested);

// `config_json` (a config.json snapshot) with the values of `update` (an updatable_part())
// written into linux.resources, each replacing the one there; every other byte of meaning is
// kept. Errors: `config_json` is not a JSON object.
SpecResult<std::string> apply_resources_update(std::string_view config_json,
                                               const Resources& update);

}  // namespace mkrun::oci
