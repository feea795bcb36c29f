#!/usr/bin/env python
"""Performance figures of the lab, measured against targets.

    python bench/run.py            # the full run (a few minutes)
    python bench/run.py --quick    # small enough for CI (under ~3 minutes)
    python bench/run.py --only cold_start warm_attach   # some figures only

Prints a table (figure, value, target, result), writes its section of bench/results.md (the
machine's description and the table; a quick run and a full run each keep their own section) and
exits with status 1 when a target is missed or a figure could not be measured. Every measurement
uses its own temporary LABKIT_HOME and stops its sandboxes at the end, even on error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RESULTS = Path(__file__).resolve().parent / "results.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Variables that would point labkit (or the AWS SDK) somewhere other than the run's own sandbox.
CLEARED_ENV = ("LABKIT_SANDBOX_URL", "LABKIT_BACKEND", "LABKIT_AWS_PROFILE", "LABKIT_AWS_ACCOUNT",
               "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE",
               "AWS_CONFIG_FILE")
CHILD_TIMEOUT = 120.0


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    figure: str
    value: str
    target: str
    result: str  # PASS, FAIL or "-" (reported, no target)
    detail: str = ""


@dataclass
class Config:
    quick: bool
    cold_runs: int
    warm_runs: int
    empty_runs: int
    inventory_users: int
    inventory_two_key_users: int
    inventory_runs: int
    seed_workers: int
    classroom: int


FULL = Config(quick=False, cold_runs=5, warm_runs=5, empty_runs=11, inventory_users=2000,
              inventory_two_key_users=1000, inventory_runs=3, seed_workers=8, classroom=20)
QUICK = Config(quick=True, cold_runs=3, warm_runs=5, empty_runs=4, inventory_users=300,
               inventory_two_key_users=150, inventory_runs=3, seed_workers=8, classroom=5)


def check(value: float, limit: float) -> str:
    return "PASS" if value <= limit else "FAIL"


def secs(value: float) -> str:
    return f"{value:.3f} s"


def mb(value: float) -> str:
    return f"{value:.0f} MB"


# --------------------------------------------------------------------------------------------
# Sandboxes, homes and processes

_HOMES: list[Path] = []  # homes in use, for a last clean-up on an interrupt
_HOMES_LOCK = threading.Lock()


def _sandbox_pids_for(home: Path) -> list[int]:
    """Sandbox server processes started for `home` (by this run), found by their command line."""
    pids = []
    wanted = str(home).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"labkit" in cmd and b"serve" in cmd and b"--home" in cmd and wanted in cmd:
            pids.append(int(entry.name))
    return pids


def stop_home(home: Path) -> None:
    """Stop the sandbox of `home`, then any straggler still serving it (a start cut short)."""
    try:
        from labkit import sandbox

        sandbox.stop(home)
    except Exception as exc:  # noqa: BLE001 - fall back to the process table below
        print(f"  (stopping {home}: {exc})", file=sys.stderr)
    for pid in _sandbox_pids_for(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def temp_homes(tag: str, count: int = 1) -> Iterator[list[Path]]:
    """`count` fresh LABKIT_HOMEs; their sandboxes are stopped and the folders removed after."""
    base = Path(tempfile.mkdtemp(prefix=f"labkit-bench-{tag}-"))
    homes = [base / f"home{i:02d}" for i in range(count)]
    with _HOMES_LOCK:
        _HOMES.extend(homes)
    try:
        yield homes
    finally:
        for home in homes:
            stop_home(home)
            with _HOMES_LOCK:
                _HOMES.remove(home)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def temp_home(tag: str) -> Iterator[Path]:
    with temp_homes(tag, 1) as homes:
        yield homes[0]


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
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


def run_child(code: str, home: Path, *args: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter; it prints one line `BENCH {json}`."""
    proc = subprocess.run([sys.executable, "-c", code, *args], env=child_env(home), cwd=ROOT,
                          capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"child exited {proc.returncode}: {(proc.stderr or proc.stdout)[-600:]}")


def rss_mb(pid: int) -> float:
    """VmRSS of a process, in MB (from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def sandbox_pid(home: Path) -> int:
    from labkit.sandbox import state

    data = state.read_json(home / state.STATE) or {}
    if not data.get("pid"):
        raise RuntimeError(f"no running sandbox in {home}")
    return int(data["pid"])


# --------------------------------------------------------------------------------------------
# Figures

COLD_CHILD = r"""
import json, time
import labkit
t0 = time.perf_counter()
import labkit.session
t1 = time.perf_counter()
# Time connect()'s parts by wrapping them (a few microseconds of overhead).
spent = {"ensure": 0.0, "whoami": 0.0, "cli_files": 0.0}
def timed(owner, name, key):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - began
    setattr(owner, name, wrapper)
timed(labkit.session, "_ensure_sandbox", "ensure")
timed(labkit.session.Lab, "whoami", "whoami")
timed(labkit.session, "_write_sandbox_files", "cli_files")
t2 = time.perf_counter()
lab = labkit.session.connect()
t3 = time.perf_counter()
print("BENCH " + json.dumps({"import": t1 - t0, "connect": t3 - t2, **spent,
                             "spawn_to_ready": lab.sandbox.started_in, "pid": lab.sandbox.pid}))
"""

# The server's start-up, phase by phase, as `python -m labkit sandbox serve` does it.
SERVER_PHASES_CHILD = r"""
import json, time
t0 = time.perf_counter()
import labkit.__main__
from labkit.sandbox import fidelity, server
t1 = time.perf_counter()
fidelity.install()
t2 = time.perf_counter()
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
app = server.SandboxApp(DomainDispatcherApplication(create_backend_app), "token", {}, "bench")
srv = server._make_server(0, app)
t3 = time.perf_counter()
server.bootstrap({"user_name": "console-admin", "access_key_id": "AKIA" + "0" * 16,
                  "secret_access_key": "x" * 40})
t4 = time.perf_counter()
srv.server_close()
print("BENCH " + json.dumps({"labkit_imports": t1 - t0, "moto_imports_and_fixes": t2 - t1,
                             "wsgi_app_and_listen": t3 - t2, "bootstrap": t4 - t3}))
"""

WARM_CHILD = r"""
import json, sys, time
from pathlib import Path
import labkit
t0 = time.perf_counter()
import labkit.sandbox
t1 = time.perf_counter()
box = labkit.sandbox.ensure(Path(sys.argv[1]))
t2 = time.perf_counter()
print("BENCH " + json.dumps({"import": t1 - t0, "ensure": t2 - t1, "pid": box.pid}))
"""


def fig_cold_start(cfg: Config) -> list[Row]:
    runs = []
    for i in range(cfg.cold_runs):
        with temp_home(f"cold{i}") as home:
            runs.append(run_child(COLD_CHILD, home))
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    connect = med("connect")
    rows = [Row(
        "sandbox cold start: connect() in a fresh process, fresh home "
        f"(median of {len(runs)})", secs(connect), "≤ 1.0 s", check(connect, 1.0),
        "runs: " + ", ".join(f"{r['connect']:.2f}" for r in runs)
        + f" s; `import labkit.session` before it: {med('import') * 1000:.0f} ms (not counted)")]
    parts = [
        ("ensure(): sandbox spawn → ready", med("ensure"),
         f"of which {med('spawn_to_ready'):.3f} s from Popen to the ready state file"),
        ("the rest: boto3 import (what the start-up does not hide) + session", statistics.median(
            r["connect"] - r["ensure"] - r["whoami"] - r["cli_files"] for r in runs),
         "connect() minus the three parts named here"),
        ("whoami(): first get-caller-identity", med("whoami"),
         "client creation + the server's first request"),
        ("the sandbox's CLI files", med("cli_files"), ""),
    ]
    rows += [Row(f"  connect(): {label}", secs(value), "", "-",
                 "; ".join(filter(None, [note, "median of the runs"])))
             for label, value, note in parts]
    rows += _server_breakdown()
    return rows


def _server_breakdown() -> list[Row]:
    """Where a server start spends its time (reported, no target)."""
    with temp_home("phases") as home:
        starts = []
        for _ in range(3):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], env=child_env(home), check=True)
            starts.append(time.perf_counter() - began)
        phases = [run_child(SERVER_PHASES_CHILD, home) for _ in range(3)]
    rows = [Row("  server: python interpreter start (`python -c pass`)",
                secs(statistics.median(starts)), "", "-", "wall time of the whole process")]
    names = {"labkit_imports": "labkit imports (labkit.__main__, sandbox.server)",
             "moto_imports_and_fixes": "moto IAM/STS imports + fidelity.install()",
             "wsgi_app_and_listen": "moto WSGI app + werkzeug listen",
             "bootstrap": "bootstrap (IAM backend, console user + key)"}
    for key, label in names.items():
        rows.append(Row(f"  server: {label}", secs(statistics.median(p[key] for p in phases)),
                        "", "-", "median of 3, in-process timing"))
    return rows


def fig_warm_attach(cfg: Config) -> list[Row]:
    from labkit import sandbox

    with temp_home("warm") as home:
        box = sandbox.ensure(home)
        runs = [run_child(WARM_CHILD, home, str(home)) for _ in range(cfg.warm_runs)]
    if any(r["pid"] != box.pid for r in runs):
        raise RuntimeError("a fresh process started a second sandbox instead of attaching")
    took = statistics.median(r["ensure"] for r in runs)
    imp = statistics.median(r["import"] for r in runs)
    return [Row(f"warm attach: ensure(home) in a fresh process, sandbox running "
                f"(median of {len(runs)})", secs(took), "≤ 0.1 s", check(took, 0.1),
                "runs: " + ", ".join(f"{r['ensure'] * 1000:.0f}" for r in runs)
                + f" ms; `import labkit.sandbox` before it: {imp * 1000:.0f} ms (not counted)")]


@dataclass
class NotebookRun:
    seconds: float  # kernel start to shutdown
    cells: list[tuple[float, int, str]]  # (seconds, code cell number, first line), code cells
    start: float = 0.0  # kernel start until ready
    shutdown: float = 0.0  # after the last cell until the kernel is gone
    pid: int | None = None
    rss: float | None = None

    def slowest(self, n: int = 2) -> str:
        top = sorted(self.cells, reverse=True)[:n]
        return ", ".join(f"cell {i} {t:.2f} s (`{code[:60]}{'...' if len(code) > 60 else ''}`)"
                         for t, i, code in top)


def _run_notebook(nb: Any, want_pid: bool = False) -> NotebookRun:
    """Run a notebook headless in its own kernel, timing it and each code cell."""
    from nbclient import NotebookClient

    # "immediate" (a kill), for lessons and empty notebooks alike: a graceful shutdown here
    # stalls for 2.5 s in about one run in four, in empty notebooks too (ipykernel leaves the
    # shutdown request unanswered and jupyter_client falls back to SIGTERM): noise, not lesson work.
    client = NotebookClient(nb, timeout=600, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    run = NotebookRun(0.0, [])
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
        if want_pid:
            run.pid = client.km.provisioner.pid  # the local provisioner's kernel process
            run.rss = rss_mb(run.pid)
        ended = time.perf_counter()
    run.seconds = time.perf_counter() - began
    run.shutdown = time.perf_counter() - ended
    return run


def fig_lessons(cfg: Config) -> list[Row]:
    import nbformat

    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if len(lessons) != 10:
        raise RuntimeError(f"expected 10 lessons, found {len(lessons)}")
    empty = nbformat.v4.new_notebook()
    empty.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    # Empty-notebook runs spread over the course, so the baseline sees the same machine load.
    empty_at = {0} | {round(i * len(lessons) / max(cfg.empty_runs - 1, 1))
                      for i in range(1, cfg.empty_runs)}
    empties: list[NotebookRun] = []
    took: dict[str, NotebookRun] = {}
    with temp_home("lessons") as home, lab_environ(home):
        for index in range(len(lessons) + 1):
            if index in empty_at:
                empties.append(_run_notebook(empty))
            if index == len(lessons):
                break
            path = lessons[index]
            last = index == len(lessons) - 1
            took[path.stem] = _run_notebook(nbformat.read(path, as_version=4), last)
        sandbox_rss = rss_mb(sandbox_pid(home))
    kernel_rss = took[lessons[-1].stem].rss
    base = statistics.median(e.seconds for e in empties)
    rows = [Row(f"empty notebook (kernel start + shutdown), median of {len(empties)}",
                secs(base), "", "-",
                "runs: " + ", ".join(f"{e.seconds:.2f}" for e in empties) + " s; start "
                + f"{statistics.median(e.start for e in empties):.2f} s + shutdown "
                + f"{statistics.median(e.shutdown for e in empties):.2f} s (medians)")]
    for stem, run in took.items():
        over = run.seconds - base
        note = f"run {run.seconds:.2f} s"
        if stem.startswith("00"):
            note += " (includes the sandbox cold start: fresh home)"
        note += (f"; kernel start {run.start:.2f} s, {len(run.cells)} code cells "
                 f"{sum(c[0] for c in run.cells):.2f} s, shutdown {run.shutdown:.2f} s; ")
        note += "slowest: " + run.slowest()
        rows.append(Row(f"lesson overhead: {stem}", secs(over), "≤ 1.5 s", check(over, 1.5), note))
    assert kernel_rss is not None
    total = kernel_rss + sandbox_rss
    rows.append(Row("memory per learner: kernel RSS (after lesson 09) + sandbox RSS (after the "
                    "course)", mb(total), "≤ 300 MB", check(total, 300),
                    f"kernel {kernel_rss:.0f} MB + sandbox {sandbox_rss:.0f} MB (VmRSS)"))
    return rows


def _seed(lab: Any, users: int, two_key_users: int, workers: int) -> None:
    """users IAM users, the first two_key_users with 2 keys and the rest with 1, over a pool."""
    from concurrent.futures import ThreadPoolExecutor

    # Clients are thread-safe, sessions are not: make them all here, one per worker.
    clients = [lab.client_for(lab.session, "iam") for _ in range(workers)]

    def work(worker: int) -> int:
        iam = clients[worker]
        calls = 0
        for i in range(worker, users, workers):
            name = f"bench-user-{i:05d}"
            iam.create_user(UserName=name)
            iam.create_access_key(UserName=name)
            calls += 2
            if i < two_key_users:
                iam.create_access_key(UserName=name)
                calls += 1
        return calls

    with ThreadPoolExecutor(workers) as pool:
        sum(pool.map(work, range(workers)))


def fig_inventory(cfg: Config) -> list[Row]:
    users, two = cfg.inventory_users, cfg.inventory_two_key_users
    keys = users + two
    with temp_home("inventory") as home, lab_environ(home):
        from naive_inventory import naive_key_inventory  # next to this script

        from labkit import reports, session

        lab = session.connect(refresh=True)
        began = time.perf_counter()
        _seed(lab, users, two, cfg.seed_workers)
        seeded = time.perf_counter() - began
        iam = lab.client("iam")
        fast = []
        for _ in range(cfg.inventory_runs):
            began = time.perf_counter()
            inventory = reports.key_inventory(iam)
            fast.append(time.perf_counter() - began)
        began = time.perf_counter()
        naive = naive_key_inventory(iam)
        slow = time.perf_counter() - began
    # Both tables hold every key: the seeded ones and the console identity's.
    if not len(inventory) == len(naive) == keys + 1:
        raise RuntimeError(f"tables disagree: inventory {len(inventory)} rows, naive "
                           f"{len(naive)}, expected {keys + 1}")
    t_inv = statistics.median(fast)
    ratio = t_inv / slow
    size = f"{users:,} users / {keys:,} keys"
    return [
        Row(f"key inventory ({size}): key_inventory() / naive per-user loop", f"{ratio:.3f}",
            "≤ 0.10", check(ratio, 0.10),
            f"key_inventory {t_inv:.3f} s (median of {len(fast)}: "
            + ", ".join(f"{f:.2f}" for f in fast) + f"), naive {slow:.2f} s"),
        Row("  key_inventory() (credential report)", secs(t_inv), "", "-", ""),
        Row("  naive_key_inventory() (per-user loop)", secs(slow), "", "-", ""),
        Row(f"  seeding {size} ({cfg.seed_workers} threads)", secs(seeded), "", "-",
            f"{(users + keys) / seeded:.0f} calls/s"),
    ]


def fig_classroom(cfg: Config) -> list[Row]:
    from labkit import sandbox

    n = cfg.classroom
    with temp_homes("class", n) as homes:
        ready: list[float | None] = [None] * n
        errors: list[str] = []
        pids: list[int] = []
        gate = threading.Barrier(n + 1)
        began = 0.0

        def learner(i: int) -> None:
            gate.wait()
            try:
                box = sandbox.ensure(homes[i])
                ready[i] = time.perf_counter() - began
                pids.append(int(box.pid))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(f"home{i:02d}: {type(exc).__name__}: {str(exc)[:200]}")

        threads = [threading.Thread(target=learner, args=(i,)) for i in range(n)]
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
        rss = [rss_mb(pid) for pid in pids]
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} sandboxes did not start: " + "; ".join(errors[:3]))
    times = sorted(t for t in ready if t is not None)
    return [
        Row(f"classroom: {n} sandboxes started together, wall time until all ready",
            secs(wall), "reported", "-",
            f"first ready {times[0]:.2f} s, median {statistics.median(times):.2f} s"),
        Row(f"classroom: total RSS of the {n} sandbox processes", mb(sum(rss)), "reported", "-",
            f"{statistics.mean(rss):.0f} MB each on average (idle, just started)"),
    ]


# --------------------------------------------------------------------------------------------
# A learner in a real `jupyter lab` (labkit's server extension, kernels opened as JupyterLab does)

JUPYTER_CONFIG = ROOT / "jupyter-config"  # what `pip install` of labkit puts in etc/jupyter


@dataclass
class JupyterLab:
    proc: subprocess.Popen[bytes]
    port: int
    token: str
    home: Path  # LABKIT_HOME
    runtime: Path

    def api(self, method: str, path: str, data: Any = None) -> Any:
        import urllib.request

        body = b"" if data is None and method != "GET" else (
            None if data is None else json.dumps(data).encode())
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text.strip() else None


@contextlib.contextmanager
def jupyter_lab(home: Path, *options: str) -> Iterator[JupyterLab]:
    """`jupyter lab` on a free port, with labkit's shipped Jupyter config, for `home`."""
    import secrets

    user_home = home.parent / f"{home.name}-user"
    user_home.mkdir(exist_ok=True)
    token = secrets.token_hex(16)
    env = child_env(home)
    env.update(HOME=str(user_home), JUPYTER_CONFIG_PATH=str(JUPYTER_CONFIG),
               JUPYTER_RUNTIME_DIR=str(user_home / "runtime"))
    env.pop("LABKIT_SERVER_PROCESS", None)
    root = ["--allow-root"] if os.getuid() == 0 else []
    with open(user_home / "jupyter.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--port=0",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={NOTEBOOKS}", *root, *options],
            env=env, cwd=user_home, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT)
    lab = JupyterLab(proc, 0, token, home, user_home / "runtime")
    try:
        info = lab.runtime / f"jpserver-{proc.pid}.json"
        deadline = time.monotonic() + CHILD_TIMEOUT
        while not lab.port and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                lab.port = json.loads(info.read_text())["port"]
            time.sleep(0.05)
        if not lab.port:
            raise RuntimeError("jupyter lab did not start: "
                               + (user_home / "jupyter.log").read_text()[-800:])
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def open_lesson(lab: JupyterLab, stem: str) -> tuple[Any, list[float]]:
    """Open a lesson as JupyterLab does (a session: its own kernel), run it; seconds per cell.

    The session stays open, as a tab a learner leaves open."""
    import nbformat
    from jupyter_client import BlockingKernelClient

    session = lab.api("POST", "/api/sessions", {"path": f"{stem}.ipynb", "type": "notebook",
                                                "name": f"{stem}.ipynb",
                                                "kernel": {"name": "python3"}})
    client = BlockingKernelClient(
        connection_file=str(lab.runtime / f"kernel-{session['kernel']['id']}.json"))
    client.load_connection_file()
    client.start_channels(hb=False)
    client.wait_for_ready(timeout=CHILD_TIMEOUT)
    took = []
    for cell in nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4).cells:
        if cell.cell_type != "code":
            continue
        began = time.perf_counter()
        reply = client.execute_interactive(cell.source, timeout=CHILD_TIMEOUT,
                                           output_hook=lambda _msg: None)
        took.append(time.perf_counter() - began)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{stem}: {reply['content'].get('ename')} "
                               f"{reply['content'].get('evalue')}")
    return client, took


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (kernels, the sandbox, terminals)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _pss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def learner_memory(lab: JupyterLab) -> tuple[float, float, str]:
    """RSS and PSS (MB) of the learner's server, kernels and sandbox, and what each costs."""
    sandbox = sandbox_pid(lab.home)
    rss = pss = 0.0
    kernels = []
    for pid in process_tree(lab.proc.pid):
        with contextlib.suppress(OSError, RuntimeError):
            r, p = rss_mb(pid), _pss_mb(pid)
            rss, pss = rss + r, pss + p
            if pid not in (lab.proc.pid, sandbox):
                kernels.append(r)
    if sandbox not in process_tree(lab.proc.pid):  # a sandbox a kernel restarted elsewhere
        rss, pss = rss + rss_mb(sandbox), pss + _pss_mb(sandbox)
    detail = (f"server {rss_mb(lab.proc.pid):.0f} MB, sandbox {rss_mb(sandbox):.0f} MB, "
              f"{len(kernels)} kernel(s)"
              + (f" of {min(kernels):.0f}-{max(kernels):.0f} MB" if kernels else "")
              + f" (VmRSS; PSS, shared pages counted once: {pss:.0f} MB)")
    return rss, pss, detail


def fig_jupyter(cfg: Config) -> list[Row]:
    lessons = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    rows: list[Row] = []
    clients: list[Any] = []
    # Every lesson opened in turn and left open, no culling: what the issue measured on a hub.
    with temp_home("jlab") as home, jupyter_lab(home) as lab:
        began = time.perf_counter()
        ready = None
        while time.perf_counter() - began < CHILD_TIMEOUT:
            data = json.loads((home / "sandbox.json").read_text()) if (
                home / "sandbox.json").exists() else {}
            if data.get("status") == "ready":
                ready = time.perf_counter() - began
                break
            time.sleep(0.02)
        if ready is None:
            raise RuntimeError("the server extension did not start the sandbox")
        rows.append(Row("jupyter lab: sandbox ready, counted from the server's port opening",
                        secs(ready), "reported", "-",
                        "started by labkit's server extension, before any lesson is opened"))
        client, took = open_lesson(lab, lessons[0])
        clients.append(client)
        attached_out: list[str] = []
        attached = client.execute_interactive(
            "print(lesson.lab.sandbox.started_in is None)", timeout=60,
            output_hook=lambda m: attached_out.append(m["content"].get("text", "")))
        first = took[0] + took[1]
        rows.append(Row(f"first lesson's first cells in jupyter lab ({lessons[0]}: imports + "
                        "labkit.start)", secs(first), "≤ 1.0 s",
                        check(first, 1.0) if "True" in "".join(attached_out) else "FAIL",
                        f"imports {took[0]:.2f} s + labkit.start {took[1]:.2f} s; the kernel "
                        "attached to the running sandbox: " + "".join(attached_out).strip()
                        + f" (attach status {attached['content']['status']})"))
        rss, _, detail = learner_memory(lab)
        rows.append(Row(f"memory per learner after lesson {lessons[0][:2]} (server, kernel, "
                        "sandbox)", mb(rss), "reported", "-", detail))
        if not cfg.quick:
            for stem in lessons[1:]:
                clients.append(open_lesson(lab, stem)[0])
            rss, _, detail = learner_memory(lab)
            rows.append(Row("memory per learner, whole course, every lesson left open, "
                            "no culling", mb(rss), "reported", "-", detail))
        for c in clients:
            c.stop_channels()
    clients.clear()
    if cfg.quick:  # the course with culling takes minutes: full runs only
        return rows
    # The same with culling, time scaled down a minute to a second: the shipped 15-minute
    # timeout becomes CULL s, and each lesson takes a learner SLOT "minutes" (its run, then a
    # pause for the rest of the slot). A fixed slot, not a fixed pause: with a fixed pause the
    # previous lesson's kernel sat right at the timeout and the count of live kernels (one or
    # two) depended on how fast the machine ran the lessons that day.
    cull, slot = 15, 10
    with temp_home("jlab-cull") as home, jupyter_lab(
            home, f"--MappingKernelManager.cull_idle_timeout={cull}",
            "--MappingKernelManager.cull_interval=1") as lab:
        runs = []
        for stem in lessons:
            began = time.perf_counter()
            client = open_lesson(lab, stem)[0]
            client.stop_channels()
            runs.append(time.perf_counter() - began)
            if stem != lessons[-1]:
                time.sleep(max(0.0, slot - runs[-1]))
        if max(runs) >= slot:
            raise RuntimeError(f"a lesson ran {max(runs):.1f} s, longer than its {slot} s slot")
        rss, _, detail = learner_memory(lab)
        rows.append(Row(f"memory per learner, whole course with culling, as lesson "
                        f"{lessons[-1][:2]} ends (timeout {cull} s, a lesson every {slot} s)",
                        mb(rss), "≤ 400 MB", check(rss, 400),
                        detail + "; the sessions of culled kernels stay open; lessons ran "
                        f"{min(runs):.1f}-{max(runs):.1f} s"))
        time.sleep(slot)
        rss, _, detail = learner_memory(lab)
        rows.append(Row("  ... a lesson's time later", mb(rss), "reported", "-", detail))
        time.sleep(cull)
        rss, _, detail = learner_memory(lab)
        rows.append(Row("  ... idle past the culling timeout", mb(rss), "reported", "-",
                        detail))
    return rows


FIGURES: dict[str, tuple[str, Callable[[Config], list[Row]]]] = {
    "cold_start": ("sandbox cold start", fig_cold_start),
    "warm_attach": ("warm attach", fig_warm_attach),
    "lessons": ("lesson overhead and memory per learner", fig_lessons),
    "inventory": ("key inventory vs the naive loop", fig_inventory),
    "classroom": ("a classroom on one machine", fig_classroom),
    "jupyter": ("a learner in jupyter lab: first cell, memory, culling", fig_jupyter),
}


# --------------------------------------------------------------------------------------------
# Machine, table, results.md


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=ROOT, text=True, capture_output=True,
                                  timeout=10, check=False).stdout.strip()

        commit = git("rev-parse", "--short", "HEAD") or commit
        if git("status", "--porcelain", "--untracked-files=no"):
            commit += " with uncommitted changes"
    return {
        "CPU": cpu,
        "Cores": f"{os.cpu_count()} ({usable} usable by this process)",
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "moto": _version("moto"),
        "boto3": _version("boto3"),
        "botocore": _version("botocore"),
        "nbclient": _version("nbclient"),
        "Commit": commit,
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def print_table(rows: list[Row]) -> None:
    head = ("figure", "value", "target", "result")
    cells = [head] + [(r.figure, r.value, r.target, r.result) for r in rows]
    widths = [min(max(len(c[i]) for c in cells), 90) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for i, c in enumerate(cells):
        print("  ".join(str(v)[:90].ljust(w) for v, w in zip(c, widths)).rstrip())
        if i == 0:
            print(line)
    print(line)
    for r in rows:
        if r.result == "FAIL" and r.detail:
            print(f"FAIL {r.figure}: {r.detail}")


def _sub(figure: str) -> str:
    """A breakdown row (indented in the printed table) as `↳ ...` in markdown."""
    return "↳ " + figure.strip() if figure.startswith(" ") else figure


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


info_load: dict[str, str] = {}


def section(cfg: Config, info: dict[str, str], rows: list[Row], took: float) -> str:
    kind = "Quick run (`python bench/run.py --quick`)" if cfg.quick else \
        "Full run (`python bench/run.py`)"
    out = [f"## {kind}", ""]
    out += [f"- **{k}:** {v}" for k, v in info.items()]
    out += [f"- **Load average before / after:** {info_load['before']} / {info_load['after']}",
            f"- **Run took:** {took:.0f} s", ""]
    failed = sum(r.result == "FAIL" for r in rows)
    out += [f"**{failed} target(s) missed.**" if failed else "**All targets met.**", ""]
    out += ["| figure | value | target | result | detail |", "|---|---|---|---|---|"]
    out += [f"| {_md(_sub(r.figure))} | {_md(r.value)} | {_md(r.target)} | "
            f"{'**FAIL**' if r.result == 'FAIL' else r.result} | {_md(r.detail)} |" for r in rows]
    return "\n".join(out) + "\n"


HEADER = """# Benchmarks

Measured by [`bench/run.py`](run.py): `python bench/run.py` (full) or
`python bench/run.py --quick` (small enough for CI). Each run rewrites this header and its own
section below, and keeps the rest. Every figure uses its own temporary `LABKIT_HOME`, whose
sandboxes are stopped at the end.

| figure | how it is measured | target |
|---|---|---|
| sandbox cold start | `labkit.session.connect()` timed inside a fresh `python -c` with a fresh `LABKIT_HOME` (interpreter start and `import labkit.session` not counted); median of 5 (3 quick) | ≤ 1.0 s |
| warm attach | `labkit.sandbox.ensure(home)` timed inside a fresh process while that home's sandbox runs; median of 5 | ≤ 0.1 s |
| lesson overhead | each lesson's headless nbclient run (own kernel, lessons in order, one home) minus an empty notebook's run (kernel start + shutdown; median of 11, spread over the course, 4 quick). Kernels are stopped with nbclient's `shutdown_kernel="immediate"`: a graceful shutdown stalls 2.5 s in about one run in four on this machine, empty notebooks included | ≤ 1.5 s per lesson |
| memory per learner | VmRSS of the kernel that ran lesson 09 (read before it shuts down) + VmRSS of the sandbox after the course | ≤ 300 MB |
| key inventory | `reports.key_inventory()` (credential report, median of 3) / `naive_key_inventory()` (per-user loop, `bench/naive_inventory.py`), same sandbox, 2,000 users / 3,000 keys (300 / 450 quick), seeded by 8 threads | ratio ≤ 0.10 |
| a learner in jupyter lab | a real `jupyter lab` with labkit's Jupyter config (server extension), a fresh home; lessons opened as JupyterLab opens a notebook (`POST /api/sessions`, so the server starts the kernel) and run cell by cell, their sessions left open. First cells: lesson 00's imports + `labkit.start` cells, timed in the kernel's replies. Memory: VmRSS summed over the server's process tree (server, kernels, sandbox; PSS shown beside it), after lesson 00, after all ten lessons with no culling, and with culling (timeout 15 s, a lesson every 10 s, its run included: a class's 15 minutes and 10 minutes per lesson, a minute scaled to a second; so the lesson before is still within the timeout as one ends, as in class) as lesson 09 ends, a lesson later, and idle past the timeout | first cells ≤ 1.0 s; with culling as lesson 09 ends ≤ 400 MB (quick runs: first cells and lesson 00 only) |
| classroom | 20 threads (5 quick) each calling `labkit.sandbox.ensure()` on their own home at once: wall time until all are ready, total VmRSS of the sandboxes | reported |

The machine may be shared: the load average is recorded with each run.
"""


def write_results(cfg: Config, text: str) -> None:
    tag = "quick" if cfg.quick else "full"
    start, end = f"<!-- bench:{tag}:start -->", f"<!-- bench:{tag}:end -->"
    block = f"{start}\n{text}{end}\n"
    old = RESULTS.read_text() if RESULTS.exists() else HEADER
    if "<!-- bench:" in old:  # the header is this script's: keep it in step with the code
        old = HEADER + "\n" + old[old.index("<!-- bench:"):]
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = before + block + ("\n" + after if after else "")
    else:
        # The full run first, the quick run after it.
        if tag == "full" and "<!-- bench:quick:start -->" in old:
            before, after = old.split("<!-- bench:quick:start -->", 1)
            new = before.rstrip("\n") + "\n\n" + block + "\n<!-- bench:quick:start -->" + after
        else:
            new = old.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(new)


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run for CI (< ~3 min)")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="FIGURE",
                        help="measure only these: " + ", ".join(FIGURES))
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results.md")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL

    def terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    info = machine()
    info_load["before"] = _loadavg()
    print(f"labkit benchmarks ({'quick' if cfg.quick else 'full'} run)")
    for key, value in info.items():
        print(f"  {key}: {value}")
    began = time.perf_counter()
    rows: list[Row] = []
    try:
        for key, (title, measure) in FIGURES.items():
            if args.only and key not in args.only:
                continue
            print(f"\n== {title} ...", flush=True)
            t0 = time.perf_counter()
            try:
                got = measure(cfg)
            except Exception as exc:  # noqa: BLE001 - a failed figure is a FAIL row
                traceback.print_exc()
                got = [Row(title, "error", "", "FAIL", f"{type(exc).__name__}: {exc}"[:500])]
            for row in got:
                print(f"   {row.figure}: {row.value} {row.result if row.result != '-' else ''}"
                      f"  {row.detail}", flush=True)
            print(f"   ({time.perf_counter() - t0:.0f} s)")
            rows += got
    finally:
        for home in _HOMES[:]:  # only on an interrupt: the figures clean up after themselves
            stop_home(home)
    took = time.perf_counter() - began
    info_load["after"] = _loadavg()
    print()
    print_table(rows)
    print(f"\n{time.perf_counter() - began:.0f} s in all; load average before / after: "
          f"{info_load['before']} / {info_load['after']}")
    if not args.no_write and not args.only:
        write_results(cfg, section(cfg, info, rows, took))
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    failed = [r for r in rows if r.result == "FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
