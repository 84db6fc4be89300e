// The runc commands over the state store: create, start, state, list, kill, delete.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <functional>

#include "child/sync.hpp"
#include "container/container.hpp"
#include "container/internal.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {

using internal::Container;
using internal::Status;

Runtime::Runtime(GlobalOptions options) : options_(std::move(options)) {
  if (options_.root.empty()) options_.root = default_root();
}

Result<void> Runtime::create(const CreateOptions& options) {
  internal::CreateRequest request{&options, false};
  MKRUN_CHECK(internal::create_container(options_, request));
  return {};
}

namespace {

// Opens exec.fifo for reading, which lets the init go on, and reads it to EOF: nothing means the
// init executed the process; otherwise it says why it could not (child/sync.hpp).
Result<void> release_init(const state::ContainerDir& dir, pid_t pid,
                          const std::function<bool()>& frozen) {
  std::string path = dir.file(state::kFifoName);
  // The pidfd first: once the fifo is open the process may run, exit and be reaped (by an
  // engine's shim, a subreaper) at once, and its pid could no longer be opened.
  auto pidfd = MKRUN_TRY(proc::open_pidfd(pid));
  auto fifo = MKRUN_TRY(files::open(path, O_RDONLY | O_NONBLOCK));
  std::string received;
  for (;;) {
    pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    // An init frozen on its way (its container paused after start looked at it) neither
    // opens the fifo nor exits: the wait ends once it is seen frozen.
    int ready = ::poll(fds, 2, 200);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for the container init");
    }
    if (ready == 0) {
      if (frozen()) return fail("container's cgroup unexpectedly frozen");
      continue;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      char buffer[4096];
      ssize_t n = ::read(fifo.get(), buffer, sizeof buffer);
      if (n > 0) {
        received.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EAGAIN) continue;
      break;  // EOF: the init closed its end by exec (or by exiting after writing a failure)
    }
    // POLLHUP comes only once a writer had the fifo open: the init reached exec.
    if ((fds[0].revents & POLLHUP) != 0) break;
    if (fds[1].revents != 0) return fail("container init exited before it could be started");
  }
  if (received.size() >= sizeof(sync::InitFailure)) {
    sync::InitFailure failure{};
    received.copy(reinterpret_cast<char*>(&failure), sizeof failure);
    failure.detail[sizeof failure.detail - 1] = '\0';
    return fail(failure.detail, failure.errc);
  }
  return {};
}

}  // namespace

namespace internal {

Result<StartedInit> start_container(const GlobalOptions& global, std::string_view id,
                                    std::shared_ptr<const cgroups::Host> host) {
  auto container = MKRUN_TRY(Container::open(global.root, id, std::move(host)));
  MKRUN_CHECK(container.status().can_start());
  // Bound before the init is released, so no READY= it sends right away is lost.
  auto notify =
      MKRUN_TRY(notify::open_notify_socket(container.dir().path(), ::getenv("NOTIFY_SOCKET")));
  const std::string init = "init " + std::to_string(container.record().pid);
  debug(global, "start " + std::string(id) + ": opening exec.fifo to release " + init);
  auto released = release_init(container.dir(), container.record().pid,
                               [&] { return container.status() == Status::kPaused; });
  (void)::unlink(container.dir().file(state::kFifoName).c_str());
  if (!released) return std::unexpected(std::move(released).error());
  debug(global, "start " + std::string(id) + ": " + init + " executed the container's process");
  auto spec = container.spec();
  if (spec && spec->hooks && !spec->hooks->poststart.empty()) {
    // runtime-spec 1.3: a failed poststart hook is an error, the hooks after it do not run, and
    // the container is stopped (deleting it is left to the caller, as runc does).
    auto ran =
        run_runtime_hooks(spec->hooks->poststart, "poststart", container.state(Status::kRunning));
    if (!ran) {
      (void)container.kill_processes();
      return std::unexpected(std::move(ran).error());
    }
  }
  return StartedInit{container.record().pid, std::move(notify)};
}

}  // namespace internal

Result<void> Runtime::start(std::string_view id) {
  // The container directory's lock is dropped by now: waiting for READY= may take long, and
  // `state` or `kill` must not block meanwhile.
  auto started = MKRUN_TRY(internal::start_container(options_, id));
  if (!started.notify) return {};
  return notify::forward_ready(*started.notify, started.init_pid, started.init_pid);
}

Result<oci::State> Runtime::state(std::string_view id) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  return container.observed_state();
}

namespace {

std::string user_name(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "#" + std::to_string(uid);
}

}  // namespace

Result<std::vector<oci::State>> Runtime::list() {
  std::vector<oci::State> states;
  for (const auto& id : MKRUN_TRY(state::list_ids(options_.root))) {
    // Gone meanwhile, or a create that died before its first save: not listed.
    auto container = Container::open(options_.root, id);
    if (!container) continue;
    oci::State state = container->observed_state();
    state.owner = user_name(container->record().owner_uid);
    states.push_back(std::move(state));
  }
  return states;
}

namespace {

// Whether the container's init is pid 1 of a pid namespace that the container created: killing
// it then kills every other process of that namespace (pid_namespaces(7)).
Result<bool> has_own_pid_namespace(const Container& container) {
  const oci::Spec spec = MKRUN_TRY(container.spec());
  if (!spec.linux) return false;
  for (const oci::Namespace& ns : spec.linux->namespaces) {
    if (ns.type == "pid") return ns.path.empty();
  }
  return false;
}

}  // namespace

Result<void> Runtime::kill(std::string_view id, int signal, bool all) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  const Status status = container.status();
  // runc 1.5 (Container.Signal): SIGKILL to a container that shares a pid namespace goes to
  // every process of its cgroup, or the others would outlive its init, also once the init is
  // gone (the container is then "stopped" while its other processes run).
  if (signal == SIGKILL && !all) all = !MKRUN_TRY(has_own_pid_namespace(container));
  MKRUN_CHECK(status.can_signal(all));
  internal::debug(options_, "kill " + std::string(id) + ": signal " + std::to_string(signal) +
                                " to " + (all ? "every process of its cgroup" : "its init") + " (" +
                                std::string(status.name()) + ")");
  // What is left in a stopped container's cgroup may be gone already: no error then.
  if (status == Status::kStopped) {
    (void)container.signal(signal, all);
    return {};
  }
  return container.signal(signal, all);
}

Result<void> Runtime::remove(std::string_view id, bool force) {
  auto dir = state::ContainerDir::open(options_.root, id);
  if (!dir) {
    // As runc, whatever is left under that name that is no container (a symlink) goes too,
    // itself and not what it points to.
    if (force && dir.error().kind() == ErrorKind::kNotExist)
      return state::ContainerDir::remove_stale_entry(options_.root, id);
    return std::unexpected(std::move(dir).error());
  }
  auto record = dir->load();
  if (!record) {
    // A create killed before it saved anything: only the directory is left.
    if (force) return dir->remove();
    return std::unexpected(std::move(record).error());
  }
  Container container(std::move(*dir), std::move(*record));
  MKRUN_CHECK(container.status().can_delete(id, force));
  return container.destroy(options_);
}

}  // namespace mkrun::runtime
