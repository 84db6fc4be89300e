// A container whose kernel instance failed (McKernel PANIC or HUNGUP) must not go on running:
// its application is gone with the kernel, and the Linux side of it (mcexec, the init) would
// wait forever. Two things enforce it, sharing Container::stop_if_kernel_failed():
//   - every command that observes a container (state, list, kill, start, delete, events, ...)
//     asks the backend first, so none ever reports a dead kernel's container as running;
//   - a watcher process, forked at the end of create, asks every second while the container's
//     init lives, so the container dies even when no one asks (an engine waiting for the init's
//     exit). It holds no descriptor of its caller and exits with the init; delete kills it first.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "mkrun/base/error.hpp"
#include "mkrun/runtime/kernel_backend.hpp"
#include "state/record.hpp"
#include "state/store.hpp"

namespace mkrun::runtime::internal {

// What the container's kernel backend reports of its instance (io.mkrun.lwk.*), for `state`
// and `events`; empty on Linux.
std::map<std::string, std::string> kernel_description(const state::ContainerRecord& record);

// Why the container's kernel instance can no longer run it; nullopt on Linux or while healthy.
std::optional<std::string> kernel_failure(const state::ContainerRecord& record);

// Forks the watcher for the container just created and records its pid in `journal`.
Result<void> start_kernel_watcher(const std::string& root, const state::ContainerRecord& record,
                                  Journal& journal);

// SIGKILLs the container's watcher, if it still runs, and waits until it is gone.
void stop_kernel_watcher(const state::ContainerRecord& record);

}  // namespace mkrun::runtime::internal
