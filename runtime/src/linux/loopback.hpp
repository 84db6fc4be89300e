// Bringing `lo` up in a new network namespace, from the container's init.
//
// A new network namespace starts with its loopback down; runc (its "loopback" network strategy)
// and crun bring it up from the init, once the namespace exists. The init does it rather than
// mkrun's parent because only the init is sure to hold CAP_NET_ADMIN over the namespace: with a
// new user namespace it is root there, while an unprivileged mkrun could not reach it without
// joining that user namespace.
//
// Header-only, async-signal-safe and allocation-free (socket, two ioctls, close), so the child
// library (-fno-exceptions, checked by check_child_symbols.sh) can call it between clone and
// execve.
#pragma once

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace mkrun::netdev {

// Sets IFF_UP on `lo` in the caller's network namespace. Returns 0, or the errno that failed.
inline int bring_loopback_up() noexcept {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ifreq request{};
  request.ifr_name[0] = 'l';
  request.ifr_name[1] = 'o';
  int errc = 0;
  if (::ioctl(fd, SIOCGIFFLAGS, &request) < 0) {
    errc = errno;
  } else if ((request.ifr_flags & IFF_UP) == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(fd, SIOCSIFFLAGS, &request) < 0) errc = errno;
  }
  (void)::close(fd);
  return errc;
}

}  // namespace mkrun::netdev
