#include "container/criu_args.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

using namespace mkrun::runtime;
using namespace mkrun::runtime::internal::criu;

namespace {

bool has_sequence(const std::vector<std::string>& args, std::vector<std::string> wanted) {
  return std::ranges::search(args, wanted).begin() != args.end();
}

bool has(const std::vector<std::string>& args, const std::string& wanted) {
  return std::ranges::find(args, wanted) != args.end();
}

mkrun::oci::Spec spec_with_mounts() {
  mkrun::oci::Spec spec;
  spec.mounts.push_back({"/proc", "proc", "proc", {}, {}, {}});
  spec.mounts.push_back({"/data/", "bind", "/srv/data", {"rbind", "ro"}, {}, {}});
  spec.mounts.push_back({"/etc/hosts", "none", "hosts", {"bind"}, {}, {}});
  spec.linux.emplace();
  spec.linux->maskedPaths = {"/proc/kcore"};
  return spec;
}

}  // namespace

TEST_CASE("dump: runc's options as criu's command line", "[criu]") {
  CheckpointOptions options;
  options.criu.shell_job = true;
  options.criu.manage_cgroups_mode = "full";
  options.leave_running = true;
  DumpPlan plan;
  plan.criu = "criu";
  plan.options = &options;
  plan.pid = 42;
  plan.image_dir = "/img";
  plan.work_dir = "/work";
  plan.rootfs = "/b/rootfs";
  plan.freeze_cgroup = "/sys/fs/cgroup/c1";
  plan.mounts = {{"/data", "/data"}};
  const auto args = dump_arguments(plan);
  CHECK(has_sequence(args, {"criu", "dump", "--tree", "42", "--images-dir", "/img"}));
  CHECK(has_sequence(args, {"--log-file", "dump.log"}));
  CHECK(has_sequence(args, {"--root", "/b/rootfs"}));
  CHECK(has_sequence(args, {"--work-dir", "/work"}));
  CHECK(has(args, "--manage-cgroups=full"));
  CHECK(has(args, "--shell-job"));
  CHECK(has(args, "--leave-running"));
  CHECK_FALSE(has(args, "--tcp-established"));
  CHECK(has_sequence(args, {"--empty-ns", "net"}));  // runc always leaves the network out
  CHECK(has_sequence(args, {"--freeze-cgroup", "/sys/fs/cgroup/c1"}));
  CHECK(has_sequence(args, {"--external", "mnt[/data]:/data"}));
}

TEST_CASE("pre-dump: the parent images, memory tracking, no mounts", "[criu]") {
  CheckpointOptions options;
  options.pre_dump = true;
  options.parent_path = "../pre1";
  DumpPlan plan;
  plan.criu = "/usr/sbin/criu";
  plan.options = &options;
  plan.pid = 7;
  plan.mounts = {{"/data", "/data"}};
  plan.page_server_address = "10.0.0.1";
  plan.page_server_port = 27;
  const auto args = dump_arguments(plan);
  CHECK(has_sequence(args, {"/usr/sbin/criu", "pre-dump"}));
  CHECK(has_sequence(args, {"--prev-images-dir", "../pre1", "--track-mem"}));
  CHECK(has_sequence(args, {"--page-server", "--address", "10.0.0.1", "--port", "27"}));
  CHECK(has(args, "--manage-cgroups"));
  CHECK_FALSE(has(args, "--external"));
}

TEST_CASE("restore: detached sibling, cgroup root, mounts and inherited fds", "[criu]") {
  RestoreOptions options;
  options.criu.tcp_established = true;
  options.lsm_profile = "apparmor:x";
  RestorePlan plan;
  plan.criu = "criu";
  plan.options = &options;
  plan.image_dir = "/img";
  plan.root = "/run/mkrun/c1/criu-root";
  plan.pid_file = "/run/mkrun/c1/criu-restore.pid";
  plan.cgroup_roots = {"/mkrun-c1"};
  plan.mounts = {{"/data", "/srv/data"}};
  plan.inherited = {{1, "pipe:[99]"}, {3, "extRootNetNS"}};
  plan.joined = {{"uts", "/proc/1/ns/uts"}};
  const auto args = restore_arguments(plan);
  CHECK(has_sequence(args, {"criu", "restore", "--images-dir", "/img"}));
  CHECK(has_sequence(args, {"--log-file", "restore.log"}));
  CHECK(has_sequence(args, {"--root", "/run/mkrun/c1/criu-root"}));
  CHECK(has_sequence(args, {"--pidfile", "/run/mkrun/c1/criu-restore.pid"}));
  CHECK(has(args, "--restore-detached"));
  CHECK(has(args, "--restore-sibling"));
  CHECK(has(args, "--tcp-established"));
  CHECK(has_sequence(args, {"--lsm-profile", "apparmor:x"}));
  CHECK(has_sequence(args, {"--cgroup-root", "/mkrun-c1"}));
  CHECK(has_sequence(args, {"--external", "mnt[/data]:/srv/data"}));
  CHECK(has_sequence(args, {"--inherit-fd", "fd[1]:pipe:[99]"}));
  CHECK(has_sequence(args, {"--inherit-fd", "fd[3]:extRootNetNS"}));
  CHECK(has_sequence(args, {"--join-ns", "uts:/proc/1/ns/uts"}));
}

TEST_CASE("external mounts: binds, masked files and devices, as runc names them", "[criu]") {
  const auto spec = spec_with_mounts();
  const auto dumped = dump_mounts(spec, {"/proc/kcore"});
  CHECK(std::ranges::find(dumped, ExternalMount{"/data", "/data"}) != dumped.end());
  CHECK(std::ranges::find(dumped, ExternalMount{"/etc/hosts", "/etc/hosts"}) != dumped.end());
  CHECK(std::ranges::find(dumped, ExternalMount{"/proc/kcore", "/dev/null"}) != dumped.end());
  CHECK(std::ranges::find(dumped, ExternalMount{"/dev/tty", "/dev/tty"}) != dumped.end());
  CHECK(std::ranges::none_of(dumped, [](const auto& m) { return m.key == "/proc"; }));
  const auto restored = restore_mounts(spec, "/bundle");
  CHECK(std::ranges::find(restored, ExternalMount{"/data", "/srv/data"}) != restored.end());
  CHECK(std::ranges::find(restored, ExternalMount{"/etc/hosts", "/bundle/hosts"}) !=
        restored.end());
  CHECK(std::ranges::count(restored, std::string("/dev/null"), &ExternalMount::key) == 1);
}

TEST_CASE("runc's checks of the criu flags", "[criu]") {
  CHECK(check_manage_cgroups_mode(""));
  CHECK(check_manage_cgroups_mode("ignore"));
  REQUIRE_FALSE(check_manage_cgroups_mode("bogus"));
  CHECK(check_manage_cgroups_mode("bogus").error().what() == "Invalid manage-cgroups-mode value");
  CHECK(check_empty_ns({"network"}));
  CHECK(check_empty_ns({"ipc"}).error().what() == "namespace \"ipc\" is not supported");
  CHECK(*parse_page_server("10.1.2.3:5000") == std::pair<std::string, int>{"10.1.2.3", 5000});
  CHECK(*parse_page_server("[::1]:80") == std::pair<std::string, int>{"::1", 80});
  CHECK(parse_page_server("10.1.2.3").error().what() ==
        "Use --page-server ADDRESS:PORT to specify page server");
  CHECK(parse_page_server(":80").error().what() ==
        "Use --page-server ADDRESS:PORT to specify page server");
  CHECK(parse_page_server("h:x").error().what() == "Invalid port number");
  CHECK(check_parent_path("../a"));
  CHECK(check_parent_path("/a").error().what() == "--parent-path must be relative");
}

TEST_CASE("criu's version and the errors of its log", "[criu]") {
  CHECK(*parse_criu_version("Version: 3.17.1\n") == 31701);
  CHECK(*parse_criu_version("Version: 3.19\nGitID: v3.19\n") == 31900);
  CHECK_FALSE(parse_criu_version("criu: not found"));
  const std::string log =
      "(00.001) one\n(00.002) two\n(00.003) three\n(00.004) four\n(00.005) five\n"
      "(00.006) six\n(00.007) Error (criu/mount.c:1): bad\n(00.008) after\n";
  const auto lines = error_lines(log);
  REQUIRE(lines.size() == 6);
  CHECK(lines.front() == "2:(00.002) two");
  CHECK(lines.back() == "7:(00.007) Error (criu/mount.c:1): bad");
  CHECK(error_lines("all good\n").empty());
}
