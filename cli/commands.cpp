#include "commands.hpp"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "commit.hpp"
#include "go_values.hpp"
#include "list_table.hpp"
#include "log.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/oci/features.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/state.hpp"
#include "mkrun/oci/stats.hpp"
#include "mkrun/runtime/events.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "ps_table.hpp"

namespace mkrun::cli {

using runtime::Runtime;

namespace {

std::string current_directory() {
  std::error_code error;
  std::filesystem::path cwd = std::filesystem::current_path(error);
  return error ? std::string("/") : cwd.string();
}

// runc makes --pid-file (and newer runc --console-socket) absolute before it changes into the
// bundle, so a relative path means the caller's directory.
std::string absolute_if_given(std::string path) {
  return path.empty() ? path : absolute_path(path, current_directory());
}

runtime::CreateOptions create_options(const Invocation& invocation) {
  const ParsedFlags& flags = invocation.flags;
  runtime::CreateOptions options;
  options.id = flags.args.at(0);
  options.bundle = flags.text("bundle");
  options.console_socket = absolute_if_given(flags.text("console-socket"));
  options.pidfd_socket = absolute_if_given(flags.text("pidfd-socket"));
  options.pid_file = absolute_if_given(flags.text("pid-file"));
  options.no_pivot = flags.flag("no-pivot");
  options.no_new_keyring = flags.flag("no-new-keyring");
  // runc's --preserve-fds is a Go int; a negative count preserves nothing there too.
  options.preserve_fds = static_cast<unsigned>(
      std::clamp<long long>(flags.number("preserve-fds"), 0, std::numeric_limits<unsigned>::max()));
  return options;
}

Result<int> succeeded(Result<void> result) {
  if (!result) return std::unexpected(std::move(result).error());
  return 0;
}

// --cdi-spec-dirs "a:b": the directories in order, empty entries skipped.
std::vector<std::string> colon_separated(std::string_view list) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const std::size_t colon = list.find(':');
    if (colon != 0) items.emplace_back(list.substr(0, colon));
    if (colon == std::string_view::npos) break;
    list.remove_prefix(colon + 1);
  }
  return items;
}

std::string libseccomp_version() {
  const scmp_version* version = seccomp_version();
  if (version == nullptr || version->major + version->minor + version->micro == 0) return "";
  return std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
         std::to_string(version->micro);
}

}  // namespace

std::expected<runtime::GlobalOptions, std::string> runtime_options(const GlobalFlags& flags) {
  runtime::GlobalOptions options;
  // runc 1.1 resolves --root with filepath.Abs; the state must not depend on the caller's cwd.
  if (flags.root) options.root = absolute_path(*flags.root, current_directory());
  const auto cgroup_manager = resolve_cgroup_manager(flags.systemd_cgroup, flags.cgroup_manager);
  if (!cgroup_manager) return std::unexpected(cgroup_manager.error());
  const bool privileged = ::geteuid() == 0 && !runtime::running_in_user_namespace();
  const auto rootless = resolve_rootless(flags.rootless, privileged);
  if (!rootless) return std::unexpected(rootless.error());
  options.cgroup_manager = *cgroup_manager;
  options.rootless = *rootless;
  options.default_kernel = flags.kernel;
  options.criu = flags.criu;
  options.cdi_devices = flags.cdi_devices;
  options.cdi_spec_dirs = colon_separated(flags.cdi_spec_dirs);
  options.warn = [](const std::string& message) { log_warning(message); };
  if (flags.debug) options.debug = [](const std::string& message) { log_debug(message); };
  return options;
}

Result<int> handlers::create(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.create(create_options(invocation)));
}

Result<int> handlers::run(Runtime& runtime, const Invocation& invocation) {
  runtime::RunOptions options;
  options.create = create_options(invocation);
  options.detach = invocation.flags.flag("detach");
  options.keep = invocation.flags.flag("keep");
  options.no_subreaper = invocation.flags.flag("no-subreaper");
  return runtime.run(options);  // the container's status becomes mkrun's
}

Result<int> handlers::start(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.start(invocation.flags.args.at(0)));
}

// Pretty JSON without a trailing newline, as runc writes it.
Result<int> handlers::state(Runtime& runtime, const Invocation& invocation) {
  auto state = runtime.state(invocation.flags.args.at(0));
  if (!state) return std::unexpected(std::move(state).error());
  write_stdout(oci::render_state(*state));
  return 0;
}

// `kill <id> [signal]`, SIGTERM by default. runc looks the container up before it reads the
// signal, so a bad signal on a missing container reports the container.
Result<int> handlers::kill(Runtime& runtime, const Invocation& invocation) {
  const std::vector<std::string>& args = invocation.flags.args;
  const std::string& id = args.at(0);
  const std::string signal_text = args.size() > 1 && !args[1].empty() ? args[1] : "SIGTERM";
  const auto signal = runtime::parse_signal(signal_text);
  if (!signal) {
    if (auto found = runtime.state(id); !found) return std::unexpected(std::move(found).error());
    return std::unexpected(signal.error());
  }
  return succeeded(runtime.kill(id, *signal, invocation.flags.flag("all")));
}

Result<int> handlers::remove(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.remove(invocation.flags.args.at(0), invocation.flags.flag("force")));
}

// runc checks --quiet first and the format only after reading the containers.
Result<int> handlers::list(Runtime& runtime, const Invocation& invocation) {
  auto states = runtime.list();
  if (!states) return std::unexpected(std::move(states).error());
  if (invocation.flags.flag("quiet")) {
    std::string ids;
    for (const oci::State& state : *states) ids += state.id + "\n";
    write_stdout(ids);
    return 0;
  }
  const std::string format = invocation.flags.text("format");
  if (format == "table") {
    write_stdout(render_list_table(*states));
  } else if (format == "json") {
    write_stdout(oci::render_state_list(*states) + "\n");  // json.Encoder adds the newline
  } else {
    return std::unexpected(Error("invalid format option"));
  }
  return 0;
}

Result<int> handlers::spec(Runtime&, const Invocation& invocation) {
  return succeeded(runtime::write_default_spec(invocation.flags.text("bundle"),
                                               invocation.flags.flag("rootless")));
}

Result<int> handlers::features(Runtime&, const Invocation&) {
  oci::Features features = runtime::features();
  features.annotations["io.github.seccomp.libseccomp.version"] = libseccomp_version();
  features.annotations["org.mkrun.version"] = MKRUN_VERSION;
  features.annotations["org.mkrun.commit"] = MKRUN_COMMIT;
  write_stdout(oci::render_features(features));
  return 0;
}

// ---- exec ----------------------------------------------------------------------------------

namespace {

// runc's getProcess reads --user "uid[:gid]" with strconv.Atoi, the gid first, and keeps the
// values as uint32 ("-1" is 4294967295); the library gets them as decimal numbers.
Result<std::string> exec_user(std::string_view text) {
  if (text.empty()) return std::string();
  const auto colon = text.find(':');
  std::string gid_part;
  if (colon != std::string_view::npos) {
    const std::string_view gid_text = text.substr(colon + 1);
    const auto gid = parse_go_atoi(gid_text);
    if (!gid) {
      return fail("parsing " + std::string(gid_text) + " as int for gid failed: " + gid.error());
    }
    gid_part = ":" + std::to_string(static_cast<uint32_t>(*gid));
  }
  const std::string_view uid_text = text.substr(0, colon);
  const auto uid = parse_go_atoi(uid_text);
  if (!uid) {
    return fail("parsing " + std::string(uid_text) + " as int for uid failed: " + uid.error());
  }
  return std::to_string(static_cast<uint32_t>(*uid)) + gid_part;
}

Result<std::vector<uint32_t>> exec_additional_gids(const std::vector<long long>& gids) {
  std::vector<uint32_t> out;
  for (long long gid : gids) {
    if (gid < 0) return fail("additional-gids must be a positive number " + std::to_string(gid));
    out.push_back(static_cast<uint32_t>(gid));
  }
  return out;
}

// runc 1.1's getSubCgroupPaths: "path" alone (the only --cgroup allowed then), or
// "controller[,controller...]:path", repeatable.
Result<std::map<std::string, std::string>> sub_cgroups(const std::vector<std::string>& values) {
  std::map<std::string, std::string> paths;  // controller ("" for all) -> path
  for (const std::string& value : values) {
    const auto colon = value.find(':');
    if (colon == std::string::npos) {
      if (values.size() != 1) {
        return fail("invalid --cgroup argument: " + value + " (missing <controller>: prefix)");
      }
      paths[""] = value;
      continue;
    }
    const std::string path = value.substr(colon + 1);
    if (path.find(':') != std::string::npos) return fail("invalid --cgroup argument: " + value);
    std::string_view controllers = std::string_view(value).substr(0, colon);
    for (;;) {
      const auto comma = controllers.find(',');
      paths[std::string(controllers.substr(0, comma))] = path;
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
  }
  return paths;
}

// runc's execProcess and getProcess, in their order: the command, then the values.
Result<runtime::ExecOptions> exec_options(const Invocation& invocation) {
  const ParsedFlags& flags = invocation.flags;
  runtime::ExecOptions options;
  options.id = flags.args.at(0);
  options.args.assign(flags.args.begin() + 1, flags.args.end());
  options.process_file = absolute_if_given(flags.text("process"));
  if (options.process_file.empty() && options.args.empty()) {
    return fail("process args cannot be empty");
  }
  options.console_socket = absolute_if_given(flags.text("console-socket"));
  options.pidfd_socket = absolute_if_given(flags.text("pidfd-socket"));
  options.pid_file = absolute_if_given(flags.text("pid-file"));
  options.tty = flags.flag("tty");
  options.detach = flags.flag("detach");
  options.cwd = flags.text("cwd");
  options.env = flags.texts("env");
  options.user = MKRUN_TRY(exec_user(flags.text("user")));
  options.additional_gids = MKRUN_TRY(exec_additional_gids(flags.numbers("additional-gids")));
  options.capabilities = flags.texts("cap");
  options.no_new_privileges = flags.flag("no-new-privs");
  options.apparmor_profile = flags.text("apparmor");
  options.process_label = flags.text("process-label");
  options.preserve_fds = static_cast<unsigned>(
      std::clamp<long long>(flags.number("preserve-fds"), 0, std::numeric_limits<unsigned>::max()));
  options.sub_cgroups = MKRUN_TRY(sub_cgroups(flags.texts("cgroup")));
  options.ignore_paused = flags.flag("ignore-paused");
  return options;
}

}  // namespace

// Foreground: the process's status becomes mkrun's. runc looks at the container before it reads
// the flags' values, so a missing, stopped or paused container is reported first.
Result<int> handlers::exec(Runtime& runtime, const Invocation& invocation) {
  auto options = exec_options(invocation);
  if (options) return runtime.exec(*options);
  MKRUN_CHECK(
      runtime.check_exec(invocation.flags.args.at(0), invocation.flags.flag("ignore-paused")));
  return std::unexpected(std::move(options).error());
}

// ---- ps, pause, resume ------------------------------------------------------------------------

namespace {

// json.Encoder of runc's []int: "[1,2]\n", and "null\n" for none (a nil slice).
std::string render_pids(const std::vector<int>& pids) {
  if (pids.empty()) return "null\n";
  std::string out = "[";
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(pids[i]);
  }
  return out + "]\n";
}

}  // namespace

// `ps [--format table|json] <id> [ps options]`. runc reads the pids before the format.
Result<int> handlers::ps(Runtime& runtime, const Invocation& invocation) {
  const std::vector<std::string>& args = invocation.flags.args;
  const auto pids = MKRUN_TRY(runtime.pids(args.at(0)));
  const std::string format = invocation.flags.text("format");
  if (format == "json") {
    write_stdout(render_pids(pids));
    return 0;
  }
  if (format != "table") return fail("invalid format option");
  std::vector<std::string> ps_args(args.begin() + 1, args.end());
  if (ps_args.empty()) ps_args = {"-ef"};
  auto output = run_host_ps(ps_args);
  if (!output) return fail(output.error());
  auto table = filter_ps_output(*output, pids);
  if (!table) return fail(table.error());
  write_stdout(*table);
  return 0;
}

Result<int> handlers::pause(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.pause(invocation.flags.args.at(0)));
}

Result<int> handlers::resume(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.resume(invocation.flags.args.at(0)));
}

// ---- update ------------------------------------------------------------------------------------

namespace {

// `what` is already quoted (or is "standard input"), so read_fd's "read `path`" is replaced.
Result<std::string> read_all(int fd, const std::string& what) {
  auto text = files::read_fd(fd, what);
  if (!text) return fail_errno("read " + what, text.error().errc());
  return text;
}

// --resources FILE, or "-" for stdin (go-runc and CRI-O pass "-").
Result<oci::Resources> resources_from_json(const std::string& source) {
  const std::string what = source == "-" ? "standard input" : "`" + source + "`";
  std::string text;
  if (source == "-") {
    text = MKRUN_TRY(read_all(STDIN_FILENO, what));
  } else {
    UniqueFd file(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return fail_errno("open " + what);
    text = MKRUN_TRY(read_all(file.get(), what));
  }
  auto resources = oci::parse_resources(text);
  if (!resources) return fail("decode resources from " + what + ": " + resources.error().message);
  return std::move(*resources);
}

template <class T>
using NumberParser = std::expected<T, std::string> (*)(std::string_view);

// A flag whose text is a number, "invalid value for cpu-quota: strconv.ParseInt: ..." if not.
template <class T>
Result<void> number_flag(const ParsedFlags& flags, const char* name, NumberParser<T> parse,
                         std::optional<T>& field) {
  const std::string text = flags.text(name);
  if (text.empty()) return {};
  const auto value = parse(text);
  if (!value) return fail("invalid value for " + std::string(name) + ": " + value.error());
  field = *value;
  return {};
}

// Memory sizes: "-1" (unlimited) or go-units' RAMInBytes ("64M").
std::expected<int64_t, std::string> memory_size(std::string_view text) {
  if (text == "-1") return -1;
  return ram_in_bytes(text);
}

// runc 1.1's update flags, in its order, and runc 1.5's cpu-burst and cpu-idle; an absent or
// empty one changes nothing.
Result<oci::Resources> resources_from_flags(const ParsedFlags& flags) {
  oci::Resources resources;
  if (const long long weight = flags.number("blkio-weight"); weight != 0) {
    resources.blockIO.emplace().weight = static_cast<uint16_t>(weight);  // Go's uint16(val)
  }
  oci::CpuResources& cpu = resources.cpu.emplace();
  cpu.cpus = flags.text("cpuset-cpus");
  cpu.mems = flags.text("cpuset-mems");
  MKRUN_CHECK(number_flag<int64_t>(flags, "cpu-idle", parse_go_int64, cpu.idle));
  MKRUN_CHECK(number_flag<uint64_t>(flags, "cpu-burst", parse_go_uint64, cpu.burst));
  MKRUN_CHECK(number_flag<uint64_t>(flags, "cpu-period", parse_go_uint64, cpu.period));
  MKRUN_CHECK(number_flag<uint64_t>(flags, "cpu-rt-period", parse_go_uint64, cpu.realtimePeriod));
  MKRUN_CHECK(number_flag<uint64_t>(flags, "cpu-share", parse_go_uint64, cpu.shares));
  MKRUN_CHECK(number_flag<int64_t>(flags, "cpu-quota", parse_go_int64, cpu.quota));
  MKRUN_CHECK(number_flag<int64_t>(flags, "cpu-rt-runtime", parse_go_int64, cpu.realtimeRuntime));
  oci::MemoryResources& memory = resources.memory.emplace();
  MKRUN_CHECK(number_flag<int64_t>(flags, "memory", memory_size, memory.limit));
  MKRUN_CHECK(number_flag<int64_t>(flags, "memory-swap", memory_size, memory.swap));
  MKRUN_CHECK(number_flag<int64_t>(flags, "memory-reservation", memory_size, memory.reservation));
  // runc 1.1 keeps the kernel memory flags, hidden, only to say they do nothing.
  if (!flags.text("kernel-memory").empty() || !flags.text("kernel-memory-tcp").empty()) {
    log_warning("Kernel memory settings are ignored and will be removed");
  }
  // runc 1.5: a given --pids-limit is a limit, 0 included (pids.max 1); runc 1.1 ignored 0.
  if (flags.given("pids-limit")) resources.pids.emplace().limit = flags.number("pids-limit");
  return resources;
}

}  // namespace

Result<int> handlers::update(Runtime& runtime, const Invocation& invocation) {
  const std::string& id = invocation.flags.args.at(0);
  // runc finds the container before it reads any value.
  if (auto found = runtime.state(id); !found) return std::unexpected(std::move(found).error());
  const std::string source = invocation.flags.text("resources");
  const oci::Resources resources = MKRUN_TRY(source.empty() ? resources_from_flags(invocation.flags)
                                                            : resources_from_json(source));
  const Runtime::IntelRdtUpdate rdt{invocation.flags.text("l3-cache-schema"),
                                    invocation.flags.text("mem-bw-schema")};
  return succeeded(runtime.update(id, resources, rdt));
}

// ---- checkpoint, restore -----------------------------------------------------------------------

namespace {

runtime::CriuOptions criu_options(const ParsedFlags& flags) {
  runtime::CriuOptions options;
  // runc's default image path is `checkpoint` in the caller's directory.
  const std::string image_path = flags.text("image-path");
  options.image_path = absolute_if_given(image_path.empty() ? "checkpoint" : image_path);
  options.work_path = absolute_if_given(flags.text("work-path"));
  options.tcp_established = flags.flag("tcp-established");
  options.ext_unix_sk = flags.flag("ext-unix-sk");
  options.shell_job = flags.flag("shell-job");
  options.file_locks = flags.flag("file-locks");
  options.auto_dedup = flags.flag("auto-dedup");
  options.lazy_pages = flags.flag("lazy-pages");
  options.manage_cgroups_mode = flags.text("manage-cgroups-mode");
  options.empty_ns = flags.texts("empty-ns");
  return options;
}

}  // namespace

Result<int> handlers::checkpoint(Runtime& runtime, const Invocation& invocation) {
  const ParsedFlags& flags = invocation.flags;
  runtime::CheckpointOptions options;
  options.id = flags.args.at(0);
  options.criu = criu_options(flags);
  options.parent_path = flags.text("parent-path");
  options.leave_running = flags.flag("leave-running");
  options.pre_dump = flags.flag("pre-dump");
  options.status_fd = static_cast<int>(flags.number("status-fd"));
  options.page_server = flags.text("page-server");
  return succeeded(runtime.checkpoint(options));
}

// The container's exit status in the foreground, as `run`.
Result<int> handlers::restore(Runtime& runtime, const Invocation& invocation) {
  const ParsedFlags& flags = invocation.flags;
  runtime::RestoreOptions options;
  options.create.id = flags.args.at(0);
  options.create.bundle = flags.text("bundle");
  options.create.console_socket = absolute_if_given(flags.text("console-socket"));
  options.create.pid_file = absolute_if_given(flags.text("pid-file"));
  options.create.no_pivot = flags.flag("no-pivot");
  options.criu = criu_options(flags);
  options.detach = flags.flag("detach");
  options.no_subreaper = flags.flag("no-subreaper");
  options.lsm_profile = flags.text("lsm-profile");
  options.lsm_mount_context = flags.text("lsm-mount-context");
  return runtime.restore(options);
}

// ---- events ------------------------------------------------------------------------------------

namespace {

void print_event(const oci::Event& event) {
  write_stdout(oci::render_event(event));
}

}  // namespace

// `events [--interval 5s] [--stats] <id>`.
Result<int> handlers::events(Runtime& runtime, const Invocation& invocation) {
  const std::string& id = invocation.flags.args.at(0);
  const long long interval = invocation.flags.nanoseconds("interval");
  if (!invocation.flags.flag("stats")) {
    runtime::EventStreamOptions options{id, std::chrono::nanoseconds(interval)};
    MKRUN_CHECK(runtime::stream_events(runtime, options, print_event));
    return 0;
  }
  // runc checks the interval even with --stats, after finding the container.
  if (interval <= 0) {
    if (auto found = runtime.state(id); !found) return std::unexpected(std::move(found).error());
    return fail("duration interval must be greater than 0");
  }
  oci::Stats stats = MKRUN_TRY(runtime::container_stats(runtime, id));
  print_event(oci::Event{"stats", id, std::move(stats)});
  return 0;
}

int run_command(const Invocation& invocation) {
  const CommandDescriptor& command = invocation.command;
  auto options = runtime_options(invocation.global);
  if (!options) {
    logger().fatal(options.error());
    return 1;
  }
  Runtime runtime(std::move(*options));
  Result<int> result = command.handler(runtime, invocation);
  if (result) return *result;
  Error error = std::move(result).error();
  if (!command.failure_prefix.empty()) error = std::move(error).wrap(command.failure_prefix);
  logger().fatal(error.render());
  return command.failure_code;
}

ProgramInfo program_info(std::string program) {
  return {std::move(program), runtime::default_root(), libseccomp_version()};
}

void write_stdout(std::string_view text) {
  write_fully(STDOUT_FILENO, text);
}

}  // namespace mkrun::cli
