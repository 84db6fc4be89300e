#include "commands.hpp"

#include <seccomp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <utility>

#include "list_table.hpp"
#include "log.hpp"
#include "mkrun/oci/features.hpp"
#include "mkrun/oci/state.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::cli {
namespace {

using runtime::Runtime;

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

std::expected<runtime::GlobalOptions, std::string> runtime_options(const GlobalFlags& flags) {
  runtime::GlobalOptions options;
  // runc 1.1 resolves --root with filepath.Abs; the state must not depend on the caller's cwd.
  if (flags.root) options.root = absolute_path(*flags.root, current_directory());
  const auto systemd = resolve_systemd_cgroup(flags.systemd_cgroup, flags.cgroup_manager);
  if (!systemd) return std::unexpected(systemd.error());
  if (flags.cgroup_manager == "disabled") {
    log_debug("--cgroup-manager=disabled is not supported: using cgroupfs");
  }
  const auto rootless = resolve_rootless(flags.rootless, ::geteuid() == 0);
  if (!rootless) return std::unexpected(rootless.error());
  options.systemd_cgroup = *systemd;
  options.rootless = *rootless;
  options.debug = flags.debug;
  options.default_kernel = flags.kernel;
  options.warn = [](const std::string& message) { log_warning(message); };
  return options;
}

runtime::CreateOptions create_options(const Invocation& invocation) {
  const ParsedFlags& flags = invocation.flags;
  runtime::CreateOptions options;
  options.id = flags.args.at(0);
  options.bundle = flags.text("bundle");
  options.console_socket = absolute_if_given(flags.text("console-socket"));
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

Result<int> create(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.create(create_options(invocation)));
}

Result<int> run(Runtime& runtime, const Invocation& invocation) {
  runtime::RunOptions options;
  options.create = create_options(invocation);
  options.detach = invocation.flags.flag("detach");
  options.keep = invocation.flags.flag("keep");
  options.no_subreaper = invocation.flags.flag("no-subreaper");
  return runtime.run(options);  // the container's status becomes mkrun's
}

Result<int> start(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.start(invocation.flags.args.at(0)));
}

// Pretty JSON without a trailing newline, as runc writes it.
Result<int> state(Runtime& runtime, const Invocation& invocation) {
  auto state = runtime.state(invocation.flags.args.at(0));
  if (!state) return std::unexpected(std::move(state).error());
  write_stdout(oci::render_state(*state));
  return 0;
}

// `kill <id> [signal]`, SIGTERM by default. runc looks the container up before it reads the
// signal, so a bad signal on a missing container reports the container.
Result<int> kill(Runtime& runtime, const Invocation& invocation) {
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

Result<int> remove(Runtime& runtime, const Invocation& invocation) {
  return succeeded(runtime.remove(invocation.flags.args.at(0), invocation.flags.flag("force")));
}

// runc checks --quiet first and the format only after reading the containers.
Result<int> list(Runtime& runtime, const Invocation& invocation) {
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

Result<int> spec(Runtime&, const Invocation& invocation) {
  return succeeded(runtime::write_default_spec(invocation.flags.text("bundle"),
                                               invocation.flags.flag("rootless")));
}

std::string libseccomp_version() {
  const scmp_version* version = seccomp_version();
  if (version == nullptr || version->major + version->minor + version->micro == 0) return "";
  return std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
         std::to_string(version->micro);
}

Result<int> features(Runtime&, const Invocation&) {
  oci::Features features = runtime::features();
  features.annotations["io.github.seccomp.libseccomp.version"] = libseccomp_version();
  features.annotations["org.mkrun.version"] = MKRUN_VERSION;
  features.annotations["org.mkrun.commit"] = MKRUN_COMMIT;
  write_stdout(oci::render_features(features));
  return 0;
}

struct Command {
  std::string_view name;
  std::string_view failure_prefix;  // runc's "runc create failed: ", with mkrun's name
  Result<int> (*run)(Runtime&, const Invocation&);
};

constexpr std::array<Command, 9> kCommands = {{
    {"create", "mkrun create failed", create},
    {"delete", "", remove},
    {"features", "", features},
    {"kill", "", kill},
    {"list", "", list},
    {"run", "mkrun run failed", run},
    {"spec", "", spec},
    {"start", "", start},
    {"state", "", state},
}};

}  // namespace

int run_command(const Invocation& invocation) {
  const auto command = std::ranges::find(kCommands, invocation.command, &Command::name);
  if (command == kCommands.end()) {  // parse_command lets only known commands through
    logger().fatal("unknown command: " + invocation.command);
    return 1;
  }
  auto options = runtime_options(invocation.global);
  if (!options) {
    logger().fatal(options.error());
    return 1;
  }
  Runtime runtime(std::move(*options));
  Result<int> result = command->run(runtime, invocation);
  if (result) return *result;
  Error error = std::move(result).error();
  if (!command->failure_prefix.empty()) error = std::move(error).wrap(command->failure_prefix);
  logger().fatal(error.render());
  return 1;
}

ProgramInfo program_info(std::string program) {
  return {std::move(program), runtime::default_root(), libseccomp_version()};
}

void write_stdout(std::string_view text) {
  write_fully(STDOUT_FILENO, text);
}

}  // namespace mkrun::cli
