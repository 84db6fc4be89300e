#include "help.hpp"

#include "commit.hpp"
#include "tabwriter.hpp"

#ifndef MKRUN_VERSION
#define MKRUN_VERSION "unknown"
#endif

namespace mkrun::cli {
namespace {

// The runtime-spec version mkrun implements, printed where runc prints specs.Version.
constexpr std::string_view kSpecVersion = "1.2.0";

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

constexpr std::string_view kAppHelpCommands =
    "\n"
    "\n"
    "COMMANDS:\n"
    "   create\tcreate a container\n"
    "   delete\tdelete any resources held by the container often used with detached container\n"
    "   events\tdisplay container events such as OOM notifications, cpu, memory, and IO usage "
    "statistics\n"
    "   exec\texecute new process inside the container\n"
    "   features\tshow the enabled features\n"
    "   kill\tkill sends the specified signal (default: SIGTERM) to the container's init process\n"
    "   list\tlists containers started by mkrun with the given root\n"
    "   pause\tpause suspends all processes inside the container\n"
    "   ps\tps displays the processes running inside a container\n"
    "   resume\tresumes all processes that have been previously paused\n"
    "   run\tcreate and run a container\n"
    "   spec\tcreate a new specification file\n"
    "   start\texecutes the user defined process in a created container\n"
    "   state\toutput the state of a container\n"
    "   update\tupdate container resource constraints\n"
    "   help, h\tShows a list of commands or help for one command\n"
    "\n"
    "GLOBAL OPTIONS:\n"
    "   --debug\tenable debug logging\n"
    "   --log value\tset the log file to write mkrun logs to (default is '/dev/stderr')\n"
    "   --log-format value\tset the log format ('text' (default), or 'json') (default: \"text\")\n"
    "   --root value\troot directory for storage of container state (this should be located in "
    "tmpfs) (default: \"";

constexpr std::string_view kAppHelpTail =
    "\")\n"
    "   --criu value\taccepted for compatibility with runc 1.1 and ignored: mkrun has no "
    "checkpoint/restore (default: \"criu\")\n"
    "   --systemd-cgroup\tenable systemd cgroup support, expects cgroupsPath to be of form "
    "\"slice:prefix:name\" for e.g. \"system.slice:mkrun:434234\"\n"
    "   --cgroup-manager value\tcgroup manager as in crun: 'cgroupfs', 'systemd' (same as "
    "--systemd-cgroup) or 'disabled' (no cgroup: limits not applied)\n"
    "   --rootless value\tignore cgroup permission errors ('true', 'false', or 'auto') (default: "
    "\"auto\")\n"
    "   --kernel value\tthe kernel for containers whose config does not choose one with the "
    "io.mkrun.kernel annotation: 'linux' or 'mckernel'\n"
    "   --help, -h\tshow help\n"
    "   --version, -v\tprint the version\n";

// runc 1.1.5's `<command> --help` with "runc" replaced; an OPTIONS line is two cells, the flag
// and its usage, separated by a tab.
constexpr std::string_view kCreateHelp =
    "NAME:\n"
    "   mkrun create - create a container\n"
    "\n"
    "USAGE:\n"
    "   mkrun create [command options] <container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The create command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n"
    "\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"mkrun spec --help\" for more explanation.\n"
    "\n"
    "OPTIONS:\n"
    "   --bundle value, -b value\tpath to the root of the bundle directory, defaults to the "
    "current directory\n"
    "   --console-socket value\tpath to an AF_UNIX socket which will receive a file descriptor "
    "referencing the master end of the console's pseudoterminal\n"
    "   --pid-file value\tspecify the file to write the process id to\n"
    "   --no-pivot\tdo not use pivot root to jail process inside rootfs.  This should be used "
    "whenever the rootfs is on top of a ramdisk\n"
    "   --no-new-keyring\tdo not create a new session keyring for the container.  This will cause "
    "the container to inherit the calling processes session key\n"
    "   --preserve-fds value\tPass N additional file descriptors to the container (stdio + "
    "$LISTEN_FDS + N in total) (default: 0)\n"
    "   \n";

constexpr std::string_view kRunHelp =
    "NAME:\n"
    "   mkrun run - create and run a container\n"
    "\n"
    "USAGE:\n"
    "   mkrun run [command options] <container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The run command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n"
    "\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"mkrun spec --help\" for more explanation.\n"
    "\n"
    "OPTIONS:\n"
    "   --bundle value, -b value\tpath to the root of the bundle directory, defaults to the "
    "current directory\n"
    "   --console-socket value\tpath to an AF_UNIX socket which will receive a file descriptor "
    "referencing the master end of the console's pseudoterminal\n"
    "   --detach, -d\tdetach from the container's process\n"
    "   --keep\tdo not delete the container after it exits\n"
    "   --pid-file value\tspecify the file to write the process id to\n"
    "   --no-subreaper\tdisable the use of the subreaper used to reap reparented processes\n"
    "   --no-pivot\tdo not use pivot root to jail process inside rootfs.  This should be used "
    "whenever the rootfs is on top of a ramdisk\n"
    "   --no-new-keyring\tdo not create a new session keyring for the container.  This will cause "
    "the container to inherit the calling processes session key\n"
    "   --preserve-fds value\tPass N additional file descriptors to the container (stdio + "
    "$LISTEN_FDS + N in total) (default: 0)\n"
    "   \n";

constexpr std::string_view kStartHelp =
    "NAME:\n"
    "   mkrun start - executes the user defined process in a created container\n"
    "\n"
    "USAGE:\n"
    "   mkrun start <container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The start command executes the user defined process in a created container.\n";

constexpr std::string_view kStateHelp =
    "NAME:\n"
    "   mkrun state - output the state of a container\n"
    "\n"
    "USAGE:\n"
    "   mkrun state <container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The state command outputs current state information for the\n"
    "instance of a container.\n";

constexpr std::string_view kKillHelp =
    "NAME:\n"
    "   mkrun kill - kill sends the specified signal (default: SIGTERM) to the container's init "
    "process\n"
    "\n"
    "USAGE:\n"
    "   mkrun kill [command options] <container-id> [signal]\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container and\n"
    "\"[signal]\" is the signal to be sent to the init process.\n"
    "\n"
    "EXAMPLE:\n"
    "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
    "signal to the init process of the \"ubuntu01\" container:\n"
    "\n"
    "       # mkrun kill ubuntu01 KILL\n"
    "\n"
    "OPTIONS:\n"
    "   --all, -a\tsend the specified signal to all processes inside the container\n"
    "   \n";

constexpr std::string_view kDeleteHelp =
    "NAME:\n"
    "   mkrun delete - delete any resources held by the container often used with detached "
    "container\n"
    "\n"
    "USAGE:\n"
    "   mkrun delete [command options] <container-id>\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container.\n"
    "\n"
    "EXAMPLE:\n"
    "For example, if the container id is \"ubuntu01\" and mkrun list currently shows the\n"
    "status of \"ubuntu01\" as \"stopped\" the following will delete resources held for\n"
    "\"ubuntu01\" removing \"ubuntu01\" from the mkrun list of containers:\n"
    "\n"
    "       # mkrun delete ubuntu01\n"
    "\n"
    "OPTIONS:\n"
    "   --force, -f\tForcibly deletes the container if it is still running (uses SIGKILL)\n"
    "   \n";

constexpr std::string_view kListHelp =
    "NAME:\n"
    "   mkrun list - lists containers started by mkrun with the given root\n"
    "\n"
    "USAGE:\n"
    "   mkrun list [command options] \n"
    "\n"
    "Where the given root is specified via the global option \"--root\"\n"
    "(default: \"/run/mkrun\").\n"
    "\n"
    "EXAMPLE 1:\n"
    "To list containers created via the default \"--root\":\n"
    "       # mkrun list\n"
    "\n"
    "EXAMPLE 2:\n"
    "To list containers created using a non-default value for \"--root\":\n"
    "       # mkrun --root value list\n"
    "\n"
    "OPTIONS:\n"
    "   --format value, -f value\tselect one of: table or json (default: \"table\")\n"
    "   --quiet, -q\tdisplay only container IDs\n"
    "   \n";

constexpr std::string_view kFeaturesHelp =
    "NAME:\n"
    "   mkrun features - show the enabled features\n"
    "\n"
    "USAGE:\n"
    "   mkrun features [arguments...]\n"
    "\n"
    "DESCRIPTION:\n"
    "   Show the enabled features.\n"
    "   The result is parsable as a JSON.\n"
    "   See https://pkg.go.dev/github.com/opencontainers/runc/types/features for the type "
    "definition.\n"
    "   The types are experimental and subject to change.\n";

constexpr std::string_view kSpecHelp =
    "NAME:\n"
    "   mkrun spec - create a new specification file\n"
    "\n"
    "USAGE:\n"
    "   mkrun spec [command options] [arguments...]\n"
    "\n"
    "DESCRIPTION:\n"
    "   The spec command creates the new specification file named \"config.json\" for\n"
    "the bundle.\n"
    "\n"
    "The spec generated is just a starter file. Editing of the spec is required to\n"
    "achieve desired results. For example, the newly generated spec includes an args\n"
    "parameter that is initially set to call the \"sh\" command when the container is\n"
    "started. Calling \"sh\" may work for an ubuntu container or busybox, but will not\n"
    "work for containers that do not include the \"sh\" program.\n"
    "\n"
    "EXAMPLE:\n"
    "  To run docker's hello-world container one needs to set the args parameter\n"
    "in the spec to call hello. This can be done using the sed command or a text\n"
    "editor. The following commands create a bundle for hello-world, change the\n"
    "default args parameter in the spec from \"sh\" to \"/hello\", then run the hello\n"
    "command in a new hello-world container named container1:\n"
    "\n"
    "    mkdir hello\n"
    "    cd hello\n"
    "    docker pull hello-world\n"
    "    docker export $(docker create hello-world) > hello-world.tar\n"
    "    mkdir rootfs\n"
    "    tar -C rootfs -xf hello-world.tar\n"
    "    mkrun spec\n"
    "    sed -i 's;\"sh\";\"/hello\";' config.json\n"
    "    mkrun run container1\n"
    "\n"
    "In the run command above, \"container1\" is the name for the instance of the\n"
    "container that you are starting. The name you provide for the container instance\n"
    "must be unique on your host.\n"
    "\n"
    "An alternative for generating a customized spec config is to use \"oci-runtime-tool\", the\n"
    "sub-command \"oci-runtime-tool generate\" has lots of options that can be used to do any\n"
    "customizations as you want, see runtime-tools "
    "(https://github.com/opencontainers/runtime-tools)\n"
    "to get more information.\n"
    "\n"
    "When starting a container through mkrun, mkrun needs root privilege. If not\n"
    "already running as root, you can use sudo to give mkrun root privilege. For\n"
    "example: \"sudo mkrun start container1\" will give mkrun root privilege to start the\n"
    "container on your host.\n"
    "\n"
    "Alternatively, you can start a rootless container, which has the ability to run\n"
    "without root privileges. For this to work, the specification file needs to be\n"
    "adjusted accordingly. You can pass the parameter --rootless to this command to\n"
    "generate a proper rootless spec file.\n"
    "\n"
    "Note that --rootless is not needed when you execute mkrun as the root in a user namespace\n"
    "created by an unprivileged user.\n"
    "\n"
    "\n"
    "OPTIONS:\n"
    "   --bundle value, -b value\tpath to the root of the bundle directory\n"
    "   --rootless\tgenerate a configuration for a rootless container\n"
    "   \n";

// runc 1.1.5's help of the commands that act on a running container.
constexpr std::string_view kExecHelp =
    "NAME:\n"
    "   mkrun exec - execute new process inside the container\n"
    "\n"
    "USAGE:\n"
    "   mkrun exec [command options] <container-id> <command> [command options]  || -p "
    "process.json <container-id>\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container and\n"
    "\"<command>\" is the command to be executed in the container.\n"
    "\"<command>\" can't be empty unless a \"-p\" flag provided.\n"
    "\n"
    "EXAMPLE:\n"
    "For example, if the container is configured to run the linux ps command the\n"
    "following will output a list of processes running in the container:\n"
    "\n"
    "       # mkrun exec <container-id> ps\n"
    "\n"
    "OPTIONS:\n"
    "   --console-socket value\tpath to an AF_UNIX socket which will receive a file descriptor "
    "referencing the master end of the console's pseudoterminal\n"
    "   --cwd value\tcurrent working directory in the container\n"
    "   --env value, -e value\tset environment variables\n"
    "   --tty, -t\tallocate a pseudo-TTY\n"
    "   --user value, -u value\tUID (format: <uid>[:<gid>])\n"
    "   --additional-gids value, -g value\tadditional gids\n"
    "   --process value, -p value\tpath to the process.json\n"
    "   --detach, -d\tdetach from the container's process\n"
    "   --pid-file value\tspecify the file to write the process id to\n"
    "   --process-label value\tset the asm process label for the process commonly used with "
    "selinux\n"
    "   --apparmor value\tset the apparmor profile for the process\n"
    "   --no-new-privs\tset the no new privileges value for the process\n"
    "   --cap value, -c value\tadd a capability to the bounding set for the process\n"
    "   --preserve-fds value\tPass N additional file descriptors to the container (stdio + "
    "$LISTEN_FDS + N in total) (default: 0)\n"
    "   --cgroup value\trun the process in an (existing) sub-cgroup(s). Format is "
    "[<controller>:]<cgroup>.\n"
    "   --ignore-paused\tallow exec in a paused container\n"
    "   \n";

constexpr std::string_view kPsHelp =
    "NAME:\n"
    "   mkrun ps - ps displays the processes running inside a container\n"
    "\n"
    "USAGE:\n"
    "   mkrun ps [command options] <container-id> [ps options]\n"
    "\n"
    "OPTIONS:\n"
    "   --format value, -f value\tselect one of: table or json (default: \"table\")\n"
    "   \n";

constexpr std::string_view kPauseHelp =
    "NAME:\n"
    "   mkrun pause - pause suspends all processes inside the container\n"
    "\n"
    "USAGE:\n"
    "   mkrun pause <container-id>\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "paused. \n"
    "\n"
    "DESCRIPTION:\n"
    "   The pause command suspends all processes in the instance of the container.\n"
    "\n"
    "Use mkrun list to identify instances of containers and their current status.\n";

constexpr std::string_view kResumeHelp =
    "NAME:\n"
    "   mkrun resume - resumes all processes that have been previously paused\n"
    "\n"
    "USAGE:\n"
    "   mkrun resume <container-id>\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container to be\n"
    "resumed.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The resume command resumes all processes in the instance of the container.\n"
    "\n"
    "Use mkrun list to identify instances of containers and their current status.\n";

constexpr std::string_view kUpdateHelp =
    "NAME:\n"
    "   mkrun update - update container resource constraints\n"
    "\n"
    "USAGE:\n"
    "   mkrun update [command options] <container-id>\n"
    "\n"
    "OPTIONS:\n"
    "   --resources value, -r value\tpath to the file containing the resources to update or '-' to "
    "read from the standard input\n"
    "\n"
    "The accepted format is as follow (unchanged values can be omitted):\n"
    "\n"
    "{\n"
    "  \"memory\": {\n"
    "    \"limit\": 0,\n"
    "    \"reservation\": 0,\n"
    "    \"swap\": 0\n"
    "  },\n"
    "  \"cpu\": {\n"
    "    \"shares\": 0,\n"
    "    \"quota\": 0,\n"
    "    \"period\": 0,\n"
    "    \"realtimeRuntime\": 0,\n"
    "    \"realtimePeriod\": 0,\n"
    "    \"cpus\": \"\",\n"
    "    \"mems\": \"\"\n"
    "  },\n"
    "  \"blockIO\": {\n"
    "    \"weight\": 0\n"
    "  }\n"
    "}\n"
    "\n"
    "Note: if data is to be read from a file or the standard input, all\n"
    "other options are ignored.\n"
    "   --blkio-weight value\tSpecifies per cgroup weight, range is from 10 to 1000 (default: 0)\n"
    "   --cpu-period value\tCPU CFS period to be used for hardcapping (in usecs). 0 to use system "
    "default\n"
    "   --cpu-quota value\tCPU CFS hardcap limit (in usecs). Allowed cpu time in a given period\n"
    "   --cpu-share value\tCPU shares (relative weight vs. other containers)\n"
    "   --cpu-rt-period value\tCPU realtime period to be used for hardcapping (in usecs). 0 to use "
    "system default\n"
    "   --cpu-rt-runtime value\tCPU realtime hardcap limit (in usecs). Allowed cpu time in a given "
    "period\n"
    "   --cpuset-cpus value\tCPU(s) to use\n"
    "   --cpuset-mems value\tMemory node(s) to use\n"
    "   --memory value\tMemory limit (in bytes)\n"
    "   --memory-reservation value\tMemory reservation or soft_limit (in bytes)\n"
    "   --memory-swap value\tTotal memory usage (memory + swap); set '-1' to enable unlimited "
    "swap\n"
    "   --pids-limit value\tMaximum number of pids allowed in the container (default: 0)\n"
    "   --l3-cache-schema value\tThe string of Intel RDT/CAT L3 cache schema\n"
    "   --mem-bw-schema value\tThe string of Intel RDT/MBA memory bandwidth schema\n"
    "   \n";

constexpr std::string_view kEventsHelp =
    "NAME:\n"
    "   mkrun events - display container events such as OOM notifications, cpu, memory, and IO "
    "usage statistics\n"
    "\n"
    "USAGE:\n"
    "   mkrun events [command options] <container-id>\n"
    "\n"
    "Where \"<container-id>\" is the name for the instance of the container.\n"
    "\n"
    "DESCRIPTION:\n"
    "   The events command displays information about the container. By default the\n"
    "information is displayed once every 5 seconds.\n"
    "\n"
    "OPTIONS:\n"
    "   --interval value\tset the stats collection interval (default: 5s)\n"
    "   --stats\tdisplay the container's stats then exit\n"
    "   \n";

struct CommandHelp {
  std::string_view command;
  std::string_view text;
};

constexpr CommandHelp kCommandHelp[] = {
    {"create", kCreateHelp}, {"run", kRunHelp},       {"start", kStartHelp},
    {"state", kStateHelp},   {"kill", kKillHelp},     {"delete", kDeleteHelp},
    {"list", kListHelp},     {"spec", kSpecHelp},     {"features", kFeaturesHelp},
    {"exec", kExecHelp},     {"ps", kPsHelp},         {"pause", kPauseHelp},
    {"resume", kResumeHelp}, {"update", kUpdateHelp}, {"events", kEventsHelp},
};

}  // namespace

std::string app_help(const ProgramInfo& info) {
  std::string text(kAppHelpHead);
  text += version_lines(info);
  text += kAppHelpCommands;
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

std::optional<std::string> command_help(std::string_view command) {
  for (const CommandHelp& help : kCommandHelp) {
    if (help.command == command) return tabwrite(help.text, kHelpText);
  }
  return std::nullopt;
}

}  // namespace mkrun::cli
