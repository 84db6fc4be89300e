// The process: argv, environment, user, rlimits, capabilities and seccomp; shared by create
// and exec.
#include <fcntl.h>
#include <linux/capability.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <set>

#include "mkrun/base/files.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "plan/builder_parts.hpp"
#include "plan/seccomp.hpp"

namespace mkrun::plan {

namespace {

int last_capability() {
  auto text = files::read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return CAP_LAST_CAP;
  return std::atoi(text->c_str());
}

// What the process may have is what the spec lists: a missing, null or empty set, or a missing
// `capabilities`, is an empty set, the bounding set included (runc's finalizeNamespace). Podman
// sends no `capabilities` at all for `--cap-drop all`.
void add_capabilities(PreparedPlan& prepared, const std::optional<oci::Capabilities>& listed) {
  static const oci::Capabilities kNone;
  const oci::Capabilities& caps = listed ? *listed : kNone;
  Capabilities& out = prepared.plan.capabilities;
  out.last_cap = last_capability();
  auto mask = [&](const std::optional<std::vector<std::string>>& names) {
    return names ? capability_mask(*names, out.last_cap, &prepared.unknown_capabilities) : 0;
  };
  out.bounding = mask(caps.bounding);
  out.effective = mask(caps.effective);
  out.permitted = mask(caps.permitted);
  out.inheritable = mask(caps.inheritable);
  out.ambient = mask(caps.ambient);
}

// The home directory of `uid` in the container's /etc/passwd, read without leaving the rootfs;
// "/" when there is none (runc's rule for a missing HOME).
std::string home_directory(const std::string& rootfs, uint32_t uid) {
  auto root = files::open(rootfs, O_PATH | O_DIRECTORY);
  if (!root) return "/";
  auto passwd = files::open_in_root(root->get(), "etc/passwd", O_RDONLY);
  if (!passwd) return "/";
  auto text = files::read_fd(passwd->get(), "etc/passwd");
  if (!text) return "/";
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    // name:password:uid:gid:gecos:home:shell
    std::array<std::string_view, 7> fields{};
    size_t count = 0;
    for (size_t start = 0; count < fields.size(); ++count) {
      auto colon = line.find(':', start);
      fields[count] = line.substr(start, colon == std::string_view::npos ? colon : colon - start);
      if (colon == std::string_view::npos) {
        ++count;
        break;
      }
      start = colon + 1;
    }
    if (count >= 6 && fields[2] == std::to_string(uid) && !fields[5].empty())
      return std::string(fields[5]);
  }
  return "/";
}

}  // namespace

// runc's rules (1.1 and 1.5 alike): a variable set several times keeps its last value, at the place
// of that last setting; an empty HOME counts as none, and a missing HOME comes from `home()`.
std::vector<std::string> process_environment(const std::vector<std::string>& env,
                                             const std::function<std::string()>& home) {
  std::vector<std::string> kept;
  std::set<std::string_view> seen;
  bool home_set = false;
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    std::string_view name = std::string_view(*it).substr(0, it->find('='));
    if (!seen.insert(name).second) continue;
    if (name == "HOME" && it->size() == 5) continue;  // "HOME=": replaced below
    home_set = home_set || name == "HOME";
    kept.push_back(*it);
  }
  std::ranges::reverse(kept);
  if (!home_set) kept.push_back("HOME=" + home());
  return kept;
}

namespace {

// argv, the environment (process_environment) and the working directory.
void add_command(PreparedPlan& prepared, const oci::Process& process, const std::string& rootfs) {
  ChildPlan& plan = prepared.plan;
  plan.argv = prepared.keep_list(process.args);
  std::vector<std::string> env =
      process_environment(process.env, [&] { return home_directory(rootfs, process.user.uid); });
  plan.envp = prepared.keep_list(env);
  for (const auto& variable : env) {
    if (variable.starts_with("PATH=")) plan.path_env = prepared.keep(variable.substr(5));
  }
  plan.cwd = prepared.keep(process.cwd.empty() ? "/" : process.cwd);
  plan.cwd_relative = prepared.keep(relative_to_root(plan.cwd));
}

Result<void> add_rlimits(PreparedPlan& prepared, const std::vector<oci::Rlimit>& rlimits) {
  for (const auto& limit : rlimits) {
    auto resource = rlimit_resource(limit.type);
    if (!resource) return fail("unknown rlimit type \"" + limit.type + "\"");
    prepared.rlimits.push_back({*resource, limit.soft, limit.hard});
  }
  return {};
}

Result<void> add_process(PreparedPlan& prepared, const BuildInputs& inputs) {
  const oci::Process& process = *inputs.spec->process;
  ChildPlan& plan = prepared.plan;
  add_command(prepared, process, inputs.rootfs);
  plan.uid = process.user.uid;
  plan.gid = process.user.gid;
  prepared.additional_gids.assign(process.user.additionalGids.begin(),
                                  process.user.additionalGids.end());
  plan.umask = static_cast<int>(process.user.umask.value_or(022));
  MKRUN_CHECK(add_rlimits(prepared, process.rlimits));
  add_capabilities(prepared, process.capabilities);
  plan.no_new_privileges = process.noNewPrivileges;
  if (process.oomScoreAdj) {
    plan.set_oom_score_adj = true;
    plan.oom_score_adj = *process.oomScoreAdj;
  }
  plan.terminal = process.terminal;
  if (process.consoleSize) {
    plan.console_rows = static_cast<unsigned short>(process.consoleSize->height);
    plan.console_cols = static_cast<unsigned short>(process.consoleSize->width);
  }
  return {};
}

// The table's spelling of a capability. runc takes "CAP_CHOWN" only; the builder has always
// taken any case and no prefix too ("cap_chown", "chown"), as libcap-ng did, and still does.
std::string canonical_capability(std::string_view name) {
  std::string upper(name);
  std::ranges::transform(upper, upper.begin(), [](unsigned char c) { return std::toupper(c); });
  return upper.starts_with("CAP_") ? upper : "CAP_" + upper;
}

}  // namespace

uint64_t capability_mask(const std::vector<std::string>& names, int last_cap,
                         std::vector<std::string>* unknown) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    int cap = oci::vocabulary::capability_number(canonical_capability(name));
    if (cap < 0 || cap > last_cap || cap > 63) {
      if (unknown != nullptr) unknown->push_back(name);
      continue;
    }
    mask |= 1ULL << cap;
  }
  return mask;
}

std::optional<int> rlimit_resource(std::string_view name) {
  const auto* limit = oci::vocabulary::find(oci::vocabulary::kRlimits, name);
  if (limit == nullptr) return std::nullopt;
  return limit->value;
}

// The process half of a plan, shared by create and exec: seccomp is compiled here too.
Result<void> add_process_settings(PreparedPlan& prepared, const BuildInputs& inputs) {
  const oci::Spec& spec = *inputs.spec;
  ChildPlan& plan = prepared.plan;
  MKRUN_CHECK(add_process(prepared, inputs));
  MKRUN_CHECK(add_scheduling(prepared, spec));
  plan.preserve_fds = inputs.preserve_fds;
  plan.new_session_keyring = !inputs.no_new_keyring;
  plan.keyring_name = prepared.keep("_ses." + inputs.container_id);
  if (spec.linux && spec.linux->seccomp) {
    auto program = MKRUN_TRY(compile_seccomp(*spec.linux->seccomp));
    prepared.seccomp_filter = std::move(program.filter);
    plan.seccomp_filter = prepared.seccomp_filter.data();
    plan.seccomp_length = static_cast<unsigned short>(prepared.seccomp_filter.size());
    plan.seccomp_flags = program.flags;
    plan.seccomp_listener = program.new_listener;
  }
  return {};
}

}  // namespace mkrun::plan
