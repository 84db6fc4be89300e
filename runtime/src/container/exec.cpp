// `exec`: one more process in a running container. It enters every namespace of the container's
// init and its cgroup, gets the container's process settings (rlimits, capabilities, seccomp,
// ...) with the caller's changes, and runs in the foreground (mkrun waits and returns its status)
// or detached (mkrun writes the pid file and leaves).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "cgroups/disabled.hpp"
#include "cgroups/manager.hpp"
#include "child/child.hpp"
#include "container/container.hpp"
#include "container/foreground.hpp"
#include "container/internal.hpp"
#include "container/spawn.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/base/paths.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "plan/builder.hpp"

namespace mkrun::runtime {
namespace {

using internal::check_console_options;
using internal::Container;
using internal::send_to_seccomp_agent;
using internal::Spawner;

Result<uint32_t> parse_id(std::string_view text, std::string_view what) {
  auto value = parse_number<uint32_t>(text);
  if (!value) return fail("invalid " + std::string(what) + " \"" + std::string(text) + "\"");
  return *value;
}

// --user "uid[:gid]"
Result<void> apply_user(oci::User& user, std::string_view text) {
  auto colon = text.find(':');
  user.uid = MKRUN_TRY(parse_id(text.substr(0, colon), "uid"));
  if (colon != std::string_view::npos)
    user.gid = MKRUN_TRY(parse_id(text.substr(colon + 1), "gid"));
  return {};
}

// runc's --cap: added to bounding, effective and permitted, and to ambient only when the
// container already has inheritable capabilities (ambient needs them).
void add_capabilities(oci::Process& process, const std::vector<std::string>& caps) {
  if (caps.empty()) return;
  if (!process.capabilities) process.capabilities.emplace();
  oci::Capabilities& sets = *process.capabilities;
  for (const auto& cap : caps) {
    for (auto* set : {&sets.bounding, &sets.effective, &sets.permitted}) {
      if (!*set) set->emplace();
      (*set)->push_back(cap);
    }
    if (sets.inheritable) {
      if (!sets.ambient) sets.ambient.emplace();
      sets.ambient->push_back(cap);
    }
  }
}

// The process to run: the --process file as it is, or the container's process with the
// command-line changes, as runc's getProcess() builds it.
Result<oci::Process> exec_process(const ExecOptions& options, const oci::Spec& spec) {
  if (!options.process_file.empty()) {
    auto text = MKRUN_TRY(files::read_file(options.process_file));
    auto process = oci::parse_process(text);
    if (!process) return fail("parse `" + options.process_file + "`: " + process.error().message);
    // A process without `capabilities` gets the container's, as in runc (and so none when the
    // container has none), never every capability mkrun has.
    if (!process->capabilities && spec.process) process->capabilities = spec.process->capabilities;
    return std::move(*process);
  }
  if (options.args.empty()) return fail("exec needs a command to run");
  oci::Process process = spec.process.value_or(oci::Process{});
  process.args = options.args;
  process.terminal = options.tty;
  process.env.insert(process.env.end(), options.env.begin(), options.env.end());
  if (!options.cwd.empty()) process.cwd = options.cwd;
  if (!options.user.empty()) MKRUN_CHECK(apply_user(process.user, options.user));
  if (!options.additional_gids.empty()) process.user.additionalGids = options.additional_gids;
  add_capabilities(process, options.capabilities);
  if (options.no_new_privileges) process.noNewPrivileges = true;
  if (!options.apparmor_profile.empty()) process.apparmorProfile = options.apparmor_profile;
  if (!options.process_label.empty()) process.selinuxLabel = options.process_label;
  return process;
}

// `directory`/`sub`, which must be `directory` ("/") or below it, and exist (runc 1.1's words
// otherwise: it fails writing the pid into the missing cgroup.procs).
Result<std::string> sub_cgroup_directory(const std::string& directory, const std::string& sub) {
  std::string joined = paths::clean_absolute(directory + "/" + sub);
  if (joined != directory && !joined.starts_with(directory + "/")) {
    return fail("bad sub cgroup path: " + sub + " is not a sub cgroup path");  // runc 1.5, 1.1
  }
  std::string procs = joined + "/cgroup.procs";
  if (::access(procs.c_str(), F_OK) != 0) return fail_errno("adding pid to cgroups: " + procs);
  return joined;
}

// With `--cgroup`, the sub-cgroups below the container's that the process joins instead (one for
// every controller, or one per named controller). They must exist, as with runc.
Result<std::unique_ptr<cgroups::Manager>> exec_sub_cgroup(
    Container& container, const std::map<std::string, std::string>& sub_cgroups) {
  const state::CgroupRecord& own = container.record().cgroup;
  const cgroups::Manager& container_cgroup = *MKRUN_TRY(container.cgroup());
  if (container_cgroup.driver() == cgroups::Driver::kDisabled) {
    return cgroups::without_cgroup("join a sub-cgroup with --cgroup");
  }
  state::CgroupRecord target = own;
  for (const auto& [controller, path] : sub_cgroups) {
    std::string only = controller.empty() ? "" : container_cgroup.directory_of(controller);
    if (!controller.empty() && only.empty()) {
      return fail("unknown controller " + controller +
                  " in --cgroup: the container has no cgroup for it");
    }
    // From the container's directory, so that co-mounted controllers (cpu,cpuacct) named with
    // different paths end in the last one, as with runc, and never in a path of paths.
    for (size_t i = 0; i < target.directories.size(); ++i) {
      if (!only.empty() && own.directories[i] != only) continue;
      target.directories[i] = MKRUN_TRY(sub_cgroup_directory(own.directories[i], path));
    }
  }
  auto host = MKRUN_TRY(container.host());
  return cgroups::open_cgroup(*host, target);
}

struct Execution {
  std::unique_ptr<plan::PreparedPlan> prepared;
  UniqueFd console_receiver;  // ours, when mkrun proxies the pty itself
  pid_t pid = 0;
};

Result<Execution> start_exec(const GlobalOptions& global, const ExecOptions& options) {
  auto container = MKRUN_TRY(Container::open(global.root, options.id));
  MKRUN_CHECK(container.status().can_exec(options.ignore_paused));
  oci::Spec spec = MKRUN_TRY(container.spec());
  spec.process = MKRUN_TRY(exec_process(options, spec));
  bool terminal = spec.process->terminal;
  if (options.process_file.empty() || !options.console_socket.empty() || options.detach) {
    MKRUN_CHECK(check_console_options(terminal, options.detach, !options.console_socket.empty()));
  }
  cgroups::Manager* cgroup = MKRUN_TRY(container.cgroup());
  std::unique_ptr<cgroups::Manager> sub_cgroup;
  if (!options.sub_cgroups.empty()) {
    sub_cgroup = MKRUN_TRY(exec_sub_cgroup(container, options.sub_cgroups));
    cgroup = sub_cgroup.get();
  }
  const state::ContainerRecord& record = container.record();

  plan::BuildInputs inputs;
  inputs.spec = &spec;
  inputs.bundle = record.bundle;
  inputs.rootfs = record.rootfs;
  inputs.container_id = record.id;
  inputs.preserve_fds = options.preserve_fds;
  Execution e;
  e.prepared = MKRUN_TRY(plan::build_exec_plan(inputs, record.pid));
  // The container's state may change from here on: others need not wait for this process.
  container.unlock();
  Spawner process(*e.prepared, *cgroup);
  Spawner::Setup setup;
  setup.what = "exec process";
  setup.debug = global.debug;
  setup.terminal = terminal;
  setup.console_socket = options.console_socket;
  setup.pidfd_socket = options.pidfd_socket;
  setup.pidfd_message = "setns";  // runc's name for a process joining a container
  setup.keep_console_for_caller = options.console_socket.empty();
  setup.child_joins_cgroup =
      std::ranges::none_of(spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{},
                           [](const oci::Namespace& ns) { return ns.type == "user"; });
  // A container paused while the process joins it would keep it, and us, waiting; unless the
  // caller asked for exactly that (--ignore-paused), the wait ends.
  setup.stop_if_frozen = !options.ignore_paused;
  // runc tells the agent the container is running, whatever it is, with its init's pid.
  if (e.prepared->plan.seccomp_listener) {
    setup.hand_listener = [&spec, &container, &process](UniqueFd listener) {
      return send_to_seccomp_agent(*spec.linux->seccomp,
                                   container.state(internal::Status::kRunning), process.pid(),
                                   listener.get());
    };
  }
  MKRUN_CHECK(process.prepare(std::move(setup)));
  MKRUN_CHECK(process.clone());
  MKRUN_CHECK(process.started());
  MKRUN_CHECK(process.join_cgroup());
  MKRUN_CHECK(container.join_intel_rdt_groups(process.pid()));
  MKRUN_CHECK(process.go());
  // The process closes its end when it executes.
  MKRUN_CHECK(process.ready(/*until_closed=*/true));
  process.release();
  internal::debug(global, "exec " + options.id + ": process " + std::to_string(process.pid()) +
                              " executed its program");
  e.pid = process.pid();
  e.console_receiver = process.take_console_receiver();
  return e;
}

}  // namespace

Result<void> Runtime::check_exec(std::string_view id, bool ignore_paused) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  return container.status().can_exec(ignore_paused);
}

Result<int> Runtime::exec(const ExecOptions& options) {
  internal::BlockedSignals signals;
  auto execution = MKRUN_TRY(start_exec(options_, options));
  MKRUN_CHECK(internal::write_pid_file(options.pid_file, execution.pid));
  if (options.detach) return 0;
  UniqueFd pty_master;
  std::optional<internal::HostTerminal> host_terminal;
  std::optional<internal::RawTerminal> raw_terminal;
  internal::ProxiedPty pty;
  if (execution.console_receiver) {
    pty_master = MKRUN_TRY(internal::receive_pty_master(execution.console_receiver.get()));
    pty.master = pty_master.get();
    // The process runs already: without a terminal on our side, the pty is proxied all the same.
    if (auto found = internal::HostTerminal::find()) {
      host_terminal.emplace(std::move(*found));
      raw_terminal.emplace(host_terminal->fd());
      pty.host_terminal = host_terminal->fd();
    }
  }
  return internal::wait_in_foreground(execution.pid, signals, pty);
}

}  // namespace mkrun::runtime
