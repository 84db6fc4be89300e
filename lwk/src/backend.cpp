#include "mkrun/lwk/backend.hpp"

#include <algorithm>
#include <cstdlib>

#include "host.hpp"
#include "mkrun/base/text.hpp"
#include "mkrun/ihk/partition.hpp"
#include "mkrun/lwk/caller.hpp"
#include "mkrun/lwk/claims.hpp"
#include "mkrun/lwk/config.hpp"
#include "mkrun/lwk/launch.hpp"
#include "mkrun/lwk/request.hpp"
#include "mkrun/lwk/select.hpp"
#include "mkrun/lwk/unhonoured.hpp"
#include "session.hpp"

namespace mkrun::lwk {
namespace {

using ihk::OsStatus;

// Always first: McKernel does not enable inter-kernel communication without `hidos`
// (ihk_os_kargs refuses the line), and mcreboot.sh's default dump level.
constexpr std::string_view kBaseKargs = "hidos dump_level=24";

// The annotations `state` reports (and the rewritten spec carries) about the instance.
constexpr std::string_view kStatePrefix = "io.mkrun.lwk.";

std::string karg_name(std::string_view karg) {
  return std::string(karg.substr(0, karg.find('=')));
}

// The base arguments, then the host's, then the container's; a later "name=value" replaces an
// earlier one of the same name, a repeated flag is kept once.
std::string kernel_arguments(const HostConfig& config, const LwkRequest& request) {
  std::vector<std::string> kargs;
  auto add = [&](std::string_view text) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find(' ', start);
      if (end == std::string_view::npos) end = text.size();
      std::string karg(text.substr(start, end - start));
      start = end + 1;
      if (karg.empty()) continue;
      std::erase_if(kargs, [&](const std::string& k) { return karg_name(k) == karg_name(karg); });
      kargs.push_back(karg);
    }
  };
  add(kBaseKargs);
  add(config.kargs);
  for (const std::string& karg : request.kargs) add(karg);
  return text::join(kargs, " ");
}

Result<std::string> choose_image(const HostConfig& config, const LwkRequest& request) {
  if (!request.image || *request.image == config.image) return config.image;
  if (std::ranges::find(config.images, *request.image) == config.images.end())
    return fail("McKernel image `" + *request.image +
                "` is not one this host allows (image and images in " + config.path + ")");
  return *request.image;
}

// What `state` shows of a claim, under io.mkrun.lwk.* (apart from the annotations the container
// asked with, io.mkrun.mckernel.*).
void describe_claim(const Claim& claim, std::map<std::string, std::string>& out) {
  std::string prefix(kStatePrefix);
  out[prefix + "kernel"] = "mckernel";
  out[prefix + "mode"] = std::string(mode_name(claim.mode));
  if (claim.os) out[prefix + "os"] = std::to_string(*claim.os);
  if (!claim.device_node.empty()) out[prefix + "device"] = claim.device_node;
  if (claim.mode != Mode::kAttach) {
    out[prefix + "cpus"] = claim.cpus.to_string();
    out[prefix + "mem"] = claim.mem.to_string();
  }
  out[prefix + "step"] = claim.step;
}

Occupied occupied_by_others(const std::vector<Claim>& others, const ihk::CpuList& reserved) {
  Occupied occupied;
  occupied.reserved = reserved;
  for (const Claim& other : others) {
    if (other.mode == Mode::kAttach) continue;  // a job's instance holds CPUs like a container's
    if (!other.pool.empty()) continue;          // a lent pool instance's are its pool claim's
    occupied.claimed = occupied.claimed.plus(other.cpus);
    ihk::MemList merged = other.mem.merged();
    for (const ihk::MemChunk& chunk : merged.chunks())
      occupied.claimed_memory[chunk.numa_node] += chunk.size;
  }
  // CPUs another container holds are also in IHK's pool; what remains there is someone else's.
  occupied.reserved = occupied.reserved.minus(occupied.claimed);
  return occupied;
}

Result<Selection> select(Session& s, const LwkRequest& request, const oci::Spec& spec,
                         const std::vector<Claim>& others) {
  Topology topology = MKRUN_TRY(read_topology(s.config.sysfs));
  ihk::CpuList reserved = MKRUN_TRY(s.ihk->reserved_cpus(s.config.device));
  return select_resources(request, s.config, spec, topology, occupied_by_others(others, reserved));
}

Result<int> boot_dedicated(Session& s, const LwkRequest& request, const Selection& selection) {
  ihk::PartitionSpec partition;
  partition.device = s.config.device;
  partition.cpus = selection.cpus;
  partition.mem = selection.mem;
  partition.ikc_map = selection.ikc_map;
  partition.image = MKRUN_TRY(choose_image(s.config, request));
  partition.kargs = kernel_arguments(s.config, request);
  partition.boot_timeout = request.boot_timeout.value_or(s.config.boot_timeout);
  MKRUN_CHECK(check_readable(partition.image, "McKernel image"));
  ihk::BootHooks hooks;
  hooks.before = [&s](ihk::Step step) -> Result<void> {
    if (step == ihk::Step::kCreateOs)
      s.claim.os_before = MKRUN_TRY(s.ihk->os_instances(s.config.device));
    s.claim.step = std::string(ihk::to_string(step));
    return s.record();
  };
  // The index and the node's identity in one record: a retried release must be able to tell
  // this instance from a later one at the same index.
  hooks.created = [&s](int os) -> Result<void> {
    s.claim.os = os;
    auto identity = instance_identity(os);
    if (identity) s.claim.os_node = *identity;
    MKRUN_CHECK(s.record());
    if (!identity)
      return std::unexpected(
          std::move(identity).error().wrap("identify McKernel instance " + std::to_string(os)));
    return {};
  };
  return ihk::boot_partition(*s.ihk, partition, hooks);
}

// Several containers may share an administrator's (or a job's) instance, as the ranks of an MPI
// job do, when their mcexecs run in one pid namespace: McKernel keys its processes by that pid,
// so containers with namespaces of their own would collide (both have a pid 2). Claims on an
// earlier instance at this index (another node inode) and the job's own claim do not count.
Result<void> check_instance_shareable(int os, uint64_t identity, const std::string& pid_namespace,
                                      const std::vector<Claim>& others) {
  for (const Claim& other : others) {
    if (other.os != os || other.mode == Mode::kJob) continue;
    if (other.os_node && *other.os_node != identity) continue;
    if (pid_namespace != "new" && other.pid_namespace == pid_namespace) continue;
    return fail("McKernel instance " + std::to_string(os) + " is in use by container " +
                other.container +
                " in another pid namespace: McKernel keys its processes by mcexec's pid there, "
                "so containers that share an instance must share one pid namespace (none of "
                "their own, or the same one by path)");
  }
  return {};
}

const Claim* job_claim_of(int os, const std::vector<Claim>& claims) {
  for (const Claim& claim : claims) {
    if (claim.mode == Mode::kJob && claim.os == os &&
        claim.step == ihk::to_string(ihk::Step::kRunning))
      return &claim;
  }
  return nullptr;
}

// io.mkrun.mckernel.instance=job: the running instance `mkrun-lwk boot` made for the caller's
// job; $SLURM_JOB_ID picks one when the user has several jobs on the node.
Result<int> find_job_instance(const Caller& caller, const std::vector<Claim>& claims) {
  const char* job_id = std::getenv("SLURM_JOB_ID");
  std::vector<const Claim*> found;
  for (const Claim& claim : claims) {
    if (claim.mode != Mode::kJob || !claim.os || !job_claim_of(*claim.os, claims)) continue;
    if (!caller.real_root && claim.user != caller.uid) continue;
    if (job_id != nullptr && *job_id != '\0' && claim.job != job_id) continue;
    found.push_back(&claim);
  }
  std::string whose = job_id != nullptr && *job_id != '\0'
                          ? "job " + std::string(job_id)
                          : "a job of uid " + std::to_string(caller.uid);
  if (found.empty())
    return fail("no McKernel instance was booted for " + whose +
                " on this node (mkrun-lwk boot, in the job's prolog)");
  if (found.size() > 1)
    return fail("several McKernel instances were booted for " + whose +
                ": set SLURM_JOB_ID to choose one");
  return *found.front()->os;
}

// Whether the caller may attach to `os`: the instance of its own job, or one of `attach` with
// the caller's user in attach_users (root: any of `attach`, or any job's).
Result<void> check_may_attach(const HostConfig& config, const Caller& caller, int os,
                              const std::vector<Claim>& others) {
  if (const Claim* job = job_claim_of(os, others)) {
    if (caller.real_root || job->user == caller.uid) return {};
    return fail("McKernel instance " + std::to_string(os) + " was booted for job " + job->job +
                " of uid " + std::to_string(job->user.value_or(0)) + ", not for uid " +
                std::to_string(caller.uid));
  }
  if (std::ranges::find(config.attach, os) == config.attach.end())
    return fail("attaching to McKernel instance " + std::to_string(os) +
                " is not allowed on this host (attach = ... in " + config.path + ")");
  return check_attach_user(config, caller);
}

// An instance users may attach to is used from the host's pid namespace only: an unprivileged
// attach leaves no claim (it cannot write root's registry), so the pid namespace rule can hold
// only if every container on such an instance runs its mcexec in the one namespace all
// unprivileged ones share.
Result<void> check_users_pid_namespace(const HostConfig& config, const Caller& caller, int os,
                                       const std::string& pid_namespace,
                                       const std::vector<Claim>& others) {
  bool users_may_attach = !config.attach_users.empty() || job_claim_of(os, others) != nullptr;
  if (!users_may_attach && caller.real_root) return {};
  if (is_initial_pid_namespace(pid_namespace)) return {};
  return fail("McKernel instance " + std::to_string(os) +
              " may be used by unprivileged containers, which are not recorded: its containers "
              "must run mcexec in the host's pid namespace (no pid namespace of their own in "
              "config.json), since McKernel keys its processes by mcexec's pid there");
}

// After prepare_attach found the instance's node (which IHK keeps exactly while the instance
// exists; ihklib lists the instances by their nodes): an unprivileged caller must be able to
// open it, and the instance must be RUNNING.
Result<void> check_instance_running(Session& s, int os, const Caller& caller) {
  if (!caller.real_root) MKRUN_CHECK(check_device_usable(os));
  auto status = MKRUN_TRY(s.ihk->os_status(os));
  if (status != OsStatus::kRunning)
    return fail("McKernel instance " + std::to_string(os) +
                " is not running: " + ihk::describe_instance(*s.ihk, os));
  return {};
}

Result<Instance> prepare_attach(Session& s, const LwkRequest& request, const oci::Spec& spec,
                                const std::vector<Claim>& others, const Caller& caller) {
  int os = request.attach_job ? MKRUN_TRY(find_job_instance(caller, others)) : request.attach_os;
  MKRUN_CHECK(check_may_attach(s.config, caller, os, others));
  s.claim.pid_namespace = MKRUN_TRY(pid_namespace_of(spec));
  MKRUN_CHECK(check_users_pid_namespace(s.config, caller, os, s.claim.pid_namespace, others));
  auto identity = instance_identity(os);
  if (!identity && identity.error().errc() == ENOENT)
    return fail("there is no McKernel instance " + std::to_string(os) + " to attach to");
  if (!identity) return std::unexpected(std::move(identity).error());
  MKRUN_CHECK(check_instance_shareable(os, *identity, s.claim.pid_namespace, others));
  MKRUN_CHECK(check_instance_running(s, os, caller));
  s.claim.os = os;
  s.claim.os_node = *identity;
  s.claim.device_node = device_node_of(MKRUN_TRY(instance_device(os)));
  if (!caller.real_root) s.claim.user = caller.uid;
  s.claim.step = std::string(kAttached);
  MKRUN_CHECK(s.record());
  return Instance{os, std::nullopt};
}

// The host paths the container gets read-only besides mcexec.
Result<std::vector<std::string>> bound_paths(const HostConfig& config) {
  std::vector<std::string> paths;
  if (is_directory(config.libdir)) paths.push_back(config.libdir);
  for (const std::string& path : config.binds) {
    MKRUN_CHECK(check_readable(path, "bind (binds in " + config.path + ")"));
    paths.push_back(path);
  }
  return paths;
}

// The parts of the launch that do not depend on the instance, checked before anything is taken.
Result<Launch> static_launch(const HostConfig& config, const LwkRequest& request,
                             const oci::Spec& spec) {
  Launch launch;
  MKRUN_CHECK(check_executable(config.mcexec, "mcexec (mcexec in " + config.path + ")"));
  launch.mcexec = config.mcexec;
  launch.mcexec_args = request.mcexec_args;
  if (has_own_pid_namespace(spec)) {
    MKRUN_CHECK(
        check_executable(config.init, "mkrun's McKernel init (init in " + config.path + ")"));
    launch.init = config.init;
  }
  launch.read_only_binds = MKRUN_TRY(bound_paths(config));
  return launch;
}

// An instance taken by a step that recorded its node's numbers with it (an attach, a pool take)
// costs no further record: each record is a journal save and a claim written and fsynced, on the
// start path of every container.
Result<void> attach_device(Session& s, Launch& launch) {
  DeviceNumbers numbers = MKRUN_TRY(instance_device(launch.os));
  launch.major = numbers.major;
  launch.minor = numbers.minor;
  if (std::string node = device_node_of(numbers); s.claim.device_node != node) {
    s.claim.device_node = node;
    MKRUN_CHECK(s.record());
  }
  describe_claim(s.claim, launch.annotations);
  return {};
}

// The instances a create killed right after ihk_create_os may have left: created after its
// snapshot, claimed by no one and never configured (INACTIVE).
Result<void> destroy_orphans(Session& s, const std::vector<Claim>& others) {
  if (!s.claim.os_before) return {};
  auto instances = MKRUN_TRY(s.ihk->os_instances(s.claim.device));
  for (int os : instances) {
    bool known = std::ranges::find(*s.claim.os_before, os) != s.claim.os_before->end() ||
                 std::ranges::any_of(others, [os](const Claim& c) { return c.os == os; }) ||
                 std::ranges::find(s.config.attach, os) != s.config.attach.end();
    if (known) continue;
    auto status = s.ihk->os_status(os);
    if (!status || *status != OsStatus::kInactive) continue;
    if (auto destroyed = s.ihk->destroy_os(s.claim.device, os); !destroyed)
      return std::unexpected(std::move(destroyed).error().wrap(
          "destroy McKernel instance " + std::to_string(os) + " left by a killed create"));
  }
  return {};
}

// What the registry (root's) holds for the journal's claim: nullopt when nothing (never
// registered, or released). It is written after the journal and before each step is taken, so
// it never lacks what was taken; a journal without the claim's key is not the claim's.
Result<std::optional<Claim>> registered_claim(const Claim& journal,
                                              const std::vector<Claim>& registry) {
  auto found = std::ranges::find(registry, journal.token, &Claim::token);
  if (found == registry.end()) return std::nullopt;
  if (found->key != journal.key)
    return fail("the McKernel record of this container is not the one the host registered for " +
                journal.token + " (its key differs): nothing released");
  return *found;
}

// Only root boots; an unprivileged caller may attach, and reads only a policy file of root's.
Result<HostConfig> load_config_for(const LwkRequest& request, const Caller& caller) {
  if (request.mode != Mode::kAttach) MKRUN_CHECK(check_real_root(caller));
  HostConfig config =
      MKRUN_TRY(load_host_config(MKRUN_TRY(trusted_config_path(host_config_path(), caller))));
  MKRUN_CHECK(check_enabled(config));
  return config;
}

}  // namespace

// ---- shared with job.cpp (session.hpp) ----------------------------------------------------------

Result<std::unique_ptr<ihk::Ihk>> open_ihk(const McKernelBackend::IhkLoader& loader,
                                           const HostConfig& config) {
  std::string where =
      "IHK is not installed (libihk = " + config.libihk + " in " + config.path + ")";
  // dlopen would say "No such file or directory", which engines read as a missing executable.
  if (is_missing(config.libihk)) return fail(where + ": the library is missing");
  auto ihk = loader(config.libihk);
  if (!ihk) return std::unexpected(std::move(ihk).error().wrap(where));
  return std::move(*ihk);
}

Result<Instance> prepare_dedicated(Session& s, const LwkRequest& request, oci::Spec& spec,
                                   const std::vector<Claim>& others) {
  if (s.claim.mode == Mode::kDedicated) {
    if (auto pooled = MKRUN_TRY(take_pooled(s, request, spec, others))) return *pooled;
  }
  if (!s.config.boot)
    return fail("this host does not let mkrun boot McKernel instances (boot = no in " +
                s.config.path + ")" +
                (s.config.pool > 0 ? ", and no instance of its pool is free or fits" : "") +
                "; attach to an administrator's instance with " + std::string(kAnnotationPrefix) +
                "instance=attach:<N>");
  return boot_instance(s, request, spec, others);
}

Result<Instance> boot_instance(Session& s, const LwkRequest& request, const oci::Spec& spec,
                               const std::vector<Claim>& others) {
  Selection selection = MKRUN_TRY(select(s, request, spec, others));
  s.claim.cpus = selection.cpus;
  s.claim.mem = selection.mem;
  MKRUN_CHECK(s.record());
  int os = MKRUN_TRY(boot_dedicated(s, request, selection));
  MKRUN_CHECK(give_device_to(os, spec));
  Instance instance;
  instance.os = os;
  instance.linux_cpus = selection.linux_cpus;
  return instance;
}

Result<Session> open_session(const McKernelBackend::IhkLoader& loader, runtime::Journal& journal,
                             HostConfig config) {
  auto ihk = MKRUN_TRY(open_ihk(loader, config));
  ClaimRegistry registry(config.claims);
  return Session{std::move(config), std::move(ihk), std::move(registry), journal, Claim{}};
}

// Whether instance `os` is still the one `claim` created: by its node's inode; a claim from
// before the inode was recorded trusts the index as long as no other container claims it.
Result<bool> still_claims(const Claim& claim, const std::vector<Claim>& others, int os) {
  if (!claim.os_node)
    return std::ranges::none_of(others, [os](const Claim& c) { return c.os == os; });
  auto identity = instance_identity(os);
  if (!identity && identity.error().errc() == ENOENT) return false;
  if (!identity) return std::unexpected(std::move(identity).error());
  return *identity == *claim.os_node;
}

Result<void> release_dedicated(Session& s, const std::vector<Claim>& others,
                               const std::function<void(const std::string&)>& warn) {
  auto probe = s.ihk->reserved_cpus(s.claim.device);
  if (!probe && probe.error().errc() == ENOENT)
    return {};  // IHK was unloaded: everything it held went back to Linux with it
  auto reached = s.claim.reached();
  if (reached && *reached >= ihk::Step::kCreateOs && !s.claim.os)
    MKRUN_CHECK(destroy_orphans(s, others));
  ihk::Holdings holdings;
  holdings.device = s.claim.device;
  holdings.reached = reached;
  holdings.os = s.claim.os;
  holdings.cpus = s.claim.cpus;
  holdings.mem = s.claim.mem;
  holdings.is_ours = [&](int os) { return still_claims(s.claim, others, os); };
  holdings.warn = warn;
  return ihk::release_partition(*s.ihk, holdings);
}

// The configuration the claim was made under (journals from before it was recorded: the
// current one). A journal lives in the container's state, which its user may write, and root
// reads it too (`state` and `delete` in a shared --root): the file it names is read, and the
// libihk.so that file names loaded, only if it is root's, whoever asks.
Result<HostConfig> load_claims_config(const Claim& claim) {
  std::string path = claim.config.empty() ? host_config_path() : claim.config;
  Caller anyone = MKRUN_TRY(current_caller());
  anyone.real_root = false;
  return load_host_config(MKRUN_TRY(trusted_config_path(path, anyone)));
}

Result<void> release_and_forget(Session& s, const Warn& warn) {
  std::vector<Claim> others = others_than(MKRUN_TRY(s.registry.all()), s.claim.token);
  MKRUN_CHECK(release_dedicated(s, others, warn));
  return s.registry.remove(s.claim.token);
}

Result<Session> open_root_session(const McKernelBackend::IhkLoader& loader,
                                  runtime::Journal& journal, const std::string& path) {
  MKRUN_CHECK(check_real_root(MKRUN_TRY(current_caller())));
  return open_session(loader, journal, MKRUN_TRY(load_host_config(path)));
}

std::vector<Claim> others_than(const std::vector<Claim>& all, const std::string& token) {
  std::vector<Claim> others;
  for (const Claim& claim : all) {
    if (claim.token != token) others.push_back(claim);
  }
  return others;
}

Result<std::vector<std::string>> McKernelBackend::validate(const oci::Spec& spec) const {
  LwkRequest request = MKRUN_TRY(parse_request(spec.annotations));
  if (!spec.process || spec.process->args.empty())
    return fail("a McKernel container needs process.args");
  auto warnings = MKRUN_TRY(check_unhonoured_settings(spec));
  if (request.mode != Mode::kAttach) MKRUN_CHECK(check_real_root(MKRUN_TRY(current_caller())));
  return warnings;
}

Result<void> McKernelBackend::prepare(oci::Spec& spec, std::string_view container_id,
                                      runtime::Journal& journal) {
  LwkRequest request = MKRUN_TRY(parse_request(spec.annotations));
  Caller caller = MKRUN_TRY(current_caller());
  HostConfig config = MKRUN_TRY(load_config_for(request, caller));
  Session s = MKRUN_TRY(open_session(loader_, journal, std::move(config)));
  Launch launch = MKRUN_TRY(static_launch(s.config, request, spec));
  // The lock file and /dev/mcd<N> are root's; an unprivileged attach changes nothing in IHK.
  std::optional<HostLock> lock;
  if (caller.real_root) {
    lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
    MKRUN_CHECK(check_ihk_loaded(*s.ihk, s.config));
    MKRUN_CHECK(check_build_id(s.config));
  }
  std::vector<Claim> others = MKRUN_TRY(s.registry.all());
  s.claim.token = new_claim_token(std::string(container_id));
  s.claim.key = new_claim_key();
  s.claim.container = std::string(container_id);
  s.claim.mode = request.mode;
  s.claim.device = s.config.device;
  s.claim.config = s.config.path;
  s.claim.unprivileged = !caller.real_root;
  Instance instance = request.mode == Mode::kAttach
                          ? MKRUN_TRY(prepare_attach(s, request, spec, others, caller))
                          : MKRUN_TRY(prepare_dedicated(s, request, spec, others));
  launch.os = instance.os;
  launch.linux_cpus = instance.linux_cpus;
  MKRUN_CHECK(attach_device(s, launch));
  return rewrite_spec(spec, launch);
}

Result<void> McKernelBackend::release(runtime::Journal& journal,
                                      const std::function<void(const std::string&)>& warn) {
  Claim claim = MKRUN_TRY(from_journal(journal.entries()));
  if (claim.token.empty() || claim.step == kReleased) return {};
  if (claim.unprivileged) {  // nothing was taken, nothing was registered
    claim.step = std::string(kReleased);
    return journal.record(to_journal(claim));
  }
  Session s = MKRUN_TRY(open_session(loader_, journal, MKRUN_TRY(load_claims_config(claim))));
  s.claim = claim;
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  std::vector<Claim> all = MKRUN_TRY(s.registry.all());
  if (auto registered = MKRUN_TRY(registered_claim(claim, all))) {
    s.claim = *registered;
    if (!s.claim.pool.empty())
      MKRUN_CHECK(return_pooled(s, all, warn));
    else if (s.claim.mode != Mode::kAttach)
      MKRUN_CHECK(release_dedicated(s, others_than(all, claim.token), warn));
  }
  s.claim.step = std::string(kReleased);
  MKRUN_CHECK(journal.record(to_journal(s.claim)));
  return s.registry.remove(claim.token);
}

struct McKernelBackend::LiveInstance {
  ihk::Ihk* ihk = nullptr;
  int os = 0;
};

Result<ihk::Ihk*> McKernelBackend::opened_ihk(const std::string& path) const {
  auto found = opened_.find(path);
  if (found != opened_.end()) return found->second.get();
  auto ihk = MKRUN_TRY(loader_(path));
  return opened_.emplace(path, std::move(ihk)).first->second.get();
}

std::optional<McKernelBackend::LiveInstance> McKernelBackend::live_instance(
    const Claim& claim) const {
  if (claim.token.empty() || !claim.os || claim.step == kReleased) return std::nullopt;
  auto config = load_claims_config(claim);
  if (!config) return std::nullopt;
  auto ihk = opened_ihk(config->libihk);
  if (!ihk) return std::nullopt;
  // Asked before any per-instance call: ihk_os_get_status on an index with no instance fails
  // (ENOENT, from /dev/mcos<N>), and one reused by another container would report its status.
  // The node's identity (still_claims) answers both: IHK makes /dev/mcos<N> at create and removes
  // it at destroy and at unload, and ihklib lists the instances by those nodes. Only a claim from
  // before the identity was recorded needs the list (an unprivileged caller may not list them,
  // /dev/mcd<N> being root's: then the index alone).
  if (!claim.os_node) {
    auto instances = (*ihk)->os_instances(claim.device);
    bool listed =
        instances || (instances.error().errc() != EACCES && instances.error().errc() != EPERM);
    if (listed && (!instances || std::ranges::find(*instances, *claim.os) == instances->end()))
      return std::nullopt;
  }
  auto ours = still_claims(claim, {}, *claim.os);
  if (!ours || !*ours) return std::nullopt;
  return LiveInstance{*ihk, *claim.os};
}

namespace {

bool has_failed(OsStatus status) {
  return status == OsStatus::kPanic || status == OsStatus::kHungup;
}

}  // namespace

std::map<std::string, std::string> McKernelBackend::describe(
    const runtime::Journal& journal) const {
  std::map<std::string, std::string> out;
  auto claim = from_journal(journal.entries());
  if (!claim || claim->token.empty()) return out;
  describe_claim(*claim, out);
  if (!claim->os || claim->step == kReleased) return out;
  auto instance = live_instance(*claim);
  auto status = instance ? instance->ihk->os_status(instance->os) : fail("IHK unreachable");
  out[std::string(kStatePrefix) + "status"] =
      status ? std::string(ihk::to_string(*status)) : "UNKNOWN";
  if (status && has_failed(*status)) {
    auto kmsg = instance->ihk->os_kmsg(instance->os);
    if (kmsg) out[std::string(kStatePrefix) + "kmsg"] = ihk::kmsg_tail(*kmsg, 5);
  }
  return out;
}

std::optional<std::string> McKernelBackend::failure(const runtime::Journal& journal) const {
  auto claim = from_journal(journal.entries());
  if (!claim) return std::nullopt;
  auto instance = live_instance(*claim);
  if (!instance) return std::nullopt;
  auto status = instance->ihk->os_status(instance->os);
  if (!status || !has_failed(*status)) return std::nullopt;
  return "McKernel instance " + std::to_string(instance->os) +
         " failed: " + ihk::describe_instance(*instance->ihk, instance->os);
}

std::map<std::string, std::string> McKernelBackend::feature_annotations() const {
  return lwk::feature_annotations();
}

void register_mckernel_backend() {
  runtime::register_kernel_backend(std::make_shared<McKernelBackend>());
}

}  // namespace mkrun::lwk
