// systemd's protocols across the container boundary (design/runc-cli-contract.md §5):
//
// NOTIFY_SOCKET (sd_notify). runc 1.1, as observed: `create` makes <state dir>/notify and adds a
// read-only bind mount of it at /run/notify plus NOTIFY_SOCKET=/run/notify/notify.sock to the
// container; `start` (and `run`) binds notify.sock there before releasing the init, then waits
// for a datagram starting with "READY=", sends its first line and then "MAINPID=<init pid>\n"
// to the caller's socket as two datagrams, and returns; it gives up silently when the init dies.
//
// LISTEN_FDS (socket activation). When LISTEN_PID is mkrun's pid, fds 3..3+LISTEN_FDS-1 go to
// the container before the --preserve-fds ones, which then start at 3+LISTEN_FDS, and the
// container gets LISTEN_FDS=<n> and LISTEN_PID=1.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::notify {

inline constexpr const char* kDirectoryName = "notify";    // under the state dir
inline constexpr const char* kSocketName = "notify.sock";  // in that directory
inline constexpr const char* kDirectoryInContainer = "/run/notify";
inline constexpr const char* kSocketInContainer = "/run/notify/notify.sock";

struct NotifySocket {
  std::string host_socket;  // the caller's NOTIFY_SOCKET: READY= goes there ("@x": abstract)
  std::string directory;    // <state dir>/notify, bind-mounted read-only at /run/notify
  std::string socket_path;  // <state dir>/notify/notify.sock
  UniqueFd socket;          // the bound datagram socket; only after open_notify_socket()
};

// ---- create -----------------------------------------------------------------------------------

// `create` and `run`, after the state directory exists and before the plan is built (the
// builder stats bind sources): makes <state_dir>/notify (0755). nullopt when `host_socket` (the
// value of NOTIFY_SOCKET, null when unset) is unset or empty: then nothing else applies.
Result<std::optional<NotifySocket>> prepare_notify_socket(const std::string& state_dir,
                                                          const char* host_socket);

// The entries runc's setupSpec adds; add them to the spec before the plan is built:
//   spec.mounts.push_back(notify_mount(n));  spec.process->env.push_back(notify_env());
oci::Mount notify_mount(const NotifySocket& notify);
std::string notify_env();  // "NOTIFY_SOCKET=/run/notify/notify.sock"
// Both at once.
void add_notify_socket_to_spec(const NotifySocket& notify, oci::Spec& spec);

// ---- start ------------------------------------------------------------------------------------

// `start` (and the start step of `run`), before the init is released from exec.fifo: binds
// <state_dir>/notify/notify.sock (replacing a stale one), mode 0777 so any container user may
// send. nullopt when NOTIFY_SOCKET is unset or empty, or when `create` made no notify directory
// (the container has no /run/notify then, so nothing could arrive).
Result<std::optional<NotifySocket>> open_notify_socket(const std::string& state_dir,
                                                       const char* host_socket);

// After the init is released (and, in `start`, after the container directory's lock is
// dropped: this may wait for long, and `state`/`kill` must not block meanwhile): waits for
// READY=, forwards it with MAINPID=<main_pid>, returns. Returns {} without sending anything when
// `init_pid` dies first. `main_pid` is the init's host pid for `start` and `run -d`; a
// foreground `run` stays the supervisor, so it passes its own pid (runc: os.Getpid()).
// A foreground `run` should not block here: it adds notify.socket to its poll set and calls
// relay_ready() when it is readable, as long as relay_ready() returned false.
Result<void> forward_ready(const NotifySocket& notify, pid_t init_pid, pid_t main_pid);

// Connects a datagram socket to the caller's NOTIFY_SOCKET.
Result<UniqueFd> connect_host_socket(const std::string& host_socket);

// Reads one datagram from notify.socket (without blocking); if it starts with READY=, sends
// its first line and MAINPID=<main_pid> to `host` and returns true. False: nothing to forward.
Result<bool> relay_ready(const NotifySocket& notify, int host, pid_t main_pid);

// ---- Pure rules -------------------------------------------------------------------------------

// The line to forward when a datagram starts with "READY=": its first line ("READY=1"), as runc
// sends it; nullopt otherwise (STATUS=, WATCHDOG=... are not forwarded).
std::optional<std::string> ready_line(std::string_view datagram);

// What socket activation adds to a create.
struct ListenFds {
  unsigned count = 0;            // fds 3..3+count-1 are passed before the --preserve-fds ones
  std::vector<std::string> env;  // {"LISTEN_FDS=<count>", "LISTEN_PID=1"}, or none
};

// From the runtime's environment (`environ`, or any null-terminated "K=V" array) and its own
// pid, as go-systemd's activation.Files does it for runc: LISTEN_PID must parse (Go's Atoi) and
// equal `pid`, LISTEN_FDS must parse and be positive; otherwise nothing is passed.
//
// Wiring in create: before check_preserved_fds, so the check covers the right fds:
//   auto listen = notify::listen_fds_from_env(environ, ::getpid());
//   preserved fds checked: 3+listen.count .. 3+listen.count+preserve_fds-1 (runc stats only
//     those: "unable to stat preserved-fd <i> (of <N>)", i counted from 3+listen.count);
//   plan.preserve_fds = listen.count + preserve_fds (the child keeps 3..3+total-1 open);
//   spec.process->env gets listen.env appended (after NOTIFY_SOCKET, as runc orders them).
ListenFds listen_fds_from_env(const char* const* env, pid_t pid);

}  // namespace mkrun::notify
