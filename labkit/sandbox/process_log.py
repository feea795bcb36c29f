"""The sandbox process's housekeeping: a capped private log, one malloc arena, its fd limit."""

from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path
from typing import Any

from labkit.sandbox import state


def raise_fd_limit() -> None:
    """Use every file descriptor the system allows (a hub user's soft limit is often 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 1 << 20), hard))
        except (ValueError, OSError):
            pass


# sandbox.log is capped: LOG_MAX_BYTES, then it moves to sandbox.log.1 (one old copy is kept),
# so a flood of failing requests cannot fill the learner's disk.
LOG_MAX_BYTES = 1024 * 1024
LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


class _LogStream(io.TextIOBase):
    """stdout/stderr of the sandbox process, sent through the capped log."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def write(self, text: str) -> int:
        if text.strip():
            self.logger.warning(text.rstrip())
        return len(text)


def rotating_log(home: Path) -> None:
    """Send all of the sandbox's logging, stdout and stderr to sandbox.log, capped in size."""
    from logging.handlers import RotatingFileHandler

    class PrivateRotatingFileHandler(RotatingFileHandler):
        def _open(self) -> Any:
            # 0600 from the first byte, also for the file that starts after a rotation
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors="replace")

    handler = PrivateRotatingFileHandler(home / state.LOG, maxBytes=LOG_MAX_BYTES, backupCount=1,
                                         delay=True)
    logging.basicConfig(handlers=[handler], level=logging.WARNING, format=LOG_FORMAT, force=True)
    sys.stdout = sys.stderr = _LogStream(logging.getLogger("labkit.sandbox.output"))
    # Writes straight to the file descriptors (C code) would bypass the cap: discard them.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def one_malloc_arena() -> bool:
    """Let all threads share one glibc malloc arena (M_ARENA_MAX = 1); False where not glibc.

    The server answers each request in a thread of its own, and glibc gives threads arenas of
    their own that keep what they once held: 12-20 MB more after a burst of parallel requests
    (bench/results.md). Python's GIL lets one thread allocate at a time anyway."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(-8, 1))  # M_ARENA_MAX from glibc's malloc.h
    except (OSError, AttributeError):
        return False
