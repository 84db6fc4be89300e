// Sending one fd over a unix socket (SCM_RIGHTS). Async-signal-safe: the child uses it for the
// pty master and the seccomp listener, mkrun itself to pass the listener on to the agent.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace mkrun::child {

// One message of `size` bytes with `fd` attached. Returns false with errno set on failure.
inline bool send_with_fd(int socket, const void* data, size_t size, int fd) noexcept {
  iovec payload{const_cast<void*>(data), size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof fd);
  ssize_t sent;
  do {
    sent = sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0 && static_cast<size_t>(sent) != size) errno = EMSGSIZE;
  return sent >= 0 && static_cast<size_t>(sent) == size;
}

}  // namespace mkrun::child
