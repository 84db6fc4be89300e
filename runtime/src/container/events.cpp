// `events`: statistics from the container's cgroup, once or every interval, and OOM kills as
// they happen. The stream sleeps in one ppoll() on three things: the init's pidfd (the
// container stopped), the OOM notifier (v1: an eventfd registered on memory.oom_control through
// cgroup.event_control, as runc does; v2: inotify on memory.events) and the next interval.
#include "mkrun/runtime/events.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "cgroups/manager.hpp"
#include "cgroups/stats.hpp"
#include "cgroups/util.hpp"
#include "container/internal.hpp"
#include "container/kernel_watch.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Without an OOM notifier the kill count is read at least this often.
constexpr auto kOomPollingPeriod = 1s;

struct LiveContainer {
  oci::ContainerRecord record;
  std::unique_ptr<cgroups::Manager> cgroup;
  bool stopped = false;
};

// The container and its cgroup. The state directory's lock is released on return, so a stream
// never keeps `delete` waiting.
Result<LiveContainer> open_container(const Runtime& runtime, std::string_view id) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(runtime.options().root, id));
  auto record = MKRUN_TRY(dir.load());
  bool stopped = internal::observe_status(dir, record) == "stopped";
  auto host = MKRUN_TRY(cgroups::detect_host());
  auto cgroup = MKRUN_TRY(cgroups::open_cgroup(host, record.cgroup));
  return LiveContainer{std::move(record), std::move(cgroup), stopped};
}

// runc's words, and why when the container's kernel instance failed (kernel_watch.hpp).
std::unexpected<Error> not_running(std::string_view id, const oci::ContainerRecord& record) {
  std::string message = "container with id " + std::string(id) + " is not running";
  if (auto failure = internal::kernel_failure(record)) message += ": " + *failure;
  return fail(message);
}

// The stream ends quietly when the container's init exits, unless its kernel killed it.
Result<void> stream_ended(std::string_view id, const oci::ContainerRecord& record) {
  if (internal::kernel_failure(record)) return not_running(id, record);
  return {};
}

// Readable once the init exits; empty when it is gone already.
Result<UniqueFd> watch_init(const oci::ContainerRecord& record) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0)));
  if (!pidfd && errno == ESRCH) return UniqueFd();
  if (!pidfd) return fail_errno("pidfd_open " + std::to_string(record.pid));
  // The pid may have been reused between the status check and pidfd_open.
  if (!proc::is_alive(record.pid, record.pid_start_time)) return UniqueFd();
  return pidfd;
}

// The container's OOM kill count and a descriptor that wakes the stream when it may have
// changed. Without a notifier (no memory controller, or registration refused) the count is
// still read on every wake.
class OomWatch {
 public:
  explicit OomWatch(const cgroups::Manager& cgroup) : counter_(cgroups::oom_counter(cgroup)) {
    if (!counter_) return;
    last_ = cgroups::read_oom_kills(*counter_).value_or(0);
    if (counter_->unified) {
      watch_memory_events();
    } else {
      register_eventfd();
    }
  }

  int fd() const { return notifier_.get(); }

  // Empties the notifier so that the next poll sleeps again.
  void drain() const {
    if (!notifier_) return;
    char buffer[4096];
    while (::read(notifier_.get(), buffer, sizeof buffer) > 0) {
    }
  }

  // True when the count rose since the last call. An error means the count cannot be read,
  // which after a v1 eventfd wake-up is the cgroup being removed.
  Result<bool> rose() {
    if (!counter_) return false;
    uint64_t now = MKRUN_TRY(cgroups::read_oom_kills(*counter_));
    bool increased = now > last_;
    last_ = now;
    return increased;
  }

 private:
  void watch_memory_events() {
    UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!fd) return;
    std::string path = cgroups::util::join(counter_->directory, counter_->file);
    if (::inotify_add_watch(fd.get(), path.c_str(), IN_MODIFY) < 0) return;
    notifier_ = std::move(fd);
  }

  // cgroup v1's memory.oom_control notification: "<eventfd> <fd of memory.oom_control>" into
  // cgroup.event_control. The kernel signals the eventfd on every OOM and when the cgroup is
  // removed.
  void register_eventfd() {
    UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    auto control =
        files::open(cgroups::util::join(counter_->directory, counter_->file), O_RDONLY | O_CLOEXEC);
    if (!event || !control) return;
    std::string registration = std::to_string(event.get()) + " " + std::to_string(control->get());
    auto registered = cgroups::util::write_text(
        cgroups::util::join(counter_->directory, "cgroup.event_control"), registration);
    if (!registered) return;
    notifier_ = std::move(event);
    control_ = std::move(*control);
  }

  std::optional<cgroups::OomCounter> counter_;
  uint64_t last_ = 0;
  UniqueFd notifier_;
  UniqueFd control_;  // v1: kept open while the eventfd is registered on it
};

struct Wake {
  bool init_exited = false;
};

// Sleeps until the init exits, the OOM notifier fires, or `deadline`.
Result<Wake> sleep_until(const UniqueFd& init, const OomWatch& oom, Clock::time_point deadline) {
  auto left = std::max(Clock::duration::zero(), deadline - Clock::now());
  if (oom.fd() < 0) left = std::min<Clock::duration>(left, kOomPollingPeriod);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  const timespec timeout{static_cast<time_t>(seconds.count()),
                         static_cast<long>((left - seconds) / 1ns)};
  pollfd fds[2] = {{init.get(), POLLIN, 0}, {oom.fd(), POLLIN, 0}};  // a negative fd is skipped
  if (::ppoll(fds, 2, &timeout, nullptr) < 0 && errno != EINTR) return fail_errno("ppoll");
  return Wake{fds[0].revents != 0};
}

oci::Event stats_event(const std::string& id, oci::Stats stats) {
  return oci::Event{"stats", id, std::move(stats)};
}

}  // namespace

Result<oci::Stats> container_stats(const Runtime& runtime, std::string_view id) {
  auto live = MKRUN_TRY(open_container(runtime, id));
  if (live.stopped) return not_running(id, live.record);
  auto stats = MKRUN_TRY(cgroups::read_stats(*live.cgroup, cgroups::host_hugepage_sizes()));
  stats.annotations = internal::kernel_description(live.record);
  return stats;
}

Result<void> stream_events(const Runtime& runtime, const EventStreamOptions& options,
                           const std::function<void(const oci::Event&)>& emit) {
  // runc's order: the container, then the interval, then its status.
  auto live = MKRUN_TRY(open_container(runtime, options.id));
  if (options.interval <= Clock::duration::zero()) {
    return fail("duration interval must be greater than 0");
  }
  if (live.stopped) return not_running(options.id, live.record);
  const UniqueFd init = MKRUN_TRY(watch_init(live.record));
  if (!init) return stream_ended(options.id, live.record);
  OomWatch oom(*live.cgroup);
  const std::vector<std::string> hugepage_sizes = cgroups::host_hugepage_sizes();
  auto next_stats = Clock::now() + options.interval;
  for (;;) {
    const Wake wake = MKRUN_TRY(sleep_until(init, oom, next_stats));
    oom.drain();
    auto rose = oom.rose();
    if (!rose) return {};  // the cgroup is gone with the container
    if (*rose) emit(oci::Event{"oom", options.id, std::nullopt});
    if (wake.init_exited) return stream_ended(options.id, live.record);
    if (Clock::now() < next_stats) continue;
    auto stats = cgroups::read_stats(*live.cgroup, hugepage_sizes);
    if (stats) {
      stats->annotations = internal::kernel_description(live.record);
      emit(stats_event(options.id, std::move(*stats)));
    } else {
      internal::warn(runtime.options(), stats.error().render());
    }
    // After a stall (a slow reader), the next one comes an interval later, not in a burst.
    next_stats += options.interval;
    if (next_stats <= Clock::now()) next_stats = Clock::now() + options.interval;
  }
}

}  // namespace mkrun::runtime
