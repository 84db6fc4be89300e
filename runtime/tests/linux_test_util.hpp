// Helpers for the tests of runtime/src/linux: processes parked in new namespaces, commands whose
// output is checked, and cleanup that runs even when a check fails.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "mkrun/base/files.hpp"

namespace mkrun::test {

inline bool is_root() {
  return ::geteuid() == 0;
}

// A child parked in namespaces of its own (`clone_flags`: CLONE_NEWNET, CLONE_NEWUSER...) until
// this object goes away; then it exits and is reaped. `ok()` is false if it could not start.
class ParkedProcess {
 public:
  explicit ParkedProcess(int clone_flags, std::function<void()> in_child = {}) {
    int release[2], ready[2];
    if (::pipe2(release, O_CLOEXEC) < 0 || ::pipe2(ready, O_CLOEXEC) < 0) return;
    long pid = ::syscall(SYS_clone, clone_flags | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      ::close(release[1]);
      ::close(ready[0]);
      (void)::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      if (in_child) in_child();
      char byte = 1;
      (void)!::write(ready[1], &byte, 1);
      while (::read(release[0], &byte, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    ::close(release[0]);
    ::close(ready[1]);
    release_ = release[1];
    pid_ = static_cast<pid_t>(pid);
    char byte = 0;
    ok_ = pid > 0 && ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ParkedProcess(const ParkedProcess&) = delete;
  ParkedProcess& operator=(const ParkedProcess&) = delete;
  ~ParkedProcess() {
    if (release_ >= 0) ::close(release_);
    if (pid_ > 0) (void)::waitpid(pid_, nullptr, 0);
  }
  bool ok() const { return ok_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int release_ = -1;
  bool ok_ = false;
};

// Runs `body` in a forked child and returns its exit status (-1 if it did not exit normally).
// Catch2's checks do not work across fork: the child reports through its exit code.
inline int in_child_process(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// stdout of a shell command (stderr discarded).
inline std::string command_output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = ::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

inline int run_command(const std::string& command) {
  return ::system((command + " >/dev/null 2>&1").c_str());
}

// Runs `action` when the scope ends, whether the test passed or not.
class Cleanup {
 public:
  explicit Cleanup(std::function<void()> action) : action_(std::move(action)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() { action_(); }

 private:
  std::function<void()> action_;
};

// A fresh directory under /tmp, removed (with everything below it) at the end.
class TempDir {
 public:
  TempDir() {
    char path[] = "/tmp/mkrun-linux-test-XXXXXX";
    if (::mkdtemp(path) != nullptr) path_ = path;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (!path_.empty()) run_command("rm -rf '" + path_ + "'");
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A directory of its own under /tmp (mode 0755), removed with what is in it.
struct ScratchDir {
  explicit ScratchDir(const char* name = "mkrun-test") {
    std::string pattern = std::string("/tmp/") + name + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
    (void)::chmod(path.c_str(), 0755);
  }
  ~ScratchDir() {
    if (!path.empty()) (void)files::remove_tree(path);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path;
};

}  // namespace mkrun::test
