#include "container/kernel_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>

#include "cgroups/manager.hpp"
#include "container/internal.hpp"
#include "core/proc.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::runtime::internal {
namespace {

// How often the watcher asks: IHK's own hang detection (ihkmond) works in seconds too.
constexpr std::chrono::milliseconds kWatchPeriod{1000};

// The watcher's pid and start time, in the container's journal.
constexpr const char* kWatcherPid = "watcher.pid";
constexpr const char* kWatcherStart = "watcher.start_time";

// The journal as the record holds it, for asking: the watcher and the observers do not change it.
class ReadOnlyJournal : public Journal {
 public:
  explicit ReadOnlyJournal(const oci::ContainerRecord& record) : record_(record) {}
  Result<void> record(const std::map<std::string, std::string>&) override {
    return fail("the kernel journal is read-only here");
  }
  const std::map<std::string, std::string>& entries() const override {
    return record_.kernel_journal;
  }

 private:
  const oci::ContainerRecord& record_;
};

std::shared_ptr<KernelBackend> backend_of(const oci::ContainerRecord& record) {
  if (record.kernel.empty()) return nullptr;
  auto backend = find_kernel_backend(record.kernel);
  return backend ? *backend : nullptr;
}

Result<void> kill_container(const oci::ContainerRecord& record) {
  auto host = MKRUN_TRY(cgroups::detect_host());
  auto cgroup = cgroups::open_cgroup(host, record.cgroup);
  return kill_processes(record, cgroup ? cgroup->get() : nullptr);
}

// The watcher's own descriptors: /dev/null for stdio (the caller's pipes must reach EOF when
// create exits) and the init's pidfd as fd 3; nothing else of create's survives.
void detach_descriptors(int init_pidfd) {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3 && null >= 0; ++fd) (void)::dup2(null, fd);
  (void)::dup2(init_pidfd, 3);
  (void)::syscall(SYS_close_range, 4u, ~0u, 0u);
}

// Whether the init exited within one period.
bool init_exited(int pidfd) {
  pollfd exited{pidfd, POLLIN, 0};
  int ready = ::poll(&exited, 1, static_cast<int>(kWatchPeriod.count()));
  return ready > 0 || (ready < 0 && errno != EINTR);
}

[[noreturn]] void watch(const std::string& root, const oci::ContainerRecord& created,
                        int init_pidfd) {
  (void)::setsid();  // out of the caller's process group: a ^C there is for the container
  sigset_t none;
  sigemptyset(&none);
  (void)::sigprocmask(SIG_SETMASK, &none, nullptr);  // `run` blocks the signals it forwards
  (void)::prctl(PR_SET_NAME, "mkrun-watch", 0, 0, 0);
  detach_descriptors(init_pidfd);
  while (!init_exited(3)) {
    if (!kernel_failure(created)) continue;
    // Under the state directory's lock, so a concurrent delete either finished or waits.
    auto dir = state::ContainerDir::open(root, created.id);
    if (!dir) break;
    auto record = dir->load();
    if (record && record->pid == created.pid) (void)stop_if_kernel_failed(*record);
    break;
  }
  ::_exit(0);
}

}  // namespace

std::map<std::string, std::string> kernel_description(const oci::ContainerRecord& record) {
  auto backend = backend_of(record);
  if (!backend) return {};
  ReadOnlyJournal journal(record);
  return backend->describe(journal);
}

std::optional<std::string> kernel_failure(const oci::ContainerRecord& record) {
  auto backend = backend_of(record);
  if (!backend) return std::nullopt;
  ReadOnlyJournal journal(record);
  return backend->failure(journal);
}

bool stop_if_kernel_failed(const oci::ContainerRecord& record) {
  if (!kernel_failure(record)) return false;
  (void)kill_container(record);
  return !proc::is_alive(record.pid, record.pid_start_time);
}

Result<void> start_kernel_watcher(const std::string& root, const oci::ContainerRecord& record,
                                  Journal& journal) {
  UniqueFd init(static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0)));
  if (!init) return fail_errno("pidfd_open container init " + std::to_string(record.pid));
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork the kernel watcher");
  if (pid == 0) watch(root, record, init.get());
  auto stat = proc::read_stat(pid);
  return journal.record({{kWatcherPid, std::to_string(pid)},
                         {kWatcherStart, std::to_string(stat ? stat->start_time : 0)}});
}

void stop_kernel_watcher(const oci::ContainerRecord& record) {
  const auto& entries = record.kernel_journal;
  auto pid = entries.find(kWatcherPid);
  auto start = entries.find(kWatcherStart);
  if (pid == entries.end() || start == entries.end()) return;
  auto watcher = parse_number<pid_t>(pid->second);
  auto start_time = parse_number<uint64_t>(start->second);
  if (!watcher || !start_time) return;
  if (!proc::is_alive(*watcher, *start_time)) return;
  (void)::kill(*watcher, SIGKILL);
  (void)wait_for_exit(*watcher, *start_time, 10000);
}

}  // namespace mkrun::runtime::internal
