// `update`: which limits of a LinuxResources runc's `update` changes on a live container (runc
// 1.1's, plus what runc 1.5 added), and how the new ones are kept in the config.json snapshot so
// that later commands see them. Pure.
#pragma once

#include <string>
#include <string_view>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::oci {

// The part of `requested` that runc 1.5's `update` applies: memory limit, reservation and swap;
// cpu shares, quota, burst, period, realtime runtime and period, cpus, mems and idle; the block
// IO weight, leaf weight, per-device weights and throttle limits; the pids limit; `unified`. A 0
// (or "") is runc's "not set" and is dropped, except for burst and idle, which 1.5 passes on as
// given; everything else (devices, hugepages, network, kernel memory, swappiness...) is ignored,
// as runc ignores it.
Resources updatable_part(const Resources& requested);

// `config_json` (a config.json snapshot) with the values of `update` (an updatable_part())
// written into linux.resources, each replacing the one there; a per-device entry replaces the
// last one for the same major:minor, or is appended. Every other byte of meaning is kept.
// Errors: `config_json` is not a JSON object.
SpecResult<std::string> apply_resources_update(std::string_view config_json,
                                               const Resources& update);

}  // namespace mkrun::oci
