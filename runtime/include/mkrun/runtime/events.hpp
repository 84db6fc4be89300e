// `events`: a container's statistics, once or as a stream with its OOM kills, as runc 1.1's
// events command reports them. The CLI renders each oci::Event (oci::render_event).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/stats.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {

// The statistics of a created, running or paused container (`events --stats`). A stopped one
// fails with runc's "container with id X is not running".
Result<oci::Stats> container_stats(const Runtime& runtime, std::string_view id);

struct EventStreamOptions {
  std::string id;
  std::chrono::nanoseconds interval = std::chrono::seconds(5);  // > 0
};

// `events` without --stats: a "stats" event every interval, the first one interval after the
// start, and an "oom" event as soon as the container's OOM kill count rises, each passed to
// `emit`; returns once the container has stopped (its init exited) or its cgroup is gone. A
// statistics read that fails is reported through GlobalOptions::warn and the stream goes on,
// as runc logs it and goes on. Fails at once, as container_stats(), when the container is
// stopped already.
Result<void> stream_events(const Runtime& runtime, const EventStreamOptions& options,
                           const std::function<void(const oci::Event&)>& emit);

}  // namespace mkrun::runtime
