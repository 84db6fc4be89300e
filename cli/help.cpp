#include "help.hpp"

#include <algorithm>
#include <functional>

#include "command.hpp"
#include "commit.hpp"
#include "log.hpp"
#include "tabwriter.hpp"

#ifndef MKRUN_VERSION
#define MKRUN_VERSION "unknown"
#endif

namespace mkrun::cli {
namespace {

// The runtime-spec version mkrun implements, printed where runc prints specs.Version.
constexpr std::string_view kSpecVersion = "1.3.0";

// What urfave/cli prints after "VERSION:" and after "mkrun version ": runc's App.Version holds
// several lines, so the commit and the libseccomp version come with it.
std::string version_lines(const ProgramInfo& info) {
  std::string lines = MKRUN_VERSION;
  lines += "\ncommit: ";
  lines += MKRUN_COMMIT;
  lines += "\nspec: ";
  lines += kSpecVersion;
  if (!info.libseccomp_version.empty()) {
    lines += "\nlibseccomp: ";
    lines += info.libseccomp_version;
  }
  return lines;
}

constexpr std::string_view kAppHelpHead =
    "NAME:\n"
    "   mkrun - Open Container Initiative runtime\n"
    "\n"
    "mkrun is a command line client for running applications packaged according to\n"
    "the Open Container Initiative (OCI) format and is a compliant implementation of the\n"
    "Open Container Initiative specification.\n"
    "\n"
    "mkrun integrates well with existing process supervisors to provide a production\n"
    "container runtime environment for applications. It can be used with your\n"
    "existing process monitoring tools and the container will be spawned as a\n"
    "direct child of the process supervisor.\n"
    "\n"
    "Containers are configured using bundles. A bundle for a container is a directory\n"
    "that includes a specification file named \"config.json\" and a root filesystem.\n"
    "The root filesystem contains the contents of the container.\n"
    "\n"
    "To start a new instance of a container:\n"
    "\n"
    "    # mkrun run [ -b bundle ] <container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host. Providing the bundle directory using \"-b\" is optional. The default\n"
    "value for \"bundle\" is the current directory.\n"
    "\n"
    "USAGE:\n"
    "   mkrun [global options] command [command options] [arguments...]\n"
    "\n"
    "VERSION:\n"
    "   ";

constexpr std::string_view kAppHelpCommandsHeading =
    "\n"
    "\n"
    "COMMANDS:\n";

// urfave's own command, last in the list.
constexpr std::string_view kAppHelpHelpCommand =
    "   help, h\tShows a list of commands or help for one command\n";

constexpr std::string_view kAppHelpGlobalOptions =
    "\n"
    "GLOBAL OPTIONS:\n"
    "   --debug\tenable debug logging\n"
    "   --log value\tset the log file to write mkrun logs to (default is '/dev/stderr')\n"
    "   --log-format value\tset the log format ('text' (default), or 'json') (default: \"text\")\n"
    "   --root value\troot directory for storage of container state (this should be located in "
    "tmpfs) (default: \"";

constexpr std::string_view kAppHelpTail =
    "\")\n"
    "   --criu value\tpath to the criu binary used for checkpoint and restore (default: "
    "\"criu\")\n"
    "   --systemd-cgroup\tenable systemd cgroup support, expects cgroupsPath to be of form "
    "\"slice:prefix:name\" for e.g. \"system.slice:mkrun:434234\"\n"
    "   --cgroup-manager value\tcgroup manager as in crun: 'cgroupfs', 'systemd' (same as "
    "--systemd-cgroup) or 'disabled' (no cgroup: limits not applied)\n"
    "   --rootless value\tignore cgroup permission errors ('true', 'false', or 'auto') (default: "
    "\"auto\")\n"
    "   --kernel value\tthe kernel for containers whose config does not choose one with the "
    "io.mkrun.kernel annotation: 'linux' or 'mckernel'\n"
    "   --cdi-device value\ta CDI device (vendor/class=name) for every container created, besides "
    "those its cdi.k8s.io/ annotations name (repeatable)\n"
    "   --cdi-spec-dirs value\tthe CDI spec directories, colon-separated, lowest priority first "
    "(default: \"/etc/cdi:/var/run/cdi\")\n"
    "   --help, -h\tshow help\n"
    "   --version, -v\tprint the version\n";

// A line of the COMMANDS list in `mkrun --help`.
std::string command_line(const CommandDescriptor& command) {
  std::string line = "   ";
  line += command.name;
  line += '\t';
  line += command.summary;
  return line + "\n";
}

// urfave's prefixedNames: "--bundle value, -b value"; a boolean flag has no placeholder.
std::string prefixed_names(const FlagSpec& flag) {
  const std::string placeholder = flag.kind == FlagKind::boolean ? "" : " value";
  const std::size_t comma = flag.names.find(',');
  std::string names = "--" + std::string(flag.names.substr(0, comma)) + placeholder;
  if (comma != std::string_view::npos) {
    names += ", -" + std::string(flag.names.substr(comma + 1)) + placeholder;
  }
  return names;
}

// urfave prints the default of a flag that has a Value field, quoting a string's, and leaves
// out an empty string; booleans and lists show none.
std::string shown_default(const FlagSpec& flag) {
  switch (flag.kind) {
    case FlagKind::text:
      return flag.default_value.empty() ? "" : " (default: " + go_quote(flag.default_value) + ")";
    case FlagKind::integer:
    case FlagKind::duration:
      return " (default: " + std::string(flag.default_value) + ")";
    default:
      return "";
  }
}

// urfave's stringifyFlag: a line of the OPTIONS list.
std::string option_line(const FlagSpec& flag) {
  return "   " + prefixed_names(flag) + "\t" + std::string(flag.usage) + shown_default(flag) + "\n";
}

// urfave's CommandHelpTemplate; its OPTIONS list ends with a line of three spaces.
std::string command_help_text(const CommandDescriptor& command) {
  const bool lists_options = std::ranges::any_of(command.flags, std::not_fn(&FlagSpec::hidden));
  std::string text = "NAME:\n   mkrun ";
  text += command.name;
  text += " - ";
  text += command.summary;
  text += "\n\nUSAGE:\n   mkrun ";
  text += command.name;
  if (lists_options) text += " [command options]";
  text += ' ';
  text += command.args_usage.empty() ? "[arguments...]" : command.args_usage;
  if (!command.description.empty()) {
    text += "\n\nDESCRIPTION:\n   ";
    text += command.description;
  }
  if (lists_options) {
    text += "\n\nOPTIONS:\n";
    for (const FlagSpec& flag : command.flags) {
      if (!flag.hidden) text += option_line(flag);
    }
    text += "   ";
  }
  return text + "\n";
}

}  // namespace

std::string app_help(const ProgramInfo& info) {
  std::string text(kAppHelpHead);
  text += version_lines(info);
  text += kAppHelpCommandsHeading;
  for (const CommandDescriptor& command : commands()) text += command_line(command);
  text += kAppHelpHelpCommand;
  text += kAppHelpGlobalOptions;
  text += info.default_root;
  text += kAppHelpTail;
  return tabwrite(text, kHelpText);
}

std::string version_text(const ProgramInfo& info) {
  std::string text = "mkrun version ";
  text += version_lines(info);
  text += '\n';
  return text;
}

std::string command_help(const CommandDescriptor& command) {
  return tabwrite(command_help_text(command), kHelpText);
}

}  // namespace mkrun::cli
