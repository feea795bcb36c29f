"""A learner in a real `jupyter lab`: the first cells, and the memory of the whole process tree.

Course-specific, so hand-written: the server runs with labkit's shipped Jupyter config (its
server extension starts the sandbox); lessons are opened as JupyterLab opens a notebook
(`POST /api/sessions`, so the server starts the kernel) and run cell by cell, their sessions left
open as tabs a learner leaves open.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pyperf
from harness import (CHILD_TIMEOUT, MB, NOTEBOOKS, ROOT, Row, check, child_env, mb, pss, record,
                     rss, sandbox_pid, secs, temp_home)
from jupyter_client import BlockingKernelClient

JUPYTER_CONFIG = ROOT / "jupyter-config"  # what `pip install` of labkit puts in etc/jupyter
FIRST_CELLS = 1.0  # seconds
CULLED = 300 * 1024 * 1024  # bytes, after the whole course (the classroom's goal per learner)
# Culling with time scaled down a minute to two seconds: the shipped 15-minute timeout becomes
# CULL s, and each lesson takes a learner SLOT "minutes" (its run, then a pause for the rest of the
# slot). A fixed slot, not a fixed pause: with a fixed pause the previous lesson's kernel sat
# right at the timeout and the count of live kernels (one or two) depended on how fast the machine
# ran the lessons that day. Two seconds, not one: on a busy shared machine (load 8-10) a lesson
# ran 12 s, longer than a 10 s slot.
CULL, SLOT = 30, 20
# The server's own words as its culler starts (jupyter_server's kernel manager).
CULLER_LOG = "Culling kernels with idle durations > {} seconds"


@dataclass
class JupyterLab:
    """A running `jupyter lab` server and the LABKIT_HOME it serves."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    home: Path
    runtime: Path

    def api(self, method: str, path: str, data: Any = None) -> Any:
        """Call the server's REST API."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if data is None else json.dumps(data).encode(),
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text.strip() else None


@contextlib.contextmanager
def jupyter_lab(home: Path, *options: str) -> Iterator[JupyterLab]:
    """`jupyter lab` on a free port, with labkit's shipped Jupyter config, for `home`."""
    user_home = home.parent / f"{home.name}-user"
    user_home.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    env = child_env(home)
    env.update(HOME=str(user_home), JUPYTER_CONFIG_PATH=str(JUPYTER_CONFIG),
               JUPYTER_RUNTIME_DIR=str(user_home / "runtime"))
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


def open_lesson(lab: JupyterLab, stem: str) -> tuple[BlockingKernelClient, list[float]]:
    """Open a lesson as JupyterLab does (a session: its own kernel), run it; seconds per cell."""
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


def learner_memory(lab: JupyterLab, name: str) -> tuple[pyperf.Benchmark, str]:
    """VmRSS summed over the server's process tree (kernels, sandbox), and what each costs."""
    server = psutil.Process(lab.proc.pid)
    pids = {server.pid} | {p.pid for p in server.children(recursive=True)}
    box = sandbox_pid(lab.home)
    pids.add(box)  # a sandbox a kernel restarted lives outside the server's tree
    sizes = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a kernel culled meanwhile
            sizes[pid] = (rss(pid), pss(pid))
    kernels = [r for pid, (r, _) in sizes.items() if pid not in (server.pid, box)]
    total_pss = sum(p for _, p in sizes.values())
    detail = (f"server {mb(sizes[server.pid][0])}, sandbox {mb(sizes[box][0])}, "
              f"{len(kernels)} kernel(s)"
              + (f" of {min(kernels) / MB:.0f}-{mb(max(kernels))}" if kernels else "")
              + f" (VmRSS; PSS, shared pages counted once: {mb(total_pss)})")
    return record(name, [sum(r for r, _ in sizes.values())], unit="byte"), detail


def wait_for_sandbox(home: Path) -> float:
    """Seconds until the server extension's sandbox is ready."""
    began = time.perf_counter()
    while time.perf_counter() - began < CHILD_TIMEOUT:
        with contextlib.suppress(RuntimeError):
            sandbox_pid(home)
            return time.perf_counter() - began
        time.sleep(0.02)
    raise RuntimeError("the server extension did not start the sandbox")


def measure(quick: bool) -> tuple[list[pyperf.Benchmark], list[Row]]:
    """First cells and memory of one learner; the whole course (and culling) on full runs."""
    lessons = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    benches: list[pyperf.Benchmark] = []
    rows: list[Row] = []

    def memory(name: str, label: str, target: str = "reported", limit: float = 0,
               note: str = "") -> None:
        bench, detail = learner_memory(lab, name)
        benches.append(bench)
        value = bench.get_values()[0]
        rows.append(Row(label, mb(value), target, check(value, limit) if limit else "-",
                        detail + note))

    clients = []
    with temp_home("jlab") as home, jupyter_lab(home) as lab:
        ready = wait_for_sandbox(home)
        benches.append(record("jupyter_sandbox_ready", [ready]))
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
        benches.append(record("jupyter_first_cells", [first]))
        rows.append(Row(f"first lesson's first cells in jupyter lab ({lessons[0]}: imports + "
                        "labkit.start)", secs(first), f"≤ {FIRST_CELLS} s",
                        check(first, FIRST_CELLS) if "True" in "".join(attached_out) else "FAIL",
                        f"imports {took[0]:.2f} s + labkit.start {took[1]:.2f} s; the kernel "
                        "attached to the running sandbox: " + "".join(attached_out).strip()
                        + f" (attach status {attached['content']['status']})"))
        memory("jupyter_memory_lesson00", f"memory per learner after lesson {lessons[0][:2]} "
               "(server, kernel, sandbox)")
        if not quick:
            clients += [open_lesson(lab, stem)[0] for stem in lessons[1:]]
            memory("jupyter_memory_course", "memory per learner, whole course, every lesson left "
                   "open, no culling")
        for c in clients:
            c.stop_channels()
    if quick:  # the course with culling takes minutes: full runs only
        return benches, rows
    # The shipped culling, set by labkit's server extension; only its clock is scaled, through
    # the extension's own settings (no MappingKernelManager option on the command line).
    with temp_home("jlab-cull") as home, jupyter_lab(
            home, f"--LabkitExtension.cull_idle_timeout={CULL}",
            "--LabkitExtension.cull_interval=1") as lab:
        runs = []
        for stem in lessons:
            began = time.perf_counter()
            open_lesson(lab, stem)[0].stop_channels()
            runs.append(time.perf_counter() - began)
            if stem != lessons[-1]:
                time.sleep(max(0.0, SLOT - runs[-1]))
        if max(runs) >= SLOT:
            raise RuntimeError(f"a lesson ran {max(runs):.1f} s, longer than its {SLOT} s slot")
        log = (lab.home.parent / f"{lab.home.name}-user" / "jupyter.log").read_text()
        if CULLER_LOG.format(CULL) not in log or "even with connected clients" not in log:
            raise RuntimeError("labkit's server extension did not set culling: " + log[-800:])
        memory("jupyter_memory_culled", f"memory per learner, whole course with the shipped "
               f"culling, as lesson {lessons[-1][:2]} ends (timeout {CULL} s, a lesson every "
               f"{SLOT} s)", "reported", note="; the sessions of culled kernels stay open; "
               f"lessons ran {min(runs):.1f}-{max(runs):.1f} s")
        time.sleep(SLOT)
        memory("jupyter_memory_culled_later", "  ... after the whole course (a lesson's time "
               "after the last one ended)", "≤ 300 MB", CULLED)
        time.sleep(CULL)
        memory("jupyter_memory_culled_idle", "  ... idle past the culling timeout")
    return benches, rows
