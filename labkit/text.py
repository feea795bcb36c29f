"""Text from files or folders someone else controls, made safe to print in a terminal."""

from __future__ import annotations

import os
import re

# C0/C1 control characters (terminal escape codes) and the Unicode bidirectional overrides.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: object, limit: int = 200) -> str:
    """`text` with control characters shown as \\xNN (so escape codes do nothing), names that
    are not UTF-8 shown with \\xNN for their odd bytes, and cut to `limit` characters."""
    value = str(text)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a file name with bytes that are not UTF-8 (surrogate escapes)
        value = os.fsencode(value).decode("utf-8", errors="backslashreplace")
    shown = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", value)
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"
