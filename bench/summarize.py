#!/usr/bin/env python3
"""Several runs of bench/bench.sh (their BENCH_JSON files) in one table: for each metric the
median over the runs of mkrun's ratio to crun and to runc, the range, and issue 14's target.

usage: bench/summarize.py RUN.json...
"""
import json
import statistics
import sys

# metric: (title, path in a runtime's record, target mkrun/crun, target mkrun/runc)
METRICS = [
    ("run /bin/true, median", ["run_median_ms"], 0.6, 0.25),
    ("create+start+delete, median", ["cycle_median_ms"], 0.5, None),
    ("peak RSS of run", ["run_peak_rss_kib"], 1.0, None),
    ("RSS of a created init", ["created_init_rss_kib"], None, None),
]
RANK_METRICS = [
    ("ranks at once: wall", "wall_ms", 0.6, None),
    ("ranks at once: peak memory", "peak_memory_kib", None, None),
]
INIT_LIMIT_KIB = 1024  # the waiting init: at most 1 MB, whatever crun takes


def value(record, path):
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


def ratios(runs, table, path, other):
    out = []
    for run in runs:
        section = run.get(table) or {}
        mine, theirs = value(section.get("mkrun"), path), value(section.get(other), path)
        if mine is not None and theirs:
            out.append(mine / theirs)
    return out


def cell(values, target):
    if not values:
        return "–"
    text = f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"
    if target is not None:
        text += " met" if statistics.median(values) <= target else f" **over {target}**"
    return text


def mkrun_values(runs, table, path):
    return [v for run in runs
            if (v := value((run.get(table) or {}).get("mkrun"), path)) is not None]


def rows(runs, table):
    counts = sorted({c for run in runs
                     for c in ((run.get(table) or {}).get("mkrun") or {}).get("ranks", {})},
                    key=int)
    # the wall time target is for 64 at once (a node full of ranks); more show where it bends
    metrics = list(METRICS) + [(f"{c} {title}", ["ranks", c, key], to_crun if c == "64" else None,
                                to_runc) for c in counts
                               for title, key, to_crun, to_runc in RANK_METRICS]
    for title, path, to_crun, to_runc in metrics:
        mine = mkrun_values(runs, table, path)
        median = f"{statistics.median(mine):.{1 if mine and statistics.median(mine) < 100 else 0}f}" if mine else "–"
        if path == ["created_init_rss_kib"] and mine:
            median += " met" if statistics.median(mine) <= INIT_LIMIT_KIB else " **over 1 MB**"
        yield (f"| {title} | {median} | {cell(ratios(runs, table, path, 'crun'), to_crun)} | "
               f"{cell(ratios(runs, table, path, 'runc'), to_runc)} |")
    problems = [p for run in runs for c in counts
                if (p := value((run.get(table) or {}).get("mkrun"), ["ranks", c])) is not None
                and (p.get("failure_count") or p.get("left_behind"))]
    yield f"| ranks: runs with a failure or a leftover | {len(problems)} | | |"


def main(paths):
    runs = [json.load(open(path)) for path in paths]
    tables = [("host", "host as is"), ("private_ns", "private mount namespace, pure cgroup v1")]
    print(f"## {len(runs)} runs of bench/bench.sh: median ratio (range), target")
    for key, title in tables:
        if not any(key in run for run in runs):
            continue
        print(f"\n### {title}\n")
        print("| metric | mkrun (median) | mkrun/crun | mkrun/runc |")
        print("|---|---|---|---|")
        for row in rows(runs, key):
            print(row)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
