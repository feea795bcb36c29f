"""The sandbox's start-up, timed by pyperf: every value in a fresh worker process.

    python bench/startup.py --base DIR -o cold.json                # cold start
    python bench/startup.py --base DIR --warm-home HOME -o warm.json  # warm attach

Cold: `labkit.session.connect()` with a fresh LABKIT_HOME (interpreter start and
`import labkit.session` not counted), and `labkit.sandbox.ensure()` alone, the part of it that
waits for the sandbox. Warm: `labkit.sandbox.ensure()` while HOME's sandbox runs. bench/run.py
runs this with `--values 1 --warmups 0 --loops 1`, so every value is a first call in its process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyperf

import labkit.sandbox
import labkit.session


def fresh_home(base: str) -> Path:
    """A new LABKIT_HOME under `base` (where bench/run.py looks for stragglers)."""
    return Path(tempfile.mkdtemp(prefix="cold-", dir=base)) / "home"


def connect_in(home: Path) -> None:
    """connect() in `home`: start the sandbox, import boto3 meanwhile, write the CLI files."""
    os.environ["LABKIT_HOME"] = str(home)  # connect() reads only the environment
    labkit.session.connect(refresh=True)


def cold(loops: int, base: str, start: Callable[[Path], object]) -> float:
    """Time `start(home)` in fresh homes: `connect_in`, or `labkit.sandbox.ensure` alone (spawn
    the sandbox server and wait until it answers)."""
    took = 0.0
    for _ in range(loops):
        home = Path(tempfile.mkdtemp(prefix="cold-", dir=base)) / "home"
        began = time.perf_counter()
        start(home)
        took += time.perf_counter() - began
        labkit.sandbox.stop(home)
        shutil.rmtree(home.parent, ignore_errors=True)
    return took


def warm_attach(loops: int, home: Path, pid: int) -> float:
    """ensure() while the sandbox runs: read the state file, ask the server if it is alive."""
    began = time.perf_counter()
    for _ in range(loops):
        box = labkit.sandbox.ensure(home)
    took = time.perf_counter() - began
    if box.pid != pid:
        raise RuntimeError("a fresh process started a second sandbox instead of attaching")
    return took


def worker_args(cmd: list[str], args: Any) -> None:
    """Hand our own options on to pyperf's worker processes."""
    cmd += ["--base", args.base]
    if args.warm_home:
        cmd += ["--warm-home", args.warm_home, "--warm-pid", str(args.warm_pid)]


def main() -> None:
    """Run the cold-start benchmarks, or the warm-attach one with --warm-home."""
    runner = pyperf.Runner(add_cmdline_args=worker_args)
    runner.argparser.add_argument("--base", required=True, help="folder for the fresh homes")
    runner.argparser.add_argument("--warm-home", help="a LABKIT_HOME whose sandbox runs")
    runner.argparser.add_argument("--warm-pid", type=int, help="that sandbox's process ID")
    args = runner.parse_args()
    if args.warm_home:
        runner.bench_time_func("warm_attach", warm_attach, Path(args.warm_home), args.warm_pid)
    else:
        runner.bench_time_func("cold_start", cold, args.base, connect_in)
        runner.bench_time_func("sandbox_start", cold, args.base, labkit.sandbox.ensure)


if __name__ == "__main__":
    main()
