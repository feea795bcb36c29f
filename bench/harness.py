"""What every benchmark shares: fresh homes, their environment, memory of processes, pyperf data.

Timings go into pyperf Benchmarks (one value per measurement), whether pyperf's worker processes
took them (bench/startup.py, bench/inventory.py) or the course's own harness did; bench/run.py
saves them all in one JSON file that `python -m pyperf compare_to` can diff.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pyperf

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's labkit, not an installed one

from labkit import sandbox  # noqa: E402 - after the path above
NOTEBOOKS = ROOT / "notebooks"
MB = 1024 * 1024
CHILD_TIMEOUT = 120.0
# Variables that would point labkit (or the AWS SDK) somewhere other than the run's own sandbox.
CLEARED_ENV = ("LABKIT_SANDBOX_URL", "LABKIT_BACKEND", "LABKIT_AWS_PROFILE", "LABKIT_AWS_ACCOUNT",
               "LABKIT_SERVER_PROCESS", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
               "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


@dataclass
class Row:
    """One line of the results table."""

    figure: str  # a leading space marks a breakdown of the row above
    value: str
    target: str = ""
    result: str = "-"  # PASS, FAIL or "-" (reported, no target)
    detail: str = ""


def check(value: float, limit: float) -> str:
    """PASS when `value` meets the target `limit` (lower is better for every figure)."""
    return "PASS" if value <= limit else "FAIL"


def secs(value: float) -> str:
    """Seconds as the table shows them."""
    return f"{value:.3f} s"


def mb(value: float) -> str:
    """Bytes as the table shows them (MiB, as the targets are set)."""
    return f"{value / MB:.0f} MB"


def record(name: str, values: list[float], unit: str = "second") -> pyperf.Benchmark:
    """A pyperf Benchmark of values the harness measured itself (one run, no warm-up).

    pyperf adds what it knows of the machine (CPU, load, Python), as for its own workers."""
    metadata: dict[str, object] = {"name": name, "unit": unit, "loops": 1}
    if unit == "byte":
        values = [int(v) for v in values]
        metadata["duration"] = 0.0  # a reading, not a timing: pyperf would sum the bytes
    run = pyperf.Run(values, metadata=metadata)
    return pyperf.Benchmark([run])


def median(bench: pyperf.Benchmark) -> float:
    """The figure a target is checked against: the median, robust to one slow value."""
    return statistics.median(bench.get_values())


def spread(bench: pyperf.Benchmark, scale: float = 1.0, unit: str = "s") -> str:
    """pyperf's mean ± standard deviation and the values, for the table's detail column."""
    values = bench.get_values()
    shown = ", ".join(f"{v * scale:.2f}" for v in values)
    if len(values) < 2:
        return f"1 value: {shown} {unit}"
    return (f"mean {bench.mean() * scale:.3f} ± {bench.stdev() * scale:.3f} {unit} over "
            f"{len(values)} values: {shown} {unit}")


def child_env(home: Path | None = None) -> dict[str, str]:
    """This process's environment for a child that must use our labkit (and `home`'s sandbox)."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    if home:
        env["LABKIT_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


@contextlib.contextmanager
def lab_environ(home: Path) -> Iterator[None]:
    """This process's environment aimed at `home` (connect() exports AWS_* too); restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(child_env(home))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stop_sandboxes_under(base: Path) -> None:
    """Stop every sandbox serving a home under `base`, even one whose start was cut short."""
    for home in sorted(p for p in base.rglob("*") if (p / "sandbox.json").exists()):
        with contextlib.suppress(Exception):  # the sweep below catches what this misses
            sandbox.stop(home)
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "serve" in cmd and "--home" in cmd and any(a.startswith(f"{base}/") for a in cmd):
            with contextlib.suppress(psutil.Error):
                proc.terminate()
                proc.wait(5)
            with contextlib.suppress(psutil.Error):
                proc.kill()


@contextlib.contextmanager
def temp_dir(tag: str) -> Iterator[Path]:
    """A folder for fresh homes; their sandboxes are stopped and it is removed after."""
    base = Path(tempfile.mkdtemp(prefix=f"labkit-bench-{tag}-"))
    try:
        yield base
    finally:
        stop_sandboxes_under(base)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def temp_home(tag: str) -> Iterator[Path]:
    """One fresh LABKIT_HOME, cleaned up after."""
    with temp_dir(tag) as base:
        yield base / "home"


def sandbox_pid(home: Path) -> int:
    """The process ID of `home`'s running sandbox."""
    found = sandbox.status(home)
    if not found:
        raise RuntimeError(f"no running sandbox in {home}")
    return int(found["pid"])


def rss(pid: int) -> int:
    """Resident memory (VmRSS) of a process, in bytes."""
    return psutil.Process(pid).memory_info().rss


def pss(pid: int) -> int:
    """Proportional memory (shared pages split among their users) of a process, in bytes."""
    return psutil.Process(pid).memory_full_info().pss
