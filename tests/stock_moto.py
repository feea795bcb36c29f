"""Start a stock moto server (no labkit code in it) in a child process, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

SCRIPT = """
import sys, time
if sys.argv[1] == "aws-like":
    from labkit.sandbox import fidelity
    fidelity.install()
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # serve until the test closes our stdin
"""


@contextmanager
def stock_moto(managed_policies: bool = True, aws_like: bool = False) -> Iterator[str]:
    """A stock moto server's URL, alive for the block. `aws_like`: with labkit's fidelity fixes,
    to stand in for real AWS where stock moto answers differently (same-account trust, ...)."""
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true" if managed_policies else "false")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "aws-like" if aws_like else "stock"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        time.sleep(0)
