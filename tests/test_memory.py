"""What keeps a learner's processes small (bench/run.py measures the sizes themselves)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr[-800:]
    return done.stdout.strip()


def test_the_sandbox_process_asks_glibc_for_one_malloc_arena() -> None:
    """glibc (this machine's C library) accepts M_ARENA_MAX = 1 as serve() sets it."""
    assert _run("from labkit.sandbox import server; print(server.one_malloc_arena())") == "True"


def test_serve_sets_one_arena_before_any_thread_starts() -> None:
    import inspect

    from labkit.sandbox import server

    body = inspect.getsource(server.serve)
    assert body.index("one_malloc_arena()") < body.index("_listen(")  # the request threads


def test_botocore_data_is_read_into_plain_dicts_once_per_kernel() -> None:
    out = _run(
        "import collections, labkit.session as s\n"
        "a = s.new_session(aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='x')\n"
        "b = s.new_session(aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='y')\n"
        "loader = a._session.get_component('data_loader')\n"
        "assert loader is b._session.get_component('data_loader')\n"
        "e = loader.load_data('endpoints')\n"
        "print(type(e).__name__, type(e['partitions'][0]).__name__)")
    assert out == "dict dict"  # botocore's own loader makes OrderedDicts (about 2x the memory)
