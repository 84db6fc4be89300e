// The Manager on fake hierarchies (plain directories and files in a temporary directory, named
// by synthetic mountinfo), plus one test on the real cgroups when run as root.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "cgroups/manager.hpp"
#include "cgroups/tests/fake_tree.hpp"

namespace mkrun::cgroups {
namespace {

namespace fs = std::filesystem;

// REQUIRE that shows the error's text.
template <class T>
void require_ok(const Result<T>& result) {
  if (!result) FAIL(result.error().render());
}

Host host_of(std::string_view mountinfo, std::string_view proc_cgroup = "0::/\n",
             std::string_view unified_controllers = {}) {
  auto host = parse_host(mountinfo, proc_cgroup, unified_controllers);
  REQUIRE(host);
  return *host;
}

std::unique_ptr<Manager> manager_of(const Host& host, std::string_view cgroups_path) {
  auto path = resolve_cgroups_path(cgroups_path, "ctr", false);
  REQUIRE(path);
  auto manager = plan_new_cgroup(host, *path, Driver::kCgroupfs);
  REQUIRE(manager);
  return std::move(*manager);
}

// A pure v1 host: memory, pids, devices, freezer, blkio, cpu+cpuacct and name=systemd.
std::string v1_mountinfo(const FakeTree& tree) {
  return tree.mount("memory", "cgroup", "rw,memory") + tree.mount("pids", "cgroup", "rw,pids") +
         tree.mount("devices", "cgroup", "rw,devices") +
         tree.mount("freezer", "cgroup", "rw,freezer") + tree.mount("blkio", "cgroup", "rw,blkio") +
         tree.mount("cpu,cpuacct", "cgroup", "rw,cpu,cpuacct") +
         tree.mount("systemd", "cgroup", "rw,name=systemd") +
         tree.mount("perf", "cgroup", "rw,misc");  // not a hierarchy runc joins
}

TEST_CASE("Manager plans one directory per joined hierarchy", "[cgroups]") {
  FakeTree tree;
  Host host = host_of(v1_mountinfo(tree), "4:memory:/process_api/x\n");
  auto absolute = manager_of(host, "/docker/abc");
  CHECK(absolute->directories() ==
        std::vector<std::string>{tree.path("memory/docker/abc"), tree.path("pids/docker/abc"),
                                 tree.path("devices/docker/abc"), tree.path("freezer/docker/abc"),
                                 tree.path("blkio/docker/abc"), tree.path("cpu,cpuacct/docker/abc"),
                                 tree.path("systemd/docker/abc")});
  CHECK(absolute->directory_of("cpuacct") == tree.path("cpu,cpuacct/docker/abc"));
  CHECK(absolute->directory_of("name=systemd") == tree.path("systemd/docker/abc"));
  CHECK(absolute->directory_of("").empty());
  CHECK(absolute->directory_of("hugetlb").empty());
  CHECK(absolute->layout() == Layout::kV1);

  // Relative (and the default): under this process's own cgroup in each hierarchy.
  auto relative = manager_of(host, "");
  CHECK(relative->directory_of("memory") == tree.path("memory/process_api/x/ctr"));
  CHECK(relative->directory_of("pids") == tree.path("pids/ctr"));
}

TEST_CASE("Manager create, apply, add_process and pids on a v1 tree", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/docker/abc");
  REQUIRE(manager->create());
  CHECK(fs::is_directory(tree.path("memory/docker/abc")));
  CHECK(fs::is_directory(tree.path("systemd/docker/abc")));
  CHECK_FALSE(tree.exists("perf/docker"));

  // The kernel would provide these files.
  for (std::string_view file :
       {"memory/docker/abc/memory.limit_in_bytes", "memory/docker/abc/memory.swappiness",
        "pids/docker/abc/pids.max", "cpu,cpuacct/docker/abc/cpu.shares",
        "devices/docker/abc/devices.allow", "devices/docker/abc/devices.deny",
        "blkio/docker/abc/blkio.weight"}) {
    tree.touch(file);
  }
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = -1;  // memsw is absent here: skipped
  resources.memory->swappiness = 10;
  resources.pids = oci::PidsResources{64};
  resources.cpu.emplace();
  resources.cpu->shares = 512;
  resources.blockIO.emplace();
  resources.blockIO->weight = 300;  // no blkio.bfq.weight: falls back to blkio.weight
  resources.devices = {{true, "c", 1, 3, "rwm"}};
  auto applied = manager->apply(resources, false);
  require_ok(applied);
  CHECK(tree.read("memory/docker/abc/memory.limit_in_bytes") == "-1");
  CHECK(tree.read("memory/docker/abc/memory.swappiness") == "10");
  CHECK_FALSE(tree.exists("memory/docker/abc/memory.memsw.limit_in_bytes"));
  CHECK(tree.read("pids/docker/abc/pids.max") == "64");
  CHECK(tree.read("cpu,cpuacct/docker/abc/cpu.shares") == "512");
  CHECK(tree.read("blkio/docker/abc/blkio.weight") == "300");
  CHECK(tree.read("devices/docker/abc/devices.deny") == "a");
  // Consecutive writes to one file go through one open file: a plain file keeps them all, in
  // order (cgroupfs takes each as one rule): the spec's rule, then the defaults.
  CHECK(tree.read("devices/docker/abc/devices.allow") ==
        "c 1:3 rwmc *:* mb *:* mc 1:3 rwmc 1:8 rwmc 1:7 rwmc 5:0 rwmc 1:5 rwmc 1:9 rwm"
        "c 136:* rwmc 5:2 rwmc 10:200 rwm");

  for (std::string_view dir :
       {"memory", "pids", "devices", "freezer", "blkio", "cpu,cpuacct", "systemd"}) {
    tree.touch(std::string(dir) + "/docker/abc/cgroup.procs");
  }
  REQUIRE(manager->add_process(4242));
  CHECK(tree.read("systemd/docker/abc/cgroup.procs") == "4242");
  CHECK(tree.read("cpu,cpuacct/docker/abc/cgroup.procs") == "4242");

  // pids() reads the pids hierarchy, sub-cgroups included.
  tree.touch("pids/docker/abc/cgroup.procs", "1\n22\n");
  tree.touch("pids/docker/abc/sub/cgroup.procs", "333\n");
  auto pids = manager->pids();
  REQUIRE(pids);
  CHECK(*pids == std::vector<pid_t>{1, 22, 333});
}

TEST_CASE("Manager write errors name the file and the value", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  REQUIRE(manager->create());
  oci::Resources resources;
  resources.pids = oci::PidsResources{64};
  auto applied = manager->update(resources);  // update: no device rules
  REQUIRE_FALSE(applied);
  CHECK(applied.error().what() == "write `" + tree.path("pids/c/pids.max") + "` (value 64)");
  CHECK(applied.error().errc() == ENOENT);
}

// A kernel before 5.14 has no burst file, before 5.15 no cpu.idle: runc 1.5 ignores the v1 burst
// file's absence and fails on the others, naming the file.
TEST_CASE("Manager: cpu burst and idle where the kernel lacks the files", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  REQUIRE(manager->create());
  tree.touch("cpu,cpuacct/c/cpu.cfs_quota_us");
  oci::Resources resources;
  resources.cpu.emplace().burst = 1000;
  resources.cpu->quota = 5000;
  require_ok(manager->update(resources));
  CHECK(tree.read("cpu,cpuacct/c/cpu.cfs_quota_us") == "5000");
  CHECK_FALSE(tree.exists("cpu,cpuacct/c/cpu.cfs_burst_us"));
  resources.cpu->idle = 1;
  auto refused = manager->update(resources);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().what() == "write `" + tree.path("cpu,cpuacct/c/cpu.idle") + "` (value 1)");
  CHECK(refused.error().errc() == ENOENT);

  FakeTree v2_tree;
  std::string mountinfo = v2_tree.mount("v2", "cgroup2", "rw,nsdelegate");
  v2_tree.touch("v2/cgroup.controllers", "cpu\n");
  v2_tree.touch("v2/cgroup.subtree_control");
  auto v2 = manager_of(host_of(mountinfo, "0::/user.slice\n", "cpu"), "/c");
  REQUIRE(v2->create());
  oci::Resources burst;
  burst.cpu.emplace().burst = 1000;
  auto v2_refused = v2->update(burst);
  REQUIRE_FALSE(v2_refused);
  CHECK(v2_refused.error().what() ==
        "write `" + v2_tree.path("v2/c/cpu.max.burst") + "` (value 1000)");
}

TEST_CASE("Manager rootless: device rules are tried, the other limits must hold", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  REQUIRE(manager->create());
  tree.touch("pids/c/pids.max");  // no devices.allow/deny: writing the device rules fails
  oci::Resources resources;
  resources.pids = oci::PidsResources{64};

  auto as_root = manager->apply(resources, false);
  REQUIRE_FALSE(as_root);
  CHECK(as_root.error().what().starts_with("write `" + tree.path("devices/c/devices.")));

  require_ok(manager->apply(resources, /*rootless=*/true));
  CHECK(tree.read("pids/c/pids.max") == "64");

  std::filesystem::remove(tree.path("pids/c/pids.max"));
  auto without_pids = manager->apply(resources, /*rootless=*/true);
  REQUIRE_FALSE(without_pids);
  CHECK(without_pids.error().what() == "write `" + tree.path("pids/c/pids.max") + "` (value 64)");
}

TEST_CASE("Manager refuses settings whose controller the host lacks", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  oci::Resources resources;
  resources.hugepageLimits = {{"2MB", 0}};
  auto applied = manager->update(resources);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().render() ==
        "cannot set `linux.resources.hugepageLimits`: this host has no `hugetlb` cgroup "
        "controller");

  resources = {};
  resources.unified = {{"memory.high", "1"}};
  applied = manager->update(resources);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().render() ==
        "invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified needs a "
        "pure cgroup v2 host)");

  // Unset values need no controller.
  resources = {};
  resources.hugepageLimits.clear();
  resources.network = oci::NetworkResources{};
  CHECK(manager->update(resources));
}

TEST_CASE("Manager on hybrid: controllers only cgroup2 has go to the unified dir", "[cgroups]") {
  FakeTree tree;
  std::string mountinfo = tree.mount("memory", "cgroup", "rw,memory") +
                          tree.mount("devices", "cgroup", "rw,devices") +
                          tree.mount("unified", "cgroup2", "rw");
  auto manager = manager_of(host_of(mountinfo, "0::/\n", "hugetlb"), "/c");
  CHECK(manager->layout() == Layout::kHybrid);
  CHECK(manager->directory_of("") == tree.path("unified/c"));
  CHECK(manager->directory_of("hugetlb") == tree.path("unified/c"));
  REQUIRE(manager->create());
  CHECK(fs::is_directory(tree.path("unified/c")));
  CHECK_FALSE(tree.exists("unified/cgroup.subtree_control"));  // create() leaves hybrid alone

  tree.touch("unified/cgroup.subtree_control");
  tree.touch("unified/c/hugetlb.2MB.max");
  tree.touch("memory/c/memory.limit_in_bytes");
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = 1048576;
  resources.hugepageLimits = {{"2MB", 4194304}};
  auto applied = manager->update(resources);
  require_ok(applied);
  CHECK(tree.read("memory/c/memory.limit_in_bytes") == "1048576");
  CHECK(tree.read("unified/c/hugetlb.2MB.max") == "4194304");
  CHECK(tree.read("unified/cgroup.subtree_control") == "+hugetlb");

  // The unified map is refused on hybrid hosts too, as runc refuses it.
  resources = {};
  resources.unified = {{"hugetlb.1GB.max", "0"}};
  applied = manager->update(resources);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().render() ==
        "invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified needs a "
        "pure cgroup v2 host)");

  resources = {};
  resources.network = oci::NetworkResources{7, {}};
  applied = manager->update(resources);
  REQUIRE_FALSE(applied);
  CHECK(applied.error().render() ==
        "cannot set `linux.resources.network.classID`: this host has no `net_cls` cgroup "
        "controller");

  tree.touch("memory/c/cgroup.procs");
  tree.touch("devices/c/cgroup.procs");
  tree.touch("unified/c/cgroup.procs");
  REQUIRE(manager->add_process(77));
  CHECK(tree.read("unified/c/cgroup.procs") == "77");
  CHECK(tree.read("memory/c/cgroup.procs") == "77");
  auto fd = manager->open_unified_dir();
  REQUIRE(fd);
  CHECK(*fd);  // hybrid clones into its unified cgroup too
  CHECK(manager->v1_task_files() ==
        std::vector<std::string>{tree.path("memory/c/tasks"), tree.path("devices/c/tasks")});
}

// runc 1.5 signalAllProcesses: cgroup.kill in the unified directory on hybrid hosts too. The v1
// listing that follows finds the fake's empty cgroup.procs, and signals no real process.
TEST_CASE("Manager on hybrid: SIGKILL goes through the unified cgroup.kill", "[cgroups]") {
  FakeTree tree;
  std::string mountinfo =
      tree.mount("memory", "cgroup", "rw,memory") + tree.mount("unified", "cgroup2", "rw");
  auto manager = manager_of(host_of(mountinfo, "0::/\n", ""), "/c");
  REQUIRE(manager->layout() == Layout::kHybrid);
  REQUIRE(manager->create());
  tree.touch("memory/c/cgroup.procs");
  require_ok(manager->kill_all(SIGKILL));  // a kernel without cgroup.kill: the listing alone
  CHECK_FALSE(tree.exists("unified/c/cgroup.kill"));
  tree.touch("unified/c/cgroup.kill");
  require_ok(manager->kill_all(SIGTERM));  // only SIGKILL has a kill file
  CHECK(tree.read("unified/c/cgroup.kill").empty());
  require_ok(manager->kill_all(SIGKILL));
  CHECK(tree.read("unified/c/cgroup.kill") == "1");
}

TEST_CASE("Manager on pure v2", "[cgroups]") {
  FakeTree tree;
  std::string mountinfo = tree.mount("v2", "cgroup2", "rw,nsdelegate");
  tree.touch("v2/cgroup.controllers", "cpu io memory pids\n");
  tree.touch("v2/cgroup.subtree_control");
  auto manager = manager_of(host_of(mountinfo, "0::/user.slice\n", "cpu io memory pids"), "/a/b");
  CHECK(manager->layout() == Layout::kV2);
  CHECK(manager->directories() == std::vector<std::string>{tree.path("v2/a/b")});
  CHECK(manager->directory_of("memory") == tree.path("v2/a/b"));
  REQUIRE(manager->create());
  CHECK(fs::is_directory(tree.path("v2/a/b")));
  // Every controller the root offers; v2/a has no cgroup.controllers in the fake, so it is left.
  CHECK(tree.read("v2/cgroup.subtree_control") == "+cpu +io +memory +pids");

  for (std::string_view file : {"memory.max", "memory.swap.max", "cpu.weight", "cpu.max"}) {
    tree.touch("v2/a/b/" + std::string(file));
  }
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = 1048576;
  resources.memory->swap = 3145728;
  resources.cpu.emplace();
  resources.cpu->shares = 1024;
  resources.cpu->quota = 50000;
  resources.cpu->period = 100000;
  resources.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"}};  // eBPF, not here
  auto applied = manager->apply(resources, false);
  require_ok(applied);
  CHECK(tree.read("v2/a/b/memory.max") == "1048576");
  CHECK(tree.read("v2/a/b/memory.swap.max") == "2097152");
  CHECK(tree.read("v2/a/b/cpu.weight") == "39");
  CHECK(tree.read("v2/a/b/cpu.max") == "50000 100000");

  resources = {};
  resources.hugepageLimits = {{"2MB", 0}};
  auto refused = manager->apply(resources, false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render() ==
        "cannot set `linux.resources.hugepageLimits`: this host has no `hugetlb` cgroup "
        "controller");

  auto fd = manager->open_unified_dir();
  REQUIRE(fd);
  REQUIRE(*fd);
  struct stat by_fd, by_path;
  REQUIRE(::fstat(fd->get(), &by_fd) == 0);
  REQUIRE(::stat(tree.path("v2/a/b").c_str(), &by_path) == 0);
  CHECK(by_fd.st_ino == by_path.st_ino);
  CHECK((::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC) != 0);

  tree.touch("v2/a/b/cgroup.kill");
  REQUIRE(manager->kill_all(SIGKILL));
  CHECK(tree.read("v2/a/b/cgroup.kill") == "1");

  tree.touch("v2/a/b/cgroup.freeze");
  REQUIRE(manager->freeze());  // no cgroup.events in the fake: nothing to wait for
  CHECK(manager->is_frozen().value());
  REQUIRE(manager->thaw());
  CHECK_FALSE(manager->is_frozen().value());
}

TEST_CASE("Manager freezes through the v1 freezer", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  REQUIRE(manager->create());
  tree.touch("freezer/c/freezer.state", "THAWED\n");
  REQUIRE(manager->freeze());
  CHECK(tree.read("freezer/c/freezer.state") == "FROZEN");
  CHECK(manager->is_frozen().value());
  REQUIRE(manager->thaw());
  CHECK(tree.read("freezer/c/freezer.state") == "THAWED");
}

TEST_CASE("Manager destroy removes the cgroup and its sub-cgroups only", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/docker/abc");
  REQUIRE(manager->create());
  fs::create_directories(tree.path("memory/docker/abc/inner/deeper"));
  auto destroyed = manager->destroy();
  require_ok(destroyed);
  CHECK_FALSE(tree.exists("memory/docker/abc"));
  CHECK_FALSE(tree.exists("systemd/docker/abc"));
  CHECK(fs::is_directory(tree.path("memory/docker")));  // parents are not the container's
  CHECK(manager->destroy());                            // already gone: fine

  auto pids = manager->pids();
  REQUIRE(pids);
  CHECK(pids->empty());
  CHECK(manager->kill_all(SIGTERM));  // nothing to signal
}

TEST_CASE("Manager destroy reports what it cannot remove", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/c");
  REQUIRE(manager->create());
  tree.touch("pids/c/pids.max");  // a plain file: rmdir fails as it never would on cgroupfs
  auto destroyed = manager->destroy();
  REQUIRE_FALSE(destroyed);
  CHECK(destroyed.error().what() == "remove cgroup `" + tree.path("pids/c") + "`");
  CHECK(destroyed.error().errc() == ENOTEMPTY);
  CHECK_FALSE(tree.exists("memory/c"));  // the other hierarchies were still cleaned
}

TEST_CASE("Manager create undoes its directories when a level fails", "[cgroups]") {
  FakeTree tree;
  auto manager = manager_of(host_of(v1_mountinfo(tree)), "/docker/abc");
  tree.touch("blkio/docker");  // a file where a directory must go
  auto created = manager->create();
  REQUIRE_FALSE(created);
  CHECK(created.error().what() == "create cgroup `" + tree.path("blkio/docker/abc") + "`");
  CHECK(created.error().errc() == ENOTDIR);
  CHECK_FALSE(tree.exists("memory/docker"));
  CHECK_FALSE(tree.exists("pids/docker"));
}

TEST_CASE("Manager copies empty cpuset.cpus and mems down from the parent", "[cgroups]") {
  FakeTree tree;
  std::string mountinfo = tree.mount("cpuset", "cgroup", "rw,cpuset");
  tree.touch("cpuset/cpuset.cpus", "0-3\n");
  tree.touch("cpuset/cpuset.mems", "0\n");
  // A level that exists already, with cpus set and mems empty (the kernel makes both files with
  // each directory, which a fake cannot; the real-host test covers new levels).
  tree.touch("cpuset/docker/cpuset.cpus", "1\n");
  tree.touch("cpuset/docker/cpuset.mems");
  auto manager = manager_of(host_of(mountinfo), "/docker");
  REQUIRE(manager->create());
  CHECK(tree.read("cpuset/docker/cpuset.cpus") == "1\n");  // already set: kept
  CHECK(tree.read("cpuset/docker/cpuset.mems") == "0");    // empty: copied from the root

  // A new level without the files fails, and is undone.
  auto deeper = manager_of(host_of(mountinfo), "/docker/abc");
  auto created = deeper->create();
  REQUIRE_FALSE(created);
  CHECK(created.error().what() == "read `" + tree.path("cpuset/docker/abc/cpuset.cpus") + "`");
  CHECK(created.error().errc() == ENOENT);
  CHECK_FALSE(tree.exists("cpuset/docker/abc"));
}

TEST_CASE("Manager record and open_cgroup round-trip", "[cgroups]") {
  FakeTree tree;
  std::string mountinfo = tree.mount("memory", "cgroup", "rw,memory") +
                          tree.mount("unified", "cgroup2", "rw") +
                          tree.mount("unified/nested", "cgroup", "rw,pids");
  Host host = host_of(mountinfo, "0::/\n", "hugetlb");
  auto manager = manager_of(host, "/c");
  state::CgroupRecord record = manager->record();
  CHECK(record.driver == "cgroupfs");
  CHECK(record.owned);
  CHECK(record.directories == std::vector<std::string>{tree.path("memory/c"),
                                                       tree.path("unified/c"),
                                                       tree.path("unified/nested/c")});
  auto reopened = open_cgroup(host, record);
  REQUIRE(reopened);
  CHECK((*reopened)->directories() == record.directories);
  CHECK((*reopened)->directory_of("pids") == tree.path("unified/nested/c"));  // deepest mount
  CHECK((*reopened)->directory_of("") == tree.path("unified/c"));

  // A cgroup mkrun does not own survives destroy.
  REQUIRE(manager->create());
  record.owned = false;
  auto joined = open_cgroup(host, record);
  REQUIRE(joined);
  REQUIRE((*joined)->destroy());
  CHECK(tree.exists("memory/c"));
  REQUIRE(manager->destroy());

  record.directories = {"/elsewhere/c"};
  auto lost = open_cgroup(host, record);
  REQUIRE_FALSE(lost);
  CHECK(lost.error().render() ==
        "the container's cgroup `/elsewhere/c` is on no cgroup hierarchy mounted now");
  CHECK(open_cgroup(host, state::CgroupRecord{"cgroupfs", {}, true}));
}

// ---- the real thing --------------------------------------------------------------------------

// Kills the child and removes the cgroup whatever happens in the test.
class RealCgroupGuard {
 public:
  explicit RealCgroupGuard(Manager& manager) : manager_(manager) {}
  ~RealCgroupGuard() {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    (void)manager_.thaw();
    (void)manager_.destroy();
  }
  RealCgroupGuard(const RealCgroupGuard&) = delete;
  RealCgroupGuard& operator=(const RealCgroupGuard&) = delete;
  void set_child(pid_t child) { child_ = child; }
  pid_t reap() {
    pid_t child = std::exchange(child_, 0);
    return ::waitpid(child, nullptr, 0);
  }

 private:
  Manager& manager_;
  pid_t child_ = 0;
};

TEST_CASE("Manager on this host's real cgroups (root only)", "[cgroups][root]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  auto host = detect_host();
  REQUIRE(host);
  if (!host->v1_with("memory") && !host->unified()) {
    WARN("skipped: no memory controller");
    return;
  }
  // v1 and hybrid: relative, under this process's own cgroup, as runc's default is. Pure v2:
  // from the root, since a cgroup with processes (ours) cannot pass controllers down.
  std::string name = "mkrun-unit-test-" + std::to_string(::getpid());
  if (host->layout == Layout::kV2) name.insert(0, "/");
  auto path = resolve_cgroups_path(name, "", false);
  REQUIRE(path);
  auto planned = plan_new_cgroup(*host, *path, Driver::kCgroupfs);
  REQUIRE(planned);
  std::unique_ptr<Manager> manager = std::move(*planned);
  RealCgroupGuard guard(*manager);

  auto created = manager->create();
  require_ok(created);
  for (const std::string& dir : manager->directories()) CHECK(fs::is_directory(dir));

  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = 64 << 20;
  resources.pids = oci::PidsResources{32};
  auto applied = manager->apply(resources, false);
  require_ok(applied);
  std::string memory_dir = manager->directory_of("memory");
  std::ifstream limit_file(
      memory_dir + (host->layout == Layout::kV2 ? "/memory.max" : "/memory.limit_in_bytes"));
  uint64_t limit = 0;
  limit_file >> limit;
  CHECK(limit == 64u << 20);
  std::string pids_dir = manager->directory_of("pids");
  if (!pids_dir.empty()) {
    std::ifstream pids_file(pids_dir + "/pids.max");
    std::string pids_max;
    pids_file >> pids_max;
    CHECK(pids_max == "32");
  }

  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  guard.set_child(child);
  auto added = manager->add_process(child);
  require_ok(added);
  auto pids = manager->pids();
  REQUIRE(pids);
  CHECK(*pids == std::vector<pid_t>{child});

  REQUIRE(manager->kill_all(SIGKILL));
  CHECK(guard.reap() == child);
  auto destroyed = manager->destroy();
  require_ok(destroyed);
  for (const std::string& dir : manager->directories()) CHECK_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace mkrun::cgroups
