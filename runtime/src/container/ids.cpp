// Small pure rules shared by every command: container ids, signal names, the default root, and
// the `spec` command.
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <string>

#include "linux/userns.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/oci/default_spec.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {

std::string default_root() {
  if (::geteuid() != 0) {
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0') {
      return std::string(xdg) + "/mkrun";
    }
  }
  return "/run/mkrun";
}

bool running_in_user_namespace() {
  return userns::running_in_user_namespace();
}

bool is_valid_container_id(std::string_view id) {
  if (id.empty() || id == "." || id == "..") return false;
  return std::ranges::all_of(id, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
           c == '.';
  });
}

namespace {

struct SignalName {
  std::string_view name;
  int number;
};

constexpr std::array kSignals = {
    SignalName{"ABRT", SIGABRT},     SignalName{"ALRM", SIGALRM},     SignalName{"BUS", SIGBUS},
    SignalName{"CHLD", SIGCHLD},     SignalName{"CLD", SIGCHLD},      SignalName{"CONT", SIGCONT},
    SignalName{"FPE", SIGFPE},       SignalName{"HUP", SIGHUP},       SignalName{"ILL", SIGILL},
    SignalName{"INT", SIGINT},       SignalName{"IO", SIGIO},         SignalName{"IOT", SIGIOT},
    SignalName{"KILL", SIGKILL},     SignalName{"PIPE", SIGPIPE},     SignalName{"POLL", SIGPOLL},
    SignalName{"PROF", SIGPROF},     SignalName{"PWR", SIGPWR},       SignalName{"QUIT", SIGQUIT},
    SignalName{"SEGV", SIGSEGV},     SignalName{"STKFLT", SIGSTKFLT}, SignalName{"STOP", SIGSTOP},
    SignalName{"SYS", SIGSYS},       SignalName{"TERM", SIGTERM},     SignalName{"TRAP", SIGTRAP},
    SignalName{"TSTP", SIGTSTP},     SignalName{"TTIN", SIGTTIN},     SignalName{"TTOU", SIGTTOU},
    SignalName{"URG", SIGURG},       SignalName{"USR1", SIGUSR1},     SignalName{"USR2", SIGUSR2},
    SignalName{"VTALRM", SIGVTALRM}, SignalName{"WINCH", SIGWINCH},   SignalName{"XCPU", SIGXCPU},
    SignalName{"XFSZ", SIGXFSZ},
};

}  // namespace

Result<int> parse_signal(std::string_view text) {
  if (auto number = parse_number<int>(text)) {
    // 0 is kill(2)'s null signal: it checks that the process exists and sends nothing
    // (runc's bats suite sends it to a stopped container with --all). runc passes any other
    // number on for kill(2) to refuse; mkrun names the number it does not know right away.
    if (*number < 0 || *number > SIGRTMAX) {
      return fail("unknown signal \"" + std::string(text) + "\"");
    }
    return *number;
  }
  std::string upper(text);
  std::ranges::transform(upper, upper.begin(),
                         [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& signal : kSignals) {
    if (signal.name == name) return signal.number;
  }
  return fail("unknown signal \"" + std::string(text) + "\"");
}

namespace {

// runc's IsCgroup2UnifiedMode(): cgroup2 itself is mounted at /sys/fs/cgroup.
bool host_is_pure_cgroup_v2() {
  struct statfs info {};
  return ::statfs("/sys/fs/cgroup", &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

}  // namespace

Result<void> write_default_spec(std::string_view bundle, bool rootless) {
  std::string path = (bundle.empty() ? std::string(".") : std::string(bundle)) + "/config.json";
  if (::access(path.c_str(), F_OK) == 0) {
    return fail("File config.json exists. Remove it first");
  }
  std::string json =
      oci::default_spec_json(rootless, ::getuid(), ::getgid(), host_is_pure_cgroup_v2());
  return files::write_file(path, json, O_CREAT | O_EXCL | O_WRONLY, 0666);
}

}  // namespace mkrun::runtime
