#include "linux/userns.hpp"

#include <grp.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "linux_test_util.hpp"
#include "mkrun/base/files.hpp"
#include "plan/builder.hpp"

using namespace mkrun;
using mkrun::test::Cleanup;
using mkrun::test::in_child_process;
using mkrun::test::is_root;
using mkrun::test::ParkedProcess;
using mkrun::test::TempDir;

namespace {

constexpr uid_t kNobody = 65534;

// "0 100000 65536" per line, however the kernel pads the columns.
std::string normalized_map(pid_t pid, const char* file) {
  auto text = files::read_file("/proc/" + std::to_string(pid) + "/" + file);
  if (!text) return "unreadable";
  std::istringstream in(*text);
  std::string out;
  uint64_t inside, outside, size;
  while (in >> inside >> outside >> size) {
    out +=
        std::to_string(inside) + " " + std::to_string(outside) + " " + std::to_string(size) + "\n";
  }
  return out;
}

oci::Linux with_maps(std::vector<oci::IdMapping> uids, std::vector<oci::IdMapping> gids) {
  oci::Linux linux;
  linux.uidMappings = std::move(uids);
  linux.gidMappings = std::move(gids);
  return linux;
}

// Becomes nobody, for the rootless paths (in a forked child only). Dumpable again afterwards,
// as a process started by that user would be: a uid change clears it, and the /proc files of a
// non-dumpable process (and of the children it clones) belong to root.
bool become_nobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(kNobody, kNobody, kNobody) == 0 &&
         ::setresuid(kNobody, kNobody, kNobody) == 0 && ::prctl(PR_SET_DUMPABLE, 1) == 0;
}

// A shell script standing in for newuidmap: it records its arguments and exits with `status`.
std::string fake_tool(const TempDir& dir, const std::string& name, int status) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\necho \"$*\" >> " << dir.path() << "/" << name
                      << ".calls\nexit " << status << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

}  // namespace

// ---- Pure rules -------------------------------------------------------------------------------

TEST_CASE("id maps are written as the kernel reads them", "[userns]") {
  CHECK(userns::id_map_text({}) == "");
  CHECK(userns::id_map_text({{0, 100000, 65536}, {65536, 5, 1}}) == "0 100000 65536\n65536 5 1\n");
}

TEST_CASE("newuidmap gets the pid then each mapping's three numbers", "[userns]") {
  CHECK(userns::mapping_tool_args(42, {{0, 1000, 1}, {1, 100000, 65536}}) ==
        std::vector<std::string>{"42", "0", "1000", "1", "1", "100000", "65536"});
}

TEST_CASE("setgroups is denied only for an unprivileged single own-gid mapping", "[userns]") {
  CHECK(userns::must_deny_setgroups({{0, 1000, 1}}, true, 1000));
  CHECK_FALSE(userns::must_deny_setgroups({{0, 1000, 1}}, false, 1000));  // privileged
  CHECK_FALSE(userns::must_deny_setgroups({{0, 1000, 2}}, true, 1000));   // needs newgidmap
  CHECK_FALSE(userns::must_deny_setgroups({{0, 1001, 1}}, true, 1000));   // not our gid
  CHECK_FALSE(userns::must_deny_setgroups({{1, 1000, 1}}, true, 1000));   // not as gid 0
  CHECK_FALSE(userns::must_deny_setgroups({{0, 1000, 1}, {1, 100000, 10}}, true, 1000));
  CHECK_FALSE(userns::must_deny_setgroups({}, true, 1000));
}

TEST_CASE("only the initial user namespace maps every id to itself", "[userns]") {
  CHECK(userns::is_initial_uid_map("         0          0 4294967295\n"));
  CHECK_FALSE(userns::is_initial_uid_map("         0     100000      65536\n"));
  CHECK_FALSE(userns::is_initial_uid_map("0 0 65536\n"));
  CHECK_FALSE(userns::is_initial_uid_map(""));
}

TEST_CASE("a process in a new user namespace knows it is in one", "[userns][root]") {
  if (!is_root()) return;
  int status = in_child_process([] {
    if (::unshare(CLONE_NEWUSER) < 0) return 2;
    return userns::running_in_user_namespace() ? 0 : 1;
  });
  CHECK(status == 0);
}

// ---- Writing the container's maps -------------------------------------------------------------

TEST_CASE("a privileged mkrun writes any mapping directly", "[userns][root]") {
  if (!is_root()) return;
  ParkedProcess child(CLONE_NEWUSER);
  REQUIRE(child.ok());
  auto linux = with_maps({{0, 100000, 65536}}, {{0, 100000, 65536}, {65536, 5, 1}});
  REQUIRE(userns::write_id_maps(child.pid(), linux, false));
  CHECK(normalized_map(child.pid(), "uid_map") == "0 100000 65536\n");
  CHECK(normalized_map(child.pid(), "gid_map") == "0 100000 65536\n65536 5 1\n");
  // Privileged: supplementary groups stay allowed in the container.
  CHECK(files::read_file("/proc/" + std::to_string(child.pid()) + "/setgroups").value() ==
        "allow\n");
}

TEST_CASE("a map that cannot be written says which file, with runc's words", "[userns][root]") {
  if (!is_root()) return;
  ParkedProcess child(CLONE_NEWUSER);
  REQUIRE(child.ok());
  auto linux = with_maps({{0, 100000, 65536}}, {{0, 100000, 65536}});
  REQUIRE(userns::write_id_maps(child.pid(), linux, false));
  auto again = userns::write_id_maps(child.pid(), linux, false);  // maps are write-once
  REQUIRE_FALSE(again);
  CHECK(again.error().render() == "failed to update /proc/" + std::to_string(child.pid()) +
                                      "/uid_map: operation not permitted");
}

TEST_CASE("an unprivileged mkrun maps its own ids alone after denying setgroups",
          "[userns][root]") {
  if (!is_root()) return;
  int status = in_child_process([] {
    if (!become_nobody()) return 10;
    ParkedProcess child(CLONE_NEWUSER);
    if (!child.ok()) return 11;  // unprivileged user namespaces are disabled here
    auto linux = with_maps({{0, kNobody, 1}}, {{0, kNobody, 1}});
    if (!userns::write_id_maps(child.pid(), linux, true, {})) return 12;
    if (normalized_map(child.pid(), "uid_map") != "0 65534 1\n") return 13;
    if (normalized_map(child.pid(), "gid_map") != "0 65534 1\n") return 14;
    auto setgroups = files::read_file("/proc/" + std::to_string(child.pid()) + "/setgroups");
    return setgroups && *setgroups == "deny\n" ? 0 : 15;
  });
  CHECK(status == 0);
}

TEST_CASE("an unprivileged mkrun hands wider mappings to newuidmap and newgidmap",
          "[userns][root]") {
  if (!is_root()) return;
  TempDir tools_dir;
  REQUIRE(::chmod(tools_dir.path().c_str(), 0777) == 0);
  userns::MappingTools tools{fake_tool(tools_dir, "newuidmap", 0),
                             fake_tool(tools_dir, "newgidmap", 0)};
  pid_t mapped = 0;
  int status = in_child_process([&] {
    if (!become_nobody()) return 10;
    ParkedProcess child(CLONE_NEWUSER);
    if (!child.ok()) return 11;
    auto linux = with_maps({{0, kNobody, 1}, {1, 100000, 65536}}, {{0, kNobody, 1}, {1, 7, 2}});
    if (!userns::write_id_maps(child.pid(), linux, true, tools)) return 12;
    // The tools keep setgroups allowed: they are trusted to check the groups.
    auto setgroups = files::read_file("/proc/" + std::to_string(child.pid()) + "/setgroups");
    std::ofstream(tools_dir.path() + "/pid") << child.pid();
    return setgroups && *setgroups == "allow\n" ? 0 : 13;
  });
  REQUIRE(status == 0);
  std::ifstream(tools_dir.path() + "/pid") >> mapped;
  std::string pid = std::to_string(mapped);
  CHECK(files::read_file(tools_dir.path() + "/newuidmap.calls").value() ==
        pid + " 0 65534 1 1 100000 65536\n");
  CHECK(files::read_file(tools_dir.path() + "/newgidmap.calls").value() ==
        pid + " 0 65534 1 1 7 2\n");
}

TEST_CASE("without newuidmap, or when it fails, the error is runc's", "[userns][root]") {
  if (!is_root()) return;
  TempDir tools_dir;
  REQUIRE(::chmod(tools_dir.path().c_str(), 0777) == 0);
  std::string failing = fake_tool(tools_dir, "newuidmap", 1);
  std::string messages_file = tools_dir.path() + "/messages";
  int status = in_child_process([&] {
    if (!become_nobody()) return 10;
    auto linux = with_maps({{0, kNobody, 1}, {1, 100000, 65536}}, {{0, kNobody, 1}});
    std::ofstream messages(messages_file);
    {
      ParkedProcess child(CLONE_NEWUSER);
      if (!child.ok()) return 11;
      auto missing = userns::write_id_maps(child.pid(), linux, true, {});
      messages << (missing ? "written" : missing.error().render()) << "\n";
    }
    ParkedProcess child(CLONE_NEWUSER);
    auto failed = userns::write_id_maps(child.pid(), linux, true, {failing, ""});
    messages << child.pid() << "\n" << (failed ? "written" : failed.error().render()) << "\n";
    return 0;
  });
  REQUIRE(status == 0);
  std::ifstream messages(messages_file);
  std::string missing, pid, failed;
  std::getline(messages, missing);
  std::getline(messages, pid);
  std::getline(messages, failed);
  CHECK(missing == "mapping tool not present: operation not permitted");
  CHECK(failed ==
        "failed to use newuid map on " + pid + ": `" + failing + "` exited with status 1");
}

TEST_CASE("empty mappings are left alone", "[userns][root]") {
  if (!is_root()) return;
  ParkedProcess child(CLONE_NEWUSER);
  REQUIRE(child.ok());
  REQUIRE(userns::write_id_maps(child.pid(), oci::Linux{}, false));
  CHECK(normalized_map(child.pid(), "uid_map") == "");
}

// ---- Devices in a user namespace --------------------------------------------------------------

namespace {

bool plan_binds_devices(std::vector<oci::Namespace> namespaces) {
  TempDir rootfs;
  oci::Spec spec;
  spec.process = oci::Process{};
  spec.process->args = {"true"};
  spec.root = oci::Root{rootfs.path(), false};
  spec.linux = oci::Linux{};
  spec.linux->namespaces = std::move(namespaces);
  plan::BuildInputs inputs;
  inputs.spec = &spec;
  inputs.bundle = rootfs.path();
  inputs.rootfs = rootfs.path();
  inputs.container_id = "t";
  auto built = plan::build_plan(inputs);
  REQUIRE(built);
  REQUIRE((*built)->plan.device_count > 0);
  return (*built)->plan.bind_devices;
}

}  // namespace

TEST_CASE("device nodes are bind-mounted, not made, when a user namespace is involved",
          "[userns]") {
  // mknod is refused inside a user namespace, new or joined (runc: createDevices binds then).
  CHECK(plan_binds_devices({{"mount", ""}, {"user", ""}}));
  CHECK(plan_binds_devices({{"mount", ""}, {"user", "/proc/self/ns/user"}}));
  CHECK_FALSE(plan_binds_devices({{"mount", ""}, {"pid", ""}}));
}

// ---- Idmapped mounts --------------------------------------------------------------------------

TEST_CASE("a user namespace fd carries exactly the mappings asked for", "[userns][root]") {
  if (!is_root()) return;
  auto fd = userns::make_userns_fd({{0, 1000, 10}}, {{0, 2000, 10}});
  REQUIRE(fd);
  CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);
  // Enter it in a child and read the maps from the inside.
  int status = in_child_process([&] {
    if (::setns(fd->get(), CLONE_NEWUSER) < 0) return 10;
    if (normalized_map(::getpid(), "uid_map") != "0 1000 10\n") return 11;
    return normalized_map(::getpid(), "gid_map") == "0 2000 10\n" ? 0 : 12;
  });
  CHECK(status == 0);
}

TEST_CASE("an idmapped mount shows on-disk owners through the mount's mappings", "[userns][root]") {
  if (!is_root()) return;
  TempDir source;
  std::string mapped_file = source.path() + "/owned-by-0";
  std::string other_file = source.path() + "/owned-by-7";
  std::ofstream(mapped_file) << "x";
  std::ofstream(other_file) << "y";
  REQUIRE(::chown(mapped_file.c_str(), 0, 0) == 0);
  REQUIRE(::chown(other_file.c_str(), 7, 7) == 0);

  auto tree =
      userns::make_idmapped_mount(source.path(), {{0, 100000, 5}}, {{0, 200000, 5}}, false, false);
  REQUIRE(tree);
  CHECK((::fcntl(tree->get(), F_GETFD) & FD_CLOEXEC) != 0);
  struct stat info {};
  REQUIRE(::fstatat(tree->get(), "owned-by-0", &info, 0) == 0);
  CHECK(info.st_uid == 100000);
  CHECK(info.st_gid == 200000);
  REQUIRE(::fstatat(tree->get(), "owned-by-7", &info, 0) == 0);
  CHECK(info.st_uid == 65534);  // outside the mapping: the overflow id

  // What the child does with it: attach the detached tree in its own mount namespace.
  TempDir target;
  int status = in_child_process([&] {
    if (::unshare(CLONE_NEWNS) < 0) return 10;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return 11;
    int target_fd = ::open(target.path().c_str(), O_PATH | O_CLOEXEC);
    if (::syscall(SYS_move_mount, tree->get(), "", target_fd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
      return 12;
    }
    struct stat attached {};
    if (::stat((target.path() + "/owned-by-0").c_str(), &attached) < 0) return 13;
    return attached.st_uid == 100000 ? 0 : 14;
  });
  CHECK(status == 0);
  // The mount lived in the child's namespace only.
  struct stat after {};
  REQUIRE(::stat((target.path()).c_str(), &after) == 0);
  CHECK(::access((target.path() + "/owned-by-0").c_str(), F_OK) != 0);
}

TEST_CASE("an idmapped mount of a missing source fails with its path", "[userns][root]") {
  if (!is_root()) return;
  auto tree =
      userns::make_idmapped_mount("/nonexistent/mkrun", {{0, 1, 1}}, {{0, 1, 1}}, true, true);
  REQUIRE_FALSE(tree);
  CHECK(tree.error().render() ==
        "idmapped mount of `/nonexistent/mkrun`: open_tree `/nonexistent/mkrun`: no such file or "
        "directory");
}

TEST_CASE("a bind source the init cannot reach is attached from a tree cloned by the parent",
          "[userns][root]") {
  if (!is_root()) return;
  // The notify directory's situation: under a 0700 directory of host root.
  TempDir state;
  REQUIRE(::chmod(state.path().c_str(), 0700) == 0);
  std::string source = state.path() + "/notify";
  REQUIRE(::mkdir(source.c_str(), 0755) == 0);
  std::ofstream(source + "/marker") << "x";
  auto tree = userns::clone_mount_tree(source, false);
  REQUIRE(tree);
  CHECK((::fcntl(tree->get(), F_GETFD) & FD_CLOEXEC) != 0);
  TempDir target;
  REQUIRE(::chmod(target.path().c_str(), 0777) == 0);
  // The init: new user and mount namespaces, root there, host uid 100000.
  ParkedProcess init(CLONE_NEWUSER | CLONE_NEWNS);
  REQUIRE(init.ok());
  REQUIRE(userns::write_id_maps(init.pid(), with_maps({{0, 100000, 65536}}, {{0, 100000, 65536}}),
                                false));
  // The attach itself runs in a second child that joins the parked one's namespaces.
  int status = in_child_process([&] {
    std::string base = "/proc/" + std::to_string(init.pid()) + "/ns/";
    int user = ::open((base + "user").c_str(), O_RDONLY | O_CLOEXEC);
    int mnt = ::open((base + "mnt").c_str(), O_RDONLY | O_CLOEXEC);
    if (user < 0 || mnt < 0 || ::setns(user, CLONE_NEWUSER) < 0 || ::setns(mnt, CLONE_NEWNS) < 0)
      return 10;
    if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0) return 11;
    if (::access((source + "/marker").c_str(), F_OK) == 0) return 12;  // really unreachable
    if (::mount(source.c_str(), target.path().c_str(), nullptr, MS_BIND, nullptr) == 0) return 13;
    int target_fd = ::open(target.path().c_str(), O_PATH | O_CLOEXEC);
    if (::syscall(SYS_move_mount, tree->get(), "", target_fd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
      return 14;
    }
    return ::access((target.path() + "/marker").c_str(), F_OK) == 0 ? 0 : 15;
  });
  CHECK(status == 0);
}
