// cgroup v2 device control: the v1 devices cgroup emulation, the eBPF code generation and the
// bpf(2) calls that load and attach the program. Follows runc 1.1 (cgroups/devices emulator,
// ebpf/devicefilter, ebpf/ebpf_linux.go), which follows crun's ebpf.c.
#include "cgroups/devices_bpf.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "cgroups/resources.hpp"
#include "cgroups/util.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/vocabulary.hpp"

namespace mkrun::cgroups::devices_bpf {
namespace {

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

// ---- the v1 emulation ------------------------------------------------------------------------

std::unexpected<Error> invalid(const std::string& why) {
  return fail("invalid `linux.resources.devices`: " + why);
}

// One spec rule in the form the v1 kernel reads it: "c 1:3 rw" allowed or denied, or a reset.
struct Line {
  bool allow = false;
  bool reset = false;  // "a *:* rwm": everything allowed or denied, exceptions dropped
  Exception exception;
};

std::string describe(const Exception& e) {
  auto number = [](int64_t n) { return n == kAnyNumber ? std::string("*") : std::to_string(n); };
  std::string access;
  if (e.access & BPF_DEVCG_ACC_READ) access += 'r';
  if (e.access & BPF_DEVCG_ACC_WRITE) access += 'w';
  if (e.access & BPF_DEVCG_ACC_MKNOD) access += 'm';
  return std::string(1, e.type) + " " + number(e.major) + ":" + number(e.minor) + " " + access;
}

// The access as the program's bits, read as the v1 lines are (oci::vocabulary::device_access):
// empty is rwm, other letters than r, w and m are ignored; 0 when it names none of them.
uint32_t access_bits(std::string_view access) {
  uint32_t bits = 0;
  for (char c : oci::vocabulary::device_access(access)) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

// The spec's absent or negative number is runc's wildcard; the program compares 32-bit values.
Result<int64_t> device_number(const std::optional<int64_t>& number, const char* what) {
  if (!number || *number < 0) return kAnyNumber;
  if (*number > std::numeric_limits<uint32_t>::max()) {
    return invalid("device " + std::string(what) + " " + std::to_string(*number) +
                   " is out of range");
  }
  return *number;
}

// As resources.cpp writes v1 lines: only "a *:* rwm" is the kernel's reset; a narrower "a" rule
// is the same rule for char and for block devices; a rule with no access has no line.
Result<std::vector<Line>> lines_of(const oci::DeviceCgroupRule& rule) {
  std::string type = rule.type.empty() ? "a" : rule.type;
  if (type != "a" && type != "b" && type != "c") {
    return invalid("device type \"" + rule.type + "\" is not one of a, b, c");
  }
  Exception e;
  e.access = access_bits(rule.access);
  if (e.access == 0) return std::vector<Line>{};  // allows or denies nothing
  e.major = MKRUN_TRY(device_number(rule.major, "major"));
  e.minor = MKRUN_TRY(device_number(rule.minor, "minor"));
  bool everything = e.major == kAnyNumber && e.minor == kAnyNumber && e.access == kAllAccess;
  if (type == "a" && everything) return std::vector<Line>{{rule.allow, true, e}};
  if (type != "a") {
    e.type = type[0];
    return std::vector<Line>{{rule.allow, false, e}};
  }
  Exception block = e;
  e.type = 'c';
  block.type = 'b';
  return std::vector<Line>{{rule.allow, false, e}, {rule.allow, false, block}};
}

// runc's devices.Emulator. The map's key order (major, minor, type), wildcards (-1) first, is the
// order runc sorts the rules in, so the program comes out the same.
class Emulator {
 public:
  Result<void> apply(const Line& line) {
    if (line.reset) {
      default_allow_ = line.allow;
      exceptions_.clear();
      return {};
    }
    // An exception lists what differs from the default: a rule agreeing with the default takes
    // its access out of the exception, one disagreeing adds to it.
    if (line.allow == default_allow_) return remove(line.exception);
    add(line.exception);
    return {};
  }

  Policy policy() const {
    Policy policy{default_allow_, {}};
    for (const auto& [key, access] : exceptions_) {
      const auto& [major, minor, type] = key;
      policy.exceptions.push_back({type, major, minor, access});
    }
    return policy;
  }

 private:
  using Key = std::tuple<int64_t, int64_t, char>;  // major, minor, type

  static Key key_of(const Exception& e) { return {e.major, e.minor, e.type}; }

  void add(const Exception& e) { exceptions_[key_of(e)] |= e.access; }

  // v1 removes only an exception equal to the rule: taking access away from a device that a
  // wildcard exception covers would be silently ignored. runc refuses such rules rather than
  // leave the container with access the user meant to take away; so does mkrun.
  Result<void> remove(const Exception& e) {
    const std::array<Exception, 3> wildcards = {{{e.type, kAnyNumber, e.minor, 0},
                                                 {e.type, e.major, kAnyNumber, 0},
                                                 {e.type, kAnyNumber, kAnyNumber, 0}}};
    for (const Exception& wildcard : wildcards) {
      if (key_of(wildcard) == key_of(e)) continue;
      auto it = exceptions_.find(key_of(wildcard));
      if (it == exceptions_.end() || (it->second & e.access) == 0) continue;
      Exception existing = wildcard;
      existing.access = it->second;
      return invalid("the rule \"" + describe(e) + "\" cannot take access away from part of \"" +
                     describe(existing) + "\" (a devices cgroup cannot punch a hole in a " +
                     "wildcard rule)");
    }
    auto it = exceptions_.find(key_of(e));
    if (it == exceptions_.end()) return {};
    it->second &= ~e.access;
    if (it->second == 0) exceptions_.erase(it);
    return {};
  }

  bool default_allow_ = false;
  std::map<Key, uint32_t> exceptions_;
};

// ---- code generation -------------------------------------------------------------------------

// Registers: r1 is the context (struct bpf_cgroup_dev_ctx) on entry and a scratch register later,
// r0 the verdict.
enum Register : uint8_t { kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5 };

bpf_insn instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t offset, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = offset;
  insn.imm = imm;
  return insn;
}

bpf_insn load_word(Register dst, int16_t offset) {
  return instruction(BPF_LDX | BPF_MEM | BPF_W, dst, kR1, offset, 0);
}
bpf_insn alu32_imm(uint8_t op, Register dst, int32_t imm) {
  return instruction(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(Register dst, Register src) {
  return instruction(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
// Jumps are made with offset 0 and pointed at the end of their block once its size is known.
bpf_insn jne_imm(Register dst, int32_t imm) {
  return instruction(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}
bpf_insn jne_reg(Register dst, Register src) {
  return instruction(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0);
}
bpf_insn exit_instruction() {
  return instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

// r2 = type (low 16 bits of access_type), r3 = access (high 16 bits), r4 = major, r5 = minor.
void append_prologue(std::vector<bpf_insn>& out) {
  out.push_back(load_word(kR2, 0));
  out.push_back(alu32_imm(BPF_AND, kR2, 0xFFFF));
  out.push_back(load_word(kR3, 0));
  out.push_back(alu32_imm(BPF_RSH, kR3, 16));
  out.push_back(load_word(kR4, 4));
  out.push_back(load_word(kR5, 8));
}

void append_return(std::vector<bpf_insn>& out, bool allow) {
  out.push_back(alu32_imm(BPF_MOV, kR0, allow ? 1 : 0));
  out.push_back(exit_instruction());
}

// A block returning `allow` when the request matches `e`, else falling through to the next.
void append_block(std::vector<bpf_insn>& out, const Exception& e, bool allow) {
  std::vector<bpf_insn> block;
  block.push_back(jne_imm(kR2, e.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
  if (e.access != kAllAccess) {
    // The requested access must be a subset: (r3 & access) == r3, with r1 as the scratch.
    block.push_back(mov32_reg(kR1, kR3));
    block.push_back(alu32_imm(BPF_AND, kR1, static_cast<int32_t>(e.access)));
    block.push_back(jne_reg(kR1, kR3));
  }
  if (e.major != kAnyNumber) block.push_back(jne_imm(kR4, static_cast<int32_t>(e.major)));
  if (e.minor != kAnyNumber) block.push_back(jne_imm(kR5, static_cast<int32_t>(e.minor)));
  append_return(block, allow);
  for (size_t i = 0; i < block.size(); ++i) {
    bool jump = block[i].code == (BPF_JMP | BPF_JNE | BPF_K) ||
                block[i].code == (BPF_JMP | BPF_JNE | BPF_X);
    if (jump) block[i].off = static_cast<int16_t>(block.size() - i - 1);
  }
  out.insert(out.end(), block.begin(), block.end());
}

// ---- bpf(2) ----------------------------------------------------------------------------------

long bpf(int command, bpf_attr& attr) {
  return ::syscall(SYS_bpf, command, &attr, sizeof attr);
}

// Kernels before 5.11 charge program memory to RLIMIT_MEMLOCK, which can be as low as 64 KiB.
// runc raises it for good; mkrun may still fork the container from this process, so it raises the
// limit only for the one retry and puts it back.
long load_with_memlock_raised(bpf_attr& attr) {
  rlimit old{};
  if (::getrlimit(RLIMIT_MEMLOCK, &old) != 0) return -1;
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0) {
    errno = EPERM;
    return -1;
  }
  long fd = bpf(BPF_PROG_LOAD, attr);
  int saved = errno;
  (void)::setrlimit(RLIMIT_MEMLOCK, &old);
  errno = saved;
  return fd;
}

Result<UniqueFd> load_program(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache";  // runc's
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uint64_t>(kLicense);
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd < 0 && errno == EPERM) fd = load_with_memlock_raised(attr);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));  // bpf(2) fds are always O_CLOEXEC
  int error = errno;
  if (error != EINVAL && error != EACCES) return fail_errno("load the device filter program");
  // The verifier said no: load once more for its explanation.
  std::string log(4096, '\0');
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  (void)bpf(BPF_PROG_LOAD, attr);
  log.resize(log.find('\0'));
  return fail_errno(
      "load the device filter program (verifier: " + std::string(util::trim(log)) + ")", error);
}

Result<UniqueFd> open_cgroup(const std::string& dir) {
  // BPF_PROG_ATTACH wants a real open file: O_PATH descriptors are refused.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open cgroup `" + dir + "`");
  return fd;
}

bool on_cgroup2(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

Result<std::vector<uint32_t>> query_programs(int cgroup_fd, const std::string& dir) {
  std::vector<uint32_t> ids(64);
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (bpf(BPF_PROG_QUERY, attr) < 0) {
    return fail_errno("list the device programs of cgroup `" + dir + "`");
  }
  ids.resize(std::min<size_t>(attr.query.prog_cnt, ids.size()));
  return ids;
}

// nullopt when the program went away since it was listed.
Result<std::optional<UniqueFd>> program_by_id(uint32_t id) {
  bpf_attr attr{};
  attr.prog_id = id;
  long fd = bpf(BPF_PROG_GET_FD_BY_ID, attr);
  if (fd < 0 && errno == ENOENT) return std::optional<UniqueFd>();
  if (fd < 0) return fail_errno("open device program " + std::to_string(id));
  return std::optional<UniqueFd>(UniqueFd(static_cast<int>(fd)));
}

long attach_program(int cgroup_fd, int program_fd, uint32_t flags, int replaced_fd) {
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  if (flags & BPF_F_REPLACE) attr.replace_bpf_fd = static_cast<uint32_t>(replaced_fd);
  return bpf(BPF_PROG_ATTACH, attr);
}

long detach_program(int cgroup_fd, int program_fd) {
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(program_fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  return bpf(BPF_PROG_DETACH, attr);
}

// Swaps the single attached program for the new one in one step. false: the kernel predates
// BPF_F_REPLACE (EINVAL) or the old program is gone, so the caller attaches and detaches.
Result<bool> replace_single(int cgroup_fd, int program_fd, uint32_t old_id,
                            const std::string& dir) {
  auto old = MKRUN_TRY(program_by_id(old_id));
  if (!old) return false;
  if (attach_program(cgroup_fd, program_fd, BPF_F_ALLOW_MULTI | BPF_F_REPLACE, old->get()) == 0)
    return true;
  if (errno == EINVAL || errno == ENOENT) return false;
  return fail_errno("replace the device filter of cgroup `" + dir + "`");
}

Result<void> detach_all(int cgroup_fd, const std::vector<uint32_t>& ids, const std::string& dir) {
  for (uint32_t id : ids) {
    auto old = MKRUN_TRY(program_by_id(id));
    if (!old) continue;
    if (detach_program(cgroup_fd, old->get()) != 0 && errno != ENOENT) {
      return fail_errno("detach the old device filter of cgroup `" + dir + "`");
    }
  }
  return {};
}

Result<void> attach_to(int cgroup_fd, const std::string& dir,
                       const std::vector<bpf_insn>& program) {
  UniqueFd loaded = MKRUN_TRY(load_program(program));
  auto old = MKRUN_TRY(query_programs(cgroup_fd, dir));
  if (old.size() == 1 && MKRUN_TRY(replace_single(cgroup_fd, loaded.get(), old[0], dir))) return {};
  if (attach_program(cgroup_fd, loaded.get(), BPF_F_ALLOW_MULTI, -1) != 0) {
    return fail_errno("attach the device filter to cgroup `" + dir + "`");
  }
  return detach_all(cgroup_fd, old, dir);
}

// runc's userns.RunningInUserNS: the initial user namespace maps every uid onto itself.
bool in_user_namespace() {
  auto map = util::read_text("/proc/self/uid_map");
  if (!map) return false;
  auto words = util::words(*map);
  return !(words.size() == 3 && words[0] == "0" && words[1] == "0" && words[2] == "4294967295");
}

}  // namespace

Result<Policy> emulate(const std::vector<oci::DeviceCgroupRule>& rules) {
  Emulator emulator;
  for (const oci::DeviceCgroupRule& rule : rules) {
    for (const Line& line : MKRUN_TRY(lines_of(rule))) MKRUN_CHECK(emulator.apply(line));
  }
  return emulator.policy();
}

bool allows(const Policy& policy, char type, uint32_t major, uint32_t minor, uint32_t access) {
  for (const Exception& e : policy.exceptions) {
    bool match = e.type == type && (e.access & access) == access &&
                 (e.major == kAnyNumber || e.major == major) &&
                 (e.minor == kAnyNumber || e.minor == minor);
    if (match) return !policy.default_allow;
  }
  return policy.default_allow;
}

std::vector<bpf_insn> program_for(const Policy& policy) {
  std::vector<bpf_insn> program;
  append_prologue(program);
  for (const Exception& e : policy.exceptions) append_block(program, e, !policy.default_allow);
  append_return(program, policy.default_allow);
  return program;
}

Result<Policy> container_policy(const std::vector<oci::DeviceCgroupRule>& spec_rules) {
  std::vector<oci::DeviceCgroupRule> rules = spec_rules;
  auto defaults = default_device_rules();
  rules.insert(rules.end(), defaults.begin(), defaults.end());
  return emulate(rules);
}

Result<void> attach(const std::string& cgroup_dir, const std::vector<bpf_insn>& program) {
  UniqueFd cgroup = MKRUN_TRY(open_cgroup(cgroup_dir));
  return attach_to(cgroup.get(), cgroup_dir, program);
}

Result<void> apply(const std::string& cgroup_dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  Policy policy = MKRUN_TRY(container_policy(rules));
  UniqueFd cgroup = MKRUN_TRY(open_cgroup(cgroup_dir));
  if (!on_cgroup2(cgroup.get())) return {};
  auto attached = attach_to(cgroup.get(), cgroup_dir, program_for(policy));
  bool allows_everything = policy.default_allow && policy.exceptions.empty();
  if (!attached && (allows_everything || in_user_namespace())) return {};
  return attached;
}

Result<std::vector<uint32_t>> attached_program_ids(const std::string& cgroup_dir) {
  UniqueFd cgroup = MKRUN_TRY(open_cgroup(cgroup_dir));
  return query_programs(cgroup.get(), cgroup_dir);
}

}  // namespace mkrun::cgroups::devices_bpf
