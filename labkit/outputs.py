"""A lab kernel's output with secrets masked: `!aws ...`, `%%bash`, subprocesses, print.

boto3 answers are masked field by field (labkit.answers); a command's output is text, so the
kernel's stdout and stderr mask it line by line (labkit.keys.mask_secrets_in_text) before it
reaches the notebook, and `x = !cmd` (IPython's getoutput) gets the masked lines too. The
one-time reveal (`lesson.reveal(...)`) stays the way to see a secret.

Not covered: ipykernel also copies what a subprocess writes to the kernel's file descriptors
(`subprocess.run(...)` without capturing, `os.system`) to the kernel's own stdout, the Jupyter
server's log, before any Python code sees it. `!aws`, `%%bash` and captured output do not go there.
"""

from __future__ import annotations

import threading
from typing import Any

from labkit.keys import mask_secrets_in_text

# A line longer than this is masked and sent without waiting for its end (a secret is far
# shorter; a session token too).
HOLD_AT_MOST = 8192


class MaskedStream:
    """Wraps a kernel stream's write and flush: whole lines go out masked; an unfinished line
    waits for its end (or the next flush), so that a secret split across writes is masked too."""

    def __init__(self, stream: Any) -> None:
        self._write, self._flush = stream.write, stream.flush
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Send the complete lines of what was written so far, masked; keep the rest."""
        with self._lock:
            whole = self._pending + text
            cut = max(whole.rfind("\n"), whole.rfind("\r")) + 1
            if len(whole) - cut > HOLD_AT_MOST:
                cut = len(whole)
            self._pending, ready = whole[cut:], whole[:cut]
        if ready:
            self._write(mask_secrets_in_text(ready))
        return len(text)

    def flush(self) -> None:
        """Send what waits (masked), then flush the stream itself."""
        with self._lock:
            ready, self._pending = self._pending, ""
        if ready:
            self._write(mask_secrets_in_text(ready))
        self._flush()


def mask_stream(stream: Any) -> bool:
    """Mask what is written to `stream` from now on (once); False if it cannot be wrapped."""
    if getattr(stream, "_labkit_masked", None) is not None:
        return True
    try:
        masked = MaskedStream(stream)
        stream.write, stream.flush = masked.write, masked.flush
        stream._labkit_masked = masked
    except (AttributeError, TypeError):  # a stream whose methods cannot be replaced
        return False
    return True


def _masked_lines(value: Any) -> Any:
    """What getoutput returned (IPython's SList or LSString), masked, of the same type."""
    if isinstance(value, list):
        return type(value)(mask_secrets_in_text(line) for line in value)
    if isinstance(value, str):
        return type(value)(mask_secrets_in_text(value))
    return value


def mask_getoutput(shell: Any) -> None:
    """`x = !cmd` and `!!cmd`: the captured lines masked as well (once per shell)."""
    original = shell.getoutput
    if getattr(original, "_labkit_masked", False):
        return

    def getoutput(cmd: str, split: bool = True, depth: int = 0) -> Any:
        return _masked_lines(original(cmd, split=split, depth=depth + 1))

    getoutput._labkit_masked = True  # type: ignore[attr-defined]
    shell.getoutput = getoutput


def in_kernel(stream: Any) -> bool:
    """Whether `stream` is a Jupyter kernel's output stream (what reaches the notebook)."""
    return type(stream).__module__.startswith("ipykernel.")


def install(shell: Any) -> bool:
    """Mask secrets in everything a lab kernel prints or captures from a command (a terminal's
    IPython writes straight to the terminal, which no notebook saves: left as it is)."""
    import sys

    mask_getoutput(shell)
    streams = [s for s in (sys.stdout, sys.stderr) if in_kernel(s)]
    return bool(streams) and all([mask_stream(s) for s in streams])
