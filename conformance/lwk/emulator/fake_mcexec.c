/*
 * A test-only mcexec: the real one's option grammar (executer/user/mcexec.c) and its behaviour
 * towards the container, with the application run natively instead of on McKernel.
 *
 *   mcexec [-n N] [-t N] [-c N] [-e ENV=val] [-h N] [-s P[,MAX]] [-m nodes] [-M N]
 *          [--long options...] [<os>] <program> [args...]
 *
 * It checks what the runtime must have set up, each failure a message and exit status 70:
 *   - the personality has ADDR_NO_RANDOMIZE (else the real mcexec re-execs /proc/self/exe);
 *   - /dev/mcos<os> is a character device it may open read-write: the emulated node has no
 *     driver, so the open fails with ENXIO when the device cgroup lets it through and with
 *     EPERM when it does not;
 *   - when $MKRUN_IHK_EMULATOR_STATE is readable (the tests bind the state in), instance <os>
 *     exists and is RUNNING.
 *   - when $MCEXEC_EMULATOR_PROCS names a writable directory (shared by the containers of one
 *     test), no other live mcexec on instance <os> has its pid: McKernel keys its processes by
 *     mcexec's pid in mcexec's pid namespace (mcctrl's task_tgid_vnr), so two containers with
 *     pid namespaces of their own on one instance would collide. Each running mcexec holds a
 *     flock on "<dir>/<os>.<pid>".
 * The application dies with mcexec (PR_SET_PDEATHSIG), as a McKernel process does with its proxy.
 * Then, like the real mcexec, it forwards every signal but KILL, STOP, CHLD, TSTP, TTIN and TTOU
 * to the application, exits with its status, and when the application dies of a signal, resets
 * that signal, sends it to itself and pause()s.
 *
 * With MCEXEC_EMULATOR_REPORT=1 it prints "mcexec: os=<N> options=<...> program=<...>" on stderr.
 * Statically linked: it runs in the busybox test containers.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_state.h"

#define FAILURE 70

static pid_t g_child = -1;

static void forward(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

static int usage(void) {
  fprintf(stderr, "usage: mcexec [options] [<mcos-id>] (program) [args...]\n");
  return 1;
}

/* getopt with a leading '+': option parsing stops at the first non-option, as in mcexec. */
static int parse_options(int argc, char** argv, char* options, size_t size) {
  static const struct option longs[] = {{"extend-heap-by", required_argument, NULL, 'h'},
                                        {"stack-premap", required_argument, NULL, 's'},
                                        {"mpol-threshold", required_argument, NULL, 'M'},
                                        {"mpol-no-heap", no_argument, NULL, 1},
                                        {"mpol-no-stack", no_argument, NULL, 1},
                                        {"mpol-no-bss", no_argument, NULL, 1},
                                        {"mpol-shm-premap", no_argument, NULL, 1},
                                        {"disable-sched-yield", no_argument, NULL, 1},
                                        {"enable-uti", no_argument, NULL, 1},
                                        {"uti-thread-rank", required_argument, NULL, 1},
                                        {"uti-use-last-cpu", no_argument, NULL, 1},
                                        {"no-bind-ikc-map", no_argument, NULL, 1},
                                        {"enable-straight-map", no_argument, NULL, 1},
                                        {"profile", no_argument, NULL, 1},
                                        {NULL, 0, NULL, 0}};
  size_t used = 0;
  options[0] = '\0';
  int index = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, "+n:t:c:e:h:s:m:M:", longs, &index)) != -1) {
    if (opt == '?') return -1;
    const char* name = opt == 1 ? longs[index].name : NULL;
    char one[256];
    if (name != NULL)
      snprintf(one, sizeof one, "--%s%s%s", name, optarg ? "=" : "", optarg ? optarg : "");
    else
      snprintf(one, sizeof one, "-%c%s", opt, optarg ? optarg : "");
    used += (size_t)snprintf(options + used, size - used, "%s%s", used ? " " : "", one);
  }
  return optind;
}

static int check_personality(void) {
  int persona = personality(0xffffffff);
  if (persona >= 0 && (persona & ADDR_NO_RANDOMIZE)) return 0;
  fprintf(stderr,
          "mcexec (emulated): ADDR_NO_RANDOMIZE is not set: the real mcexec would call "
          "personality() and re-exec /proc/self/exe\n");
  return -1;
}

static int check_device(int os) {
  char path[64];
  snprintf(path, sizeof path, "/dev/mcos%d", os);
  struct stat info;
  if (stat(path, &info) < 0 || !S_ISCHR(info.st_mode)) {
    fprintf(stderr, "mcexec (emulated): %s: %s\n", path,
            errno ? strerror(errno) : "not a character device");
    return -1;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno == ENXIO || errno == ENODEV) return 0; /* reachable; the emulated node has no driver */
  fprintf(stderr, "mcexec (emulated): cannot open %s: %s\n", path, strerror(errno));
  return -1;
}

static int check_instance(int os) {
  const char* path = emu_state_path();
  struct emu_state st;
  if (path == NULL || emu_load(path, &st) < 0) return 0; /* not visible: nothing to check */
  if (os >= EMU_MAX_OS || !st.os[os].exists) {
    fprintf(stderr, "mcexec (emulated): there is no McKernel instance %d\n", os);
    return -1;
  }
  if (st.os[os].status != EMU_RUNNING) {
    fprintf(stderr, "mcexec (emulated): McKernel instance %d is %s\n", os,
            emu_status_name(st.os[os].status));
    return -1;
  }
  return 0;
}

/* Returns the held lock's fd (kept open, close-on-exec, until mcexec exits), -2 when nothing is
 * checked, or -1 on a collision. */
static int claim_pid(int os) {
  const char* dir = getenv("MCEXEC_EMULATOR_PROCS");
  if (dir == NULL || dir[0] == '\0') return -2;
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.%d", dir, os, (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return -2; /* not writable here: nothing to check */
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
  fprintf(stderr,
          "mcexec (emulated): McKernel instance %d already runs a process for pid %d: mcexec "
          "processes in different pid namespaces collide on one instance\n",
          os, (int)getpid());
  close(fd);
  return -1;
}

static void forward_signals(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = forward;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGTSTP || sig == SIGTTIN ||
        sig == SIGTTOU)
      continue;
    (void)sigaction(sig, &action, NULL);
  }
}

static int run(char** argv) {
  pid_t proxy = getpid();
  g_child = fork();
  if (g_child < 0) {
    perror("mcexec (emulated): fork");
    return FAILURE;
  }
  if (g_child == 0) {
    /* McKernel's process lives only as long as its proxy: when mcexec dies, mcctrl tears the
     * LWK process down. The natively run application dies with the emulated mcexec likewise. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != proxy) _exit(FAILURE);
    execvp(argv[0], argv);
    fprintf(stderr, "mcexec (emulated): %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  forward_signals();
  int status = 0;
  while (waitpid(g_child, &status, 0) < 0) {
    if (errno != EINTR) return FAILURE;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  /* mcexec.c: the LWK process was killed by a signal: die of it too. */
  int sig = WTERMSIG(status);
  signal(sig, SIG_DFL);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, sig);
  sigprocmask(SIG_UNBLOCK, &unblock, NULL);
  kill(getpid(), sig);
  for (;;) pause();
}

int main(int argc, char** argv) {
  char options[1024];
  int first = parse_options(argc, argv, options, sizeof options);
  if (first < 0) return usage();
  int os = 0;
  if (first < argc && isdigit((unsigned char)argv[first][0])) os = atoi(argv[first++]);
  if (first >= argc) return usage();
  const char* report = getenv("MCEXEC_EMULATOR_REPORT");
  if (report != NULL && strcmp(report, "1") == 0)
    fprintf(stderr, "mcexec: os=%d options=%s program=%s\n", os, options, argv[first]);
  if (check_personality() < 0 || check_device(os) < 0 || check_instance(os) < 0) return FAILURE;
  if (claim_pid(os) == -1) return FAILURE;
  return run(argv + first);
}
