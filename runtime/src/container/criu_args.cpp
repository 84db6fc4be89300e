#include "container/criu_args.hpp"

#include <algorithm>
#include <charconv>

#include "mkrun/base/paths.hpp"
#include "plan/builder.hpp"
#include "plan/builder_parts.hpp"

namespace mkrun::runtime::internal::criu {
namespace {

// The options both directions take the same way.
void add_common(std::vector<std::string>& args, const CriuOptions& o, const std::string& work_dir,
                const std::string& config_file) {
  if (!work_dir.empty()) args.insert(args.end(), {"--work-dir", work_dir});
  // criu reads /etc/criu/default.conf by itself; runc names its own file on top (RPC mode skips
  // the default one), and criu refuses a --config that does not exist.
  if (!config_file.empty()) args.insert(args.end(), {"--config", config_file});
  // criu's optional argument must be attached with '='.
  args.push_back(o.manage_cgroups_mode.empty() ? "--manage-cgroups"
                                               : "--manage-cgroups=" + o.manage_cgroups_mode);
  if (o.shell_job) args.push_back("--shell-job");
  if (o.tcp_established) args.push_back("--tcp-established");
  if (o.ext_unix_sk) args.push_back("--ext-unix-sk");
  if (o.file_locks) args.push_back("--file-locks");
  if (o.auto_dedup) args.push_back("--auto-dedup");
  if (o.lazy_pages) args.push_back("--lazy-pages");
  // runc never restores the network namespace's contents (it does not manage network devices):
  // criu makes the namespace empty whether or not --empty-ns network was given.
  args.insert(args.end(), {"--empty-ns", "net"});
}

void add_mounts(std::vector<std::string>& args, const std::vector<ExternalMount>& mounts) {
  for (const ExternalMount& mount : mounts) {
    args.insert(args.end(), {"--external", "mnt[" + mount.key + "]:" + mount.value});
  }
}

// runc's key for a mount: the destination inside the rootfs, cleaned, with a leading '/'.
std::string mount_key(std::string_view destination) {
  return "/" + plan::relative_to_root(destination);
}

bool is_bind(const oci::Mount& mount) {
  return mount.type == "bind" || plan::parse_mount_options(mount.options).bind;
}

// runc's default devices plus the config's: each is either made with mknod (not a mount at
// all, and then criu ignores the entry) or bound from the host.
std::vector<std::string> device_paths(const oci::Spec& spec) {
  std::vector<std::string> paths = {"/dev/null",   "/dev/zero",    "/dev/full",
                                    "/dev/random", "/dev/urandom", "/dev/tty"};
  if (spec.linux) {
    for (const oci::Device& device : spec.linux->devices) {
      if (std::ranges::find(paths, device.path) == paths.end()) paths.push_back(device.path);
    }
  }
  return paths;
}

}  // namespace

std::vector<std::string> dump_arguments(const DumpPlan& plan) {
  const CheckpointOptions& o = *plan.options;
  std::vector<std::string> args = {plan.criu, o.pre_dump ? "pre-dump" : "dump"};
  args.insert(args.end(), {"--tree", std::to_string(plan.pid), "--images-dir", plan.image_dir,
                           "--log-file", "dump.log", "-v4", "--root", plan.rootfs});
  add_common(args, o.criu, plan.work_dir, plan.config_file);
  if (o.leave_running) args.push_back("--leave-running");
  if (!plan.freeze_cgroup.empty()) args.insert(args.end(), {"--freeze-cgroup", plan.freeze_cgroup});
  if (!plan.page_server_address.empty()) {
    args.insert(args.end(), {"--page-server", "--address", plan.page_server_address, "--port",
                             std::to_string(plan.page_server_port)});
  }
  if (!o.parent_path.empty()) {
    args.insert(args.end(), {"--prev-images-dir", o.parent_path, "--track-mem"});
  }
  if (o.criu.lazy_pages && o.status_fd >= 0) {
    args.insert(args.end(), {"--status-fd", std::to_string(o.status_fd)});
  }
  for (const std::string& external : plan.externals) {
    args.insert(args.end(), {"--external", external});
  }
  if (!o.pre_dump) add_mounts(args, plan.mounts);  // runc: not needed for a pre-dump
  return args;
}

std::vector<std::string> restore_arguments(const RestorePlan& plan) {
  const RestoreOptions& o = *plan.options;
  std::vector<std::string> args = {plan.criu, "restore"};
  args.insert(args.end(), {"--images-dir", plan.image_dir, "--log-file", "restore.log", "-v4",
                           "--root", plan.root, "--pidfile", plan.pid_file});
  // Detached, with the root task a sibling of criu: mkrun's own child, which a foreground
  // restore waits for as `run` does.
  args.insert(args.end(), {"--restore-detached", "--restore-sibling", "--evasive-devices"});
  add_common(args, o.criu, plan.work_dir, plan.config_file);
  if (!o.lsm_profile.empty()) args.insert(args.end(), {"--lsm-profile", o.lsm_profile});
  if (!o.lsm_mount_context.empty()) {
    args.insert(args.end(), {"--lsm-mount-context", o.lsm_mount_context});
  }
  for (const std::string& root : plan.cgroup_roots) {
    args.insert(args.end(), {"--cgroup-root", root});
  }
  add_mounts(args, plan.mounts);
  for (const InheritedFd& inherited : plan.inherited) {
    args.insert(args.end(),
                {"--inherit-fd", "fd[" + std::to_string(inherited.fd) + "]:" + inherited.key});
  }
  for (const auto& [ns, file] : plan.joined) {
    args.insert(args.end(), {"--join-ns", ns + ":" + file});
  }
  return args;
}

Result<void> check_manage_cgroups_mode(std::string_view mode) {
  constexpr std::string_view kModes[] = {"", "soft", "full", "strict", "ignore"};
  if (std::ranges::find(kModes, mode) == std::end(kModes)) {
    return fail("Invalid manage-cgroups-mode value");
  }
  return {};
}

Result<void> check_empty_ns(const std::vector<std::string>& namespaces) {
  for (const std::string& ns : namespaces) {
    if (ns != "network") return fail("namespace \"" + ns + "\" is not supported");
  }
  return {};
}

Result<std::pair<std::string, int>> parse_page_server(std::string_view text) {
  constexpr std::string_view kUsage = "Use --page-server ADDRESS:PORT to specify page server";
  std::string_view address;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
      return fail(std::string(kUsage));
    }
    address = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return fail(std::string(kUsage));
    }
    address = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (address.empty() || port.empty()) return fail(std::string(kUsage));
  int number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc() || end != port.data() + port.size()) return fail("Invalid port number");
  return std::pair{std::string(address), number};
}

Result<void> check_parent_path(std::string_view parent) {
  if (parent.starts_with('/')) return fail("--parent-path must be relative");
  return {};
}

Result<int> parse_criu_version(std::string_view output) {
  constexpr std::string_view kPrefix = "Version: ";
  const auto at = output.find(kPrefix);
  if (at == std::string_view::npos) return fail("unexpected `criu --version` output");
  std::string_view text = output.substr(at + kPrefix.size());
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parts[i]);
    if (ec != std::errc()) {
      if (i == 0) return fail("unexpected `criu --version` output");
      break;
    }
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (!text.starts_with('.')) break;
    text.remove_prefix(1);
  }
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

std::vector<ExternalMount> dump_mounts(const oci::Spec& spec,
                                       const std::vector<std::string>& masked_files) {
  std::vector<ExternalMount> mounts;
  for (const oci::Mount& mount : spec.mounts) {
    if (is_bind(mount))
      mounts.push_back({mount_key(mount.destination), mount_key(mount.destination)});
  }
  for (const std::string& path : masked_files) mounts.push_back({mount_key(path), "/dev/null"});
  for (const std::string& path : device_paths(spec)) mounts.push_back({path, path});
  return mounts;
}

std::vector<ExternalMount> restore_mounts(const oci::Spec& spec, std::string_view bundle) {
  std::vector<ExternalMount> mounts;
  for (const oci::Mount& mount : spec.mounts) {
    if (!is_bind(mount)) continue;
    std::string source = mount.source.starts_with('/')
                             ? mount.source
                             : paths::clean_absolute(std::string(bundle) + "/" + mount.source);
    mounts.push_back({mount_key(mount.destination), std::move(source)});
  }
  // Every masked file was saved under the name /dev/null, which is also a device's name.
  for (const std::string& path : device_paths(spec)) mounts.push_back({path, path});
  return mounts;
}

std::vector<std::string> error_lines(std::string_view log) {
  constexpr std::size_t kBefore = 5;
  std::vector<std::string> lines;
  std::vector<std::string_view> all;
  while (!log.empty()) {
    const auto newline = log.find('\n');
    all.push_back(log.substr(0, newline));
    if (newline == std::string_view::npos) break;
    log.remove_prefix(newline + 1);
  }
  std::size_t printed = 0;  // lines up to this (1-based) are out already
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].find("Error") == std::string_view::npos) continue;
    const std::size_t first = std::max(printed, i >= kBefore ? i - kBefore : 0);
    if (printed != 0 && first > printed) lines.push_back("...");
    for (std::size_t j = first; j <= i; ++j) {
      lines.push_back(std::to_string(j + 1) + ":" + std::string(all[j]));
    }
    printed = i + 1;
  }
  return lines;
}

}  // namespace mkrun::runtime::internal::criu
