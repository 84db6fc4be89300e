#include "linux/netdev.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "mkrun/base/fd.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::netdev {

// ---- Pure rules -------------------------------------------------------------------------------

bool moves_with_device(const InterfaceAddress& address) {
  return (address.flags & IFA_F_PERMANENT) != 0 && address.scope == RT_SCOPE_UNIVERSE;
}

std::string name_in_container(const std::string& host_name, const oci::NetDevice& device) {
  return device.name.empty() ? host_name : device.name;
}

namespace {

// ---- rtnetlink --------------------------------------------------------------------------------

// One NETLINK_ROUTE socket, bound to the network namespace it was opened in. libmnl builds and
// parses the messages; the socket itself is a plain UniqueFd, so it is O_CLOEXEC and closed once.
class RouteSocket {
 public:
  static Result<RouteSocket> open_here() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return fail_errno("open an rtnetlink socket");
    return RouteSocket(UniqueFd(fd));
  }

  // A socket inside the network namespace `netns_fd`: enter it, open the socket, come back. A
  // socket stays in the namespace it was made in. mkrun is single-threaded, so this thread's
  // namespace is the process's and nothing else runs while it is switched.
  static Result<RouteSocket> open_in(int netns_fd) {
    auto own = MKRUN_TRY(files::open("/proc/thread-self/ns/net", O_RDONLY));
    if (::setns(netns_fd, CLONE_NEWNET) < 0) {
      return fail_errno("enter the container's network namespace");
    }
    auto socket = open_here();
    // Failing to come back would leave mkrun (and the hooks it runs) in the container's network:
    // the error ends the create, whose cleanup does not depend on the network namespace.
    if (::setns(own.get(), CLONE_NEWNET) < 0) {
      return fail_errno("return to mkrun's network namespace");
    }
    return socket;
  }

  // Sends `request` and reads until the kernel's acknowledgement (or NLMSG_DONE for a dump);
  // every data message on the way goes to `on_reply`. `what` names the request in errors.
  Result<void> transact(nlmsghdr* request, const std::string& what, mnl_cb_t on_reply = nullptr,
                        void* data = nullptr) {
    request->nlmsg_flags |= NLM_F_REQUEST;
    if ((request->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) request->nlmsg_flags |= NLM_F_ACK;
    request->nlmsg_seq = ++sequence_;
    if (::send(fd_.get(), request, request->nlmsg_len, 0) < 0) return fail_errno(what);
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno(what);
      int result = mnl_cb_run(buffer_.data(), static_cast<size_t>(n), sequence_, 0, on_reply, data);
      if (result == MNL_CB_ERROR) return fail_errno(what);
      if (result == MNL_CB_STOP) return {};
    }
  }

 private:
  explicit RouteSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  uint32_t sequence_ = 0;
  // Large enough for a multipart dump batch; the kernel sizes them to the reader's buffer.
  std::vector<char> buffer_ = std::vector<char>(32768);
};

// Room for one request: a header, an ifinfomsg/ifaddrmsg and a few attributes.
struct RequestBuffer {
  alignas(nlmsghdr) std::array<char, 512> bytes{};

  template <class Extra>
  Extra* start(nlmsghdr*& header, uint16_t type, uint16_t flags = 0) {
    header = mnl_nlmsg_put_header(bytes.data());
    header->nlmsg_type = type;
    header->nlmsg_flags = flags;
    return static_cast<Extra*>(mnl_nlmsg_put_extra_header(header, sizeof(Extra)));
  }
};

std::string address_text(const InterfaceAddress& address) {
  const std::vector<uint8_t>& bytes = address.local.empty() ? address.address : address.local;
  char text[INET6_ADDRSTRLEN] = "?";
  if ((address.family == AF_INET && bytes.size() == 4) ||
      (address.family == AF_INET6 && bytes.size() == 16)) {
    ::inet_ntop(address.family, bytes.data(), text, sizeof text);
  }
  return std::string(text) + "/" + std::to_string(address.prefix_length);
}

// ---- Links ------------------------------------------------------------------------------------

int read_link_index(const nlmsghdr* message, void* data) {
  if (message->nlmsg_type == RTM_NEWLINK) {
    const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
    *static_cast<int*>(data) = info->ifi_index;
  }
  return MNL_CB_OK;
}

// The index of `name` in the socket's namespace (RTM_GETLINK by IFLA_IFNAME); 0 when there is
// no such link.
Result<int> find_link(RouteSocket& socket, const std::string& name, const std::string& where) {
  RequestBuffer buffer;
  nlmsghdr* request = nullptr;
  buffer.start<ifinfomsg>(request, RTM_GETLINK)->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(request, IFLA_IFNAME, name.c_str());
  int index = 0;
  auto found = socket.transact(request, "find `" + name + "` " + where, read_link_index, &index);
  if (!found && found.error().errc() == ENODEV) return 0;
  if (!found) return std::unexpected(std::move(found).error());
  return index;
}

Result<int> link_index(RouteSocket& socket, const std::string& name, const std::string& where) {
  int index = MKRUN_TRY(find_link(socket, name, where));
  if (index <= 0) return fail_errno("find `" + name + "` " + where, ENODEV);
  return index;
}

Result<void> set_link_up(RouteSocket& socket, int index, bool up, const std::string& name) {
  RequestBuffer buffer;
  nlmsghdr* request = nullptr;
  auto* info = buffer.start<ifinfomsg>(request, RTM_NEWLINK);
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  info->ifi_change = IFF_UP;
  info->ifi_flags = up ? IFF_UP : 0;
  return socket.transact(request, std::string("set `") + name + (up ? "` up" : "` down"));
}

// Move and rename in one message, so the name is only ever taken in the target namespace.
Result<void> move_link(RouteSocket& host, int index, const std::string& new_name, int netns_fd) {
  RequestBuffer buffer;
  nlmsghdr* request = nullptr;
  auto* info = buffer.start<ifinfomsg>(request, RTM_NEWLINK);
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  mnl_attr_put_strz(request, IFLA_IFNAME, new_name.c_str());
  mnl_attr_put_u32(request, IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  return host.transact(request, "move it into the container's network namespace");
}

// ---- Addresses --------------------------------------------------------------------------------

struct AddressDump {
  int index = 0;
  std::vector<InterfaceAddress> found;
};

int read_address_attribute(const nlattr* attribute, void* data) {
  auto* address = static_cast<InterfaceAddress*>(data);
  const auto* payload = static_cast<const uint8_t*>(mnl_attr_get_payload(attribute));
  std::vector<uint8_t> bytes(payload, payload + mnl_attr_get_payload_len(attribute));
  switch (mnl_attr_get_type(attribute)) {
    case IFA_LOCAL:
      address->local = std::move(bytes);
      break;
    case IFA_ADDRESS:
      address->address = std::move(bytes);
      break;
    case IFA_BROADCAST:
      address->broadcast = std::move(bytes);
      break;
    case IFA_FLAGS:
      // The 32-bit flags; ifa_flags in the header only has room for the lower 8.
      if (mnl_attr_validate(attribute, MNL_TYPE_U32) == 0) {
        address->flags = mnl_attr_get_u32(attribute);
      }
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

int read_address(const nlmsghdr* message, void* data) {
  auto* dump = static_cast<AddressDump*>(data);
  if (message->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  const auto* header = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(message));
  // Without strict checking the kernel dumps every interface's addresses: keep ours.
  if (static_cast<int>(header->ifa_index) != dump->index) return MNL_CB_OK;
  InterfaceAddress address;
  address.family = header->ifa_family;
  address.prefix_length = header->ifa_prefixlen;
  address.scope = header->ifa_scope;
  address.flags = header->ifa_flags;
  if (mnl_attr_parse(message, sizeof(ifaddrmsg), read_address_attribute, &address) < 0) {
    return MNL_CB_ERROR;
  }
  dump->found.push_back(std::move(address));
  return MNL_CB_OK;
}

Result<std::vector<InterfaceAddress>> addresses_of(RouteSocket& socket, int index) {
  RequestBuffer buffer;
  nlmsghdr* request = nullptr;
  auto* header = buffer.start<ifaddrmsg>(request, RTM_GETADDR, NLM_F_DUMP);
  header->ifa_family = AF_UNSPEC;
  header->ifa_index = static_cast<uint32_t>(index);
  AddressDump dump;
  dump.index = index;
  MKRUN_CHECK(socket.transact(request, "list its addresses", read_address, &dump));
  return std::move(dump.found);
}

void put_bytes(nlmsghdr* request, uint16_t type, const std::vector<uint8_t>& bytes) {
  if (!bytes.empty()) mnl_attr_put(request, type, bytes.size(), bytes.data());
}

Result<void> add_address(RouteSocket& socket, int index, const InterfaceAddress& address) {
  RequestBuffer buffer;
  nlmsghdr* request = nullptr;
  auto* header = buffer.start<ifaddrmsg>(request, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  header->ifa_family = address.family;
  header->ifa_prefixlen = address.prefix_length;
  header->ifa_scope = address.scope;
  header->ifa_index = static_cast<uint32_t>(index);
  put_bytes(request, IFA_LOCAL, address.local);
  put_bytes(request, IFA_ADDRESS, address.address);
  put_bytes(request, IFA_BROADCAST, address.broadcast);
  return socket.transact(request, "add address " + address_text(address));
}

}  // namespace

// ---- Effects ----------------------------------------------------------------------------------

Result<void> move_net_device(const std::string& host_name, const oci::NetDevice& device,
                             int netns_fd) {
  std::string name = name_in_container(host_name, device);
  auto host = MKRUN_TRY(RouteSocket::open_here());
  auto inside = MKRUN_TRY(RouteSocket::open_in(netns_fd));
  int index = MKRUN_TRY(link_index(host, host_name, "on the host"));
  // The kernel moves the device first and renames it inside afterwards: a taken name would fail
  // only once the device is gone from the host. Check first, so it stays where it is.
  if (MKRUN_TRY(find_link(inside, name, "in the container")) != 0) {
    return fail_errno("`" + name + "` already exists in the container", EEXIST);
  }
  // Listed before the device goes down: taking a link down flushes its IPv6 addresses.
  auto addresses = MKRUN_TRY(addresses_of(host, index));
  std::erase_if(addresses, [](const auto& address) { return !moves_with_device(address); });
  // Down first, so nothing on the host uses it half-way through the move.
  MKRUN_CHECK(set_link_up(host, index, false, host_name));
  MKRUN_CHECK(move_link(host, index, name, netns_fd));
  int moved = MKRUN_TRY(link_index(inside, name, "in the container"));
  for (const auto& address : addresses) MKRUN_CHECK(add_address(inside, moved, address));
  return set_link_up(inside, moved, true, name);
}

Result<void> move_net_devices(const std::map<std::string, oci::NetDevice>& devices,
                              pid_t init_pid) {
  if (devices.empty()) return {};
  auto netns = MKRUN_TRY(files::open("/proc/" + std::to_string(init_pid) + "/ns/net", O_RDONLY));
  for (const auto& [host_name, device] : devices) {
    auto moved = move_net_device(host_name, device, netns.get());
    if (!moved) {
      return std::unexpected(std::move(moved).error().wrap(
          "move network device `" + host_name + "` into the container as `" +
          name_in_container(host_name, device) + "`"));
    }
  }
  return {};
}

}  // namespace mkrun::netdev
