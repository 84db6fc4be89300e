/*
 * A test-only libihk.so: IHK's user-space library calls (ihklib.h, the signatures mkrun uses)
 * over an emulated node kept in $MKRUN_IHK_EMULATOR_STATE (see emu_state.h), with the rules of
 * IHK's driver (linux/core/host_driver.c, linux/driver/smp/smp-driver.c), never more lenient:
 * - CPUs and memory move Linux -> device pool -> instance and back; an instance is configured
 *   only while INACTIVE; ihk_os_kargs wants "hidos";
 * - memory is kept in chunks, never merged: a reservation comes back in as many chunks as Linux's
 *   fragmentation gives (linux_max_chunk), assigning takes an exact match or the largest chunks
 *   (splitting the last), and a release names chunks by their exact size (else EINVAL);
 * - ihk_os_shutdown of a booted instance gives its CPUs and memory back to the pool, so
 *   releasing them afterwards is EINVAL; shutting down an instance that never booted does
 *   nothing, and destroying one that still holds resources loses them ("leaked");
 * - every per-instance call on an index with no instance fails with -ENOENT, as ihklib's
 *   access("/dev/mcos<N>") does, and so does every one while IHK is not loaded (its unload
 *   removes the nodes).
 * - privileges: a device call needs read access to /dev/mcd<N> (the `mcd` record stands for it)
 *   and a per-instance call to /dev/mcos<N> (ihklib's access(R_OK) comes first, -errno); the
 *   per-instance calls that change the instance answer -EPERM to a caller whose effective uid is
 *   not the host's 0 (the driver's __ihk_os_ioctl_perm), user namespace or not.
 * Each instance gets a real character device node /dev/mcos<N> (a major no driver
 * owns: opening it gives ENXIO, which the emulated mcexec takes as "reachable").
 *
 * The node is found like real IHK's, from any environment: $MKRUN_IHK_EMULATOR_STATE, else the
 * file an emulated installation names next to the library, <libdir>/ihk-emulator-state (a
 * symbolic link to the state). Engines run `mkrun delete` with an environment of their own
 * (Podman passes only XDG_RUNTIME_DIR), and the partition must still be released.
 *
 * Faults on demand: "fail <function> <errno> <count>" lines make calls fail; "crash <function>
 * before|after" SIGKILLs the calling process (mkrun) at that call, once; boot_result chooses
 * what ihk_os_boot leads to (RUNNING, PANIC, HUNGUP, or BOOTING for a boot that never ends);
 * boot_delay_ms makes ihk_os_boot take as long as a real McKernel boot (default 0).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "emu_state.h"

#define EXPORT __attribute__((visibility("default")))
#define IHK_KMSG_SIZE ((4 << 20) - 4096)

struct ihk_mem_chunk {
  unsigned long size;
  int numa_node_number;
};

struct ihk_ikc_cpu_map {
  int src_cpu;
  int dst_cpu;
};

/* One library call: the state under the emulator's lock, as loaded (`before`, emu_format's
 * text) and as the call leaves it, and what gets logged. */
struct call {
  const char* path;
  int lock_fd;
  struct emu_state st;
  char* before;
  char text[1024];
};

static void append_log(const struct call* c, int ret) {
  char log_path[4096];
  snprintf(log_path, sizeof log_path, "%s.log", c->path);
  FILE* log = fopen(log_path, "ae");
  if (log == NULL) return;
  if (ret == 0x7fffffff)
    fprintf(log, "%s = CRASH\n", c->text);
  else
    fprintf(log, "%s = %d\n", c->text, ret);
  fclose(log);
}

static void crash(struct call* c) {
  c->st.crash_function[0] = '\0';
  (void)emu_save(c->path, &c->st);
  append_log(c, 0x7fffffff);
  kill(getpid(), SIGKILL);
}

static int crashes(const struct call* c, const char* function, const char* when) {
  return strcmp(c->st.crash_function, function) == 0 && strcmp(c->st.crash_when, when) == 0;
}

/* The injected failure for `function`, consumed; 0 when none. */
static int injected_failure(struct call* c, const char* function) {
  for (int i = 0; i < c->st.nfails; ++i) {
    struct emu_fail* f = &c->st.fails[i];
    if (strcmp(f->function, function) != 0) continue;
    int errc = f->errc;
    if (f->count > 0 && --f->count == 0) {
      memmove(f, f + 1, sizeof *f * (size_t)(c->st.nfails - i - 1));
      c->st.nfails--;
    }
    return errc;
  }
  return 0;
}

/* Writes the state back only when the call changed it: a query, like the driver's query
 * ioctls, leaves the node as it was, and rewriting the file each time would charge every
 * status or list call a file replacement real IHK never makes. */
static void save_if_changed(struct call* c) {
  char* after = emu_format(&c->st);
  if (after == NULL || c->before == NULL || strcmp(after, c->before) != 0)
    (void)emu_save(c->path, &c->st);
  free(after);
  free(c->before);
  c->before = NULL;
}

static void finish(struct call* c, int ret, int save) {
  if (save) save_if_changed(c);
  append_log(c, ret);
  close(c->lock_fd);
}

/* $MKRUN_IHK_EMULATOR_STATE, else what <this library's directory>/ihk-emulator-state resolves
 * to (the real path, so the lock and log are the same ones the environment's users take). */
static const char* node_state_path(void) {
  const char* path = emu_state_path();
  if (path != NULL) return path;
  static char resolved[PATH_MAX];
  Dl_info self;
  if (dladdr(resolved, &self) == 0 || self.dli_fname == NULL) return NULL;
  char link[PATH_MAX];
  snprintf(link, sizeof link, "%s", self.dli_fname);
  char* slash = strrchr(link, '/');
  if (slash == NULL) return NULL;
  snprintf(slash + 1, sizeof link - (size_t)(slash + 1 - link), "ihk-emulator-state");
  return realpath(link, resolved) != NULL ? resolved : NULL;
}

/* Starts a call: locks and loads the state, applies injected faults. Returns 1 when the call
 * must return *ret right away. */
static int begin(struct call* c, const char* function, int device_level, int* ret,
                 const char* format, ...) {
  va_list args;
  va_start(args, format);
  int used = snprintf(c->text, sizeof c->text, "%s(", function);
  used += vsnprintf(c->text + used, sizeof c->text - (size_t)used, format, args);
  snprintf(c->text + used, sizeof c->text - (size_t)used, ")");
  va_end(args);
  c->path = node_state_path();
  if (c->path == NULL) {
    *ret = -ENOENT;
    return 1;
  }
  char lock_path[4096];
  snprintf(lock_path, sizeof lock_path, "%s.lock", c->path);
  c->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (c->lock_fd < 0)
    c->lock_fd = open(lock_path, O_RDONLY | O_CLOEXEC); /* an unprivileged caller */
  if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX) < 0 || emu_load(c->path, &c->st) < 0) {
    if (c->lock_fd >= 0) close(c->lock_fd);
    *ret = -ENOENT;
    return 1;
  }
  c->before = emu_format(&c->st);
  if (crashes(c, function, "before")) crash(c);
  int errc = injected_failure(c, function);
  if (!c->st.loaded && device_level) errc = ENOENT;
  if (errc == 0 && device_level && c->st.mcd[0] != '\0' && access(c->st.mcd, R_OK) < 0)
    errc = errno;
  if (errc != 0) {
    *ret = -errc;
    finish(c, *ret, 1);
    return 1;
  }
  return 0;
}

static int end(struct call* c, const char* function, int ret) {
  int crash_now = crashes(c, function, "after");
  if (crash_now) c->st.crash_function[0] = '\0';
  finish(c, ret, 1);
  if (crash_now) {
    append_log(c, 0x7fffffff);
    kill(getpid(), SIGKILL);
  }
  return ret;
}

/* ---- helpers over the state ---------------------------------------------------------------- */

static void sync_sysfs(const struct emu_state* st) {
  if (st->sysfs[0] == '\0') return;
  struct emu_cpus online = {0, {0}};
  for (int i = 0; i < st->present.n; ++i) {
    int cpu = st->present.ids[i];
    if (!emu_cpus_has(&st->offline, cpu) && !emu_cpus_has(&st->reserved, cpu))
      emu_cpus_add(&online, cpu);
  }
  /* sort for sysfs's ascending form */
  for (int i = 1; i < online.n; ++i)
    for (int j = i; j > 0 && online.ids[j - 1] > online.ids[j]; --j) {
      int t = online.ids[j];
      online.ids[j] = online.ids[j - 1];
      online.ids[j - 1] = t;
    }
  char text[512], path[1024];
  emu_cpus_format(&online, text, sizeof text);
  snprintf(path, sizeof path, "%s/devices/system/cpu/online", st->sysfs);
  FILE* file = fopen(path, "we");
  if (file == NULL) return;
  fprintf(file, "%s\n", text);
  fclose(file);
}

static void format_cpu_array(const int* cpus, int n, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n && used < size; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%d", i ? "," : "", cpus[i]);
}

static void format_chunks(const struct ihk_mem_chunk* c, int n, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n && used < size; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%lu@%d", i ? "," : "", c[i].size,
                             c[i].numa_node_number);
}

static int valid_node(int node) {
  return node >= 0 && node < EMU_MAX_NODES;
}

static struct emu_os* instance(struct call* c, int os) {
  if (os < 0 || os >= EMU_MAX_OS || !c->st.os[os].exists) return NULL;
  return &c->st.os[os];
}

static int cpu_assigned(const struct emu_state* st, int cpu) {
  if (emu_cpus_has(&st->leaked_cpus, cpu)) return 1;
  for (int n = 0; n < EMU_MAX_OS; ++n) {
    if (st->os[n].exists && emu_cpus_has(&st->os[n].cpus, cpu)) return 1;
  }
  return 0;
}

static void node_path(const struct emu_state* st, int os, char* out, size_t size) {
  snprintf(out, size, "%s/mcos%d", st->dev_dir, os);
}

/* The caller's effective uid as the host sees it: through /proc/self/uid_map (one level). */
static long host_euid(void) {
  unsigned long inside, outside, count;
  long found = -1;
  uid_t euid = geteuid();
  FILE* map = fopen("/proc/self/uid_map", "re");
  if (map == NULL) return (long)euid;
  while (found < 0 && fscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3) {
    if (euid >= inside && euid - inside < count) found = (long)(outside + (euid - inside));
  }
  fclose(map);
  return found;
}

/* Before any per-instance call: ihklib's access("/dev/mcos<N>", R_OK) (-errno; -ENOENT while
 * IHK is not loaded, whose unload removes every node, even if the emulated node's file was left),
 * the instance itself (-ENOENT), and for the calls that change it the driver's euid check
 * (-EPERM). */
static int reach(struct call* c, int os, int changes_it) {
  char path[1024];
  if (!c->st.loaded) return -ENOENT;
  node_path(&c->st, os, path, sizeof path);
  if (access(path, R_OK) < 0) return -errno;
  if (instance(c, os) == NULL) return -ENOENT;
  if (changes_it && host_euid() != 0) return -EPERM;
  return 0;
}

/* The index of the largest chunk on `node`, or -1. */
static int largest_chunk(const struct emu_chunks* chunks, int node) {
  int best = -1;
  for (int i = 0; i < chunks->n; ++i) {
    if (chunks->node[i] == node && (best < 0 || chunks->size[i] > chunks->size[best])) best = i;
  }
  return best;
}

/* Moves chunks of exactly the sizes asked from `from` to `to`, one after the other as the
 * driver does (those moved before a missing one stay moved); -EINVAL at the first that has no
 * exact match. */
static int move_exact(struct emu_chunks* from, struct emu_chunks* to,
                      const struct ihk_mem_chunk* asked, int n) {
  for (int i = 0; i < n; ++i) {
    int found = emu_chunks_find(from, asked[i].size, asked[i].numa_node_number);
    if (found < 0) return -EINVAL;
    emu_chunks_remove(from, found);
    if (to != NULL) emu_chunks_add(to, asked[i].size, asked[i].numa_node_number);
  }
  return 0;
}

static void add_kmsg(struct emu_os* os, const char* line) {
  size_t used = strlen(os->kmsg);
  snprintf(os->kmsg + used, sizeof os->kmsg - used, "%s\n", line);
}

/* smp_ihk_os_shutdown: the instance's CPUs and memory chunks go back to the device's pool (IHK's,
 * not Linux's: the CPUs stay offline, the chunks reserved). */
static void shut_down(struct emu_state* st, struct emu_os* os) {
  os->cpus.n = 0;
  for (int i = 0; i < os->mem.n; ++i)
    emu_chunks_add(&st->pool_mem, os->mem.size[i], os->mem.node[i]);
  os->mem.n = 0;
  os->status = EMU_INACTIVE;
}

/* ---- device (pool) calls -------------------------------------------------------------------- */

EXPORT int ihk_reserve_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  char list[512];
  int ret = 0;
  format_cpu_array(cpus, num_cpus, list, sizeof list);
  if (begin(&c, "ihk_reserve_cpu", 1, &ret, "%d, %s", index, list)) return ret;
  for (int i = 0; i < num_cpus && ret == 0; ++i) {
    int cpu = cpus[i];
    if (cpu == 0 || !emu_cpus_has(&c.st.present, cpu) || emu_cpus_has(&c.st.offline, cpu))
      ret = -EINVAL;
    else if (emu_cpus_has(&c.st.reserved, cpu))
      ret = -EBUSY;
  }
  if (ret == 0) {
    for (int i = 0; i < num_cpus; ++i) emu_cpus_add(&c.st.reserved, cpus[i]);
    sync_sysfs(&c.st);
  }
  return end(&c, "ihk_reserve_cpu", ret);
}

EXPORT int ihk_release_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  char list[512];
  int ret = 0;
  format_cpu_array(cpus, num_cpus, list, sizeof list);
  if (begin(&c, "ihk_release_cpu", 1, &ret, "%d, %s", index, list)) return ret;
  for (int i = 0; i < num_cpus && ret == 0; ++i) {
    if (!emu_cpus_has(&c.st.reserved, cpus[i]))
      ret = -EINVAL;
    else if (cpu_assigned(&c.st, cpus[i]))
      ret = -EBUSY;
  }
  if (ret == 0) {
    for (int i = 0; i < num_cpus; ++i) emu_cpus_remove(&c.st.reserved, cpus[i]);
    sync_sysfs(&c.st);
  }
  return end(&c, "ihk_release_cpu", ret);
}

EXPORT int ihk_get_num_reserved_cpus(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_get_num_reserved_cpus", 1, &ret, "%d", index)) return ret;
  return end(&c, "ihk_get_num_reserved_cpus", c.st.reserved.n);
}

EXPORT int ihk_query_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_query_cpu", 1, &ret, "%d, %d", index, num_cpus)) return ret;
  if (num_cpus != c.st.reserved.n || cpus == NULL)
    ret = -EINVAL;
  else
    memcpy(cpus, c.st.reserved.ids, sizeof(int) * (size_t)num_cpus);
  return end(&c, "ihk_query_cpu", ret);
}

EXPORT int ihk_reserve_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_reserve_mem", 1, &ret, "%d, %s", index, list)) return ret;
  uint64_t want[EMU_MAX_NODES] = {0};
  for (int i = 0; i < n && ret == 0; ++i) {
    if (!valid_node(chunks[i].numa_node_number) || chunks[i].size % (4u << 20) != 0)
      ret = -EINVAL;
    else
      want[chunks[i].numa_node_number] += chunks[i].size;
  }
  for (int node = 0; node < EMU_MAX_NODES && ret == 0; ++node)
    if (want[node] > c.st.linux_mem[node]) ret = -ENOMEM;
  for (int i = 0; i < n && ret == 0; ++i) {
    int node = chunks[i].numa_node_number;
    c.st.linux_mem[node] -= chunks[i].size;
    /* the driver gathers contiguous areas and keeps each as a chunk of its own */
    for (uint64_t left = chunks[i].size; left > 0;) {
      uint64_t piece =
          c.st.linux_max_chunk != 0 && left > c.st.linux_max_chunk ? c.st.linux_max_chunk : left;
      emu_chunks_add(&c.st.pool_mem, piece, node);
      left -= piece;
    }
  }
  return end(&c, "ihk_reserve_mem", ret);
}

EXPORT int ihk_release_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_release_mem", 1, &ret, "%d, %s", index, list)) return ret;
  /* __ihk_smp_release_mem: each asked chunk must be a free chunk of exactly that size */
  for (int i = 0; i < n && ret == 0; ++i) {
    int found = emu_chunks_find(&c.st.pool_mem, chunks[i].size, chunks[i].numa_node_number);
    if (found < 0) {
      ret = -EINVAL;
    } else {
      emu_chunks_remove(&c.st.pool_mem, found);
      c.st.linux_mem[chunks[i].numa_node_number] += chunks[i].size;
    }
  }
  return end(&c, "ihk_release_mem", ret);
}

EXPORT int ihk_get_num_reserved_mem_chunks(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_get_num_reserved_mem_chunks", 1, &ret, "%d", index)) return ret;
  return end(&c, "ihk_get_num_reserved_mem_chunks", c.st.pool_mem.n);
}

EXPORT int ihk_query_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_query_mem", 1, &ret, "%d, %d", index, n)) return ret;
  if (n != c.st.pool_mem.n || chunks == NULL) {
    ret = -EINVAL;
  } else {
    for (int i = 0; i < n; ++i) {
      chunks[i].size = c.st.pool_mem.size[i];
      chunks[i].numa_node_number = c.st.pool_mem.node[i];
    }
  }
  return end(&c, "ihk_query_mem", ret);
}

/* ---- instances ------------------------------------------------------------------------------- */

EXPORT int ihk_create_os(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_create_os", 1, &ret, "%d", index)) return ret;
  int os = 0;
  while (os < EMU_MAX_OS && c.st.os[os].exists) ++os;
  if (os == EMU_MAX_OS) return end(&c, "ihk_create_os", -ENOSPC);
  char path[1024];
  node_path(&c.st, os, path, sizeof path);
  if (mknod(path, S_IFCHR | 0600, makedev((unsigned)c.st.dev_major, (unsigned)os)) < 0 &&
      errno != EEXIST)
    return end(&c, "ihk_create_os", -errno);
  memset(&c.st.os[os], 0, sizeof c.st.os[os]);
  c.st.os[os].exists = 1;
  c.st.os[os].status = EMU_INACTIVE;
  return end(&c, "ihk_create_os", os);
}

EXPORT int ihk_get_num_os_instances(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_get_num_os_instances", 1, &ret, "%d", index)) return ret;
  int n = 0;
  for (int os = 0; os < EMU_MAX_OS; ++os) n += c.st.os[os].exists;
  return end(&c, "ihk_get_num_os_instances", n);
}

EXPORT int ihk_get_os_instances(int index, int* indices, int n) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_get_os_instances", 1, &ret, "%d, %d", index, n)) return ret;
  int found = 0;
  for (int os = 0; os < EMU_MAX_OS; ++os) {
    if (!c.st.os[os].exists) continue;
    if (found < n && indices != NULL) indices[found] = os;
    ++found;
  }
  return end(&c, "ihk_get_os_instances", found == n ? 0 : -EINVAL);
}

EXPORT int ihk_destroy_os(int dev_index, int os_index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_destroy_os", 1, &ret, "%d, %d", dev_index, os_index)) return ret;
  struct emu_os* os = instance(&c, os_index);
  if (os == NULL) return end(&c, "ihk_destroy_os", -ENOENT);
  /* A booted instance is shut down first, which gives everything back; one that never booted
   * is not (smp_ihk_os_shutdown returns at once), and what it was assigned is lost. */
  if (os->status != EMU_INACTIVE) shut_down(&c.st, os);
  for (int i = 0; i < os->cpus.n; ++i) emu_cpus_add(&c.st.leaked_cpus, os->cpus.ids[i]);
  for (int i = 0; i < os->mem.n; ++i)
    emu_chunks_add(&c.st.leaked_mem, os->mem.size[i], os->mem.node[i]);
  char path[1024];
  node_path(&c.st, os_index, path, sizeof path);
  (void)unlink(path);
  memset(os, 0, sizeof *os);
  return end(&c, "ihk_destroy_os", 0);
}

EXPORT int ihk_os_assign_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  char list[512];
  int ret = 0;
  format_cpu_array(cpus, num_cpus, list, sizeof list);
  if (begin(&c, "ihk_os_assign_cpu", 0, &ret, "%d, %s", index, list)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_assign_cpu", ret);
  struct emu_os* os = instance(&c, index);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_assign_cpu", -EBUSY);
  for (int i = 0; i < num_cpus; ++i) {
    if (!emu_cpus_has(&c.st.reserved, cpus[i]) || cpu_assigned(&c.st, cpus[i]))
      return end(&c, "ihk_os_assign_cpu", -EINVAL);
  }
  for (int i = 0; i < num_cpus; ++i) emu_cpus_add(&os->cpus, cpus[i]);
  return end(&c, "ihk_os_assign_cpu", 0);
}

EXPORT int ihk_os_release_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  char list[512];
  int ret = 0;
  format_cpu_array(cpus, num_cpus, list, sizeof list);
  if (begin(&c, "ihk_os_release_cpu", 0, &ret, "%d, %s", index, list)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_release_cpu", ret);
  struct emu_os* os = instance(&c, index);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_release_cpu", -EBUSY);
  for (int i = 0; i < num_cpus; ++i)
    if (!emu_cpus_has(&os->cpus, cpus[i])) return end(&c, "ihk_os_release_cpu", -EINVAL);
  for (int i = 0; i < num_cpus; ++i) emu_cpus_remove(&os->cpus, cpus[i]);
  return end(&c, "ihk_os_release_cpu", 0);
}

EXPORT int ihk_os_get_num_assigned_cpus(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_num_assigned_cpus", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_get_num_assigned_cpus", ret);
  return end(&c, "ihk_os_get_num_assigned_cpus", instance(&c, index)->cpus.n);
}

EXPORT int ihk_os_query_cpu(int index, int* cpus, int num_cpus) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_query_cpu", 0, &ret, "%d, %d", index, num_cpus)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_query_cpu", ret);
  struct emu_os* os = instance(&c, index);
  if (num_cpus != os->cpus.n || (num_cpus > 0 && cpus == NULL))
    return end(&c, "ihk_os_query_cpu", -EINVAL);
  if (num_cpus > 0) memcpy(cpus, os->cpus.ids, sizeof(int) * (size_t)num_cpus);
  return end(&c, "ihk_os_query_cpu", 0);
}

EXPORT int ihk_os_get_num_assigned_mem_chunks(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_num_assigned_mem_chunks", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_get_num_assigned_mem_chunks", ret);
  return end(&c, "ihk_os_get_num_assigned_mem_chunks", instance(&c, index)->mem.n);
}

EXPORT int ihk_os_query_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_query_mem", 0, &ret, "%d, %d", index, n)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_query_mem", ret);
  struct emu_os* os = instance(&c, index);
  if (n != os->mem.n || (n > 0 && chunks == NULL)) return end(&c, "ihk_os_query_mem", -EINVAL);
  for (int i = 0; i < n; ++i) {
    chunks[i].size = os->mem.size[i];
    chunks[i].numa_node_number = os->mem.node[i];
  }
  return end(&c, "ihk_os_query_mem", 0);
}

EXPORT int ihk_os_set_ikc_map(int index, struct ihk_ikc_cpu_map* map, int num_cpus) {
  struct call c;
  char text[512];
  size_t used = 0;
  int ret = 0;
  text[0] = '\0';
  for (int i = 0; i < num_cpus && used < sizeof text; ++i)
    used += (size_t)snprintf(text + used, sizeof text - used, "%s%d:%d", i ? "+" : "",
                             map[i].src_cpu, map[i].dst_cpu);
  if (begin(&c, "ihk_os_set_ikc_map", 0, &ret, "%d, %s", index, text)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_set_ikc_map", ret);
  struct emu_os* os = instance(&c, index);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_set_ikc_map", -EBUSY);
  if (num_cpus != os->cpus.n) return end(&c, "ihk_os_set_ikc_map", -EINVAL);
  for (int i = 0; i < num_cpus; ++i) {
    int dst = map[i].dst_cpu;
    if (!emu_cpus_has(&os->cpus, map[i].src_cpu) || emu_cpus_has(&c.st.reserved, dst) ||
        !emu_cpus_has(&c.st.present, dst) || emu_cpus_has(&c.st.offline, dst))
      return end(&c, "ihk_os_set_ikc_map", -EINVAL);
  }
  snprintf(os->ikc, sizeof os->ikc, "%s", text);
  return end(&c, "ihk_os_set_ikc_map", 0);
}

EXPORT int ihk_os_assign_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_os_assign_mem", 0, &ret, "%d, %s", index, list)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_assign_mem", ret);
  struct emu_os* os = instance(&c, index);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_assign_mem", -EBUSY);
  /* __smp_ihk_os_assign_mem: per asked size, a chunk of exactly that size, else the largest ones,
   * the last split (its rest stays in the pool); all or nothing */
  struct emu_chunks pool = c.st.pool_mem, taken = os->mem;
  for (int i = 0; i < n; ++i) {
    int node = chunks[i].numa_node_number;
    if (!valid_node(node)) return end(&c, "ihk_os_assign_mem", -EINVAL);
    for (uint64_t left = chunks[i].size; left > 0;) {
      int found = emu_chunks_find(&pool, left, node);
      if (found < 0) found = largest_chunk(&pool, node);
      if (found < 0) return end(&c, "ihk_os_assign_mem", -ENOMEM);
      uint64_t piece = pool.size[found] < left ? pool.size[found] : left;
      if (piece == pool.size[found])
        emu_chunks_remove(&pool, found);
      else
        pool.size[found] -= piece;
      emu_chunks_add(&taken, piece, node);
      left -= piece;
    }
  }
  c.st.pool_mem = pool;
  os->mem = taken;
  return end(&c, "ihk_os_assign_mem", 0);
}

EXPORT int ihk_os_release_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_os_release_mem", 0, &ret, "%d, %s", index, list)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_release_mem", ret);
  struct emu_os* os = instance(&c, index);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_release_mem", -EBUSY);
  /* _smp_ihk_os_release_mem: each asked chunk must be one of the instance's, by exact size */
  return end(&c, "ihk_os_release_mem", move_exact(&os->mem, &c.st.pool_mem, chunks, n));
}

EXPORT int ihk_os_load(int index, char* image) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_load", 0, &ret, "%d, %s", index, image)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_load", ret);
  struct emu_os* os = instance(&c, index);
  if (access(image, R_OK) < 0) return end(&c, "ihk_os_load", -errno);
  os->loaded = 1;
  return end(&c, "ihk_os_load", 0);
}

EXPORT int ihk_os_kargs(int index, char* kargs) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_kargs", 0, &ret, "%d, \"%s\"", index, kargs)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_kargs", ret);
  struct emu_os* os = instance(&c, index);
  char copy[512];
  snprintf(copy, sizeof copy, " %s ", kargs);
  if (strstr(copy, " hidos ") == NULL) return end(&c, "ihk_os_kargs", -EINVAL);
  snprintf(os->kargs, sizeof os->kargs, "%s", kargs);
  return end(&c, "ihk_os_kargs", 0);
}

EXPORT int ihk_os_boot(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_boot", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_boot", ret);
  struct emu_os* os = instance(&c, index);
  if (os->cpus.n == 0 || !os->loaded || os->kargs[0] == '\0')
    return end(&c, "ihk_os_boot", -EINVAL);
  char line[256];
  snprintf(line, sizeof line, "IHK/McKernel (emulated) booting on %d CPUs", os->cpus.n);
  add_kmsg(os, line);
  if (c.st.boot_message[0] != '\0') add_kmsg(os, c.st.boot_message);
  int status = emu_status_from_name(c.st.boot_result);
  os->status = status < 0 ? EMU_RUNNING : status;
  if (os->status == EMU_RUNNING) add_kmsg(os, "IHK/McKernel booted.");
  unsigned delay_ms = c.st.boot_delay_ms;
  /* like the real library: EINVAL when the status did not reach RUNNING */
  ret = end(&c, "ihk_os_boot", os->status == EMU_RUNNING ? 0 : -EINVAL);
  /* The time McKernel takes to boot, spent with the state unlocked: the other instances and
   * the pool's calls go on meanwhile, as on a real node. */
  if (delay_ms != 0) {
    struct timespec delay = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
    while (nanosleep(&delay, &delay) < 0 && errno == EINTR) {
    }
  }
  return ret;
}

EXPORT int ihk_os_shutdown(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_shutdown", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 1)) != 0) return end(&c, "ihk_os_shutdown", ret);
  struct emu_os* os = instance(&c, index);
  /* an instance that never booted: "do nothing because os status is NOT_BOOTED" */
  if (os->status == EMU_INACTIVE) return end(&c, "ihk_os_shutdown", 0);
  shut_down(&c.st, os);
  add_kmsg(os, "IHK/McKernel shut down.");
  return end(&c, "ihk_os_shutdown", 0);
}

EXPORT int ihk_os_get_status(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_status", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_get_status", ret);
  return end(&c, "ihk_os_get_status", instance(&c, index)->status);
}

EXPORT int ihk_os_get_kmsg_size(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_kmsg_size", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_get_kmsg_size", ret);
  return end(&c, "ihk_os_get_kmsg_size", IHK_KMSG_SIZE);
}

EXPORT int ihk_os_kmsg(int index, char* kmsg, ssize_t size) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_kmsg", 0, &ret, "%d", index)) return ret;
  if ((ret = reach(&c, index, 0)) != 0) return end(&c, "ihk_os_kmsg", ret);
  struct emu_os* os = instance(&c, index);
  if (size != IHK_KMSG_SIZE || kmsg == NULL) return end(&c, "ihk_os_kmsg", -EINVAL);
  size_t length = strlen(os->kmsg);
  memcpy(kmsg, os->kmsg, length + 1);
  return end(&c, "ihk_os_kmsg", (int)length);
}
