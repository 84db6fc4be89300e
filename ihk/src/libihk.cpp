// Ihk over libihk.so, resolved with dlopen/dlsym at run time. Every library call returns 0 or a
// non-negative value on success and -errno on failure; each becomes a Result here, named after
// the call and its arguments so a failure reads "ihk_reserve_cpu(0, 4-7): device or resource
// busy".
#include <dlfcn.h>

#include <cstring>

#include "mkrun/ihk/ihk.hpp"

namespace mkrun::ihk {
namespace {

// The two structures of ihklib.h that cross the library boundary, with the same layout.
struct ihk_mem_chunk {
  unsigned long size;
  int numa_node_number;
};

struct ihk_ikc_cpu_map {
  int src_cpu;
  int dst_cpu;
};

using CpusFn = int (*)(int, int*, int);
using MemFn = int (*)(int, ihk_mem_chunk*, int);
using IndexFn = int (*)(int);
using DevOsFn = int (*)(int, int);
using IkcFn = int (*)(int, ihk_ikc_cpu_map*, int);
using TextFn = int (*)(int, char*);
using KmsgFn = int (*)(int, char*, ssize_t);

// Every symbol mkrun needs; a library without one of them is refused at load time.
struct Symbols {
  CpusFn reserve_cpu, release_cpu, query_cpu;
  IndexFn get_num_reserved_cpus;
  MemFn reserve_mem, release_mem, query_mem;
  IndexFn get_num_reserved_mem_chunks;
  IndexFn create_os, get_num_os_instances;
  CpusFn get_os_instances;  // (int dev, int* indices, int n): the same shape as a CPU call
  DevOsFn destroy_os;
  CpusFn os_assign_cpu, os_release_cpu;
  MemFn os_assign_mem, os_release_mem;
  IndexFn os_get_num_assigned_cpus, os_get_num_assigned_mem_chunks;
  CpusFn os_query_cpu;
  MemFn os_query_mem;
  IkcFn os_set_ikc_map;
  TextFn os_load, os_kargs;
  IndexFn os_boot, os_shutdown, os_get_status, os_get_kmsg_size;
  KmsgFn os_kmsg;
};

class DlHandle {
 public:
  explicit DlHandle(void* handle) : handle_(handle) {}
  DlHandle(DlHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  DlHandle(const DlHandle&) = delete;
  DlHandle& operator=(const DlHandle&) = delete;
  DlHandle& operator=(DlHandle&&) = delete;
  ~DlHandle() {
    if (handle_ != nullptr) (void)::dlclose(handle_);
  }
  void* get() const { return handle_; }

 private:
  void* handle_;
};

template <class Fn>
Result<void> resolve(const DlHandle& library, const char* name, Fn& target,
                     const std::string& path) {
  ::dlerror();
  void* symbol = ::dlsym(library.get(), name);
  if (symbol == nullptr) return fail("`" + path + "` is not IHK's libihk.so: it has no " + name);
  target = reinterpret_cast<Fn>(symbol);
  return {};
}

Result<Symbols> resolve_all(const DlHandle& lib, const std::string& path) {
  Symbols s{};
  MKRUN_CHECK(resolve(lib, "ihk_reserve_cpu", s.reserve_cpu, path));
  MKRUN_CHECK(resolve(lib, "ihk_release_cpu", s.release_cpu, path));
  MKRUN_CHECK(resolve(lib, "ihk_query_cpu", s.query_cpu, path));
  MKRUN_CHECK(resolve(lib, "ihk_get_num_reserved_cpus", s.get_num_reserved_cpus, path));
  MKRUN_CHECK(resolve(lib, "ihk_reserve_mem", s.reserve_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_release_mem", s.release_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_query_mem", s.query_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_get_num_reserved_mem_chunks", s.get_num_reserved_mem_chunks, path));
  MKRUN_CHECK(resolve(lib, "ihk_create_os", s.create_os, path));
  MKRUN_CHECK(resolve(lib, "ihk_get_num_os_instances", s.get_num_os_instances, path));
  MKRUN_CHECK(resolve(lib, "ihk_get_os_instances", s.get_os_instances, path));
  MKRUN_CHECK(resolve(lib, "ihk_destroy_os", s.destroy_os, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_assign_cpu", s.os_assign_cpu, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_release_cpu", s.os_release_cpu, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_assign_mem", s.os_assign_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_release_mem", s.os_release_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_get_num_assigned_cpus", s.os_get_num_assigned_cpus, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_query_cpu", s.os_query_cpu, path));
  MKRUN_CHECK(
      resolve(lib, "ihk_os_get_num_assigned_mem_chunks", s.os_get_num_assigned_mem_chunks, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_query_mem", s.os_query_mem, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_set_ikc_map", s.os_set_ikc_map, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_load", s.os_load, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_kargs", s.os_kargs, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_boot", s.os_boot, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_shutdown", s.os_shutdown, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_get_status", s.os_get_status, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_get_kmsg_size", s.os_get_kmsg_size, path));
  MKRUN_CHECK(resolve(lib, "ihk_os_kmsg", s.os_kmsg, path));
  return s;
}

// A call's return value as a Result: negative values are -errno.
Result<int> checked(int ret, const std::string& call) {
  if (ret < 0) return fail(call, -ret);
  return ret;
}

std::string call_text(const char* name, int index, const std::string& args = "") {
  return std::string(name) + "(" + std::to_string(index) + (args.empty() ? "" : ", " + args) + ")";
}

std::vector<ihk_mem_chunk> to_chunks(const MemList& mem) {
  std::vector<ihk_mem_chunk> chunks;
  for (const MemChunk& chunk : mem.chunks()) chunks.push_back({chunk.size, chunk.numa_node});
  return chunks;
}

class LibIhk final : public Ihk {
 public:
  LibIhk(DlHandle library, Symbols symbols) : library_(std::move(library)), s_(symbols) {}

  Result<void> reserve_cpu(int dev, const CpuList& cpus) override {
    return cpu_call(s_.reserve_cpu, "ihk_reserve_cpu", dev, cpus);
  }
  Result<void> release_cpu(int dev, const CpuList& cpus) override {
    return cpu_call(s_.release_cpu, "ihk_release_cpu", dev, cpus);
  }
  Result<CpuList> reserved_cpus(int dev) override {
    int count = MKRUN_TRY(
        checked(s_.get_num_reserved_cpus(dev), call_text("ihk_get_num_reserved_cpus", dev)));
    if (count == 0) return CpuList();
    std::vector<int> cpus(static_cast<size_t>(count));
    MKRUN_TRY(checked(s_.query_cpu(dev, cpus.data(), count), call_text("ihk_query_cpu", dev)));
    return CpuList(cpus);
  }
  Result<void> reserve_mem(int dev, const MemList& mem) override {
    return mem_call(s_.reserve_mem, "ihk_reserve_mem", dev, mem);
  }
  Result<void> release_mem(int dev, const MemList& mem) override {
    return mem_call(s_.release_mem, "ihk_release_mem", dev, mem);
  }
  Result<MemList> reserved_mem(int dev) override {
    return query_mem(s_.get_num_reserved_mem_chunks, "ihk_get_num_reserved_mem_chunks",
                     s_.query_mem, "ihk_query_mem", dev);
  }

  Result<int> create_os(int dev) override {
    return checked(s_.create_os(dev), call_text("ihk_create_os", dev));
  }
  Result<std::vector<int>> os_instances(int dev) override {
    int count = MKRUN_TRY(
        checked(s_.get_num_os_instances(dev), call_text("ihk_get_num_os_instances", dev)));
    std::vector<int> indices(static_cast<size_t>(count));
    if (count == 0) return indices;
    MKRUN_TRY(checked(s_.get_os_instances(dev, indices.data(), count),
                      call_text("ihk_get_os_instances", dev)));
    return indices;
  }
  Result<void> destroy_os(int dev, int os) override {
    MKRUN_TRY(
        checked(s_.destroy_os(dev, os), call_text("ihk_destroy_os", dev, std::to_string(os))));
    return {};
  }

  Result<void> os_assign_cpu(int os, const CpuList& cpus) override {
    return cpu_call(s_.os_assign_cpu, "ihk_os_assign_cpu", os, cpus);
  }
  Result<void> os_release_cpu(int os, const CpuList& cpus) override {
    return cpu_call(s_.os_release_cpu, "ihk_os_release_cpu", os, cpus);
  }
  Result<void> os_assign_mem(int os, const MemList& mem) override {
    return mem_call(s_.os_assign_mem, "ihk_os_assign_mem", os, mem);
  }
  Result<void> os_release_mem(int os, const MemList& mem) override {
    return mem_call(s_.os_release_mem, "ihk_os_release_mem", os, mem);
  }
  Result<CpuList> os_cpus(int os) override {
    int count = MKRUN_TRY(
        checked(s_.os_get_num_assigned_cpus(os), call_text("ihk_os_get_num_assigned_cpus", os)));
    if (count == 0) return CpuList();
    std::vector<int> ids(static_cast<size_t>(count));
    MKRUN_TRY(checked(s_.os_query_cpu(os, ids.data(), count), call_text("ihk_os_query_cpu", os)));
    return CpuList(ids);
  }
  Result<MemList> os_mem(int os) override {
    return query_mem(s_.os_get_num_assigned_mem_chunks, "ihk_os_get_num_assigned_mem_chunks",
                     s_.os_query_mem, "ihk_os_query_mem", os);
  }
  Result<void> os_set_ikc_map(int os, const IkcMap& map) override {
    std::vector<ihk_ikc_cpu_map> pairs;
    for (const IkcRoute& route : map.routes()) pairs.push_back({route.lwk_cpu, route.linux_cpu});
    MKRUN_TRY(checked(s_.os_set_ikc_map(os, pairs.data(), static_cast<int>(pairs.size())),
                      call_text("ihk_os_set_ikc_map", os, map.to_string())));
    return {};
  }
  Result<void> os_load(int os, const std::string& image) override {
    return text_call(s_.os_load, "ihk_os_load", os, image);
  }
  Result<void> os_kargs(int os, const std::string& kargs) override {
    return text_call(s_.os_kargs, "ihk_os_kargs", os, kargs);
  }
  Result<void> os_boot(int os) override {
    MKRUN_TRY(checked(s_.os_boot(os), call_text("ihk_os_boot", os)));
    return {};
  }
  Result<void> os_shutdown(int os) override {
    MKRUN_TRY(checked(s_.os_shutdown(os), call_text("ihk_os_shutdown", os)));
    return {};
  }
  Result<OsStatus> os_status(int os) override {
    int status = MKRUN_TRY(checked(s_.os_get_status(os), call_text("ihk_os_get_status", os)));
    if (status > static_cast<int>(OsStatus::kFrozen))
      return fail(call_text("ihk_os_get_status", os) + ": unknown status " +
                  std::to_string(status));
    return static_cast<OsStatus>(status);
  }
  Result<std::string> os_kmsg(int os) override {
    int size = MKRUN_TRY(checked(s_.os_get_kmsg_size(os), call_text("ihk_os_get_kmsg_size", os)));
    std::string buffer(static_cast<size_t>(size), '\0');
    int length =
        MKRUN_TRY(checked(s_.os_kmsg(os, buffer.data(), size), call_text("ihk_os_kmsg", os)));
    buffer.resize(std::min(static_cast<size_t>(length), buffer.size()));
    buffer.resize(std::strlen(buffer.c_str()));  // the driver may hand back a NUL-padded buffer
    return buffer;
  }

 private:
  static Result<void> cpu_call(CpusFn fn, const char* name, int index, const CpuList& cpus) {
    std::vector<int> ids = cpus.ids();
    MKRUN_TRY(checked(fn(index, ids.data(), static_cast<int>(ids.size())),
                      call_text(name, index, cpus.to_string())));
    return {};
  }
  static Result<void> mem_call(MemFn fn, const char* name, int index, const MemList& mem) {
    std::vector<ihk_mem_chunk> chunks = to_chunks(mem);
    MKRUN_TRY(checked(fn(index, chunks.data(), static_cast<int>(chunks.size())),
                      call_text(name, index, mem.to_string())));
    return {};
  }
  // IHK's two-call query: the number of chunks, then exactly that many (a count that changed in
  // between is answered with EINVAL, an error here).
  static Result<MemList> query_mem(IndexFn count_fn, const char* count_name, MemFn query_fn,
                                   const char* query_name, int index) {
    int count = MKRUN_TRY(checked(count_fn(index), call_text(count_name, index)));
    if (count == 0) return MemList();
    std::vector<ihk_mem_chunk> chunks(static_cast<size_t>(count));
    MKRUN_TRY(checked(query_fn(index, chunks.data(), count), call_text(query_name, index)));
    std::vector<MemChunk> result;
    for (const auto& chunk : chunks) result.push_back({chunk.size, chunk.numa_node_number});
    return MemList(std::move(result));
  }
  static Result<void> text_call(TextFn fn, const char* name, int index, const std::string& text) {
    // The library takes a char*: hand it a private copy.
    std::string copy = text;
    MKRUN_TRY(checked(fn(index, copy.data()), call_text(name, index, "\"" + text + "\"")));
    return {};
  }

  DlHandle library_;
  Symbols s_;
};

}  // namespace

std::string_view to_string(OsStatus status) {
  switch (status) {
    case OsStatus::kInactive:
      return "INACTIVE";
    case OsStatus::kBooting:
      return "BOOTING";
    case OsStatus::kRunning:
      return "RUNNING";
    case OsStatus::kShutdown:
      return "SHUTDOWN";
    case OsStatus::kPanic:
      return "PANIC";
    case OsStatus::kHungup:
      return "HUNGUP";
    case OsStatus::kFreezing:
      return "FREEZING";
    case OsStatus::kFrozen:
      return "FROZEN";
  }
  return "UNKNOWN";
}

Result<std::unique_ptr<Ihk>> load_libihk(const std::string& path) {
  ::dlerror();
  DlHandle library(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.get() == nullptr) {
    const char* reason = ::dlerror();
    return fail("cannot load IHK's library: " + std::string(reason ? reason : path));
  }
  Symbols symbols = MKRUN_TRY(resolve_all(library, path));
  return std::make_unique<LibIhk>(std::move(library), symbols);
}

std::string kmsg_tail(std::string_view kmsg, size_t max_lines) {
  while (!kmsg.empty() && (kmsg.back() == '\n' || kmsg.back() == '\0')) kmsg.remove_suffix(1);
  size_t start = kmsg.size();
  for (size_t lines = 0; start > 0 && lines < max_lines;) {
    --start;
    if (kmsg[start] == '\n' && ++lines == max_lines) {
      ++start;
      break;
    }
  }
  return std::string(kmsg.substr(start));
}

}  // namespace mkrun::ihk
