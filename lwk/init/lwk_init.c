/*
 * mkrun-lwk-init: PID 1 of a McKernel container that has its own pid namespace.
 *
 * usage: mkrun-lwk-init <mcexec> [options] <os> <program> [args...]
 *
 * Why it exists: when the application on McKernel dies of a signal, mcexec resets that signal to
 * its default action, sends it to itself and pause()s. The kernel drops a default-action signal
 * that PID 1 of a namespace sends to itself, so mcexec as PID 1 would never exit. This program
 * is PID 1 instead: it runs mcexec as its child, forwards every signal sent to it (by `mkrun
 * kill`, an engine's stop) to mcexec, which forwards it to the application, reaps everything,
 * and exits with mcexec's status: its exit code, or 128+signal (what `mkrun run`, containerd and
 * conmon report for a process killed by a signal).
 *
 * Statically linked, no allocation: it runs inside whatever image the container has. It is
 * bind-mounted read-only from the host; it is not mkrun's binary (see lwk/README.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void complain(const char* what, int errc) {
  char line[256];
  int n = snprintf(line, sizeof line, "mkrun-lwk-init: %s: %s\n", what, strerror(errc));
  if (n > 0) (void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Signals sent by a process (kill, sigqueue, tgkill) are forwarded; those the kernel generated
 * for a terminal (SIGINT from ^C, SIGWINCH...) already reached mcexec, which shares our
 * foreground process group. */
static int sent_by_a_process(const siginfo_t* info) {
  return info->si_code <= 0;
}

static pid_t start_child(char** argv, const sigset_t* original) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  (void)sigprocmask(SIG_SETMASK, original, NULL);
  execv(argv[0], argv);
  complain(argv[0], errno);
  _exit(127);
}

static int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

/* Reaps every exited child; returns 1 and sets *code once `child` is among them. */
static int reap(pid_t child, int* code) {
  int found = 0;
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return found;
    if (pid == child) {
      *code = exit_code_of(status);
      found = 1;
    }
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    (void)!write(STDERR_FILENO, "usage: mkrun-lwk-init <mcexec> [args...]\n", 41);
    return 2;
  }
  sigset_t all, original;
  sigfillset(&all);
  if (sigprocmask(SIG_SETMASK, &all, &original) < 0) {
    complain("sigprocmask", errno);
    return 1;
  }
  pid_t child = start_child(argv + 1, &original);
  if (child < 0) {
    complain("fork", errno);
    return 1;
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig == SIGCHLD) {
      int code = 0;
      if (reap(child, &code)) return code;
      continue;
    }
    if (sent_by_a_process(&info)) (void)kill(child, sig);
  }
}
