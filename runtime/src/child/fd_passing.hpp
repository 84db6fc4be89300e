// Passing one fd over a unix socket (SCM_RIGHTS). Async-signal-safe: the child sends the pty
// master and the seccomp listener with it; mkrun receives them, and passes the listener on to
// the seccomp agent.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace mkrun::child {

// A msghdr for one buffer and room for one fd in its control data.
class OneFdMessage {
 public:
  OneFdMessage(const void* data, size_t size) noexcept : payload_{const_cast<void*>(data), size} {
    header_.msg_iov = &payload_;
    header_.msg_iovlen = 1;
    header_.msg_control = control_;
    header_.msg_controllen = sizeof control_;
  }
  OneFdMessage(const OneFdMessage&) = delete;  // header_ points into the object
  OneFdMessage& operator=(const OneFdMessage&) = delete;

  msghdr* header() noexcept { return &header_; }
  void attach(int fd) noexcept {
    cmsghdr* control = CMSG_FIRSTHDR(&header_);
    control->cmsg_level = SOL_SOCKET;
    control->cmsg_type = SCM_RIGHTS;
    control->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(control), &fd, sizeof fd);
  }
  // The fd a received message carried, or -1.
  int attached() noexcept {
    cmsghdr* control = CMSG_FIRSTHDR(&header_);
    if (control == nullptr || control->cmsg_level != SOL_SOCKET ||
        control->cmsg_type != SCM_RIGHTS) {
      return -1;
    }
    int fd = -1;
    memcpy(&fd, CMSG_DATA(control), sizeof fd);
    return fd;
  }

 private:
  iovec payload_;
  alignas(cmsghdr) char control_[CMSG_SPACE(sizeof(int))] = {};
  msghdr header_{};
};

// One message of `size` bytes with `fd` attached. Returns false with errno set on failure.
inline bool send_with_fd(int socket, const void* data, size_t size, int fd) noexcept {
  OneFdMessage message(data, size);
  message.attach(fd);
  ssize_t sent;
  do {
    sent = sendmsg(socket, message.header(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0 && static_cast<size_t>(sent) != size) errno = EMSGSIZE;
  return sent >= 0 && static_cast<size_t>(sent) == size;
}

// Receives one message into `data` and the fd it carries, close-on-exec, into `fd` (-1 if
// none). Returns recvmsg's result.
inline ssize_t receive_with_fd(int socket, void* data, size_t size, int& fd) noexcept {
  OneFdMessage message(data, size);
  ssize_t received;
  do {
    received = recvmsg(socket, message.header(), MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  fd = received < 0 ? -1 : message.attached();
  return received;
}

}  // namespace mkrun::child
