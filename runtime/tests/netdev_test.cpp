#include "linux/netdev.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <catch2/catch.hpp>

#include "linux/loopback.hpp"
#include "linux_test_util.hpp"

using namespace mkrun;
using mkrun::test::Cleanup;
using mkrun::test::command_output;
using mkrun::test::in_child_process;
using mkrun::test::is_root;
using mkrun::test::ParkedProcess;
using mkrun::test::run_command;

namespace {

netdev::InterfaceAddress address(uint32_t flags, uint8_t scope) {
  netdev::InterfaceAddress a;
  a.family = AF_INET;
  a.flags = flags;
  a.scope = scope;
  return a;
}

// Short, per-process interface names (at most 15 bytes): "mkt<pid><suffix>".
std::string interface_name(const char* suffix) {
  return "mkt" + std::to_string(::getpid() % 100000) + suffix;
}

// `ip` inside the network namespace of `pid`.
std::string ip_in(pid_t pid, const std::string& arguments) {
  return command_output("nsenter --net=/proc/" + std::to_string(pid) + "/ns/net ip " + arguments);
}

bool lo_is_up() {
  ifreq request{};
  request.ifr_name[0] = 'l';
  request.ifr_name[1] = 'o';
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags & IFF_UP);
  if (fd >= 0) ::close(fd);
  return up;
}

}  // namespace

// ---- Pure rules -------------------------------------------------------------------------------

TEST_CASE("only permanent addresses of global scope move with a device", "[netdev]") {
  CHECK(netdev::moves_with_device(address(IFA_F_PERMANENT, RT_SCOPE_UNIVERSE)));
  CHECK(netdev::moves_with_device(address(IFA_F_PERMANENT | IFA_F_NODAD, RT_SCOPE_UNIVERSE)));
  CHECK_FALSE(netdev::moves_with_device(address(0, RT_SCOPE_UNIVERSE)));  // dynamic (SLAAC, DHCP)
  CHECK_FALSE(netdev::moves_with_device(address(IFA_F_PERMANENT, RT_SCOPE_LINK)));
  CHECK_FALSE(netdev::moves_with_device(address(IFA_F_PERMANENT, RT_SCOPE_HOST)));
}

TEST_CASE("a device keeps its host name unless the config renames it", "[netdev]") {
  CHECK(netdev::name_in_container("eth1", oci::NetDevice{}) == "eth1");
  CHECK(netdev::name_in_container("eth1", oci::NetDevice{"ctr0"}) == "ctr0");
}

// ---- Loopback (the init's part) ---------------------------------------------------------------

TEST_CASE("the loopback of a new network namespace is brought up", "[netdev][root]") {
  if (!is_root()) return;
  int status = in_child_process([] {
    if (::unshare(CLONE_NEWNET) < 0) return 10;
    if (lo_is_up()) return 11;  // a new namespace starts with lo down
    if (netdev::bring_loopback_up() != 0) return 12;
    if (!lo_is_up()) return 13;
    return netdev::bring_loopback_up() == 0 ? 0 : 14;  // already up: nothing to do
  });
  CHECK(status == 0);
}

TEST_CASE("the loopback comes up in a new user and network namespace too", "[netdev][root]") {
  if (!is_root()) return;
  // The init's situation with a user namespace: root there, nothing on the host.
  int status = in_child_process([] {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) return 10;
    if (netdev::bring_loopback_up() != 0) return 12;
    return lo_is_up() ? 0 : 13;
  });
  CHECK(status == 0);
}

// ---- Moving devices ---------------------------------------------------------------------------

TEST_CASE("a device moves into the container renamed, with its global addresses and MTU",
          "[netdev][root]") {
  if (!is_root()) return;
  std::string host_end = interface_name("a");
  std::string peer = interface_name("b");
  // Deleting the end left on the host deletes the pair; the moved end dies with its namespace.
  Cleanup remove_veth([&] {
    run_command("ip link del " + peer);
    run_command("ip link del " + host_end);
  });
  REQUIRE(run_command("ip link add " + host_end + " type veth peer name " + peer) == 0);
  REQUIRE(run_command("ip link set " + host_end + " mtu 1400 up") == 0);
  REQUIRE(run_command("ip addr add 10.213.77.1/24 dev " + host_end) == 0);
  REQUIRE(run_command("ip addr add 10.213.78.1/24 scope link dev " + host_end) == 0);
  bool ipv6 = ::access("/proc/net/if_inet6", F_OK) == 0;
  if (ipv6) REQUIRE(run_command("ip addr add 2001:db8:77::1/64 nodad dev " + host_end) == 0);

  ParkedProcess container(CLONE_NEWNET);
  REQUIRE(container.ok());
  REQUIRE(netdev::move_net_devices({{host_end, oci::NetDevice{"ctr0"}}}, container.pid()));

  CHECK(::if_nametoindex(host_end.c_str()) == 0);  // gone from the host
  std::string link = ip_in(container.pid(), "-o link show dev ctr0");
  CHECK(link.find("mtu 1400") != std::string::npos);
  CHECK(link.find(",UP") != std::string::npos);
  std::string addresses = ip_in(container.pid(), "-o addr show dev ctr0");
  CHECK(addresses.find("inet 10.213.77.1/24 scope global ctr0") != std::string::npos);
  CHECK(addresses.find("10.213.78.1") == std::string::npos);  // link scope stays behind
  if (ipv6) CHECK(addresses.find("inet6 2001:db8:77::1/64 scope global") != std::string::npos);
}

TEST_CASE("a device keeps its name when the config gives none", "[netdev][root]") {
  if (!is_root()) return;
  std::string host_end = interface_name("c");
  std::string peer = interface_name("d");
  Cleanup remove_veth([&] {
    run_command("ip link del " + peer);
    run_command("ip link del " + host_end);
  });
  REQUIRE(run_command("ip link add " + host_end + " type veth peer name " + peer) == 0);
  ParkedProcess container(CLONE_NEWNET);
  REQUIRE(container.ok());
  REQUIRE(netdev::move_net_devices({{host_end, oci::NetDevice{}}}, container.pid()));
  CHECK(ip_in(container.pid(), "-o link show dev " + host_end).find(host_end) != std::string::npos);
}

TEST_CASE("a moved virtual device is gone once the container's namespace is", "[netdev][root]") {
  if (!is_root()) return;
  std::string host_end = interface_name("e");
  std::string peer = interface_name("f");
  Cleanup remove_veth([&] {
    run_command("ip link del " + peer);
    run_command("ip link del " + host_end);
  });
  REQUIRE(run_command("ip link add " + host_end + " type veth peer name " + peer) == 0);
  {
    ParkedProcess container(CLONE_NEWNET);
    REQUIRE(container.ok());
    REQUIRE(netdev::move_net_devices({{host_end, oci::NetDevice{"ctr1"}}}, container.pid()));
  }
  // The namespace is destroyed asynchronously; the veth pair goes with it.
  for (int i = 0; i < 200 && ::if_nametoindex(peer.c_str()) != 0; ++i) ::usleep(10000);
  CHECK(::if_nametoindex(peer.c_str()) == 0);
  CHECK(::if_nametoindex(host_end.c_str()) == 0);
}

TEST_CASE("a device missing on the host fails with its name", "[netdev][root]") {
  if (!is_root()) return;
  ParkedProcess container(CLONE_NEWNET);
  REQUIRE(container.ok());
  auto moved =
      netdev::move_net_devices({{"mkt-missing0", oci::NetDevice{"ctr0"}}}, container.pid());
  REQUIRE_FALSE(moved);
  CHECK(moved.error().render() ==
        "move network device `mkt-missing0` into the container as `ctr0`: find `mkt-missing0` "
        "on the host: no such device");
}

TEST_CASE("a name already taken in the container fails and leaves the device on the host",
          "[netdev][root]") {
  if (!is_root()) return;
  std::string host_end = interface_name("g");
  std::string peer = interface_name("h");
  Cleanup remove_veth([&] {
    run_command("ip link del " + peer);
    run_command("ip link del " + host_end);
  });
  REQUIRE(run_command("ip link add " + host_end + " type veth peer name " + peer) == 0);
  ParkedProcess container(CLONE_NEWNET);
  REQUIRE(container.ok());
  auto moved = netdev::move_net_devices({{host_end, oci::NetDevice{"lo"}}}, container.pid());
  REQUIRE_FALSE(moved);
  CHECK(moved.error().render() == "move network device `" + host_end +
                                      "` into the container as `lo`: `lo` already exists in the "
                                      "container: file exists");
  CHECK(::if_nametoindex(host_end.c_str()) != 0);
}

TEST_CASE("no devices: nothing is opened, even for a pid that is gone", "[netdev]") {
  CHECK(netdev::move_net_devices({}, 999999999));
}
