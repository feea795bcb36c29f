"""A classroom on one machine: every learner's first labkit call at the same moment.

Course-specific, so hand-written: one thread per learner calls `labkit.sandbox.ensure()` on its
own home once a barrier lets them all go; reported are the wall time until every sandbox is
ready and their total resident memory.
"""

from __future__ import annotations

import statistics
import threading
import time

import pyperf
from harness import Row, mb, record, rss, secs, temp_dir

from labkit import sandbox


def measure(learners: int) -> tuple[list[pyperf.Benchmark], list[Row]]:
    """Start `learners` sandboxes together; time until all are ready, and their memory."""
    with temp_dir("class") as base:
        homes = [base / f"home{i:02d}" for i in range(learners)]
        ready: list[float] = []
        errors: list[str] = []
        pids: list[int] = []
        gate = threading.Barrier(learners + 1)
        began = 0.0

        def learner(i: int) -> None:
            gate.wait()
            try:
                box = sandbox.ensure(homes[i])
                ready.append(time.perf_counter() - began)
                pids.append(int(box.pid))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"home{i:02d}: {type(exc).__name__}: {str(exc)[:200]}")

        threads = [threading.Thread(target=learner, args=(i,)) for i in range(learners)]
        for t in threads:
            t.start()
        try:
            began = time.perf_counter()
            gate.wait()
        finally:
            # Even on an interrupt: let every start finish, so that its sandbox gets stopped.
            for t in threads:
                t.join()
        wall = time.perf_counter() - began
        memory = [rss(pid) for pid in pids]
    if errors:
        raise RuntimeError(f"{len(errors)} of {learners} sandboxes did not start: "
                           + "; ".join(errors[:3]))
    ready.sort()
    return [record("classroom_all_ready", [wall]),
            record("classroom_sandboxes_rss", [sum(memory)], unit="byte")], [
        Row(f"classroom: {learners} sandboxes started together, wall time until all ready",
            secs(wall), "reported", "-",
            f"first ready {ready[0]:.2f} s, median {statistics.median(ready):.2f} s"),
        Row(f"classroom: total RSS of the {learners} sandbox processes", mb(sum(memory)),
            "reported", "-", f"{mb(statistics.mean(memory))} each on average (idle, just started)"),
    ]
