// The v2 device filter: the v1 emulation, the generated instructions (against runc's
// devicefilter_test.go listings), the program's decisions through a small interpreter (the
// kernel has no BPF_PROG_TEST_RUN for cgroup device programs), and, as root on a host with a
// cgroup2 mount, the program attached for real.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/devices_bpf.hpp"
#include "cgroups/manager.hpp"

namespace mkrun::cgroups::devices_bpf {
namespace {

constexpr uint32_t kR = BPF_DEVCG_ACC_READ;
constexpr uint32_t kW = BPF_DEVCG_ACC_WRITE;
constexpr uint32_t kM = BPF_DEVCG_ACC_MKNOD;

oci::DeviceCgroupRule rule(bool allow, std::string type, std::optional<int64_t> major,
                           std::optional<int64_t> minor, std::string access) {
  return {allow, std::move(type), major, minor, std::move(access)};
}

Policy policy_of(const std::vector<oci::DeviceCgroupRule>& rules) {
  auto policy = emulate(rules);
  if (!policy) FAIL(policy.error().render());
  return *policy;
}

// ---- a disassembler in the spirit of cilium/ebpf's, so listings compare with runc's ----------

std::string disassemble(const bpf_insn& insn) {
  auto reg = [](int r) { return "r" + std::to_string(r); };
  std::string dst = reg(insn.dst_reg);
  std::string imm = std::to_string(insn.imm);
  std::string off = std::to_string(insn.off);
  switch (insn.code) {
    case BPF_LDX | BPF_MEM | BPF_W:
      return "LdXMemW " + dst + " " + reg(insn.src_reg) + " " + off;
    case BPF_ALU | BPF_AND | BPF_K:
      return "And32Imm " + dst + " " + imm;
    case BPF_ALU | BPF_RSH | BPF_K:
      return "RSh32Imm " + dst + " " + imm;
    case BPF_ALU | BPF_MOV | BPF_K:
      return "Mov32Imm " + dst + " " + imm;
    case BPF_ALU | BPF_MOV | BPF_X:
      return "Mov32Reg " + dst + " " + reg(insn.src_reg);
    case BPF_JMP | BPF_JNE | BPF_K:
      return "JNEImm " + dst + " " + imm + " +" + off;
    case BPF_JMP | BPF_JNE | BPF_X:
      return "JNEReg " + dst + " " + reg(insn.src_reg) + " +" + off;
    case BPF_JMP | BPF_EXIT:
      return "Exit";
    default:
      return "unknown opcode " + std::to_string(insn.code);
  }
}

std::vector<std::string> listing(const std::vector<bpf_insn>& program) {
  std::vector<std::string> out;
  for (const bpf_insn& insn : program) out.push_back(disassemble(insn));
  return out;
}

const std::vector<std::string> kPrologue = {
    "LdXMemW r2 r1 0", "And32Imm r2 65535", "LdXMemW r3 r1 0",
    "RSh32Imm r3 16",  "LdXMemW r4 r1 4",   "LdXMemW r5 r1 8",
};

std::vector<std::string> with_prologue(std::vector<std::string> body) {
  std::vector<std::string> out = kPrologue;
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// ---- an interpreter for exactly the instructions the generator uses --------------------------

// struct bpf_cgroup_dev_ctx { u32 access_type (type | access << 16); u32 major; u32 minor; }
struct Request {
  uint32_t type;  // BPF_DEVCG_DEV_CHAR or _BLOCK
  uint32_t access;
  uint32_t major;
  uint32_t minor;
};

// The program's return value; fails the test on anything the kernel's verifier would refuse in
// this subset (bad context offsets, a jump out of the program, no exit, an unset r0).
int run(const std::vector<bpf_insn>& program, const Request& request) {
  const uint32_t context[3] = {request.type | (request.access << 16), request.major, request.minor};
  uint64_t regs[11] = {};
  bool r0_set = false;
  size_t pc = 0;
  for (int steps = 0; steps < 4096; ++steps) {
    REQUIRE(pc < program.size());
    const bpf_insn& insn = program[pc++];
    uint64_t& dst = regs[insn.dst_reg];
    uint64_t src = regs[insn.src_reg];
    auto jump_if = [&](bool taken) {
      if (!taken) return;
      REQUIRE(insn.off >= 0);
      pc += static_cast<size_t>(insn.off);
    };
    switch (insn.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        REQUIRE(insn.src_reg == 1);
        REQUIRE((insn.off == 0 || insn.off == 4 || insn.off == 8));
        dst = context[insn.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        dst = static_cast<uint32_t>(dst) & static_cast<uint32_t>(insn.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        dst = static_cast<uint32_t>(dst) >> insn.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        dst = static_cast<uint32_t>(insn.imm);
        if (insn.dst_reg == 0) r0_set = true;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        dst = static_cast<uint32_t>(src);
        break;
      case BPF_JMP | BPF_JNE | BPF_K:  // 64-bit compare with the sign-extended immediate
        jump_if(dst != static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        jump_if(dst != src);
        break;
      case BPF_JMP | BPF_EXIT:
        REQUIRE(r0_set);
        return static_cast<int>(regs[0]);
      default:
        FAIL("unexpected opcode " << int(insn.code) << " at " << pc - 1);
    }
  }
  FAIL("the program did not exit");
  return -1;
}

bool program_allows(const std::vector<bpf_insn>& program, char type, uint32_t major, uint32_t minor,
                    uint32_t access) {
  uint32_t bpf_type = type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
  return run(program, {bpf_type, access, major, minor}) == 1;
}

// ---- the emulation ---------------------------------------------------------------------------

TEST_CASE("devices emulation: runc's defaults give a sorted allow list", "[cgroups][devices]") {
  auto policy = container_policy({rule(false, "a", {}, {}, "rwm")});
  REQUIRE(policy);
  CHECK_FALSE(policy->default_allow);
  std::vector<Exception> expected = {
      {'b', -1, -1, kM},
      {'c', -1, -1, kM},
      {'c', 1, 3, kR | kW | kM},
      {'c', 1, 5, kR | kW | kM},
      {'c', 1, 7, kR | kW | kM},
      {'c', 1, 8, kR | kW | kM},
      {'c', 1, 9, kR | kW | kM},
      {'c', 5, 0, kR | kW | kM},
      {'c', 5, 2, kR | kW | kM},
      {'c', 10, 200, kR | kW | kM},
      {'c', 136, -1, kR | kW | kM},
  };
  CHECK(policy->exceptions == expected);
}

TEST_CASE("devices emulation: resets, merging and removal", "[cgroups][devices]") {
  // runc's TestDeviceFilter_Weird: the reset drops the first deny.
  Policy weird = policy_of({rule(false, "b", 8, 1, "rwm"), rule(true, "a", {}, {}, "rwm"),
                            rule(false, "b", 8, 2, "rwm")});
  CHECK(weird == Policy{true, {{'b', 8, 2, kR | kW | kM}}});

  // Allows add up; a later deny takes its access away again.
  Policy merged = policy_of({rule(true, "c", 1, 3, "r"), rule(true, "c", 1, 3, "w"),
                             rule(true, "c", 4, 1, "rw"), rule(false, "c", 4, 1, "rw")});
  CHECK(merged == Policy{false, {{'c', 1, 3, kR | kW}}});

  // Empty type and access mean all, as on v1; a narrower "a" is both char and block.
  CHECK(policy_of({rule(true, "", {}, {}, "")}) == Policy{true, {}});
  CHECK(policy_of({rule(true, "a", 7, {}, "r")}) ==
        Policy{false, {{'b', 7, -1, kR}, {'c', 7, -1, kR}}});
  // A negative number is a wildcard.
  CHECK(policy_of({rule(true, "c", -1, 5, "m")}) == Policy{false, {{'c', -1, 5, kM}}});
}

TEST_CASE("devices emulation: refuses a hole in a wildcard, like runc", "[cgroups][devices]") {
  auto holed = emulate({rule(true, "c", {}, {}, "rwm"), rule(false, "c", 1, 3, "w")});
  REQUIRE_FALSE(holed);
  CHECK(holed.error().render() ==
        "invalid `linux.resources.devices`: the rule \"c 1:3 w\" cannot take access away from "
        "part of \"c *:* rwm\" (a devices cgroup cannot punch a hole in a wildcard rule)");
  // The same on an allow-by-default cgroup, and with a major-only wildcard.
  CHECK_FALSE(emulate({rule(true, "a", {}, {}, "rwm"), rule(false, "b", 8, {}, "rwm"),
                       rule(true, "b", 8, 0, "r")}));
  // No overlap in access, or an exact match: fine.
  CHECK(emulate({rule(true, "c", {}, {}, "m"), rule(false, "c", 1, 3, "rw")}));
  CHECK(emulate({rule(true, "c", 1, {}, "rw"), rule(false, "c", 1, -1, "w")}));
}

TEST_CASE("devices emulation: letters other than r, w and m are ignored, as runc does",
          "[cgroups][devices]") {
  // runc's bats suite denies "rwa" on /dev/kmsg after a deny-all: the allow list stays as it was.
  CHECK(policy_of({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "rwa"),
                   rule(false, "c", 1, 11, "rwa")}) == Policy{false, {{'c', 1, 3, kR | kW}}});
  CHECK(policy_of({rule(true, "c", 1, 3, "rwa"), rule(false, "c", 1, 3, "wa")}) ==
        Policy{false, {{'c', 1, 3, kR}}});
  // An access of unknown letters only allows nothing; it is not read as an empty (all) access.
  CHECK(policy_of({rule(false, "a", {}, {}, "rwm"), rule(true, "c", 1, 3, "xa")}) ==
        Policy{false, {}});
}

TEST_CASE("devices emulation: invalid rules", "[cgroups][devices]") {
  auto bad_type = emulate({rule(true, "u", 1, 3, "rwm")});
  REQUIRE_FALSE(bad_type);
  CHECK(bad_type.error().render() ==
        "invalid `linux.resources.devices`: device type \"u\" is not one of a, b, c");
  auto big = emulate({rule(true, "c", int64_t{1} << 32, 3, "r")});
  REQUIRE_FALSE(big);
  CHECK(big.error().render() ==
        "invalid `linux.resources.devices`: device major 4294967296 is out of range");
}

// ---- the instructions, against runc's devicefilter_test.go -----------------------------------

TEST_CASE("device filter: no rules deny everything (runc TestDeviceFilter_Nil)",
          "[cgroups][devices]") {
  CHECK(listing(program_for(policy_of({}))) == with_prologue({"Mov32Imm r0 0", "Exit"}));
}

TEST_CASE("device filter: privileged allows everything (runc TestDeviceFilter_Privileged)",
          "[cgroups][devices]") {
  CHECK(listing(program_for(policy_of({rule(true, "a", {}, {}, "rwm")}))) ==
        with_prologue({"Mov32Imm r0 1", "Exit"}));
}

TEST_CASE("device filter: one denied device (runc TestDeviceFilter_PrivilegedExceptSingleDevice)",
          "[cgroups][devices]") {
  auto program =
      program_for(policy_of({rule(true, "a", {}, {}, "rwm"), rule(false, "b", 8, 0, "rwm")}));
  CHECK(listing(program) == with_prologue({"JNEImm r2 1 +4", "JNEImm r4 8 +3", "JNEImm r5 0 +2",
                                           "Mov32Imm r0 0", "Exit", "Mov32Imm r0 1", "Exit"}));
}

TEST_CASE("device filter: runc's default allow list (runc TestDeviceFilter_BuiltInAllowList)",
          "[cgroups][devices]") {
  auto policy = container_policy({});
  REQUIRE(policy);
  // runc's listing, in the emulator's sorted order, which runc 1.1 emits.
  auto device = [](int major, int minor) -> std::vector<std::string> {
    return {"JNEImm r2 2 +4", "JNEImm r4 " + std::to_string(major) + " +3",
            "JNEImm r5 " + std::to_string(minor) + " +2", "Mov32Imm r0 1", "Exit"};
  };
  auto mknod = [](int type) -> std::vector<std::string> {
    return {"JNEImm r2 " + std::to_string(type) + " +5",
            "Mov32Reg r1 r3",
            "And32Imm r1 1",
            "JNEReg r1 r3 +2",
            "Mov32Imm r0 1",
            "Exit"};
  };
  std::vector<std::string> expected = kPrologue;
  auto add = [&](const std::vector<std::string>& block) {
    expected.insert(expected.end(), block.begin(), block.end());
  };
  add(mknod(BPF_DEVCG_DEV_BLOCK));
  add(mknod(BPF_DEVCG_DEV_CHAR));
  for (auto [major, minor] :
       {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 2}, {10, 200}}) {
    add(device(major, minor));
  }
  add({"JNEImm r2 2 +3", "JNEImm r4 136 +2", "Mov32Imm r0 1", "Exit"});  // /dev/pts/*
  add({"Mov32Imm r0 0", "Exit"});
  CHECK(listing(program_for(*policy)) == expected);
}

// ---- the program's decisions -----------------------------------------------------------------

TEST_CASE("device filter decides like the policy, for every kind of request",
          "[cgroups][devices]") {
  std::vector<std::vector<oci::DeviceCgroupRule>> rule_sets = {
      {rule(false, "a", {}, {}, "rwm")},
      {rule(false, "a", {}, {}, "rwm"), rule(true, "b", 8, 0, "r"), rule(true, "c", 1, {}, "w")},
      {rule(true, "a", {}, {}, "rwm"), rule(false, "c", 1, 3, "rw"), rule(false, "b", {}, 1, "m")},
      {rule(true, "a", {}, {}, "rwm")},
      {rule(false, "a", {}, {}, "rwm"), rule(true, "a", {}, 0, "rm")},
  };
  const std::vector<uint32_t> numbers = {0, 1, 3, 5, 8, 136, 200, 4095, 1048575};
  for (const auto& rules : rule_sets) {
    auto policy = container_policy(rules);
    REQUIRE(policy);
    auto program = program_for(*policy);
    for (char type : {'c', 'b'}) {
      for (uint32_t major : numbers) {
        for (uint32_t minor : numbers) {
          for (uint32_t access = 1; access <= (kR | kW | kM); ++access) {
            INFO(type << " " << major << ":" << minor << " access " << access);
            CHECK(program_allows(program, type, major, minor, access) ==
                  allows(*policy, type, major, minor, access));
          }
        }
      }
    }
  }
}

TEST_CASE("device filter: what a default container may do", "[cgroups][devices]") {
  auto policy = container_policy({rule(false, "a", {}, {}, "rwm"), rule(true, "b", 254, 0, "r")});
  REQUIRE(policy);
  auto program = program_for(*policy);
  CHECK(program_allows(program, 'c', 1, 3, kR | kW));          // /dev/null
  CHECK(program_allows(program, 'c', 136, 7, kR | kW));        // /dev/pts/7
  CHECK(program_allows(program, 'c', 4, 1, kM));               // mknod of anything
  CHECK_FALSE(program_allows(program, 'c', 4, 1, kR));         // but no use of it
  CHECK(program_allows(program, 'b', 254, 0, kR));             // the rule's disk, read
  CHECK_FALSE(program_allows(program, 'b', 254, 0, kR | kW));  // not read-write
  CHECK_FALSE(program_allows(program, 'b', 254, 1, kR));       // nor another disk
}

// ---- for real ---------------------------------------------------------------------------------

// A cgroup2 directory of its own, removed at the end (a directory whose tasks have exited).
class TestCgroup {
 public:
  explicit TestCgroup(std::string dir) : dir_(std::move(dir)) {
    made_ = ::mkdir(dir_.c_str(), 0755) == 0;
  }
  ~TestCgroup() {
    if (made_) (void)::rmdir(dir_.c_str());
  }
  TestCgroup(const TestCgroup&) = delete;
  TestCgroup& operator=(const TestCgroup&) = delete;
  bool made() const { return made_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool made_ = false;
};

// In a child moved into `dir`: opens `path` with `flags`; the exit code is 0 on success, else
// errno (EPERM is the device cgroup saying no).
int open_in_cgroup(const std::string& dir, const char* path, int flags) {
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int procs = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (procs < 0 || ::write(procs, "0", 1) != 1) ::_exit(100);
    int fd = ::open(path, flags | O_CLOEXEC);
    ::_exit(fd >= 0 ? 0 : errno);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST_CASE("device filter attached to a real cgroup2 directory (root only)",
          "[cgroups][devices][root]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  auto host = detect_host();
  REQUIRE(host);
  const Hierarchy* unified = host->unified();
  if (!unified) {
    WARN("skipped: no cgroup2 mount");
    return;
  }
  TestCgroup cgroup(unified->mount_point + "/mkrun-bpf-test-" + std::to_string(::getpid()));
  REQUIRE(cgroup.made());

  // Only /dev/zero, read: /dev/null is refused, and so is writing /dev/zero.
  auto only_zero = program_for(policy_of({rule(true, "c", 1, 5, "r")}));
  auto attached = attach(cgroup.dir(), only_zero);
  if (!attached) FAIL(attached.error().render());
  CHECK(open_in_cgroup(cgroup.dir(), "/dev/zero", O_RDONLY) == 0);
  CHECK(open_in_cgroup(cgroup.dir(), "/dev/zero", O_WRONLY) == EPERM);
  CHECK(open_in_cgroup(cgroup.dir(), "/dev/null", O_RDONLY) == EPERM);
  auto ids = attached_program_ids(cgroup.dir());
  REQUIRE(ids);
  CHECK(ids->size() == 1);

  // A second attach replaces the first: still one program, now the container defaults.
  auto applied = apply(cgroup.dir(), {rule(false, "a", {}, {}, "rwm")});
  if (!applied) FAIL(applied.error().render());
  auto replaced = attached_program_ids(cgroup.dir());
  REQUIRE(replaced);
  REQUIRE(replaced->size() == 1);
  CHECK(replaced->front() != ids->front());
  CHECK(open_in_cgroup(cgroup.dir(), "/dev/null", O_RDWR) == 0);
}

}  // namespace
}  // namespace mkrun::cgroups::devices_bpf
