// linux.netDevices: host interfaces moved into the container's network namespace, as runc 1.3
// does it (runc 1.1 has no netDevices): the device is set down, moved and renamed by one
// RTM_NEWLINK (IFLA_NET_NS_FD + IFLA_IFNAME: the kernel renames it inside the target namespace,
// so the new name never clashes on the host), its permanent global addresses are added again
// inside (the kernel drops addresses on a move), and it is set up. MTU and MAC address move with
// the device. A name already taken in the container is refused before anything moves.
//
// Runs in the parent, which must hold CAP_NET_ADMIN over both namespaces (root; an unprivileged
// mkrun gets EPERM). The loopback of a new network namespace is the init's job: loopback.hpp.
//
// Nothing moves the devices back: when the container's network namespace dies (its last process
// exits and nothing else holds it), the kernel returns physical devices to the initial namespace,
// under their current name (or "dev<ifindex>" if that name is taken), without their addresses;
// virtual ones (veth, macvlan, ...) are destroyed. A namespace joined by path outlives the
// container and keeps the device, as in runc: its owner decides.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::netdev {

// ---- Pure rules -------------------------------------------------------------------------------

// An address as the kernel reports it (RTM_NEWADDR), kept to be added again after the move.
struct InterfaceAddress {
  uint8_t family = 0;  // AF_INET, AF_INET6
  uint8_t prefix_length = 0;
  uint8_t scope = 0;   // RT_SCOPE_*
  uint32_t flags = 0;  // IFA_F_*
  // Raw attribute payloads; empty when the kernel did not send one.
  std::vector<uint8_t> local;      // IFA_LOCAL
  std::vector<uint8_t> address;    // IFA_ADDRESS
  std::vector<uint8_t> broadcast;  // IFA_BROADCAST
};

// runc's rule: only permanent addresses (configured, not autoconfigured or temporary) of global
// scope move with the device; link-local and host-scoped ones belong to the host's setup.
bool moves_with_device(const InterfaceAddress& address);

// The interface's name inside the container: `device.name`, or its host name when that is empty.
std::string name_in_container(const std::string& host_name, const oci::NetDevice& device);

// ---- Effects ----------------------------------------------------------------------------------

// Moves every linux.netDevices entry into the network namespace of `init_pid`.
//
// Call it in the parent once the init's network namespace exists and the init's pid is final:
// in spawn_init(), right after receiving sync::Kind::kRunHooks and before the prestart and
// createRuntime hooks run (runc moves devices before its hooks too). At kStarted the namespace
// may not exist yet (it is unshared after kGo when a user namespace is joined or created along
// with joined namespaces) and the init may still fork (kInitPid).
// Errors name the device: "move network device `eth1` into the container as `ctr0`: ...".
Result<void> move_net_devices(const std::map<std::string, oci::NetDevice>& devices, pid_t init_pid);

// One device into the network namespace `netns_fd` refers to (an fd of /proc/<pid>/ns/net or of
// a bind-mounted namespace).
Result<void> move_net_device(const std::string& host_name, const oci::NetDevice& device,
                             int netns_fd);

}  // namespace mkrun::netdev
