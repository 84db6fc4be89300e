/*
 * The emulated IHK node, kept in a text file so that every process (mkrun with the emulated
 * libihk.so, the emulated mcexec in a container, the tests) sees the same partition state.
 * Test-only: never installed.
 *
 * File ($MKRUN_IHK_EMULATOR_STATE), one record per line, written atomically (tmp + rename) by
 * the calls that change it (a query, like the driver's query ioctls, leaves it as it was):
 *   loaded 1                     0: as if the IHK modules were not loaded (/dev/mcd0 missing)
 *   build_id <text>              what `ihkconfig <dev> get buildid` prints
 *   dev_major <n>                major of the /dev/mcos<N> nodes the emulator makes
 *   dev_dir /dev                 where they are made
 *   sysfs <dir>                  emulated sysfs: devices/system/cpu/online is kept in sync
 *   mcd <path>                   stands for /dev/mcd<N>: device calls need to read it, as ihklib's
 *                                access("/dev/mcd<N>", R_OK) (root's 0600 unless chowned)
 *   cpus <list>                  CPUs present on the node
 *   offline <list>               offline in Linux (not by IHK)
 *   reserved <list>              in IHK's pool, in reservation order
 *   linux_mem <bytes>@<node>,... memory Linux can still give, per node
 *   linux_max_chunk <bytes>      Linux's free memory is fragmented into areas no larger than
 *                                this (0: one area): a reservation comes back in as many chunks
 *   pool_mem <bytes>@<node>,...  reserved and not assigned to an instance: IHK's chunks, in
 *                                order, never merged (a node may appear several times)
 *   leaked cpus=<list> mem=<chunks>   what ihk_destroy_os lost (an instance destroyed while
 *                                still holding resources, as the real driver loses them)
 *   boot_result RUNNING|PANIC|HUNGUP|BOOTING   what the next ihk_os_boot leads to
 *   boot_message <text>          added to the instance's kmsg by that boot
 *   boot_delay_ms <n>            ihk_os_boot returns n ms after the instance is RUNNING, as
 *                                McKernel's boot takes seconds on a real node (0: at once, the
 *                                default, for the tests' speed); the state is not locked then
 *   os <n> <STATUS> cpus=<list> mem=<chunks> loaded=<0|1> ikc=<map> kargs=<text> kmsg=<text>
 *   fail <function> <errno> <count>   the function fails with -errno, count times (-1: always)
 *   crash <function> before|after     SIGKILL the calling process at that call (once)
 * Text fields escape '\n' as "\\n" and ' ' as "\\s". Every call is appended to <state>.log as
 *   <function>(<args>) = <return value>
 */
#ifndef MKRUN_EMU_STATE_H
#define MKRUN_EMU_STATE_H

#include <stddef.h>
#include <stdint.h>

#define EMU_MAX_CPUS 64
#define EMU_MAX_NODES 8
#define EMU_MAX_OS 64
#define EMU_MAX_FAILS 16
#define EMU_MAX_CHUNKS 64
#define EMU_TEXT 2048

enum emu_status {
  EMU_INACTIVE,
  EMU_BOOTING,
  EMU_RUNNING,
  EMU_SHUTDOWN,
  EMU_PANIC,
  EMU_HUNGUP,
  EMU_FREEZING,
  EMU_FROZEN
};

struct emu_cpus {
  int n;
  int ids[EMU_MAX_CPUS];
};

/* Memory chunks as IHK keeps them: each has a size and a NUMA node, and is moved whole. */
struct emu_chunks {
  int n;
  uint64_t size[EMU_MAX_CHUNKS];
  int node[EMU_MAX_CHUNKS];
};

struct emu_os {
  int exists;
  int status;
  struct emu_cpus cpus;
  struct emu_chunks mem;
  int loaded;
  char ikc[256];
  char kargs[512];
  char kmsg[EMU_TEXT];
};

struct emu_fail {
  char function[64];
  int errc;
  int count;
};

struct emu_state {
  int loaded;
  char build_id[128];
  int dev_major;
  char dev_dir[256];
  char sysfs[512];
  char mcd[512];
  struct emu_cpus present, offline, reserved;
  uint64_t linux_mem[EMU_MAX_NODES];
  uint64_t linux_max_chunk;
  struct emu_chunks pool_mem;
  struct emu_cpus leaked_cpus;
  struct emu_chunks leaked_mem;
  char boot_result[32];
  char boot_message[512];
  unsigned boot_delay_ms;
  struct emu_os os[EMU_MAX_OS];
  struct emu_fail fails[EMU_MAX_FAILS];
  int nfails;
  char crash_function[64];
  char crash_when[16];
};

/* The state file's path, or NULL when the environment does not name one. */
const char* emu_state_path(void);
int emu_load(const char* path, struct emu_state* st); /* 0 or -errno */
int emu_save(const char* path, const struct emu_state* st);
/* The state as emu_save writes it (malloc'd, NUL-terminated; NULL when out of memory). */
char* emu_format(const struct emu_state* st);
/* Writes `text` (an emu_format result) as the state file, atomically. */
int emu_save_text(const char* path, const char* text);

int emu_cpus_parse(const char* text, struct emu_cpus* out); /* 0 or -EINVAL */
void emu_cpus_format(const struct emu_cpus* cpus, char* out, int size);
int emu_cpus_has(const struct emu_cpus* cpus, int cpu);
void emu_cpus_add(struct emu_cpus* cpus, int cpu);
void emu_cpus_remove(struct emu_cpus* cpus, int cpu);

void emu_chunks_add(struct emu_chunks* chunks, uint64_t size, int node);
void emu_chunks_remove(struct emu_chunks* chunks, int index);
/* The index of a chunk of exactly `size` on `node`, or -1. */
int emu_chunks_find(const struct emu_chunks* chunks, uint64_t size, int node);
void emu_chunks_format(const struct emu_chunks* chunks, char* out, size_t size);

const char* emu_status_name(int status);
int emu_status_from_name(const char* name);

#endif
