// `create`: from a bundle to an init that waits, fully set up, for `start`.
//
// The parent does everything that may allocate (parse, plan, cgroup, id maps, runtime hooks);
// the child follows the plan (child/child_main.cpp). Every resource taken is pushed on an undo
// list first, so a failure at any step leaves no process, cgroup, mount or state directory.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

#include "cgroups/manager.hpp"
#include "child/child.hpp"
#include "child/sync.hpp"
#include "container/cdi.hpp"
#include "container/container.hpp"
#include "container/internal.hpp"
#include "container/kernel_watch.hpp"
#include "container/shared_mounts.hpp"
#include "container/spawn.hpp"
#include "core/proc.hpp"
#include "linux/netdev.hpp"
#include "linux/notify.hpp"
#include "linux/userns.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/paths.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/runtime/kernel_backend.hpp"
#include "plan/builder.hpp"

namespace mkrun::runtime::internal {
namespace {

// Undo actions for a half-made container, run in reverse unless commit() was called.
class UndoList {
 public:
  UndoList() = default;
  UndoList(const UndoList&) = delete;
  UndoList& operator=(const UndoList&) = delete;
  ~UndoList() {
    for (auto it = actions_.rbegin(); it != actions_.rend(); ++it) (*it)();
  }
  void push(std::function<void()> action) { actions_.push_back(std::move(action)); }
  void commit() { actions_.clear(); }

 private:
  std::vector<std::function<void()>> actions_;
};

std::string current_directory() {
  char buffer[PATH_MAX];
  return ::getcwd(buffer, sizeof buffer) != nullptr ? buffer : ".";
}

Result<std::string> resolve_bundle(const std::string& bundle) {
  std::string path = bundle.empty() ? current_directory() : bundle;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return fail_errno("bundle `" + path + "`");
  return std::string(resolved);
}

// runc 1.1's config validation of the rootfs: root.path, made absolute against the (resolved)
// bundle and cleaned, must already be its symlink-resolved form. A rootfs that is, or lies
// under, a symlink is refused, so the directory mkrun checks is the one every later step
// (mounts, pivot_root) works on, and a `rootfs -> /` cannot turn the host's root into the
// container's. The host's "/" itself is refused too (runc would go on and mount over it).
Result<std::string> resolve_rootfs(const std::string& bundle, const std::string& root_path) {
  std::string rootfs =
      paths::clean_absolute(root_path.starts_with('/') ? root_path : bundle + "/" + root_path);
  struct stat info {};
  if (::stat(rootfs.c_str(), &info) < 0) return fail_errno("invalid rootfs: stat " + rootfs);
  char resolved[PATH_MAX];
  if (::realpath(rootfs.c_str(), resolved) == nullptr)
    return fail_errno("invalid rootfs: resolve " + rootfs);
  if (rootfs != resolved) return fail("invalid rootfs: not an absolute path, or a symlink");
  if (rootfs == "/") {
    return fail("invalid rootfs: `/` is the host's root directory, not a container's");
  }
  return rootfs;
}

Result<oci::Spec> load_spec(const std::string& config_text, const std::string& config_path) {
  auto spec = oci::parse_spec(config_text);
  if (!spec) return fail("parse `" + config_path + "`: " + spec.error().message);
  if (auto valid = oci::validate_spec(*spec); !valid)
    return fail("invalid config: " + valid.error().message);
  return std::move(*spec);
}

Result<void> check_terminal_options(const oci::Spec& spec, const CreateRequest& request) {
  return check_console_options(spec.process->terminal, !request.keep_console_for_caller,
                               !request.options->console_socket.empty());
}

// runc checks the fds to preserve before opening anything, so mkrun's own fds cannot take
// their numbers. They follow the socket-activation ones (LISTEN_FDS), which runc does not stat.
Result<void> check_preserved_fds(unsigned first, unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    struct stat info {};
    if (::fstat(static_cast<int>(first + i), &info) < 0) {
      return fail_errno("unable to stat preserved-fd " + std::to_string(i) + " (of " +
                        std::to_string(count) + ")");
    }
  }
  return {};
}

Result<UniqueFd> state_memfd(const std::string& json) {
  int fd = static_cast<int>(::memfd_create("mkrun-hook-state", MFD_CLOEXEC));
  if (fd < 0) return fail_errno("memfd_create");
  UniqueFd memfd(fd);
  MKRUN_CHECK(files::write_all(memfd.get(), json, "hook state"));
  return memfd;
}

// runc's RootlessEUID: an unprivileged mkrun maps ids through newuidmap/newgidmap (or its own
// single id) and sets no supplementary groups.
bool rootless_euid() {
  return ::geteuid() != 0;
}

// Everything one create needs while it runs.
struct Creation {
  Creation(const GlobalOptions& g, const CreateRequest& r) : global(g), request(r) {}
  const GlobalOptions& global;
  const CreateRequest& request;
  std::string bundle;
  // config.json as read once: the spec is parsed from it and the state keeps it, so hooks, exec
  // and delete see the config the container was made from, whatever the bundle holds later.
  std::string config_text;
  std::string rootfs;
  oci::Spec spec;
  std::optional<Container> container;  // from make_state_directory on
  // Read once: the cgroup and the plan's cgroup mounts both need it.
  std::shared_ptr<const cgroups::Host> host;
  cgroups::Manager* cgroup = nullptr;  // the container's, once planned
  std::unique_ptr<plan::PreparedPlan> prepared;
  UniqueFd fifo_path_fd;  // exec.fifo, O_PATH: the init reopens it to wait for `start`
  UniqueFd create_hooks_state;
  UniqueFd start_hooks_state;
  std::shared_ptr<KernelBackend> backend;  // null: the application runs on Linux
  std::unique_ptr<Journal> journal;
  notify::ListenFds listen_fds;    // socket activation: fds 3.. passed before --preserve-fds
  std::optional<Spawner> spawner;  // the init, until create succeeds
  pid_t init_pid = 0;
  // Last, so it runs while everything above still exists.
  UndoList undo;
};

Result<void> load_bundle(Creation& c) {
  c.bundle = MKRUN_TRY(resolve_bundle(c.request.options->bundle));
  std::string config_path = c.bundle + "/config.json";
  c.config_text = MKRUN_TRY(files::read_file(config_path));
  c.spec = MKRUN_TRY(load_spec(c.config_text, config_path));
  // CDI's edits are the engine's too (host configuration): applied before anything exists, and
  // the result validated again, as if the config had come with them.
  if (MKRUN_TRY(inject_cdi_devices(c.global, c.spec, c.config_text))) {
    if (auto valid = oci::validate_spec(c.spec); !valid) {
      return fail("invalid config after CDI edits: " + valid.error().message);
    }
  }
  c.rootfs = MKRUN_TRY(resolve_rootfs(c.bundle, c.spec.root->path));
  MKRUN_CHECK(check_terminal_options(c.spec, c.request));
  auto selector = c.spec.annotations.find(std::string(kKernelAnnotation));
  c.backend = MKRUN_TRY(find_kernel_backend(selector != c.spec.annotations.end()
                                                ? std::string_view(selector->second)
                                                : std::string_view(c.global.default_kernel)));
  if (c.backend) {
    for (const std::string& warning : MKRUN_TRY(c.backend->validate(c.spec))) {
      warn(c.global, warning);
    }
  }
  return {};
}

// The directory and config.json; without exec.fifo, which only a created init waits at.
Result<void> make_bare_state_directory(Creation& c) {
  c.container = MKRUN_TRY(Container::create(c.global.root, c.request.options->id));
  c.undo.push([&c] { (void)c.container->dir().remove(); });
  return files::write_file(c.container->dir().file(state::kConfigName), c.config_text,
                           O_WRONLY | O_CREAT | O_EXCL, 0600);
}

Result<void> make_state_directory(Creation& c) {
  MKRUN_CHECK(make_bare_state_directory(c));
  std::string fifo = c.container->dir().file(state::kFifoName);
  mode_t old_mask = ::umask(0);
  int made = ::mkfifo(fifo.c_str(), 0622);
  ::umask(old_mask);
  if (made < 0) return fail_errno("mkfifo `" + fifo + "`");
  c.fifo_path_fd = MKRUN_TRY(files::open(fifo, O_PATH));
  return {};
}

// The cgroups layer's peer for the public option.
cgroups::Driver cgroup_driver(CgroupManagerKind kind) {
  switch (kind) {
    case CgroupManagerKind::kSystemd:
      return cgroups::Driver::kSystemd;
    case CgroupManagerKind::kDisabled:
      return cgroups::Driver::kDisabled;
    case CgroupManagerKind::kCgroupfs:
      break;
  }
  return cgroups::Driver::kCgroupfs;
}

// The container keeps its cgroup; create works on it through `c.cgroup`.
void adopt_cgroup(Creation& c, std::unique_ptr<cgroups::Manager> cgroup) {
  c.container->set_cgroup(c.host, std::move(cgroup));
  c.cgroup = *c.container->cgroup();
}

bool is_permission_error(const Error& error) {
  return error.errc() == EACCES || error.errc() == EPERM || error.errc() == EROFS;
}

// The first resource limit that needs a cgroup of the container's own; device rules do not
// count, a rootless container is not expected to get them (runc ignores them too).
std::optional<std::string> first_limit(const oci::Resources& r) {
  if (r.memory) return "memory";
  if (r.cpu) return "cpu";
  if (r.pids) return "pids";
  if (r.blockIO) return "blkio";
  if (!r.hugepageLimits.empty()) return "hugetlb";
  if (r.network) return "network";
  if (!r.rdma.empty()) return "rdma";
  if (!r.unified.empty()) return "unified";
  return std::nullopt;
}

// runc's rootless rule: when the caller may not make the container's cgroup, the container
// stays in the caller's cgroup, unless it asks for limits, which would then silently not hold.
Result<void> go_without_cgroup(Creation& c, const oci::Linux* linux) {
  if (linux && linux->resources) {
    if (auto limit = first_limit(*linux->resources)) {
      return fail("cannot set " + *limit + " limit: container could not join or create cgroup");
    }
  }
  c.container->record().cgroup =
      state::CgroupRecord{c.container->record().cgroup.driver, {}, false};
  adopt_cgroup(c, MKRUN_TRY(cgroups::open_cgroup(*c.host, c.container->record().cgroup)));
  return c.container->save();
}

// NOTIFY_SOCKET and LISTEN_FDS, in runc's order: the notify mount and variable, then the
// socket-activation variables. Before the plan is built: the builder stats bind sources.
Result<void> add_systemd_protocols(Creation& c) {
  auto notify = MKRUN_TRY(
      notify::prepare_notify_socket(c.container->dir().path(), ::getenv("NOTIFY_SOCKET")));
  if (notify) notify::add_notify_socket_to_spec(*notify, c.spec);
  auto& env = c.spec.process->env;
  env.insert(env.end(), c.listen_fds.env.begin(), c.listen_fds.env.end());
  return {};
}

// What the container's cgroup gets: the spec's resources or none, which still means runc's
// default device rules (everything denied but the default devices). Nothing when rootless
// without resources: runc ignores the device rules a rootless container cannot set.
const oci::Resources* cgroup_resources(const Creation& c) {
  static const oci::Resources kNone;
  if (c.spec.linux && c.spec.linux->resources) return &*c.spec.linux->resources;
  return c.global.rootless ? nullptr : &kNone;
}

// memory.kernel (v1's kmem limit) is deprecated by the kernel and ignored by runc 1.1, which says
// so with this warning; kernelTCP is still applied on v1.
void warn_of_ignored_settings(const Creation& c) {
  const oci::Linux* linux = c.spec.linux ? &*c.spec.linux : nullptr;
  if (linux && linux->resources && linux->resources->memory && linux->resources->memory->kernel) {
    internal::warn(c.global, "Kernel memory settings are ignored and will be removed");
  }
}

// runc 1.1 lets a container join a cgroup that already holds processes (another container's), with
// this warning; runc 1.2 and later refuse it. mkrun keeps 1.1's behaviour, which engines and
// runc 1.1's own tests rely on.
void warn_of_processes_in_cgroup(const Creation& c) {
  auto pids = c.cgroup->pids();
  if (!pids || pids->empty()) return;
  internal::warn(c.global, "container's cgroup is not empty: " + std::to_string(pids->size()) +
                               " process(es) found");
}

Result<void> make_cgroup(Creation& c) {
  const oci::Linux* linux = c.spec.linux ? &*c.spec.linux : nullptr;
  warn_of_ignored_settings(c);
  const cgroups::Driver driver = cgroup_driver(c.global.cgroup_manager);
  c.host = MKRUN_TRY(c.container->host());
  auto path = MKRUN_TRY(cgroups::resolve_cgroups_path(
      linux ? linux->cgroupsPath : "", c.request.options->id, driver == cgroups::Driver::kSystemd));
  adopt_cgroup(c, MKRUN_TRY(cgroups::plan_new_cgroup(*c.host, path, driver)));
  // runc's refusal: an init joining a frozen cgroup stops there, and create would wait for it
  // forever. Checked before the cgroup is recorded or its removal queued: it exists already,
  // made and frozen by someone else, and is not mkrun's to remove.
  if (MKRUN_TRY(c.cgroup->frozen_before_join())) {
    return fail("container's cgroup unexpectedly frozen");
  }
  warn_of_processes_in_cgroup(c);
  // Saved before it exists, so a `delete` after a killed create finds and removes it.
  c.container->record().cgroup = c.cgroup->record();
  MKRUN_CHECK(c.container->save());
  c.undo.push([&c] { (void)c.cgroup->destroy(); });
  if (auto made = c.cgroup->create(); !made) {
    // runc gives up the cgroup only when the config did not ask for a particular one.
    bool path_asked = linux && !linux->cgroupsPath.empty();
    if (!c.global.rootless || path_asked || !is_permission_error(made.error())) return made;
    return go_without_cgroup(c, linux);
  }
  if (const oci::Resources* resources = cgroup_resources(c)) {
    MKRUN_CHECK(c.cgroup->apply(*resources, c.global.rootless));
  }
  return {};
}

// linux.intelRdt: the container's class of service, made before the init exists, which joins
// it before it runs anything (Container::make_intel_rdt_groups).
Result<void> make_intel_rdt(Creation& c) {
  MKRUN_CHECK(c.container->make_intel_rdt_groups(c.spec));
  c.undo.push([&c] { (void)c.container->remove_intel_rdt_groups(); });
  return {};
}

// UTC, nanoseconds with trailing zeros trimmed, as Go's time.RFC3339Nano.
std::string rfc3339_nano_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  // The calendar from std::chrono, not gmtime_r or strftime: glibc loads the time zone
  // (/etc/localtime, six system calls) on their first use, even for UTC.
  using namespace std::chrono;
  sys_seconds since_epoch{seconds{now.tv_sec}};
  sys_days day = floor<days>(since_epoch);
  year_month_day date{day};
  hh_mm_ss time{since_epoch - day};
  char whole[64];
  std::snprintf(whole, sizeof whole, "%04d-%02u-%02uT%02ld:%02ld:%02ld", int(date.year()),
                unsigned(date.month()), unsigned(date.day()), long(time.hours().count()),
                long(time.minutes().count()), long(time.seconds().count()));
  std::string fraction = std::to_string(1000000000L + now.tv_nsec).substr(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return std::string(whole) + (fraction.empty() ? "" : "." + fraction) + "Z";
}

void fill_record(Creation& c) {
  state::ContainerRecord& r = c.container->record();
  r.id = c.request.options->id;
  r.ociVersion = c.spec.ociVersion;
  r.bundle = c.bundle;
  r.rootfs = c.rootfs;
  r.created = rfc3339_nano_now();
  r.annotations = c.spec.annotations;
  r.owner_uid = ::geteuid();
}

// Lets the kernel backend take and boot its kernel, journaling each step in the state first;
// a failure from here on releases whatever it took.
Result<void> prepare_kernel(Creation& c) {
  if (!c.backend) return {};
  c.container->record().kernel = std::string(c.backend->name());
  MKRUN_CHECK(c.container->save());
  c.journal = std::make_unique<RecordJournal>(*c.container);
  c.undo.push([&c] {
    (void)c.backend->release(*c.journal, [&c](const std::string& message) {
      warn(c.global, "container " + c.request.options->id + ": " + message);
    });
  });
  auto prepared = c.backend->prepare(c.spec, c.request.options->id, *c.journal);
  if (!prepared)
    return std::unexpected(std::move(prepared).error().wrap(
        "prepare the " + c.container->record().kernel + " kernel"));
  return {};
}

// Whether the init can join its cgroup by itself: not from inside a new user namespace, where
// the host's cgroup files are not its own.
bool init_joins_cgroup_itself(const Creation& c) {
  const plan::NamespaceDecision& ns = c.prepared->namespaces;
  return !ns.user_new &&
         std::ranges::none_of(ns.joins, [](const auto& j) { return j.type == "user"; });
}

Result<void> build_child_plan(Creation& c) {
  plan::BuildInputs inputs;
  inputs.spec = &c.spec;
  inputs.bundle = c.bundle;
  inputs.rootfs = c.rootfs;
  inputs.container_id = c.request.options->id;
  inputs.no_pivot = c.request.options->no_pivot;
  inputs.no_new_keyring = c.request.options->no_new_keyring;
  inputs.preserve_fds = c.listen_fds.count + c.request.options->preserve_fds;
  inputs.pure_cgroup_v2 = c.host->layout == cgroups::Layout::kV2;
  for (const auto& hierarchy : c.host->hierarchies) {
    std::string directory =
        c.cgroup->directory_of(hierarchy.unified ? "" : hierarchy.controllers.front());
    if (directory.empty()) continue;
    auto slash = hierarchy.mount_point.rfind('/');
    inputs.cgroup_views.push_back({directory, hierarchy.mount_point.substr(slash + 1)});
  }
  c.prepared = MKRUN_TRY(plan::build_plan(inputs));
  plan::ChildPlan& p = c.prepared->plan;
  p.fifo_fd = c.fifo_path_fd.get();
  if (rootless_euid()) {
    // runc: setgroups may be denied in a rootless container's user namespace, and the child's
    // /proc files must be the user's (dumpable) while mkrun writes its id maps.
    p.set_groups = false;
    p.dumpable_for_id_maps = c.prepared->namespaces.user_new;
  }
  if (c.spec.hooks) {
    // The container-namespace hooks read their state from memfds filled once the pid is known.
    if (!c.spec.hooks->createContainer.empty()) {
      c.create_hooks_state = MKRUN_TRY(state_memfd(""));
      p.create_container_hooks =
          plan::make_hook_list(*c.prepared, c.spec.hooks->createContainer, "createContainer",
                               c.create_hooks_state.get(), p.envp);
    }
    if (!c.spec.hooks->startContainer.empty()) {
      c.start_hooks_state = MKRUN_TRY(state_memfd(""));
      p.start_container_hooks =
          plan::make_hook_list(*c.prepared, c.spec.hooks->startContainer, "startContainer",
                               c.start_hooks_state.get(), p.envp);
    }
  }
  return {};
}

Result<void> fill_container_hook_states(Creation& c) {
  oci::State state = c.container->state(Status::kCreating);
  state.pid = c.prepared->namespaces.pid_new ? 1 : c.init_pid;
  if (c.create_hooks_state) {
    MKRUN_CHECK(
        files::write_all(c.create_hooks_state.get(), oci::render_hook_state(state), "hook state"));
  }
  if (c.start_hooks_state) {
    state.status = "created";
    MKRUN_CHECK(
        files::write_all(c.start_hooks_state.get(), oci::render_hook_state(state), "hook state"));
  }
  return {};
}

Result<void> run_create_runtime_hooks(Creation& c) {
  if (!c.spec.hooks) return {};
  oci::State state = c.container->state(Status::kCreating);
  state.pid = c.init_pid;
  MKRUN_CHECK(run_runtime_hooks(c.spec.hooks->prestart, "prestart", state));
  return run_runtime_hooks(c.spec.hooks->createRuntime, "createRuntime", state);
}

// The init's listener goes to the agent with the state hooks see: "creating", the init's pid.
Result<void> hand_listener_to_agent(const Creation& c, UniqueFd listener) {
  oci::State state = c.container->state(Status::kCreating);
  state.pid = c.spawner->pid();
  return send_to_seccomp_agent(*c.spec.linux->seccomp, state, state.pid, listener.get());
}

// The record of the created container: saved as soon as the init's pid is final, while the init
// sets itself up and mkrun would only wait for it. Nobody reads it before create returns (the
// directory's lock), and a failure from here on removes the directory.
Result<void> save_created(Creation& c) {
  auto stat = proc::read_stat(c.init_pid);
  if (!stat)
    return fail("container init " + std::to_string(c.init_pid) + " vanished during create");
  c.container->record().pid = c.init_pid;
  c.container->record().pid_start_time = stat->start_time;
  return c.container->save();
}

// The init's spawner, prepared: the console, and the cgroup it joins by itself when it can.
Result<void> prepare_spawner(Creation& c) {
  c.spawner.emplace(*c.prepared, *c.cgroup);
  Spawner::Setup setup;
  setup.what = "container init";
  setup.debug = c.global.debug;
  setup.terminal = c.spec.process->terminal;
  setup.console_socket = c.request.options->console_socket;
  setup.pidfd_socket = c.request.options->pidfd_socket;
  setup.keep_console_for_caller = c.request.keep_console_for_caller;
  setup.child_joins_cgroup = init_joins_cgroup_itself(c);
  if (c.prepared->plan.seccomp_listener) {
    setup.hand_listener = [&c](UniqueFd listener) {
      return hand_listener_to_agent(c, std::move(listener));
    };
  }
  return c.spawner->prepare(std::move(setup));
}

// Without a mount namespace of its own, the init is about to mount into a shared one: what is
// below the rootfs there now stays when the container goes (shared_mounts.hpp).
Result<void> note_shared_mounts(Creation& c) {
  if (!c.prepared->plan.shared_mount_namespace) return {};
  std::string joined;
  for (const auto& ns : c.spec.linux->namespaces) {
    if (ns.type == "mount") joined = ns.path;
  }
  c.container->record().shared_mounts =
      MKRUN_TRY(shared_mounts::note_before_setup(c.spawner->pid(), joined, c.rootfs));
  return {};
}

void remove_shared_mounts(Creation& c) {
  const auto& noted = c.container->record().shared_mounts;
  if (!noted) return;
  if (auto removed = shared_mounts::remove_added(*noted, c.rootfs); !removed) {
    warn(c.global, removed.error().render());
  }
}

// Clones the init and walks it through the sync protocol (child/sync.hpp), doing create's part
// between the steps.
Result<void> spawn_init(Creation& c) {
  Spawner& init = *c.spawner;
  const int lock = c.container->dir().lock_fd();
  MKRUN_CHECK(init.clone(std::span(&lock, 1)));
  c.undo.push([&c] {
    c.spawner.reset();  // kills and reaps it
    remove_shared_mounts(c);
  });
  auto wrap = [](Error error) {
    return std::unexpected(std::move(error).wrap("unable to start container process"));
  };
  if (auto started = init.started(); !started) return wrap(started.error());
  if (auto noted = note_shared_mounts(c); !noted) return wrap(noted.error());
  if (c.prepared->namespaces.user_new) {
    auto mapped = userns::write_id_maps(init.pid(), *c.spec.linux, rootless_euid());
    if (!mapped) return wrap(mapped.error());
  }
  if (auto joined = init.join_cgroup(); !joined) return wrap(joined.error());
  if (auto joined = c.container->join_intel_rdt_groups(init.pid()); !joined) {
    return wrap(joined.error());
  }
  // --systemd-cgroup under systemd: a scope needs a process, so systemd adopts the cgroup now,
  // before the init goes on, which thus never runs under systemd's default limits.
  if (auto adopted = c.cgroup->adopt(init.pid(), cgroup_resources(c)); !adopted) {
    return wrap(adopted.error());
  }
  if (auto gone = init.go(); !gone) return wrap(gone.error());
  c.init_pid = init.pid();
  MKRUN_CHECK(save_created(c));
  MKRUN_CHECK(fill_container_hook_states(c));
  if (auto hooks = init.await_hooks(); !hooks) return wrap(hooks.error());
  // The network namespace exists now, and the pid is final; runc moves devices before hooks.
  if (c.spec.linux && !c.spec.linux->netDevices.empty()) {
    auto moved = netdev::move_net_devices(c.spec.linux->netDevices, c.init_pid);
    if (!moved) return wrap(moved.error());
  }
  if (auto ran = run_create_runtime_hooks(c); !ran) return wrap(ran.error());
  MKRUN_CHECK(init.hooks_done());
  // With no_new_privileges the init loads its filter after kReady and hands the listener over
  // before it closes the socket.
  if (auto ready = init.ready(c.prepared->plan.seccomp_listener); !ready) {
    return wrap(ready.error());
  }
  return {};
}

// A container on another kernel gets a watcher that kills it if that kernel fails
// (kernel_watch.hpp); undone if create fails after all.
Result<void> watch_kernel(Creation& c) {
  if (!c.backend) return {};
  MKRUN_CHECK(start_kernel_watcher(c.global.root, c.container->record(), *c.journal));
  c.undo.push([&c] { stop_kernel_watcher(c.container->record()); });
  return {};
}

// "create <id>: <what happened>", for --debug.
void tell(const Creation& c, const std::string& what_happened) {
  debug(c.global, "create " + c.request.options->id + ": " + what_happened);
}

std::string describe_bundle(const Creation& c) {
  std::string text = "bundle " + c.bundle + ", rootfs " + c.rootfs;
  if (c.backend) text += ", kernel " + std::string(c.backend->name());
  return text;
}

std::string describe_cgroup(const Creation& c) {
  const std::vector<std::string>& directories = c.cgroup->directories();
  if (directories.empty()) return "no cgroup";
  std::string text = "cgroup";
  for (const std::string& directory : directories) text += " " + directory;
  return text;
}

}  // namespace

Result<CreatedContainer> create_container(const GlobalOptions& global,
                                          const CreateRequest& request) {
  const CreateOptions& options = *request.options;
  // Checked again by the state store, which every command goes through; here so that nothing,
  // the bundle included, is looked at for an id that will be refused.
  MKRUN_CHECK(state::check_id(options.id));
  notify::ListenFds listen_fds = notify::listen_fds_from_env(environ, ::getpid());
  MKRUN_CHECK(check_preserved_fds(3 + listen_fds.count, options.preserve_fds));
  Creation c{global, request};
  c.listen_fds = std::move(listen_fds);
  MKRUN_CHECK(load_bundle(c));
  tell(c, describe_bundle(c));
  MKRUN_CHECK(make_state_directory(c));
  tell(c, "state directory " + c.container->dir().path());
  MKRUN_CHECK(add_systemd_protocols(c));
  // The first save is the kernel backend's, or make_cgroup's, before either takes anything: a
  // create killed before leaves only the directory, which delete removes (the lock keeps every
  // other reader out meanwhile).
  fill_record(c);
  MKRUN_CHECK(prepare_kernel(c));
  MKRUN_CHECK(make_cgroup(c));
  tell(c, describe_cgroup(c));
  MKRUN_CHECK(make_intel_rdt(c));
  MKRUN_CHECK(build_child_plan(c));
  MKRUN_CHECK(prepare_spawner(c));
  MKRUN_CHECK(spawn_init(c));
  MKRUN_CHECK(watch_kernel(c));
  MKRUN_CHECK(write_pid_file(options.pid_file, c.init_pid));
  UniqueFd pty_master;
  if (UniqueFd receiver = c.spawner->take_console_receiver()) {
    pty_master = MKRUN_TRY(receive_pty_master(receiver.get()));
  }
  c.spawner->release();
  c.undo.commit();
  tell(c, "created; init " + std::to_string(c.init_pid) + " waits at exec.fifo for start");
  return CreatedContainer{c.init_pid, std::move(pty_master), c.host};
}

// restore: create's steps up to the cgroup, then criu instead of the init (checkpoint.cpp).
Result<pid_t> restore_container(const GlobalOptions& global, const CreateOptions& options,
                                const Restorer& restorer) {
  MKRUN_CHECK(state::check_id(options.id));
  CreateRequest request{&options, false};
  Creation c{global, request};
  MKRUN_CHECK(load_bundle(c));
  if (c.backend) {
    return fail("restore: checkpoint/restore is not supported on the " +
                std::string(c.backend->name()) + " kernel");
  }
  if (c.spec.linux && c.spec.linux->intelRdt) {
    // criu restores the processes, not their resctrl groups, and the restored tree would have
    // to join them task by task: not done.
    return fail("restore: linux.intelRdt is not supported on restore");
  }
  MKRUN_CHECK(make_bare_state_directory(c));
  fill_record(c);
  MKRUN_CHECK(make_cgroup(c));
  tell(c, describe_cgroup(c));
  RestoreTarget target{c.spec, c.bundle, c.rootfs, c.container->dir().path(), *c.host, *c.cgroup};
  c.init_pid = MKRUN_TRY(restorer(target));
  // From here a failure must not leave the restored processes behind in a removed container.
  c.undo.push([&c] { (void)c.cgroup->kill_all(SIGKILL); });
  MKRUN_CHECK(save_created(c));
  tell(c, "restored; init " + std::to_string(c.init_pid));
  // runc runs these once criu has set up the namespaces; here once the processes are back.
  if (c.spec.hooks) {
    oci::State state = c.container->state(Status::kCreated);
    state.pid = c.init_pid;
    MKRUN_CHECK(run_runtime_hooks(c.spec.hooks->prestart, "prestart", state));
    MKRUN_CHECK(run_runtime_hooks(c.spec.hooks->createRuntime, "createRuntime", state));
  }
  MKRUN_CHECK(write_pid_file(options.pid_file, c.init_pid));
  c.undo.commit();
  return c.init_pid;
}

}  // namespace mkrun::runtime::internal
