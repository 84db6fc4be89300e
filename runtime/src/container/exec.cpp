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

#include "cgroups/manager.hpp"
#include "child/child.hpp"
#include "container/foreground.hpp"
#include "container/internal.hpp"
#include "container/spawn.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "plan/builder.hpp"

namespace mkrun::runtime {
namespace {

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

Result<void> check_exec_terminal(const ExecOptions& options, bool terminal) {
  if (terminal && options.detach && options.console_socket.empty()) {
    return fail("cannot allocate tty if mkrun will detach without setting console socket");
  }
  if (!options.console_socket.empty() && !(terminal && options.detach)) {
    return fail("cannot use console socket if mkrun will not detach or allocate tty");
  }
  return {};
}

// The cgroup the process joins: the container's, or with `--cgroup`, sub-cgroups below it (one
// for every controller, or one per named controller). They must exist, as with runc.
Result<std::unique_ptr<cgroups::Manager>> exec_cgroup(
    const oci::ContainerRecord& record, const std::map<std::string, std::string>& sub_cgroups) {
  auto host = MKRUN_TRY(cgroups::detect_host());
  oci::CgroupRecord target = record.cgroup;
  if (sub_cgroups.empty()) return cgroups::open_cgroup(host, target);
  auto container = MKRUN_TRY(cgroups::open_cgroup(host, record.cgroup));
  for (const auto& [controller, path] : sub_cgroups) {
    if (path.find("..") != std::string::npos) return fail("invalid --cgroup path \"" + path + "\"");
    std::string only = controller.empty() ? "" : container->directory_of(controller);
    if (!controller.empty() && only.empty()) {
      return fail("no cgroup controller \"" + controller + "\"");
    }
    // From the container's directory, so that co-mounted controllers (cpu,cpuacct) named with
    // different paths end in the last one, as with runc, and never in a path of paths.
    for (size_t i = 0; i < target.directories.size(); ++i) {
      const std::string& own = record.cgroup.directories[i];
      if (only.empty() || own == only) target.directories[i] = own + "/" + path;
    }
  }
  return cgroups::open_cgroup(host, target);
}

struct Execution {
  std::unique_ptr<plan::PreparedPlan> prepared;
  std::vector<std::string> task_files;
  UniqueFd unified_cgroup;
  UniqueFd console_socket;    // the child's end
  UniqueFd console_receiver;  // ours, when mkrun proxies the pty itself
  UniqueFd procfs;            // the verified procfs root the child reaches procfs through
  pid_t child_pid = 0;
  pid_t pid = 0;
};

Result<void> prepare_console(Execution& e, const ExecOptions& options, bool terminal) {
  if (!terminal) return {};
  if (!options.console_socket.empty()) {
    e.console_socket = MKRUN_TRY(internal::connect_console_socket(options.console_socket));
  } else {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
      return fail_errno("socketpair");
    e.console_receiver.reset(pair[0]);
    e.console_socket.reset(pair[1]);
  }
  e.prepared->plan.console_socket_fd = e.console_socket.get();
  return {};
}

// Clones the child, lets it join, and waits until the process was executed.
Result<void> spawn_exec(Execution& e, cgroups::Manager& cgroup, bool self_join, bool ignore_paused,
                        internal::ListenerHandler hand_to_agent) {
  plan::ChildPlan& p = e.prepared->plan;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    return fail_errno("socketpair");
  UniqueFd parent_end(pair[0]);
  UniqueFd child_end(pair[1]);
  p.sync_fd = child_end.get();
  std::vector<int> close_in_child = {parent_end.get()};
  if (e.console_receiver) close_in_child.push_back(e.console_receiver.get());
  p.close_after_clone = close_in_child.data();
  p.close_after_clone_count = close_in_child.size();
  bool joined_at_clone = false;
  long pid = internal::clone_child(0, e.unified_cgroup.get(), joined_at_clone);
  if (pid < 0) return fail_errno("clone the exec process");
  if (pid == 0) child::child_main(p);
  e.child_pid = e.pid = static_cast<pid_t>(pid);
  child_end.reset();
  e.prepared->namespace_fds.clear();
  e.console_socket.reset();

  internal::SyncChannel channel(std::move(parent_end));
  if (hand_to_agent) channel.on_seccomp_listener(std::move(hand_to_agent));
  // A container paused while the process joins it would keep it, and us, waiting; unless the
  // caller asked for exactly that (--ignore-paused), the wait ends.
  if (!ignore_paused) {
    channel.on_stall([&cgroup]() -> Result<void> {
      if (cgroup.frozen_before_join().value_or(false))
        return fail("container's cgroup unexpectedly frozen");
      return {};
    });
  }
  MKRUN_CHECK(channel.receive(sync::Kind::kStarted));
  if (!self_join) {
    MKRUN_CHECK(cgroup.add_process(e.child_pid));
  } else if (!joined_at_clone) {
    MKRUN_CHECK(cgroup.add_process_to_unified(e.child_pid));
  }
  MKRUN_CHECK(channel.send(sync::Kind::kGo));
  auto init = MKRUN_TRY(channel.receive(sync::Kind::kInitPid));
  e.pid = init.value;
  (void)::waitpid(e.child_pid, nullptr, 0);
  e.child_pid = e.pid;
  MKRUN_CHECK(channel.receive(sync::Kind::kReady));
  return channel.wait_for_close();
}

Result<Execution> start_exec(const GlobalOptions& global, const ExecOptions& options) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(global.root, options.id));
  auto record = MKRUN_TRY(dir.load());
  std::string status = internal::observe_status(dir, record);
  if (status == "stopped") return fail("cannot exec in a stopped container");
  if (status == "paused" && !options.ignore_paused) {
    return fail("cannot exec in a paused container (use --ignore-paused to override)");
  }
  oci::Spec spec = MKRUN_TRY(internal::load_spec_snapshot(dir));
  spec.process = MKRUN_TRY(exec_process(options, spec));
  bool terminal = spec.process->terminal;
  if (options.process_file.empty() || !options.console_socket.empty() || options.detach) {
    MKRUN_CHECK(check_exec_terminal(options, terminal));
  }
  auto cgroup = MKRUN_TRY(exec_cgroup(record, options.sub_cgroups));

  plan::BuildInputs inputs;
  inputs.spec = &spec;
  inputs.bundle = record.bundle;
  inputs.rootfs = record.rootfs;
  inputs.container_id = record.id;
  inputs.preserve_fds = options.preserve_fds;
  Execution e;
  e.prepared = MKRUN_TRY(plan::build_exec_plan(inputs, record.pid));
  e.procfs = MKRUN_TRY(proc::open_verified_root());
  e.prepared->plan.proc_fd = e.procfs.get();
  // The container's state may change from here on: others need not wait for this process.
  dir = {};
  bool in_user_namespace =
      std::ranges::any_of(spec.linux ? spec.linux->namespaces : std::vector<oci::Namespace>{},
                          [](const oci::Namespace& ns) { return ns.type == "user"; });
  bool self_join = !in_user_namespace;
  if (self_join) {
    e.task_files = cgroup->v1_task_files();
    e.prepared->plan.cgroup_task_files = e.prepared->keep_list(e.task_files);
    e.prepared->plan.cgroup_task_file_count = e.task_files.size();
    e.unified_cgroup = MKRUN_TRY(cgroup->open_unified_dir());
  }
  MKRUN_CHECK(prepare_console(e, options, terminal));
  // runc tells the agent the container is running, whatever it is, with its init's pid.
  internal::ListenerHandler hand_to_agent;
  if (e.prepared->plan.seccomp_listener) {
    hand_to_agent = [&spec, &record, &e](UniqueFd listener) {
      return internal::send_to_seccomp_agent(
          *spec.linux->seccomp, internal::make_state(record, "running"), e.pid, listener.get());
    };
  }
  if (auto spawned =
          spawn_exec(e, *cgroup, self_join, options.ignore_paused, std::move(hand_to_agent));
      !spawned) {
    internal::kill_and_reap(e.pid);
    if (e.child_pid != e.pid) internal::kill_and_reap(e.child_pid);
    return std::unexpected(std::move(spawned).error());
  }
  return e;
}

}  // namespace

Result<int> Runtime::exec(const ExecOptions& options) {
  internal::BlockedSignals signals;
  auto execution = MKRUN_TRY(start_exec(options_, options));
  MKRUN_CHECK(internal::write_pid_file(options.pid_file, execution.pid));
  if (options.detach) return 0;
  UniqueFd pty_master;
  std::optional<internal::RawTerminal> raw_terminal;
  if (execution.console_receiver) {
    pty_master = MKRUN_TRY(internal::receive_pty_master(execution.console_receiver.get()));
    raw_terminal.emplace(STDIN_FILENO);
  }
  return internal::wait_in_foreground(execution.pid, signals, pty_master.get());
}

}  // namespace mkrun::runtime
