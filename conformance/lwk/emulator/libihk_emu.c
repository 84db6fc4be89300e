/*
 * A test-only libihk.so: IHK's user-space library calls (ihklib.h, the signatures mkrun uses)
 * over an emulated node kept in $MKRUN_IHK_EMULATOR_STATE (see emu_state.h), with IHK's rules:
 * CPUs and memory move Linux -> device pool -> instance and back; an instance is configured
 * only while INACTIVE; destroying it gives what it held back to the pool; ihk_os_kargs wants
 * "hidos". Each instance gets a real character device node /dev/mcos<N> (a major no driver
 * owns: opening it gives ENXIO, which the emulated mcexec takes as "reachable").
 *
 * The node is found like real IHK's, from any environment: $MKRUN_IHK_EMULATOR_STATE, else the
 * file an emulated installation names next to the library, <libdir>/ihk-emulator-state (a
 * symbolic link to the state). Engines run `mkrun delete` with an environment of their own
 * (Podman passes only XDG_RUNTIME_DIR), and the partition must still be released.
 *
 * Faults on demand: "fail <function> <errno> <count>" lines make calls fail; "crash <function>
 * before|after" SIGKILLs the calling process (mkrun) at that call, once; boot_result chooses
 * what ihk_os_boot leads to (RUNNING, PANIC, HUNGUP, or BOOTING for a boot that never ends).
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

/* One library call: the state under the emulator's lock, and what gets logged. */
struct call {
  const char* path;
  int lock_fd;
  struct emu_state st;
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

static void finish(struct call* c, int ret, int save) {
  if (save) (void)emu_save(c->path, &c->st);
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
  if (c->lock_fd < 0 || flock(c->lock_fd, LOCK_EX) < 0 || emu_load(c->path, &c->st) < 0) {
    if (c->lock_fd >= 0) close(c->lock_fd);
    *ret = -ENOENT;
    return 1;
  }
  if (crashes(c, function, "before")) crash(c);
  int errc = injected_failure(c, function);
  if (!c->st.loaded && device_level) errc = ENOENT;
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
  for (int n = 0; n < EMU_MAX_OS; ++n) {
    if (st->os[n].exists && emu_cpus_has(&st->os[n].cpus, cpu)) return 1;
  }
  return 0;
}

static void node_path(const struct emu_state* st, int os, char* out, size_t size) {
  snprintf(out, size, "%s/mcos%d", st->dev_dir, os);
}

static void add_kmsg(struct emu_os* os, const char* line) {
  size_t used = strlen(os->kmsg);
  snprintf(os->kmsg + used, sizeof os->kmsg - used, "%s\n", line);
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
  for (int node = 0; node < EMU_MAX_NODES && ret == 0; ++node) {
    c.st.linux_mem[node] -= want[node];
    c.st.pool_mem[node] += want[node];
  }
  return end(&c, "ihk_reserve_mem", ret);
}

EXPORT int ihk_release_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_release_mem", 1, &ret, "%d, %s", index, list)) return ret;
  uint64_t give[EMU_MAX_NODES] = {0};
  for (int i = 0; i < n && ret == 0; ++i) {
    if (!valid_node(chunks[i].numa_node_number))
      ret = -EINVAL;
    else
      give[chunks[i].numa_node_number] += chunks[i].size;
  }
  for (int node = 0; node < EMU_MAX_NODES && ret == 0; ++node)
    if (give[node] > c.st.pool_mem[node]) ret = -EINVAL;
  for (int node = 0; node < EMU_MAX_NODES && ret == 0; ++node) {
    c.st.pool_mem[node] -= give[node];
    c.st.linux_mem[node] += give[node];
  }
  return end(&c, "ihk_release_mem", ret);
}

static int pool_chunks(const struct emu_state* st) {
  int n = 0;
  for (int node = 0; node < EMU_MAX_NODES; ++node) n += st->pool_mem[node] != 0;
  return n;
}

EXPORT int ihk_get_num_reserved_mem_chunks(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_get_num_reserved_mem_chunks", 1, &ret, "%d", index)) return ret;
  return end(&c, "ihk_get_num_reserved_mem_chunks", pool_chunks(&c.st));
}

EXPORT int ihk_query_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_query_mem", 1, &ret, "%d, %d", index, n)) return ret;
  if (n != pool_chunks(&c.st) || chunks == NULL) {
    ret = -EINVAL;
  } else {
    int i = 0;
    for (int node = 0; node < EMU_MAX_NODES; ++node) {
      if (c.st.pool_mem[node] == 0) continue;
      chunks[i].size = c.st.pool_mem[node];
      chunks[i].numa_node_number = node;
      ++i;
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
  for (int node = 0; node < EMU_MAX_NODES; ++node) c.st.pool_mem[node] += os->mem[node];
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
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_assign_cpu", -ENOENT);
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
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_release_cpu", -ENOENT);
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
  struct emu_os* os = instance(&c, index);
  return end(&c, "ihk_os_get_num_assigned_cpus", os == NULL ? -ENOENT : os->cpus.n);
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
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_set_ikc_map", -ENOENT);
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
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_assign_mem", -ENOENT);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_assign_mem", -EBUSY);
  uint64_t want[EMU_MAX_NODES] = {0};
  for (int i = 0; i < n; ++i) {
    if (!valid_node(chunks[i].numa_node_number)) return end(&c, "ihk_os_assign_mem", -EINVAL);
    want[chunks[i].numa_node_number] += chunks[i].size;
  }
  for (int node = 0; node < EMU_MAX_NODES; ++node)
    if (want[node] > c.st.pool_mem[node]) return end(&c, "ihk_os_assign_mem", -ENOMEM);
  for (int node = 0; node < EMU_MAX_NODES; ++node) {
    c.st.pool_mem[node] -= want[node];
    os->mem[node] += want[node];
  }
  return end(&c, "ihk_os_assign_mem", 0);
}

EXPORT int ihk_os_release_mem(int index, struct ihk_mem_chunk* chunks, int n) {
  struct call c;
  char list[512];
  int ret = 0;
  format_chunks(chunks, n, list, sizeof list);
  if (begin(&c, "ihk_os_release_mem", 0, &ret, "%d, %s", index, list)) return ret;
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_release_mem", -ENOENT);
  if (os->status != EMU_INACTIVE) return end(&c, "ihk_os_release_mem", -EBUSY);
  for (int i = 0; i < n; ++i) {
    int node = chunks[i].numa_node_number;
    if (!valid_node(node) || os->mem[node] < chunks[i].size)
      return end(&c, "ihk_os_release_mem", -EINVAL);
  }
  for (int i = 0; i < n; ++i) {
    os->mem[chunks[i].numa_node_number] -= chunks[i].size;
    c.st.pool_mem[chunks[i].numa_node_number] += chunks[i].size;
  }
  return end(&c, "ihk_os_release_mem", 0);
}

EXPORT int ihk_os_load(int index, char* image) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_load", 0, &ret, "%d, %s", index, image)) return ret;
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_load", -ENOENT);
  if (access(image, R_OK) < 0) return end(&c, "ihk_os_load", -errno);
  os->loaded = 1;
  return end(&c, "ihk_os_load", 0);
}

EXPORT int ihk_os_kargs(int index, char* kargs) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_kargs", 0, &ret, "%d, \"%s\"", index, kargs)) return ret;
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_kargs", -ENOENT);
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
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_boot", -ENOENT);
  if (os->cpus.n == 0 || !os->loaded || os->kargs[0] == '\0')
    return end(&c, "ihk_os_boot", -EINVAL);
  char line[256];
  snprintf(line, sizeof line, "IHK/McKernel (emulated) booting on %d CPUs", os->cpus.n);
  add_kmsg(os, line);
  if (c.st.boot_message[0] != '\0') add_kmsg(os, c.st.boot_message);
  int status = emu_status_from_name(c.st.boot_result);
  os->status = status < 0 ? EMU_RUNNING : status;
  if (os->status == EMU_RUNNING) add_kmsg(os, "IHK/McKernel booted.");
  /* like the real library: EINVAL when the status did not reach RUNNING */
  return end(&c, "ihk_os_boot", os->status == EMU_RUNNING ? 0 : -EINVAL);
}

EXPORT int ihk_os_shutdown(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_shutdown", 0, &ret, "%d", index)) return ret;
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_shutdown", -ENOENT);
  os->status = EMU_INACTIVE;
  add_kmsg(os, "IHK/McKernel shut down.");
  return end(&c, "ihk_os_shutdown", 0);
}

EXPORT int ihk_os_get_status(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_status", 0, &ret, "%d", index)) return ret;
  struct emu_os* os = instance(&c, index);
  return end(&c, "ihk_os_get_status", os == NULL ? -ENOENT : os->status);
}

EXPORT int ihk_os_get_kmsg_size(int index) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_get_kmsg_size", 0, &ret, "%d", index)) return ret;
  return end(&c, "ihk_os_get_kmsg_size", instance(&c, index) == NULL ? -ENOENT : IHK_KMSG_SIZE);
}

EXPORT int ihk_os_kmsg(int index, char* kmsg, ssize_t size) {
  struct call c;
  int ret = 0;
  if (begin(&c, "ihk_os_kmsg", 0, &ret, "%d", index)) return ret;
  struct emu_os* os = instance(&c, index);
  if (os == NULL) return end(&c, "ihk_os_kmsg", -ENOENT);
  if (size != IHK_KMSG_SIZE || kmsg == NULL) return end(&c, "ihk_os_kmsg", -EINVAL);
  size_t length = strlen(os->kmsg);
  memcpy(kmsg, os->kmsg, length + 1);
  return end(&c, "ihk_os_kmsg", (int)length);
}
