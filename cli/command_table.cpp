// mkrun's commands, each described once. The texts are runc 1.1.5's (urfave/cli's Usage,
// ArgsUsage and Description of each command, and each flag's usage) with its name replaced:
// help.cpp lays them out as urfave's templates do, so the screens are runc's byte for byte.
#include <algorithm>

#include "command.hpp"
#include "commands.hpp"

namespace mkrun::cli {
namespace {

// ---- flags -------------------------------------------------------------------------------------

// Flags several commands share, with the same usage.
constexpr FlagSpec kConsoleSocket{
    "console-socket", FlagKind::text,
    "path to an AF_UNIX socket which will receive a file descriptor referencing the master end "
    "of the console's pseudoterminal"};
// runc 1.2 added it to create, run and exec, after --console-socket.
constexpr FlagSpec kPidfdSocket{
    "pidfd-socket", FlagKind::text,
    "path to an AF_UNIX socket which will receive a file descriptor referencing the init process"};
constexpr FlagSpec kExecPidfdSocket{
    "pidfd-socket", FlagKind::text,
    "path to an AF_UNIX socket which will receive a file descriptor referencing the exec process"};
constexpr FlagSpec kDetach{"detach,d", FlagKind::boolean, "detach from the container's process"};
constexpr FlagSpec kPidFile{"pid-file", FlagKind::text,
                            "specify the file to write the process id to"};
constexpr FlagSpec kPreserveFds{
    "preserve-fds", FlagKind::integer,
    "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", "0"};
constexpr FlagSpec kFormat{"format,f", FlagKind::text, "select one of: table or json", "table"};

// create and run
constexpr FlagSpec kBundle{
    "bundle,b", FlagKind::text,
    "path to the root of the bundle directory, defaults to the current directory"};
constexpr FlagSpec kKeep{"keep", FlagKind::boolean, "do not delete the container after it exits"};
constexpr FlagSpec kNoSubreaper{
    "no-subreaper", FlagKind::boolean,
    "disable the use of the subreaper used to reap reparented processes"};
constexpr FlagSpec kNoPivot{
    "no-pivot", FlagKind::boolean,
    "do not use pivot root to jail process inside rootfs.  This should be used whenever the "
    "rootfs is on top of a ramdisk"};
constexpr FlagSpec kNoNewKeyring{
    "no-new-keyring", FlagKind::boolean,
    "do not create a new session keyring for the container.  This will cause the container to "
    "inherit the calling processes session key"};

constexpr FlagSpec kCreateFlags[] = {kBundle,  kConsoleSocket, kPidfdSocket, kPidFile,
                                     kNoPivot, kNoNewKeyring,  kPreserveFds};
constexpr FlagSpec kRunFlags[] = {kBundle,       kConsoleSocket, kPidfdSocket, kDetach,
                                  kKeep,         kPidFile,       kNoSubreaper, kNoPivot,
                                  kNoNewKeyring, kPreserveFds};

constexpr FlagSpec kKillFlags[] = {
    {"all,a", FlagKind::boolean, "send the specified signal to all processes inside the container"},
};
constexpr FlagSpec kDeleteFlags[] = {
    {"force,f", FlagKind::boolean,
     "Forcibly deletes the container if it is still running (uses SIGKILL)"},
};
constexpr FlagSpec kListFlags[] = {
    kFormat,
    {"quiet,q", FlagKind::boolean, "display only container IDs"},
};
constexpr FlagSpec kSpecFlags[] = {
    {"bundle,b", FlagKind::text, "path to the root of the bundle directory"},
    {"rootless", FlagKind::boolean, "generate a configuration for a rootless container"},
};

constexpr FlagSpec kExecFlags[] = {
    kConsoleSocket,
    kExecPidfdSocket,
    {"cwd", FlagKind::text, "current working directory in the container"},
    {"env,e", FlagKind::text_list, "set environment variables"},
    {"tty,t", FlagKind::boolean, "allocate a pseudo-TTY"},
    {"user,u", FlagKind::text, "UID (format: <uid>[:<gid>])"},
    {"additional-gids,g", FlagKind::integer_list, "additional gids"},
    {"process,p", FlagKind::text, "path to the process.json"},
    kDetach,
    kPidFile,
    {"process-label", FlagKind::text,
     "set the asm process label for the process commonly used with selinux"},
    {"apparmor", FlagKind::text, "set the apparmor profile for the process"},
    {"no-new-privs", FlagKind::boolean, "set the no new privileges value for the process"},
    {"cap,c", FlagKind::text_list, "add a capability to the bounding set for the process"},
    kPreserveFds,
    {"cgroup", FlagKind::text_list,
     "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
    {"ignore-paused", FlagKind::boolean, "allow exec in a paused container"},
};

constexpr FlagSpec kPsFlags[] = {kFormat};

// runc reads the numbers itself (update.go), so most are text flags.
constexpr FlagSpec kUpdateFlags[] = {
    {"resources,r", FlagKind::text,
     "path to the file containing the resources to update or '-' to read from the standard input\n"
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
     "    \"burst\": 0,\n"
     "    \"period\": 0,\n"
     "    \"realtimeRuntime\": 0,\n"
     "    \"realtimePeriod\": 0,\n"
     "    \"cpus\": \"\",\n"
     "    \"mems\": \"\",\n"
     "    \"idle\": 0\n"
     "  },\n"
     "  \"blockIO\": {\n"
     "    \"weight\": 0\n"
     "  }\n"
     "}\n"
     "\n"
     "Note: if data is to be read from a file or the standard input, all\n"
     "other options are ignored."},
    {"blkio-weight", FlagKind::integer, "Specifies per cgroup weight, range is from 10 to 1000",
     "0"},
    {"cpu-period", FlagKind::text,
     "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"},
    {"cpu-quota", FlagKind::text,
     "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
    // runc 1.2 added cpu-burst and cpu-idle (both for cgroup v1 and v2), in these places.
    {"cpu-burst", FlagKind::text,
     "CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for "
     "burst a given period"},
    {"cpu-share", FlagKind::text, "CPU shares (relative weight vs. other containers)"},
    {"cpu-rt-period", FlagKind::text,
     "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"},
    {"cpu-rt-runtime", FlagKind::text,
     "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"},
    {"cpuset-cpus", FlagKind::text, "CPU(s) to use"},
    {"cpuset-mems", FlagKind::text, "Memory node(s) to use"},
    // Hidden in runc 1.1, which only warns that they are ignored.
    {"kernel-memory", FlagKind::text, "Kernel memory limit (in bytes)", "", true},
    {"kernel-memory-tcp", FlagKind::text, "Kernel memory limit (in bytes) for tcp buffer", "",
     true},
    {"memory", FlagKind::text, "Memory limit (in bytes)"},
    {"cpu-idle", FlagKind::text,
     "set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE"},
    {"memory-reservation", FlagKind::text, "Memory reservation or soft_limit (in bytes)"},
    {"memory-swap", FlagKind::text,
     "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
    {"pids-limit", FlagKind::integer, "Maximum number of pids allowed in the container", "0"},
    {"l3-cache-schema", FlagKind::text, "The string of Intel RDT/CAT L3 cache schema"},
    {"mem-bw-schema", FlagKind::text, "The string of Intel RDT/MBA memory bandwidth schema"},
};

// checkpoint and restore: runc 1.2's flags, in its order.
constexpr FlagSpec kTcpEstablished{"tcp-established", FlagKind::boolean,
                                   "allow open tcp connections"};
constexpr FlagSpec kExtUnixSk{"ext-unix-sk", FlagKind::boolean, "allow external unix sockets"};
constexpr FlagSpec kShellJob{"shell-job", FlagKind::boolean, "allow shell jobs"};
constexpr FlagSpec kLazyPages{"lazy-pages", FlagKind::boolean,
                              "use userfaultfd to lazily restore memory pages"};
constexpr FlagSpec kFileLocks{"file-locks", FlagKind::boolean, "handle file locks, for safety"};
constexpr FlagSpec kManageCgroupsMode{"manage-cgroups-mode", FlagKind::text,
                                      "cgroups mode: soft|full|strict|ignore (default: soft)"};
constexpr FlagSpec kEmptyNs{"empty-ns", FlagKind::text_list,
                            "create a namespace, but don't restore its properties"};
constexpr FlagSpec kAutoDedup{"auto-dedup", FlagKind::boolean,
                              "enable auto deduplication of memory images"};
constexpr FlagSpec kWorkPath{"work-path", FlagKind::text, "path for saving work files and logs"};

constexpr FlagSpec kCheckpointFlags[] = {
    {"image-path", FlagKind::text, "path for saving criu image files"},
    kWorkPath,
    {"parent-path", FlagKind::text, "path for previous criu image files in pre-dump"},
    {"leave-running", FlagKind::boolean, "leave the process running after checkpointing"},
    kTcpEstablished,
    kExtUnixSk,
    kShellJob,
    kLazyPages,
    {"status-fd", FlagKind::integer, "criu writes \\0 to this FD once lazy-pages is ready", "-1"},
    {"page-server", FlagKind::text, "ADDRESS:PORT of the page server"},
    kFileLocks,
    {"pre-dump", FlagKind::boolean,
     "dump container's memory information only, leave the container running after this"},
    kManageCgroupsMode,
    kEmptyNs,
    kAutoDedup,
};

constexpr FlagSpec kRestoreFlags[] = {
    kConsoleSocket,
    {"image-path", FlagKind::text, "path to criu image files for restoring"},
    kWorkPath,
    kTcpEstablished,
    kExtUnixSk,
    kShellJob,
    kFileLocks,
    kManageCgroupsMode,
    {"bundle,b", FlagKind::text, "path to the root of the bundle directory"},
    kDetach,
    kPidFile,
    kNoSubreaper,
    kNoPivot,
    kEmptyNs,
    kAutoDedup,
    kLazyPages,
    {"lsm-profile", FlagKind::text,
     "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
    {"lsm-mount-context", FlagKind::text,
     "Specify an LSM mount context to be used during restore."},
};

constexpr FlagSpec kEventsFlags[] = {
    {"interval", FlagKind::duration, "set the stats collection interval", "5s"},
    {"stats", FlagKind::boolean, "display the container's stats then exit"},
};

// ---- texts shared by several commands ----------------------------------------------------------

constexpr std::string_view kNewContainerArgs =
    "<container-id>\n"
    "\n"
    "Where \"<container-id>\" is your name for the instance of the container that you\n"
    "are starting. The name you provide for the container instance must be unique on\n"
    "your host.";

// create's and run's description, the command's name aside (a macro, so the two texts are
// joined at compile time).
#define MKRUN_CREATE_DESCRIPTION(command)                                             \
  "The " command                                                                      \
  " command creates an instance of a container for a bundle. The bundle\n"            \
  "is a directory with a specification file named \"config.json\" and a root\n"       \
  "filesystem.\n"                                                                     \
  "\n"                                                                                \
  "The specification file includes an args parameter. The args parameter is used\n"   \
  "to specify command(s) that get run when the container is started. To change the\n" \
  "command(s) that get executed on start, edit the args parameter of the spec. See\n" \
  "\"mkrun spec --help\" for more explanation."

// spec's description ends with a newline of its own, so its OPTIONS follow two blank lines.
constexpr std::string_view kSpecDescription =
    "The spec command creates the new specification file named \"config.json\" for\n"
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
    "created by an unprivileged user.\n";

// ---- the commands, in the order `mkrun --help` lists them --------------------------------------

constexpr CommandDescriptor kCommands[] = {
    {
        .name = "checkpoint",
        .summary = "checkpoint a running container",
        .args_usage =
            "<container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container to be\n"
            "checkpointed.",
        .description = "The checkpoint command saves the state of the container instance.",
        .flags = kCheckpointFlags,
        .args = {1, 1},
        .handler = handlers::checkpoint,
    },
    {
        .name = "create",
        .summary = "create a container",
        .args_usage = kNewContainerArgs,
        .description = MKRUN_CREATE_DESCRIPTION("create"),
        .flags = kCreateFlags,
        .args = {1, 1},
        .handler = handlers::create,
        .failure_prefix = "mkrun create failed",
    },
    {
        .name = "delete",
        .summary = "delete any resources held by the container often used with detached container",
        .args_usage =
            "<container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container.\n"
            "\n"
            "EXAMPLE:\n"
            "For example, if the container id is \"ubuntu01\" and mkrun list currently shows the\n"
            "status of \"ubuntu01\" as \"stopped\" the following will delete resources held for\n"
            "\"ubuntu01\" removing \"ubuntu01\" from the mkrun list of containers:\n"
            "\n"
            "       # mkrun delete ubuntu01",
        .flags = kDeleteFlags,
        .args = {1, 1},
        .handler = handlers::remove,
    },
    {
        .name = "events",
        .summary = "display container events such as OOM notifications, cpu, memory, and IO usage "
                   "statistics",
        .args_usage = "<container-id>\n"
                      "\n"
                      "Where \"<container-id>\" is the name for the instance of the container.",
        .description =
            "The events command displays information about the container. By default the\n"
            "information is displayed once every 5 seconds.",
        .flags = kEventsFlags,
        .args = {1, 1},
        .handler = handlers::events,
    },
    {
        .name = "exec",
        .summary = "execute new process inside the container",
        .args_usage =
            "<container-id> <command> [command options]  || -p process.json <container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container and\n"
            "\"<command>\" is the command to be executed in the container.\n"
            "\"<command>\" can't be empty unless a \"-p\" flag provided.\n"
            "\n"
            "EXAMPLE:\n"
            "For example, if the container is configured to run the linux ps command the\n"
            "following will output a list of processes running in the container:\n"
            "\n"
            "       # mkrun exec <container-id> ps",
        .flags = kExecFlags,
        .args = {1, kUnlimited},
        .reorders_args = false,  // `exec ID sh -c x`: the -c is sh's
        .handler = handlers::exec,
        .failure_prefix = "exec failed",
        .failure_code = 255,  // runc's fatalWithCode
    },
    {
        .name = "features",
        .summary = "show the enabled features",
        .description = "Show the enabled features.\n"
                       "   The result is parsable as a JSON.\n"
                       "   See https://pkg.go.dev/github.com/opencontainers/runc/types/features "
                       "for the type definition.\n"
                       "   The types are experimental and subject to change.",
        .args = {0, 0},
        .handler = handlers::features,
    },
    {
        .name = "kill",
        .summary =
            "kill sends the specified signal (default: SIGTERM) to the container's init process",
        .args_usage =
            "<container-id> [signal]\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container and\n"
            "\"[signal]\" is the signal to be sent to the init process.\n"
            "\n"
            "EXAMPLE:\n"
            "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
            "signal to the init process of the \"ubuntu01\" container:\n"
            "\n"
            "       # mkrun kill ubuntu01 KILL",
        .flags = kKillFlags,
        .args = {1, 2},
        .handler = handlers::kill,
    },
    {
        .name = "list",
        .summary = "lists containers started by mkrun with the given root",
        .args_usage = "\n"
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
                      "       # mkrun --root value list",
        .flags = kListFlags,
        .args = {0, 0},
        .handler = handlers::list,
    },
    {
        .name = "pause",
        .summary = "pause suspends all processes inside the container",
        .args_usage =
            "<container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container to be\n"
            "paused. ",
        .description =
            "The pause command suspends all processes in the instance of the container.\n"
            "\n"
            "Use mkrun list to identify instances of containers and their current status.",
        .args = {1, 1},
        .handler = handlers::pause,
    },
    {
        .name = "ps",
        .summary = "ps displays the processes running inside a container",
        .args_usage = "<container-id> [ps options]",
        .flags = kPsFlags,
        .args = {1, kUnlimited},
        .reorders_args = false,  // `ps ID -ef`: the -ef is ps's
        .handler = handlers::ps,
    },
    {
        .name = "restore",
        .summary = "restore a container from a previous checkpoint",
        .args_usage =
            "<container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container to be\n"
            "restored.",
        .description =
            "Restores the saved state of the container instance that was previously saved\n"
            "using the mkrun checkpoint command.",
        .flags = kRestoreFlags,
        .args = {1, 1},
        .handler = handlers::restore,
    },
    {
        .name = "resume",
        .summary = "resumes all processes that have been previously paused",
        .args_usage =
            "<container-id>\n"
            "\n"
            "Where \"<container-id>\" is the name for the instance of the container to be\n"
            "resumed.",
        .description =
            "The resume command resumes all processes in the instance of the container.\n"
            "\n"
            "Use mkrun list to identify instances of containers and their current status.",
        .args = {1, 1},
        .handler = handlers::resume,
    },
    {
        .name = "run",
        .summary = "create and run a container",
        .args_usage = kNewContainerArgs,
        .description = MKRUN_CREATE_DESCRIPTION("run"),
        .flags = kRunFlags,
        .args = {1, 1},
        .handler = handlers::run,
        .failure_prefix = "mkrun run failed",
    },
    {
        .name = "spec",
        .summary = "create a new specification file",
        .description = kSpecDescription,
        .flags = kSpecFlags,
        .args = {0, 0},
        .handler = handlers::spec,
    },
    {
        .name = "start",
        .summary = "executes the user defined process in a created container",
        .args_usage = kNewContainerArgs,
        .description =
            "The start command executes the user defined process in a created container.",
        .args = {1, 1},
        .handler = handlers::start,
    },
    {
        .name = "state",
        .summary = "output the state of a container",
        .args_usage = "<container-id>\n"
                      "\n"
                      "Where \"<container-id>\" is your name for the instance of the container.",
        .description = "The state command outputs current state information for the\n"
                       "instance of a container.",
        .args = {1, 1},
        .handler = handlers::state,
    },
    {
        .name = "update",
        .summary = "update container resource constraints",
        .args_usage = "<container-id>",
        .flags = kUpdateFlags,
        .args = {1, 1},
        .handler = handlers::update,
    },
};

#undef MKRUN_CREATE_DESCRIPTION

}  // namespace

std::span<const CommandDescriptor> commands() {
  return kCommands;
}

const CommandDescriptor* find_command(std::string_view name) {
  const auto found = std::ranges::find(kCommands, name, &CommandDescriptor::name);
  return found == std::end(kCommands) ? nullptr : &*found;
}

}  // namespace mkrun::cli
