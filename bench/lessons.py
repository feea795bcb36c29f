"""Lesson overhead and memory per learner: the lessons run headless with nbclient, in order.

Course-specific, so hand-written: each lesson runs once in its own kernel (a lesson builds on the
one before, in one LABKIT_HOME), timed against an empty notebook's run (kernel start and
shutdown) measured between lessons, so both see the same machine load.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import nbformat
import pyperf
from harness import (NOTEBOOKS, Row, check, lab_environ, mb, median, record, rss, sandbox_pid,
                     secs, spread, temp_home)
from nbclient import NotebookClient

OVERHEAD = 1.5  # seconds per lesson
MEMORY = 300 * 1024 * 1024  # bytes: a kernel and the sandbox


@dataclass
class NotebookRun:
    """How long a notebook's run took, and where the time went."""

    seconds: float = 0.0  # kernel start to shutdown
    start: float = 0.0  # kernel start until ready
    shutdown: float = 0.0  # after the last cell until the kernel is gone
    cells: list[tuple[float, int, str]] = field(default_factory=list)  # (s, number, code)
    rss: int = 0  # the kernel's resident memory after the last cell, when asked for

    def slowest(self, n: int = 2) -> str:
        """The `n` slowest code cells, with their first line."""
        top = sorted(self.cells, reverse=True)[:n]
        return ", ".join(f"cell {i} {t:.2f} s (`{code[:60]}{'...' if len(code) > 60 else ''}`)"
                         for t, i, code in top)


def run_notebook(nb: Any, want_rss: bool = False) -> NotebookRun:
    """Run a notebook headless in its own kernel, timing it and each code cell."""
    # "immediate" (a kill), for lessons and empty notebooks alike: a graceful shutdown here
    # stalls for 2.5 s in about one run in four, in empty notebooks too (ipykernel leaves the
    # shutdown request unanswered and jupyter_client falls back to SIGTERM): noise, not lesson work.
    client = NotebookClient(nb, timeout=600, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    run = NotebookRun()
    began = time.perf_counter()
    with client.setup_kernel():
        run.start = time.perf_counter() - began
        number = 0
        for index, cell in enumerate(nb.cells):
            t0 = time.perf_counter()
            client.execute_cell(cell, index)  # raises CellExecutionError on any error
            if cell.cell_type == "code":
                number += 1
                code = "; ".join(ln.split("  #")[0].strip() for ln in cell.source.splitlines()
                                 if ln.strip() and not ln.lstrip().startswith("#"))
                run.cells.append((time.perf_counter() - t0, number, code))
        if want_rss:
            run.rss = rss(client.km.provisioner.pid)  # the local provisioner's kernel process
        ended = time.perf_counter()
    run.seconds = time.perf_counter() - began
    run.shutdown = time.perf_counter() - ended
    return run


def measure(empty_runs: int) -> tuple[list[pyperf.Benchmark], list[Row]]:
    """Every lesson's run, `empty_runs` empty notebooks spread among them, and the memory."""
    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if len(lessons) != 11:
        raise RuntimeError(f"expected 11 lessons, found {len(lessons)}")
    empty = nbformat.v4.new_notebook()
    empty.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    empty_at = {0} | {round(i * len(lessons) / max(empty_runs - 1, 1))
                      for i in range(1, empty_runs)}
    empties: list[NotebookRun] = []
    took: dict[str, NotebookRun] = {}
    with temp_home("lessons") as home, lab_environ(home):
        for index in range(len(lessons) + 1):
            if index in empty_at:
                empties.append(run_notebook(empty))
            if index < len(lessons):
                path = lessons[index]
                took[path.stem] = run_notebook(nbformat.read(path, as_version=4),
                                               want_rss=index == len(lessons) - 1)
        sandbox_rss = rss(sandbox_pid(home))

    base = record("empty_notebook", [e.seconds for e in empties])
    benches = [base]
    rows = [Row(f"empty notebook (kernel start + shutdown), median of {len(empties)}",
                secs(median(base)), detail=spread(base) + "; start "
                + f"{statistics.median(e.start for e in empties):.2f} s + shutdown "
                + f"{statistics.median(e.shutdown for e in empties):.2f} s (medians)")]
    for stem, run in took.items():
        bench = record(f"lesson_run/{stem}", [run.seconds])
        benches.append(bench)
        over = median(bench) - median(base)
        note = f"run {run.seconds:.2f} s"
        if stem.startswith("00"):
            note += " (includes the sandbox cold start: fresh home)"
        note += (f"; kernel start {run.start:.2f} s, {len(run.cells)} code cells "
                 f"{sum(c[0] for c in run.cells):.2f} s, shutdown {run.shutdown:.2f} s; "
                 f"slowest: {run.slowest()}")
        rows.append(Row(f"lesson overhead: {stem}", secs(over), f"≤ {OVERHEAD} s",
                        check(over, OVERHEAD), note))
    kernel_rss = took[lessons[-1].stem].rss
    memory = record("memory_per_learner", [kernel_rss + sandbox_rss], unit="byte")
    benches.append(memory)
    rows.append(Row("memory per learner: kernel RSS (after lesson 10) + sandbox RSS (after the "
                    "course)", mb(median(memory)), "≤ 300 MB", check(median(memory), MEMORY),
                    f"kernel {mb(kernel_rss)} + sandbox {mb(sandbox_rss)} (VmRSS)"))
    return benches, rows

