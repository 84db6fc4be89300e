// mkrun's launcher: the `mkrun` that engines execute (/usr/bin/mkrun; build/mkrun in the build
// tree). It executes the runtime, mkrun-runtime, with the same arguments and environment.
//
// Why it exists: the commands that start processes inside a container run from a protected
// image of mkrun (mkrun/runtime/protected_image.hpp, the CVE-2019-5736 class). The runtime can
// re-execute itself from one, but then every `create`, `run` and `exec` starts it twice, and a
// start of the runtime (dynamic loading, page faults, static initialization) is a fifth of a
// `run` (README, "Where the time goes"). This launcher is a few kilobytes with no library and no
// dynamic loader: for those commands it makes the same detached read-only image of the runtime
// and executes that; for the others it executes the runtime as it is.
//
// It decides nothing the runtime does not check again: the runtime protects itself whenever it
// finds it does not run from a protected image (the launcher could not make one: an older
// kernel, no privilege to mount), so the launcher only saves time.
//
// On x86_64 it is built without libc: raw system calls, nothing but the stack, no relocations
// (meson's launcher-is-self-contained test checks). Elsewhere the same code runs on libc.
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>

#include <cstddef>

#include "protected_commands.hpp"

#ifndef MKRUN_LAUNCHER_FREESTANDING
#include <unistd.h>  // syscall(): the launcher on libc
#endif

// The runtime's path relative to the launcher's own directory (meson sets it).
#ifndef MKRUN_RUNTIME_PATH
#error "MKRUN_RUNTIME_PATH: the runtime's path relative to the launcher's directory"
#endif

namespace {

#if defined(MKRUN_LAUNCHER_FREESTANDING) && defined(__x86_64__)
// -errno on failure, as the kernel returns it.
long system_call(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return result;
}
#elif defined(MKRUN_LAUNCHER_FREESTANDING)
#error "the launcher is freestanding on x86_64 only; build it with libc elsewhere"
#else
long system_call(long number, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long result = ::syscall(number, a, b, c, d, e);
  return result < 0 ? -errno : result;
}
#endif

template <typename T>
long word(T* pointer) {
  return reinterpret_cast<long>(pointer);
}

[[noreturn]] void exit_with(int code) {
  for (;;) system_call(SYS_exit_group, code);
}

void write_error(const char* text) {
  std::size_t length = 0;
  while (text[length] != '\0') ++length;
  system_call(SYS_write, 2, word(text), static_cast<long>(length));
}

// strerror without libc, for what executing a file can fail with.
const char* reason(long error) {
  switch (error) {
    case ENOENT:
      return "no such file or directory";
    case EACCES:
      return "permission denied";
    case ENOEXEC:
      return "exec format error";
    case ENOMEM:
      return "cannot allocate memory";
    case E2BIG:
      return "argument list too long";
    case ENAMETOOLONG:
      return "file name too long";
    case ELOOP:
      return "too many levels of symbolic links";
    case ETXTBSY:
      return "text file busy";
    default:
      return "system error";
  }
}

constexpr std::size_t kPathCapacity = 4096;  // PATH_MAX

// The runtime's path: MKRUN_RUNTIME_PATH in the directory of the launcher's own file (its
// symbolic links resolved, as /proc/self/exe names it). 0 or -errno.
long locate_runtime(char (&path)[kPathCapacity]) {
  long length =
      system_call(SYS_readlinkat, AT_FDCWD, word("/proc/self/exe"), word(path), kPathCapacity - 1);
  if (length < 0) return length;
  if (length == static_cast<long>(kPathCapacity) - 1) return -ENAMETOOLONG;  // maybe cut short
  while (length > 0 && path[length - 1] != '/') --length;  // keep the directory and its '/'
  for (const char* c = MKRUN_RUNTIME_PATH; *c != '\0'; ++c) {
    if (static_cast<std::size_t>(length) == kPathCapacity - 1) return -ENAMETOOLONG;
    path[length++] = *c;
  }
  path[length] = '\0';
  return 0;
}

// Executes the runtime from a detached read-only bind mount of its file, as the runtime itself
// would (protected_image.cpp). Returns when that cannot be made or executed.
void execute_protected_image(const char* runtime, char** argv, char** envp) {
  long tree =
      system_call(SYS_open_tree, AT_FDCWD, word(runtime), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return;
  mount_attr read_only{};
  read_only.attr_set = MOUNT_ATTR_RDONLY;
  if (system_call(SYS_mount_setattr, tree, word(""), AT_EMPTY_PATH, word(&read_only),
                  sizeof read_only) == 0) {
    system_call(SYS_execveat, tree, word(""), word(argv), word(envp), AT_EMPTY_PATH);
  }
  system_call(SYS_close, tree);
}

bool names_a_protected_command(char** argv) {
  for (char** arg = argv + 1; *arg != nullptr; ++arg) {
    // A word that only looks like such a command (an id, a flag's value) costs the protection
    // for nothing, never the reverse.
    if (mkrun::cli::names_protected_command(*arg)) return true;
  }
  return false;
}

[[noreturn]] void launch(char** argv, char** envp) {
  static char runtime[kPathCapacity];
  long located = locate_runtime(runtime);
  if (located < 0) {
    write_error("mkrun: find the runtime next to /proc/self/exe: ");
    write_error(reason(-located));
    write_error("\n");
    exit_with(1);
  }
  if (argv[0] != nullptr && names_a_protected_command(argv)) {
    execute_protected_image(runtime, argv, envp);
  }
  long error = system_call(SYS_execve, word(runtime), word(argv), word(envp));
  write_error("mkrun: execute the runtime ");
  write_error(runtime);
  write_error(": ");
  write_error(reason(-error));
  write_error("\n");
  exit_with(1);
}

}  // namespace

#ifdef MKRUN_LAUNCHER_FREESTANDING
// The process's entry: the kernel leaves argc, the argv pointers, a null, then the environment
// pointers on the stack.
extern "C" [[noreturn]] void launcher_start(long* stack) {
  char** argv = reinterpret_cast<char**>(stack + 1);
  launch(argv, argv + stack[0] + 1);
}
asm(".text\n"
    ".global _start\n"
    ".type _start, @function\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call launcher_start\n"
    "  hlt\n");
#else
int main(int, char** argv, char** envp) {
  launch(argv, envp);
}
#endif
