// The messages between mkrun (parent) and the container's init (child) on their SOCK_SEQPACKET
// pair. Fixed-size PODs, so the child sends and receives them without allocating.
//
// The protocol, in order (the child waits at each `<-`):
//   child  -> kStarted        namespaces joined; a new user namespace exists if one is asked for
//   parent -> kGo             id maps written, init placed in its cgroup
//   child  -> kInitPid        only when the child forked once more: the init's host pid
//   child  -> kRunHooks       rootfs mounted, before pivot_root: prestart + createRuntime now
//   parent -> kHooksDone
//   child  -> kReady          set up; the init now blocks on exec.fifo until `start`
// Any step may instead end with child -> kError, after which the child exits.
// With an SCMP_ACT_NOTIFY filter, the child sends, right after loading it (before kReady, or
// after it with no_new_privileges):
//   child  -> kSeccompListener  the filter's listener fd, attached (SCM_RIGHTS)
//   parent -> kSeccompDone      the agent at listenerPath has it
// After kReady the init reports through exec.fifo: `start` reads it to EOF. Nothing means the
// process was executed; otherwise it holds an InitFailure.
#pragma once

#include <cstdint>

namespace mkrun::sync {

enum class Kind : uint32_t {
  kStarted = 1,
  kGo,
  kInitPid,
  kRunHooks,
  kHooksDone,
  kReady,
  kError,
  kSeccompListener,
  kSeccompDone,
  kNote,  // something the child did not do and goes on without: mkrun tells it, and waits on
};

struct Message {
  Kind kind{};
  int32_t value = 0;       // kInitPid: the pid; kError, kNote: the errno (0 if none)
  char detail[2048] = {};  // kError, kNote: what failed, on which path or value
};

// What the init writes to exec.fifo when it cannot run the process after `start`.
struct InitFailure {
  int32_t errc = 0;
  char detail[2048] = {};
};

}  // namespace mkrun::sync
