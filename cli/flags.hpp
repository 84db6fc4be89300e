// The command line as runc 1.1 reads it. runc uses urfave/cli v1 on top of Go's `flag` package,
// and callers depend on its quirks (contract §1):
//   - global flags come before the command only: `mkrun list --root /x` is an unknown flag;
//   - `-flag`, `--flag`, `-flag=v`, `--flag=v`, `-flag v`, `--flag v`, and every alias the same
//     way (`-b`, `--b`, `-bundle`); no grouping of one-letter flags;
//   - a boolean flag never takes the next argument, only `--flag=true|false` (`--force=false`);
//     the global --rootless is a string flag (true|false|auto), so `--rootless=true`, which
//     go-runc passes, and `--rootless true` both work;
//   - flags after the positional arguments are moved in front (`delete ID --force`), except for
//     `exec` and `ps`, whose trailing arguments belong to the process or to ps;
//   - parsing stops at the first argument that is not a flag, and at `--`.
// Boost.Program_options holds the flag tables (names, aliases, value types, defaults), validates
// and stores the values. Splitting argv into flags and arguments is done here, Go's way, because
// Boost 1.74's command_line_parser cannot: it has no style that stops at the first positional
// argument (`delete id --bogus` must give two arguments, not an unknown option), it reads `-b=x`
// as -b with the value "=x", and `--b` as an unknown option. Reordering is urfave's, not Go's,
// and is a separate step.
#pragma once

#include <boost/program_options.hpp>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "help.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::cli {

namespace po = boost::program_options;

struct CommandDescriptor;

// The values of Go flags, so their spellings and errors are Go's. GoBool is strconv.ParseBool
// (1 t T TRUE true True, 0 f F FALSE false False); GoInt is strconv.ParseInt(s, 0, 64) (sign,
// then 0x, 0o, 0b or a leading 0 for the base).
struct GoBool {
  bool value = false;
};
struct GoInt {
  long long value = 0;
};
// urfave's StringSliceFlag and Int64SliceFlag: every occurrence adds a value (`-e A -e B`).
// Int64Slice parses each with strconv.ParseInt(s, 0, 64) and reports its error as Go prints
// it: `strconv.ParseInt: parsing "x": invalid syntax`.
struct GoStringSlice {
  std::vector<std::string> values;
};
struct GoInt64Slice {
  std::vector<long long> values;
};
// Go's flag.Duration: time.ParseDuration ("5s", "1m30s", "250ms", "1.5h"); any error is Go's
// "parse error".
struct GoDuration {
  long long nanoseconds = 0;
};

// Boost.Program_options validators (found by argument-dependent lookup). They throw
// GoValueError, which carries Go's reason: "parse error" or "value out of range".
void validate(boost::any& store, const std::vector<std::string>& tokens, GoBool*, int);
void validate(boost::any& store, const std::vector<std::string>& tokens, GoInt*, int);
void validate(boost::any& store, const std::vector<std::string>& tokens, GoStringSlice*, int);
void validate(boost::any& store, const std::vector<std::string>& tokens, GoInt64Slice*, int);
void validate(boost::any& store, const std::vector<std::string>& tokens, GoDuration*, int);

// time.ParseDuration: nullopt for text Go rejects (or out of int64 nanoseconds).
std::optional<long long> parse_go_duration(std::string_view text);

class GoValueError : public po::error {
 public:
  explicit GoValueError(std::string reason) : po::error(reason), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// What Go's flag parsing (plus urfave's normalizeFlags) left: the values and the arguments.
struct ParsedFlags {
  po::variables_map values;       // every flag of the table, defaults included
  std::vector<std::string> args;  // the positional arguments, in order

  bool flag(std::string_view name) const;
  std::string text(std::string_view name) const;
  long long number(std::string_view name) const;
  std::vector<std::string> texts(std::string_view name) const;  // a string slice flag
  std::vector<long long> numbers(std::string_view name) const;  // an int64 slice flag
  long long nanoseconds(std::string_view name) const;           // a duration flag
  bool given(std::string_view name) const;  // on the command line, not defaulted
};

struct FlagError {
  enum class Kind { usage, two_forms } kind = Kind::usage;
  std::string message;  // Go's text: "flag provided but not defined: -bogus"
};

// Go's FlagSet.Parse over `args` with the table `options`, then urfave's check that a flag was
// not given under two of its names ("Cannot use two forms of the same flag: b bundle").
std::expected<ParsedFlags, FlagError> parse_go_flags(const po::options_description& options,
                                                     std::span<const std::string> args);

// urfave's reorderArgs as runc 1.1.5 is built (urfave/cli 1.22.6 and later): flags of `options`,
// and the value after each, move in front of the positional arguments; a value may start with
// '-' (`--cpu-quota -1`) unless it names a flag. A `--` moves in front of the arguments before
// it, and nothing after it moves.
std::vector<std::string> reorder_args(const po::options_description& options,
                                      std::span<const std::string> args);

// The kinds of value a flag takes, as urfave/cli's flag types: BoolFlag, StringFlag, IntFlag,
// DurationFlag, StringSliceFlag, Int64SliceFlag.
enum class FlagKind { boolean, text, integer, duration, text_list, integer_list };

// One flag of a command, for the parser and the help screen alike.
struct FlagSpec {
  std::string_view names;  // "bundle,b": the name, then a one-letter alias, as Boost spells them
  FlagKind kind;
  std::string_view usage;
  std::string_view default_value = "";  // as Go prints it ("table", "5s"); numbers need one
  bool hidden = false;                  // parsed, but left out of the help (runc's Hidden)
};

// The flag tables: the global flags, and a command's `flags` with urfave's --help added.
po::options_description global_options();
po::options_description command_options(std::span<const FlagSpec> flags);

struct GlobalFlags {
  bool debug = false;
  std::string log;  // empty: stderr
  std::string log_format = "text";
  std::optional<std::string> root;  // only when --root is given
  bool systemd_cgroup = false;
  std::string rootless = "auto";
  std::string cgroup_manager;  // crun's flag; empty when not given
  std::string kernel;          // --kernel: the default kernel backend ("linux", "mckernel")
  std::string criu = "criu";   // runc 1.1's --criu: the criu binary checkpoint and restore run
  std::vector<std::string> cdi_devices;  // --cdi-device, repeatable
  std::string cdi_spec_dirs;             // --cdi-spec-dirs: colon-separated; empty: CDI's
};

// A command ready to run.
struct Invocation {
  GlobalFlags global;
  const CommandDescriptor& command;
  ParsedFlags flags;  // flags.args: the command's positional arguments
};

// How mkrun ends when the command line itself is the answer: a help or version screen, or a
// usage error. runc writes the screen to stdout and the error to its log.
struct Exit {
  int code = 0;
  std::string out;        // for stdout
  std::string error;      // logged at level error; empty for none
  bool verbatim = false;  // urfave's own error: to stderr as it is, without another "\n"
};

struct GlobalParse {
  GlobalFlags flags;
  std::vector<std::string> rest;  // the command and what follows it
};

// The arguments after argv[0] up to the command. Help and version end here, before logging is
// set up, as in urfave's App.Run.
std::expected<GlobalParse, Exit> parse_global(std::span<const std::string> args,
                                              const ProgramInfo& info);

// The command in `rest` with its flags and arguments: `help [topic]`, an unknown command
// (exit 3, "No help topic for 'foo'"), flag errors, `--help` and the argument count.
std::expected<Invocation, Exit> parse_command(const GlobalFlags& global,
                                              std::span<const std::string> rest,
                                              const ProgramInfo& info);

// --rootless true|false|auto (any case, or empty for auto). runc's auto: rootless unless mkrun is
// the real root, euid 0 outside any user namespace (`privileged`).
std::expected<bool, std::string> resolve_rootless(std::string_view value, bool privileged);

// crun's --cgroup-manager (cgroupfs, systemd or disabled), else runc's --systemd-cgroup; a
// --cgroup-manager of cgroupfs leaves --systemd-cgroup in force.
std::expected<runtime::CgroupManagerKind, std::string> resolve_cgroup_manager(
    bool systemd_cgroup, std::string_view cgroup_manager);

// Go's filepath.Abs: `path` made absolute against `cwd` and cleaned ("" is `cwd`).
std::string absolute_path(std::string_view path, std::string_view cwd);

}  // namespace mkrun::cli
