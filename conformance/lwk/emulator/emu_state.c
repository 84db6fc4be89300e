#include "emu_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char* const kStatusNames[] = {"INACTIVE", "BOOTING", "RUNNING",  "SHUTDOWN",
                                           "PANIC",    "HUNGUP",  "FREEZING", "FROZEN"};

const char* emu_state_path(void) {
  const char* path = getenv("MKRUN_IHK_EMULATOR_STATE");
  return path != NULL && *path != '\0' ? path : NULL;
}

const char* emu_status_name(int status) {
  if (status < 0 || status > EMU_FROZEN) return "UNKNOWN";
  return kStatusNames[status];
}

int emu_status_from_name(const char* name) {
  for (int i = 0; i <= EMU_FROZEN; ++i) {
    if (strcmp(name, kStatusNames[i]) == 0) return i;
  }
  return -1;
}

int emu_cpus_has(const struct emu_cpus* cpus, int cpu) {
  for (int i = 0; i < cpus->n; ++i) {
    if (cpus->ids[i] == cpu) return 1;
  }
  return 0;
}

void emu_cpus_add(struct emu_cpus* cpus, int cpu) {
  if (!emu_cpus_has(cpus, cpu) && cpus->n < EMU_MAX_CPUS) cpus->ids[cpus->n++] = cpu;
}

void emu_cpus_remove(struct emu_cpus* cpus, int cpu) {
  int j = 0;
  for (int i = 0; i < cpus->n; ++i) {
    if (cpus->ids[i] != cpu) cpus->ids[j++] = cpus->ids[i];
  }
  cpus->n = j;
}

int emu_cpus_parse(const char* text, struct emu_cpus* out) {
  out->n = 0;
  const char* p = text;
  while (*p != '\0') {
    char* end = NULL;
    long first = strtol(p, &end, 10);
    if (end == p) return -EINVAL;
    long last = first;
    if (*end == '-') {
      p = end + 1;
      last = strtol(p, &end, 10);
      if (end == p) return -EINVAL;
    }
    if (first < 0 || last >= EMU_MAX_CPUS || last < first) return -EINVAL;
    for (long cpu = first; cpu <= last; ++cpu) emu_cpus_add(out, (int)cpu);
    if (*end == ',')
      ++end;
    else if (*end != '\0')
      return -EINVAL;
    p = end;
  }
  return 0;
}

void emu_cpus_format(const struct emu_cpus* cpus, char* out, int size) {
  int used = 0;
  out[0] = '\0';
  for (int i = 0; i < cpus->n && used < size; ++i) {
    int j = i;
    while (j + 1 < cpus->n && cpus->ids[j + 1] == cpus->ids[j] + 1) ++j;
    if (j > i)
      used += snprintf(out + used, (size_t)(size - used), "%s%d-%d", i ? "," : "", cpus->ids[i],
                       cpus->ids[j]);
    else
      used += snprintf(out + used, (size_t)(size - used), "%s%d", i ? "," : "", cpus->ids[i]);
    i = j;
  }
}

void emu_chunks_add(struct emu_chunks* chunks, uint64_t size, int node) {
  if (chunks->n == EMU_MAX_CHUNKS) return;
  chunks->size[chunks->n] = size;
  chunks->node[chunks->n++] = node;
}

void emu_chunks_remove(struct emu_chunks* chunks, int index) {
  for (int i = index; i + 1 < chunks->n; ++i) {
    chunks->size[i] = chunks->size[i + 1];
    chunks->node[i] = chunks->node[i + 1];
  }
  chunks->n--;
}

int emu_chunks_find(const struct emu_chunks* chunks, uint64_t size, int node) {
  for (int i = 0; i < chunks->n; ++i) {
    if (chunks->size[i] == size && chunks->node[i] == node) return i;
  }
  return -1;
}

void emu_chunks_format(const struct emu_chunks* chunks, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < chunks->n && used < size; ++i)
    used += (size_t)snprintf(out + used, size - used, "%s%llu@%d", i ? "," : "",
                             (unsigned long long)chunks->size[i], chunks->node[i]);
}

static void parse_chunks(const char* text, struct emu_chunks* chunks) {
  chunks->n = 0;
  const char* p = text;
  while (*p != '\0') {
    char* end = NULL;
    unsigned long long size = strtoull(p, &end, 10);
    if (end == p || *end != '@') return;
    long node = strtol(end + 1, &end, 10);
    if (node >= 0 && node < EMU_MAX_NODES) emu_chunks_add(chunks, size, (int)node);
    if (*end == ',') ++end;
    p = end;
  }
}

static void escape(const char* in, char* out, size_t size) {
  size_t used = 0;
  for (; *in != '\0' && used + 3 < size; ++in) {
    if (*in == '\n' || *in == ' ' || *in == '\\') {
      out[used++] = '\\';
      out[used++] = *in == '\n' ? 'n' : *in == ' ' ? 's' : '\\';
    } else {
      out[used++] = *in;
    }
  }
  out[used] = '\0';
}

static void unescape(const char* in, char* out, size_t size) {
  size_t used = 0;
  for (; *in != '\0' && used + 1 < size; ++in) {
    if (*in == '\\' && in[1] != '\0') {
      ++in;
      out[used++] = *in == 'n' ? '\n' : *in == 's' ? ' ' : *in;
    } else {
      out[used++] = *in;
    }
  }
  out[used] = '\0';
}

static void parse_mem(const char* text, uint64_t* mem) {
  memset(mem, 0, sizeof(uint64_t) * EMU_MAX_NODES);
  const char* p = text;
  while (*p != '\0') {
    char* end = NULL;
    unsigned long long size = strtoull(p, &end, 10);
    if (end == p || *end != '@') return;
    long node = strtol(end + 1, &end, 10);
    if (node >= 0 && node < EMU_MAX_NODES) mem[node] += size;
    if (*end == ',') ++end;
    p = end;
  }
}

static void format_mem(const uint64_t* mem, char* out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int node = 0; node < EMU_MAX_NODES && used < size; ++node) {
    if (mem[node] == 0) continue;
    used += (size_t)snprintf(out + used, size - used, "%s%llu@%d", used ? "," : "",
                             (unsigned long long)mem[node], node);
  }
}

/* "key=value" fields of an os line. */
static void parse_os_field(struct emu_os* os, const char* field) {
  const char* value = strchr(field, '=');
  if (value == NULL) return;
  size_t key_length = (size_t)(value - field);
  ++value;
  if (strncmp(field, "cpus", key_length) == 0)
    emu_cpus_parse(value, &os->cpus);
  else if (strncmp(field, "mem", key_length) == 0)
    parse_chunks(value, &os->mem);
  else if (strncmp(field, "loaded", key_length) == 0)
    os->loaded = atoi(value);
  else if (strncmp(field, "ikc", key_length) == 0)
    unescape(value, os->ikc, sizeof os->ikc);
  else if (strncmp(field, "kargs", key_length) == 0)
    unescape(value, os->kargs, sizeof os->kargs);
  else if (strncmp(field, "kmsg", key_length) == 0)
    unescape(value, os->kmsg, sizeof os->kmsg);
}

static void parse_os_line(struct emu_state* st, char* rest) {
  char* save = NULL;
  char* index = strtok_r(rest, " ", &save);
  char* status = strtok_r(NULL, " ", &save);
  if (index == NULL || status == NULL) return;
  int n = atoi(index);
  if (n < 0 || n >= EMU_MAX_OS) return;
  struct emu_os* os = &st->os[n];
  memset(os, 0, sizeof *os);
  os->exists = 1;
  os->status = emu_status_from_name(status);
  for (char* field; (field = strtok_r(NULL, " ", &save)) != NULL;) parse_os_field(os, field);
}

static void parse_leaked(struct emu_state* st, char* fields) {
  char* save = NULL;
  for (char* field = strtok_r(fields, " ", &save); field != NULL;
       field = strtok_r(NULL, " ", &save)) {
    if (strncmp(field, "cpus=", 5) == 0) emu_cpus_parse(field + 5, &st->leaked_cpus);
    if (strncmp(field, "mem=", 4) == 0) parse_chunks(field + 4, &st->leaked_mem);
  }
}

static void parse_line(struct emu_state* st, char* line) {
  char* value = strchr(line, ' ');
  if (value != NULL)
    *value++ = '\0';
  else
    value = line + strlen(line);
  if (strcmp(line, "loaded") == 0)
    st->loaded = atoi(value);
  else if (strcmp(line, "build_id") == 0)
    unescape(value, st->build_id, sizeof st->build_id);
  else if (strcmp(line, "dev_major") == 0)
    st->dev_major = atoi(value);
  else if (strcmp(line, "dev_dir") == 0)
    unescape(value, st->dev_dir, sizeof st->dev_dir);
  else if (strcmp(line, "sysfs") == 0)
    unescape(value, st->sysfs, sizeof st->sysfs);
  else if (strcmp(line, "mcd") == 0)
    unescape(value, st->mcd, sizeof st->mcd);
  else if (strcmp(line, "cpus") == 0)
    emu_cpus_parse(value, &st->present);
  else if (strcmp(line, "offline") == 0)
    emu_cpus_parse(value, &st->offline);
  else if (strcmp(line, "reserved") == 0)
    emu_cpus_parse(value, &st->reserved);
  else if (strcmp(line, "linux_mem") == 0)
    parse_mem(value, st->linux_mem);
  else if (strcmp(line, "linux_max_chunk") == 0)
    st->linux_max_chunk = strtoull(value, NULL, 10);
  else if (strcmp(line, "pool_mem") == 0)
    parse_chunks(value, &st->pool_mem);
  else if (strcmp(line, "leaked") == 0)
    parse_leaked(st, value);
  else if (strcmp(line, "boot_result") == 0)
    unescape(value, st->boot_result, sizeof st->boot_result);
  else if (strcmp(line, "boot_message") == 0)
    unescape(value, st->boot_message, sizeof st->boot_message);
  else if (strcmp(line, "boot_delay_ms") == 0)
    st->boot_delay_ms = (unsigned)strtoul(value, NULL, 10);
  else if (strcmp(line, "os") == 0)
    parse_os_line(st, value);
  else if (strcmp(line, "fail") == 0 && st->nfails < EMU_MAX_FAILS) {
    struct emu_fail* f = &st->fails[st->nfails];
    if (sscanf(value, "%63s %d %d", f->function, &f->errc, &f->count) == 3) st->nfails++;
  } else if (strcmp(line, "crash") == 0) {
    if (sscanf(value, "%63s %15s", st->crash_function, st->crash_when) != 2)
      st->crash_function[0] = '\0';
  }
}

int emu_load(const char* path, struct emu_state* st) {
  memset(st, 0, sizeof *st);
  strcpy(st->dev_dir, "/dev");
  strcpy(st->boot_result, "RUNNING");
  FILE* file = fopen(path, "re");
  if (file == NULL) return -errno;
  char line[8192];
  while (fgets(line, sizeof line, file) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] != '\0' && line[0] != '#') parse_line(st, line);
  }
  fclose(file);
  return 0;
}

static void write_os(FILE* file, int n, const struct emu_os* os) {
  char cpus[512], mem[512], ikc[512], kargs[1024], kmsg[2 * EMU_TEXT];
  emu_cpus_format(&os->cpus, cpus, sizeof cpus);
  emu_chunks_format(&os->mem, mem, sizeof mem);
  escape(os->ikc, ikc, sizeof ikc);
  escape(os->kargs, kargs, sizeof kargs);
  escape(os->kmsg, kmsg, sizeof kmsg);
  fprintf(file, "os %d %s cpus=%s mem=%s loaded=%d ikc=%s kargs=%s kmsg=%s\n", n,
          emu_status_name(os->status), cpus, mem, os->loaded, ikc, kargs, kmsg);
}

static void write_state(FILE* file, const struct emu_state* st) {
  char text[4096], escaped[4096];
  fprintf(file, "loaded %d\n", st->loaded);
  escape(st->build_id, escaped, sizeof escaped);
  fprintf(file, "build_id %s\ndev_major %d\n", escaped, st->dev_major);
  fprintf(file, "dev_dir %s\nsysfs %s\nmcd %s\n", st->dev_dir, st->sysfs, st->mcd);
  emu_cpus_format(&st->present, text, sizeof text);
  fprintf(file, "cpus %s\n", text);
  emu_cpus_format(&st->offline, text, sizeof text);
  fprintf(file, "offline %s\n", text);
  emu_cpus_format(&st->reserved, text, sizeof text);
  fprintf(file, "reserved %s\n", text);
  format_mem(st->linux_mem, text, sizeof text);
  fprintf(file, "linux_mem %s\n", text);
  if (st->linux_max_chunk != 0)
    fprintf(file, "linux_max_chunk %llu\n", (unsigned long long)st->linux_max_chunk);
  emu_chunks_format(&st->pool_mem, text, sizeof text);
  fprintf(file, "pool_mem %s\n", text);
  if (st->leaked_cpus.n != 0 || st->leaked_mem.n != 0) {
    char mem[4096];
    emu_cpus_format(&st->leaked_cpus, text, sizeof text);
    emu_chunks_format(&st->leaked_mem, mem, sizeof mem);
    fprintf(file, "leaked cpus=%s mem=%s\n", text, mem);
  }
  escape(st->boot_message, escaped, sizeof escaped);
  fprintf(file, "boot_result %s\nboot_message %s\n", st->boot_result, escaped);
  if (st->boot_delay_ms != 0) fprintf(file, "boot_delay_ms %u\n", st->boot_delay_ms);
  for (int n = 0; n < EMU_MAX_OS; ++n) {
    if (st->os[n].exists) write_os(file, n, &st->os[n]);
  }
  for (int i = 0; i < st->nfails; ++i)
    fprintf(file, "fail %s %d %d\n", st->fails[i].function, st->fails[i].errc, st->fails[i].count);
  if (st->crash_function[0] != '\0')
    fprintf(file, "crash %s %s\n", st->crash_function, st->crash_when);
}

char* emu_format(const struct emu_state* st) {
  char* text = NULL;
  size_t length = 0;
  FILE* memory = open_memstream(&text, &length);
  if (memory == NULL) return NULL;
  write_state(memory, st);
  if (fclose(memory) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

int emu_save_text(const char* path, const char* text) {
  char temporary[4096];
  snprintf(temporary, sizeof temporary, "%s.tmp", path);
  FILE* file = fopen(temporary, "we");
  if (file == NULL) return -errno;
  fputs(text, file);
  if (fclose(file) != 0) return -errno;
  if (rename(temporary, path) < 0) return -errno;
  return 0;
}

int emu_save(const char* path, const struct emu_state* st) {
  char* text = emu_format(st);
  if (text == NULL) return -ENOMEM;
  int ret = emu_save_text(path, text);
  free(text);
  return ret;
}
