// The list table and help screens against runc 1.1.5's real output (captured on this host with
// `runc list` and `runc <command> --help`, "runc" replaced by "mkrun"), plus the flags runc 1.5
// added.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "command.hpp"
#include "help.hpp"
#include "list_table.hpp"
#include "tabwriter.hpp"

using namespace mkrun::cli;

namespace {

mkrun::oci::State container(std::string id, int pid, std::string status) {
  mkrun::oci::State state;
  state.id = std::move(id);
  state.pid = pid;
  state.status = std::move(status);
  state.bundle = "/tmp/clitest/bundle";
  state.created = "2026-11-25T03:19:16.211659426Z";
  state.owner = "root";
  return state;
}

const std::string kKillGolden =
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
    "   --all, -a  send the specified signal to all processes inside the container\n"
    "   \n";

const std::string kCreateGolden =
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
    "   --bundle value, -b value  path to the root of the bundle directory, defaults to the "
    "current directory\n"
    "   --console-socket value    path to an AF_UNIX socket which will receive a file descriptor "
    "referencing the master end of the console's pseudoterminal\n"
    // runc 1.2+
    "   --pidfd-socket value      path to an AF_UNIX socket which will receive a file descriptor "
    "referencing the init process\n"
    "   --pid-file value          specify the file to write the process id to\n"
    "   --no-pivot                do not use pivot root to jail process inside rootfs.  This "
    "should be used whenever the rootfs is on top of a ramdisk\n"
    "   --no-new-keyring          do not create a new session keyring for the container.  This "
    "will cause the container to inherit the calling processes session key\n"
    "   --preserve-fds value      Pass N additional file descriptors to the container (stdio + "
    "$LISTEN_FDS + N in total) (default: 0)\n"
    "   \n";

const std::string kDeleteGolden =
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
    "   --force, -f  Forcibly deletes the container if it is still running (uses SIGKILL)\n"
    "   \n";

const std::string kListGolden =
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
    "   --format value, -f value  select one of: table or json (default: \"table\")\n"
    "   --quiet, -q               display only container IDs\n"
    "   \n";

}  // namespace

TEST_CASE("tabwriter pads each column to its widest cell plus padding", "[cli]") {
  CHECK(tabwrite("a\tbb\tc\naaa\tb\tc\n", {.minwidth = 0, .padding = 1}) == "a   bb c\naaa b  c\n");
}

TEST_CASE("tabwriter never pads the last cell of a line", "[cli]") {
  CHECK(tabwrite("a\tlast   \n", {.minwidth = 0, .padding = 2}) == "a  last   \n");
}

TEST_CASE("tabwriter honours the minimum width", "[cli]") {
  CHECK(tabwrite("a\tb\n", kListTable) == "a           b\n");
}

TEST_CASE("tabwriter keeps text without a final newline unterminated", "[cli]") {
  CHECK(tabwrite("a\tb\nc\td", {.minwidth = 0, .padding = 1}) == "a b\nc d");
}

TEST_CASE("tabwriter starts a new column block after a line without that column", "[cli]") {
  // Go aligns only consecutive lines: the line without a tab ends the block.
  CHECK(tabwrite("aaaa\tx\nno tabs\nb\ty\n", {.minwidth = 0, .padding = 1}) ==
        "aaaa x\nno tabs\nb y\n");
}

TEST_CASE("tabwriter aligns nested blocks like Go", "[cli]") {
  // Column 1 exists only in the first two lines; column 0 spans all three.
  CHECK(tabwrite("a\tb\tc\naa\tbbb\tc\naaa\tz\n", {.minwidth = 0, .padding = 1}) ==
        "a   b   c\naa  bbb c\naaa z\n");
}

TEST_CASE("tabwriter counts UTF-8 characters, not bytes", "[cli]") {
  CHECK(tabwrite("\xC3\xA9\tx\nab\ty\n", {.minwidth = 0, .padding = 1}) == "\xC3\xA9  x\nab y\n");
}

TEST_CASE("list table of no containers is runc's header", "[cli]") {
  CHECK(render_list_table({}) ==
        "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
}

TEST_CASE("list table matches runc's output for a created and a stopped container", "[cli]") {
  const std::vector<mkrun::oci::State> created = {container("t1", 6148, "created")};
  CHECK(render_list_table(created) ==
        "ID          PID         STATUS      BUNDLE                CREATED                     "
        "     OWNER\n"
        "t1          6148        created     /tmp/clitest/bundle   "
        "2026-11-25T03:19:16.211659426Z   root\n");
  const std::vector<mkrun::oci::State> stopped = {container("t1", 0, "stopped")};
  CHECK(render_list_table(stopped) ==
        "ID          PID         STATUS      BUNDLE                CREATED                     "
        "     OWNER\n"
        "t1          0           stopped     /tmp/clitest/bundle   "
        "2026-11-25T03:19:16.211659426Z   root\n");
}

TEST_CASE("list table widens a column for a long id", "[cli]") {
  const std::vector<mkrun::oci::State> states = {container("a-rather-long-id", 1, "running"),
                                                 container("b", 22, "stopped")};
  CHECK(render_list_table(states) ==
        "ID                 PID         STATUS      BUNDLE                CREATED              "
        "            OWNER\n"
        "a-rather-long-id   1           running     /tmp/clitest/bundle   "
        "2026-11-25T03:19:16.211659426Z   root\n"
        "b                  22          stopped     /tmp/clitest/bundle   "
        "2026-11-25T03:19:16.211659426Z   root\n");
}

TEST_CASE("command help is runc's, byte for byte", "[cli]") {
  CHECK(command_help(*find_command("kill")) == kKillGolden);
  CHECK(command_help(*find_command("create")) == kCreateGolden);
  CHECK(command_help(*find_command("delete")) == kDeleteGolden);
  CHECK(command_help(*find_command("list")) == kListGolden);
}

// Podman and CRI-O offer checkpointing when `<runtime> checkpoint --help` exits 0; the flags are
// runc 1.2's, in its order.
TEST_CASE("checkpoint and restore have runc's flags", "[cli]") {
  const std::string checkpoint = command_help(*find_command("checkpoint"));
  CHECK(checkpoint.starts_with("NAME:\n   mkrun checkpoint - checkpoint a running container\n"));
  CHECK(checkpoint.find("   --image-path value           path for saving criu image files\n") !=
        std::string::npos);
  CHECK(checkpoint.find("   --status-fd value            criu writes \\0 to this FD once "
                        "lazy-pages is ready (default: -1)\n") != std::string::npos);
  const std::string restore = command_help(*find_command("restore"));
  CHECK(restore.starts_with(
      "NAME:\n   mkrun restore - restore a container from a previous checkpoint\n"));
  for (const char* flag : {"--console-socket", "--bundle value, -b value", "--detach, -d",
                           "--pid-file", "--no-subreaper", "--no-pivot", "--lsm-profile",
                           "--lsm-mount-context", "--lazy-pages", "--empty-ns"}) {
    INFO(flag);
    CHECK(restore.find("   " + std::string(flag)) != std::string::npos);
  }
}

TEST_CASE("app help lists mkrun's commands and global options aligned", "[cli]") {
  const ProgramInfo info{"mkrun", "/run/mkrun", "2.5.4"};
  const std::string help = app_help(info);
  CHECK(help.starts_with("NAME:\n   mkrun - Open Container Initiative runtime\n"));
  CHECK(help.find("\nCOMMANDS:\n   checkpoint  checkpoint a running container\n   create      "
                  "create a container\n") != std::string::npos);
  CHECK(help.find("\n   features    show the enabled features\n") != std::string::npos);
  CHECK(help.find("\n   help, h     Shows a list of commands or help for one command\n") !=
        std::string::npos);
  CHECK(help.find("\n   --debug                 enable debug logging\n") != std::string::npos);
  CHECK(help.find("(default: \"/run/mkrun\")\n") != std::string::npos);
  CHECK(help.find("VERSION:\n   0.1.0\ncommit: ") != std::string::npos);
  CHECK(help.ends_with("   --version, -v           print the version\n"));
}
