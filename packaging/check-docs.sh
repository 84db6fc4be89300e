#!/usr/bin/env bash
# Checks that the manual page (packaging/man/mkrun.8) and the bash completion
# (packaging/completion/mkrun.bash) are true to the binary: every command of `mkrun --help` and
# every flag of `mkrun --help` and `mkrun CMD --help` is documented in the man page (in that
# command's section) and offered by the completion, and neither lists a command the binary lacks.
# And that mkrun-lwk.8 names every command and option of `mkrun-lwk`'s usage (built next to mkrun,
# lwk/mkrun-lwk) in its SYNOPSIS.
# usage: packaging/check-docs.sh [path/to/mkrun]       (default build/mkrun); exit 1 on a mismatch
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MKRUN=${1:-$REPO/build/mkrun}
[ -x "$MKRUN" ] || { echo "check-docs: $MKRUN is not executable" >&2; exit 2; }
command -v groff >/dev/null || { echo "check-docs: needs groff (groff-base)" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$MKRUN" --help >"$tmp/help._global"
for c in $(awk '/^COMMANDS:/{on=1; next} on && /^$/{exit} on && NF {sub(/,$/, "", $1); print $1}' "$tmp/help._global"); do
  [ "$c" = help ] && continue
  "$MKRUN" "$c" --help >"$tmp/help.$c"
done
groff -man -Tutf8 -P-cbou -rLL=200n -rHY=0 "$REPO/packaging/man/mkrun.8" 2>"$tmp/groff.err" >"$tmp/man.txt"
if [ -s "$tmp/groff.err" ]; then echo "check-docs: groff warnings:"; cat "$tmp/groff.err"; exit 1; fi
groff -man -Tutf8 -P-cbou -rLL=200n -rHY=0 "$REPO/packaging/man/mkrun-lwk.8" 2>"$tmp/groff-lwk.err" >"$tmp/man-lwk.txt"
if [ -s "$tmp/groff-lwk.err" ]; then echo "check-docs: groff warnings (mkrun-lwk.8):"; cat "$tmp/groff-lwk.err"; exit 1; fi
MKRUN_LWK=$(dirname "$MKRUN")/lwk/mkrun-lwk
[ -x "$MKRUN_LWK" ] || { echo "check-docs: $MKRUN_LWK is not executable" >&2; exit 2; }
"$MKRUN_LWK" 2>"$tmp/usage-lwk" || true
# what the completion offers
bash -c 'source "$1"; echo "_commands $_mkrun_commands"; for k in "${!_mkrun_flags[@]}"; do echo "$k ${_mkrun_flags[$k]//=/}"; done' \
  _ "$REPO/packaging/completion/mkrun.bash" >"$tmp/completion.txt"

python3 - "$tmp" <<'EOF'
import os, re, sys
tmp = sys.argv[1]
flag_re = re.compile(r"(?:^|, )(--?[a-z0-9][a-z0-9-]*)")

def flags_of(text):
    out = set()
    for line in text.splitlines():
        if not line.startswith("   -"):
            continue
        head = re.split(r"\t|  ", line.strip(), maxsplit=1)[0]
        out |= set(flag_re.findall(head))
    return out

helps = {}
for name in os.listdir(tmp):
    if name.startswith("help."):
        helps[name[5:]] = open(os.path.join(tmp, name)).read()
commands = sorted(k for k in helps if k != "_global")
problems = []

# man page: sections
man = open(os.path.join(tmp, "man.txt")).read()
def section(title, text):
    m = re.search(rf"^{title}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", text, re.S | re.M)
    return m.group(1) if m else ""
global_text = section("GLOBAL OPTIONS", man)
commands_text = section("COMMANDS", man)
subs = {}
current = None
for line in commands_text.splitlines():
    m = re.match(r"^   ([a-z]+)\b", line)
    if m:
        current = m.group(1)
        subs.setdefault(current, "")
    if current:
        subs[current] += line + "\n"
for c in commands:
    if c not in subs:
        problems.append(f"man: no section for command '{c}'")
for c in subs:
    if c not in commands and c != "help":
        problems.append(f"man: section for '{c}', which `mkrun --help` does not list")
for flag in sorted(flags_of(helps["_global"])):
    if flag not in global_text:
        problems.append(f"man: global flag {flag} not in GLOBAL OPTIONS")
for c in commands:
    for flag in sorted(flags_of(helps[c])):
        if flag in ("--help", "-h"):
            continue
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", subs.get(c, "")):
            problems.append(f"man: {c} {flag} not in the '{c}' section")

# completion
comp = {}
for line in open(os.path.join(tmp, "completion.txt")):
    key, *vals = line.split()
    comp[key] = set(vals)
offered = comp.pop("_commands", set()) - {"help"}
if offered != set(commands):
    problems.append(f"completion: commands {sorted(offered)} != mkrun --help {commands}")
for key, help_key in [("_global", "_global")] + [(c, c) for c in commands]:
    want = flags_of(helps[help_key]) - ({"--help", "-h"} if key != "_global" else set())
    have = comp.get(key, set())
    if want - have:
        problems.append(f"completion: {key}: missing {sorted(want - have)}")
    if have - want:
        problems.append(f"completion: {key}: offers {sorted(have - want)}, which the binary does not take")

# mkrun-lwk.8: every word of the tool's usage (commands, options) in the SYNOPSIS
usage = open(os.path.join(tmp, "usage-lwk")).read()
synopsis = section("SYNOPSIS", open(os.path.join(tmp, "man-lwk.txt")).read())
words = set(re.findall(r"(?<![\w-])(--[a-z-]+|boot|shutdown|status|pool|fill|drain)(?![\w-])",
                       usage.split("usage:", 1)[-1]))
for word in sorted(words):
    if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", synopsis):
        problems.append(f"mkrun-lwk.8: {word} of the usage not in the SYNOPSIS")
if not words:
    problems.append("mkrun-lwk: no usage text to compare with mkrun-lwk.8")

if problems:
    print("check-docs: the man page or the completion is not true to the binary:")
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
print(f"check-docs: man page and completion match {len(commands)} commands and their flags;"
      f" mkrun-lwk.8 names its {len(words)} commands and options")
EOF
