#!/usr/bin/env python
"""Performance figures of the lab, measured against targets.

    python bench/run.py            # the full run (about ten minutes)
    python bench/run.py --quick    # small enough for CI (about two minutes)
    python bench/run.py --only cold_start warm_attach   # some figures only

pyperf times the sandbox's start-up and the key inventory in its own worker processes
(bench/startup.py, bench/inventory.py); the course's own harness runs the lessons with nbclient
(bench/lessons.py), a classroom (bench/classroom.py) and a real `jupyter lab`
(bench/jupyter_lab.py). All values go into one pyperf JSON file (bench/results-full.json or
bench/results-quick.json; `python -m pyperf compare_to OLD.json NEW.json` diffs two runs), and
the table into the run's section of bench/results.md. Exits with status 1 when a target is missed
or a figure could not be measured. Every figure uses its own temporary LABKIT_HOME and stops its
sandboxes at the end, even on error.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
import pyperf

import classroom  # bench's own modules, beside this script (harness puts labkit on the path)
import jupyter_lab
import lessons
from harness import (ROOT, Row, check, child_env, lab_environ, median, record, secs, spread,
                     temp_dir, temp_home)
from inventory import seed

from labkit import sandbox, session

BENCH = ROOT / "bench"
RESULTS = BENCH / "results.md"
Figure = tuple[list[pyperf.Benchmark], list[Row]]


@dataclass(frozen=True)
class Config:
    """How much each figure measures: a full run, or a quick one for CI."""

    quick: bool
    cold_runs: int  # fresh processes (pyperf workers) for the cold start
    warm_runs: int
    empty_runs: int  # empty notebooks among the lessons
    inventory_users: int
    inventory_two_key_users: int
    inventory_runs: int
    seed_workers: int
    classroom: int


FULL = Config(quick=False, cold_runs=5, warm_runs=5, empty_runs=11, inventory_users=2000,
              inventory_two_key_users=1000, inventory_runs=3, seed_workers=8, classroom=20)
QUICK = Config(quick=True, cold_runs=3, warm_runs=5, empty_runs=4, inventory_users=300,
               inventory_two_key_users=150, inventory_runs=3, seed_workers=8, classroom=5)


def pyperf_run(script: str, processes: int, *args: str) -> pyperf.BenchmarkSuite:
    """Run a pyperf script of bench/: `processes` workers, each giving one first-call value.

    The workers get this process's environment (less what would point them elsewhere), as a
    learner's kernel does: pyperf's stripped one (no LANG, no CA bundle) made starts slower."""
    with tempfile.TemporaryDirectory(prefix="labkit-bench-pyperf-") as folder:
        out = Path(folder) / "out.json"
        subprocess.run([sys.executable, str(BENCH / script), "--processes", str(processes),
                        "--values", "1", "--warmups", "0", "--loops", "1", "--copy-env", "-o",
                        str(out), *args], env=child_env(), cwd=ROOT, check=True)
        return pyperf.BenchmarkSuite.load(str(out))


def fig_cold_start(cfg: Config) -> Figure:
    """connect() and ensure() in fresh processes with fresh homes."""
    with temp_dir("cold") as base:
        suite = pyperf_run("startup.py", cfg.cold_runs, "--base", str(base))
    cold, box = suite.get_benchmark("cold_start"), suite.get_benchmark("sandbox_start")
    took = median(cold)
    return suite.get_benchmarks(), [
        Row(f"sandbox cold start: connect() in a fresh process, fresh home (median of "
            f"{cold.get_nvalue()})", secs(took), "≤ 1.0 s", check(took, 1.0),
            spread(cold) + "; interpreter start and `import labkit.session` not counted"),
        Row("  connect()'s sandbox.ensure(): sandbox spawn → ready", secs(median(box)),
            detail="ensure() alone, fresh home and process; " + spread(box)),
        Row("  connect()'s rest: boto3 import (what the start-up does not hide), session, "
            "CLI files", secs(took - median(box)), detail="the two medians above subtracted"),
    ]


def fig_warm_attach(cfg: Config) -> Figure:
    """ensure() in fresh processes while the home's sandbox runs."""
    with temp_home("warm") as home:
        box = sandbox.ensure(home)
        suite = pyperf_run("startup.py", cfg.warm_runs, "--base", str(home.parent),
                           "--warm-home", str(home), "--warm-pid", str(box.pid))
    warm = suite.get_benchmark("warm_attach")
    took = median(warm)
    return [warm], [Row(f"warm attach: ensure(home) in a fresh process, sandbox running "
                        f"(median of {warm.get_nvalue()})", secs(took), "≤ 0.1 s",
                        check(took, 0.1), spread(warm, 1000, "ms")
                        + "; `import labkit.sandbox` before it not counted")]


def fig_inventory(cfg: Config) -> Figure:
    """key_inventory() against the per-user loop, on one seeded sandbox."""
    users, two = cfg.inventory_users, cfg.inventory_two_key_users
    keys = users + two
    with temp_home("inventory") as home:
        with lab_environ(home):
            began = time.perf_counter()
            seed(session.connect(refresh=True), users, two, cfg.seed_workers)
            seeded = time.perf_counter() - began
        # Both tables hold every key: the seeded ones and the console identity's.
        args = ("--home", str(home), "--keys", str(keys + 1))
        fast = pyperf_run("inventory.py", cfg.inventory_runs, *args)
        slow = pyperf_run("inventory.py", 1, *args, "--naive")
    fast_b, slow_b = fast.get_benchmark("key_inventory"), slow.get_benchmark("naive_key_inventory")
    ratio = median(fast_b) / median(slow_b)
    size = f"{users:,} users / {keys:,} keys"
    seed_b = record("inventory_seed", [seeded])
    return [fast_b, slow_b, seed_b], [
        Row(f"key inventory ({size}): key_inventory() / naive per-user loop", f"{ratio:.3f}",
            "≤ 0.10", check(ratio, 0.10), "medians; each call in a fresh process"),
        Row("  key_inventory() (credential report)", secs(median(fast_b)), detail=spread(fast_b)),
        Row("  naive_key_inventory() (per-user loop)", secs(median(slow_b)),
            detail=spread(slow_b)),
        Row(f"  seeding {size} ({cfg.seed_workers} threads)", secs(seeded),
            detail=f"{(users + keys) / seeded:.0f} calls/s"),
    ]


CALL_TARGET = 0.015  # seconds: an AWS call of a warm client (28 ms before keep-alive)


def fig_calls(cfg: Config) -> Figure:
    """One AWS call's round trip from a warm boto3 client, and a new client's first call."""
    calls = 100 if cfg.quick else 300
    with temp_home("calls") as home, lab_environ(home):
        lab = session.connect(refresh=True)
        sts = lab.client("sts")
        for _ in range(5):
            sts.get_caller_identity()
        warm = []
        for _ in range(calls):
            t0 = time.perf_counter()
            sts.get_caller_identity()
            warm.append(time.perf_counter() - t0)
        first = []
        for _ in range(10 if cfg.quick else 30):
            client = lab.client_for(lab.session, "sts")  # a new client: a new connection
            t0 = time.perf_counter()
            client.get_caller_identity()
            first.append(time.perf_counter() - t0)
    warm_b, first_b = record("aws_call/warm", warm), record("aws_call/new_client", first)
    return [warm_b, first_b], [
        Row(f"AWS call, warm client: GetCallerIdentity round trip (median of {calls})",
            f"{median(warm_b) * 1000:.1f} ms", f"≤ {CALL_TARGET * 1000:.0f} ms",
            check(median(warm_b), CALL_TARGET),
            f"mean {warm_b.mean() * 1000:.1f} ± {warm_b.stdev() * 1000:.1f} ms; one kept-alive "
            "TLS connection"),
        Row("  a new client's first call (TCP connection and TLS handshake included)",
            f"{median(first_b) * 1000:.1f} ms",
            detail=f"median of {first_b.get_nvalue()}; mean {first_b.mean() * 1000:.1f} ms"),
    ]


FIGURES: dict[str, tuple[str, Callable[[Config], Figure]]] = {
    "calls": ("an AWS call's round trip", fig_calls),
    "cold_start": ("sandbox cold start", fig_cold_start),
    "warm_attach": ("warm attach", fig_warm_attach),
    "lessons": ("lesson overhead and memory per learner",
                lambda cfg: lessons.measure(cfg.empty_runs)),
    "inventory": ("key inventory vs the naive loop", fig_inventory),
    "classroom": ("a classroom on one machine", lambda cfg: classroom.measure(cfg.classroom)),
    "jupyter": ("a learner in jupyter lab: first cell, memory, culling",
                lambda cfg: jupyter_lab.measure(cfg.quick)),
}


# --------------------------------------------------------------------------------------------
# Machine, table, results.md


def machine(suite: pyperf.BenchmarkSuite) -> dict[str, str]:
    """What the figures were measured on: pyperf's metadata, common to every value's run."""
    meta = suite.get_metadata()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=False).stdout.strip() or "unknown"
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                      text=True, capture_output=True, check=False).stdout.strip():
        commit += " with uncommitted changes"
    return {"CPU": f"{meta.get('cpu_model_name', 'unknown')}, {meta.get('cpu_count')} cores",
            "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
            "OS": str(meta.get("platform")), "Python": str(meta.get("python_version")),
            **{dist: version(dist) for dist in ("moto", "boto3", "nbclient", "pyperf")},
            "Commit": commit, "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def section(cfg: Config, info: dict[str, str], rows: list[Row], json_path: Path) -> str:
    """The run's section of results.md."""
    def md(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    kind = "Quick run (`python bench/run.py --quick`)" if cfg.quick else \
        "Full run (`python bench/run.py`)"
    failed = sum(r.result == "FAIL" for r in rows)
    out = [f"## {kind}", "", *(f"- **{k}:** {v}" for k, v in info.items()),
           f"- **pyperf JSON:** [`{json_path.name}`]({json_path.name})"
           if json_path.parent == BENCH else f"- **pyperf JSON:** `{json_path}`", "",
           f"**{failed} target(s) missed.**" if failed else "**All targets met.**", "",
           "| figure | value | target | result | detail |", "|---|---|---|---|---|"]
    out += [f"| {md('↳ ' + r.figure.strip() if r.figure.startswith(' ') else r.figure)} | "
            f"{md(r.value)} | {md(r.target)} | {'**FAIL**' if r.result == 'FAIL' else r.result} "
            f"| {md(r.detail)} |" for r in rows]
    return "\n".join(out) + "\n"


def write_results(cfg: Config, text: str) -> None:
    """Replace this kind of run's section of results.md, keeping the rest (the table of how
    each figure is measured above the sections, and the other kind of run's section)."""
    tag = "quick" if cfg.quick else "full"
    start, end = f"<!-- bench:{tag}:start -->", f"<!-- bench:{tag}:end -->"
    block = f"{start}\n{text}{end}"
    old = RESULTS.read_text()
    found = re.search(f"{re.escape(start)}.*?{re.escape(end)}", old, re.S)
    RESULTS.write_text(old.replace(found.group(0), block) if found
                       else old.rstrip("\n") + "\n\n" + block + "\n")


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, save the JSON and results.md; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run for CI (~2 min)")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="FIGURE",
                        help="measure only these (results.md is left alone): "
                        + ", ".join(FIGURES))
    parser.add_argument("--no-write", action="store_true",
                        help="leave bench/results.md and its JSON files alone")
    parser.add_argument("-o", "--output", type=Path,
                        help="save the pyperf JSON here (default: bench/results-KIND.json)")
    args = parser.parse_args(argv)
    from tools.installed import stale_install

    said = stale_install(ROOT)  # the lessons' kernels must run the code being measured
    if said:
        print(said, file=sys.stderr)
        return 2
    cfg = QUICK if args.quick else FULL
    write = not args.no_write and not args.only
    output = args.output or (BENCH / f"results-{'quick' if cfg.quick else 'full'}.json"
                             if write else None)

    def terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # so every figure's clean-up runs

    previous = signal.signal(signal.SIGTERM, terminate)
    load_before = loadavg()
    print(f"labkit benchmarks ({'quick' if cfg.quick else 'full'} run)")
    began = time.perf_counter()
    benches: list[pyperf.Benchmark] = []
    rows: list[Row] = []
    try:
        for key, (title, measure) in FIGURES.items():
            if args.only and key not in args.only:
                continue
            print(f"\n== {title} ...", flush=True)
            t0 = time.perf_counter()
            try:
                got, got_rows = measure(cfg)
            except Exception as exc:  # noqa: BLE001 - a failed figure is a FAIL row
                traceback.print_exc()
                got, got_rows = [], [Row(title, "error", "", "FAIL",
                                         f"{type(exc).__name__}: {exc}"[:500])]
            print(f"   ({time.perf_counter() - t0:.0f} s)")
            benches += got
            rows += got_rows
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not benches:
        print("\n".join(f"FAIL {r.figure}: {r.detail}" for r in rows))
        return 1
    suite = pyperf.BenchmarkSuite(benches)
    info = machine(suite)
    info["Load average before / after"] = f"{load_before} / {loadavg()}"
    info["Run took"] = f"{time.perf_counter() - began:.0f} s"
    output = output or Path(tempfile.mkdtemp(prefix="labkit-bench-")) / "results.json"
    suite.dump(str(output), replace=True)
    text = section(cfg, info, rows, output)
    print("\n" + text)
    print(f"pyperf's JSON: {output} (python -m pyperf stats {output})")
    if write:
        write_results(cfg, text)
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if any(r.result == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
