// `run`: create + start, then, in the foreground, stay as the container's subreaper: forward
// signals to the init, proxy the pty when mkrun holds it, and return the init's exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <optional>

#include "container/container.hpp"
#include "container/foreground.hpp"
#include "container/internal.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {

using internal::BlockedSignals;
using internal::HostTerminal;
using internal::RawTerminal;
using internal::wait_in_foreground;
namespace {

Result<void> delete_stopped(const GlobalOptions& global, std::string_view id) {
  auto container = MKRUN_TRY(internal::Container::open(global.root, id));
  return container.destroy(global);
}

}  // namespace

Result<int> Runtime::run(const RunOptions& options) {
  bool foreground = !options.detach;
  if (foreground && !options.no_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    return fail_errno("become a subreaper");
  }
  std::optional<HostTerminal> host_terminal;
  std::optional<RawTerminal> raw_terminal;
  BlockedSignals signals;
  internal::CreateRequest request{&options.create,
                                  foreground && options.create.console_socket.empty()};
  auto created = MKRUN_TRY(internal::create_container(options_, request));
  if (created.console_master) {
    // Proxying a pty needs a terminal on our side, though not on stdin (`run </dev/null`).
    auto found = HostTerminal::find();
    if (!found) {
      (void)remove(options.create.id, true);
      return std::unexpected(std::move(found).error());
    }
    host_terminal.emplace(std::move(*found));
  }
  // The cgroup mounts create read a moment ago: reading them again costs 0.1 ms.
  auto started = internal::start_container(options_, options.create.id, created.host);
  if (!started) {
    (void)remove(options.create.id, true);
    return std::unexpected(std::move(started).error());
  }
  if (started->notify) {
    // runc: READY= goes with the init's pid when detached; in the foreground mkrun stays the
    // service's main process. Signals wait meanwhile (blocked), as they do in runc. A failure
    // is only a warning: the container runs, and a foreground mkrun must still wait for it.
    pid_t main_pid = foreground ? ::getpid() : created.init_pid;
    auto forwarded = notify::forward_ready(*started->notify, created.init_pid, main_pid);
    if (!forwarded) internal::warn(options_, forwarded.error().render());
  }
  if (!foreground) return 0;
  const std::string init = "init " + std::to_string(created.init_pid);
  internal::debug(options_, "run " + options.create.id + ": waiting for " + init +
                                " in the foreground, forwarding signals");
  internal::ProxiedPty pty;
  if (host_terminal) {
    raw_terminal.emplace(host_terminal->fd());
    pty = {created.console_master.get(), host_terminal->fd()};
  }
  auto code = wait_in_foreground(created.init_pid, signals, pty);
  raw_terminal.reset();
  if (code) {
    internal::debug(options_, "run " + options.create.id + ": " + init + " ended, exit status " +
                                  std::to_string(*code));
  }
  if (!options.keep) {
    if (auto deleted = delete_stopped(options_, options.create.id); !deleted && code) {
      return std::unexpected(std::move(deleted).error());
    }
  }
  return code;
}

}  // namespace mkrun::runtime
