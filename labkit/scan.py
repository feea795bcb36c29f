"""Find AWS access keys and readable credentials files in files, folders and notebooks."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.keys import (
    EXAMPLE_KEY_ID,
    EXAMPLE_SECRET,
    KEY_ID_IN_TEXT,
    MASKABLE,
    SECRET_IN_TEXT,
    KeyFormatError,
    mask_text,
    validate_key_id,
)
from labkit.text import printable

KIND_KEY_ID = "access_key_id"
KIND_SECRET = "secret_access_key"
KIND_READABLE = "readable_credentials_file"

MAX_FILE_BYTES = 5 * 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".ipynb_checkpoints",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "site-packages",
    }
)

_HEX_RE = re.compile(r"[0-9a-fA-F]{40}")
_KEYWORD_RE = re.compile(
    r"secret|passw(?:or)?d|passphrase|\bpwd\b|\bpass\b|credential", re.IGNORECASE
)
# Right before the token: `= `, `: `, `=> ` with an optional opening quote.
_ASSIGNED_RE = re.compile(r"""(?:[=:]>?\s*[rbuf]?["'`]?|[(,\[]\s*[rbuf]?["'`])\s*$""")
_WORD_RE = re.compile(r"[a-z]{4,}")
# The name a value is assigned to, when that name says it is an identifier, not a secret.
_ID_NAME_RE = re.compile(
    r"""(?:id|hash|sha\d*|digest|commit|etag|checksum|url|uri|arn|name|path|location|version)"""
    r"""["'`]?\s*[=:]>?\s*[rbuf]?["'`]?\s*$""",
    re.IGNORECASE,
)
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_AWS_FOLDER_RE = re.compile(r"(?:^|[._-])aws(?:[._-]|$)", re.IGNORECASE)
_INI_SECTION_RE = re.compile(r"^\s*\[[^\]\n]+\]\s*$", re.MULTILINE)
_INI_SECRET_RE = re.compile(r"^\s*aws_secret_access_key\s*[=:]", re.MULTILINE | re.IGNORECASE)
# Source and documentation files that merely talk about credentials files.
_PROSE_OR_CODE = frozenset({".py", ".pyi", ".ipynb", ".md", ".rst", ".html", ".htm", ".tex"})
_EXCERPT_WIDTH = 120


@dataclass(frozen=True)
class Finding:
    """One possible secret: where it is and a masked excerpt (never the secret itself)."""

    path: str
    where: str  # "line 3", "cell 2, source line 1", or "file" for a readable credentials file
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.where}: {self.kind}: {self.excerpt}"


@dataclass
class _Report:
    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    too_large: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    binary: int = 0


def _mask_and_crop(line: str, focus: int) -> str:
    """Mask every key-like run in the line, then cut a window around position `focus`."""
    line = line.rstrip("\r\n")
    # Where `focus` lands once masked: the runs before it shrink, and a run holding it starts it.
    holding = next((m for m in MASKABLE.finditer(line) if m.start() <= focus < m.end()), None)
    masked_focus = len(mask_text(line[: holding.start() if holding else focus]))
    # Keep the excerpt printable on one terminal line.
    masked = "".join(ch if ch.isprintable() else " " for ch in mask_text(line))
    lead = masked[: len(masked) - len(masked.lstrip())]
    start = max(len(lead), masked_focus - 50)
    end = min(len(masked), start + _EXCERPT_WIDTH)
    start = max(len(lead), min(start, end - _EXCERPT_WIDTH))
    text = masked[start:end].strip()
    return ("..." if start > len(lead) else "") + text + ("..." if end < len(masked) else "")


def _looks_random(token: str, *, strict: bool) -> bool:
    # Git SHAs and other hex digests are 40 characters too, but a secret is never pure hex.
    if _HEX_RE.fullmatch(token):
        return False
    has_upper = any(c.isupper() for c in token)
    has_lower = any(c.islower() for c in token)
    has_digit = any(c.isdigit() for c in token)
    if not (has_upper and has_lower):
        return False
    if not strict:
        return True
    # Without a keyword nearby, CamelCase names (AmazonEC2ReadOnlyAccessForSomething) are
    # far likelier than a secret; fewer than 1 in 1000 real secrets is this wordy.
    wordy = sum(len(w) for w in _WORD_RE.findall(token)) / len(token)
    return has_digit and wordy < 0.5


def _is_secret(line: str, m: re.Match[str], near_key_id: bool) -> bool:
    token = m.group()
    if token == EXAMPLE_SECRET:
        return False
    rest = line[: m.start()] + " " + line[m.end() :]
    if near_key_id or _KEYWORD_RE.search(rest):
        return _looks_random(token, strict=False)
    before, after = line[: m.start()], line[m.end() :]
    quoted = bool(before) and before[-1] in "\"'`" and after[:1] == before[-1]
    if (quoted or _ASSIGNED_RE.search(before)) and not _ID_NAME_RE.search(before):
        return _looks_random(token, strict=True)
    return False


def _scan_lines(
    lines: Sequence[str], path: str, where: str, allow: frozenset[str], numbered: bool = True
) -> list[Finding]:
    """Scan a block of lines; `where` is a prefix such as "line" or "cell 3, source line"."""
    found: list[Finding] = []
    # Terminal colour codes (saved tracebacks, logs) would glue letters onto a key.
    lines = [_ANSI_RE.sub("", line) for line in lines]
    has_key = [bool(KEY_ID_IN_TEXT.search(line)) for line in lines]
    for i, line in enumerate(lines):
        place = f"{where} {i + 1}" if numbered else where
        for m in KEY_ID_IN_TEXT.finditer(line):
            if m.group() == EXAMPLE_KEY_ID or m.group() in allow:
                continue
            found.append(Finding(path, place, KIND_KEY_ID, _mask_and_crop(line, m.start())))
        near = has_key[i] or (i > 0 and has_key[i - 1]) or (i + 1 < len(lines) and has_key[i + 1])
        for m in SECRET_IN_TEXT.finditer(line):
            if _is_secret(line, m, near):
                found.append(Finding(path, place, KIND_SECRET, _mask_and_crop(line, m.start())))
    return found


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    # Widget state, JSON outputs and metadata: one key per line keeps "key": "value" together.
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=False, default=str)


def _scan_notebook(nb: dict[str, object], path: str, allow: frozenset[str]) -> list[Finding]:
    found: list[Finding] = []

    def scan(value: object, where: str, numbered: bool = False) -> None:
        found.extend(_scan_lines(_as_text(value).splitlines(), path, where, allow, numbered))

    cells = nb.get("cells")
    for n, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        if not isinstance(cell, dict):
            scan(cell, f"cell {n}")
            continue
        scan(cell.get("source", ""), f"cell {n}, source line", numbered=True)
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                scan(output, f"cell {n}, outputs")
                continue
            blocks: list[object] = [output.get("text", "")]
            data = output.get("data")
            if isinstance(data, dict):
                blocks.extend(data.values())
            blocks.append(output.get("evalue", ""))
            if isinstance(output.get("traceback"), list):
                blocks.append("\n".join(map(str, output["traceback"])))
            if output.get("metadata"):
                blocks.append(output["metadata"])
            for block in blocks:
                scan(block, f"cell {n}, outputs")
        for name, bundle in (cell.get("attachments") or {}).items():
            for mime, value in bundle.items() if isinstance(bundle, dict) else ():
                if not mime.startswith("image/"):
                    scan(value, f"cell {n}, attachment {name}")
        if cell.get("metadata"):
            scan(cell["metadata"], f"cell {n}, metadata")
    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            scan(value, f"metadata.{key}")
    return found


def _is_credentials_file(path: Path, text: str) -> bool:
    if path.name == "credentials":
        return True
    if path.name == "config" and _AWS_FOLDER_RE.search(path.parent.name):
        return True
    if path.suffix.lower() in _PROSE_OR_CODE:
        return False
    return bool(_INI_SECRET_RE.search(text) and _INI_SECTION_RE.search(text))


def _readable_finding(path: Path, shown: str, text: str) -> Finding | None:
    if os.name == "nt" or not _is_credentials_file(path, text):
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return None
    who = "other users" if mode & 0o007 else "your group"
    excerpt = f"mode {mode:04o} lets {who} read it; run: chmod 600 {shlex.quote(shown)}"
    return Finding(shown, "file", KIND_READABLE, excerpt)


def _scan_file(path: Path, shown: str, allow: frozenset[str], report: _Report) -> None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            report.too_large.append(shown)
            return
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        # A file we cannot read may hold a key: say so, never pass it over in silence.
        report.unreadable.append((shown, exc.strerror or type(exc).__name__))
        return
    if b"\0" in data[:8192]:
        report.binary += 1
        return
    text = data.decode("utf-8", errors="replace")
    report.files_scanned += 1
    readable = _readable_finding(path, shown, text)
    if readable:
        report.findings.append(readable)
    if path.suffix.lower() == ".ipynb":
        try:
            nb = json.loads(text)
        except ValueError:
            nb = None
        if isinstance(nb, dict) and isinstance(nb.get("cells"), list):
            report.findings.extend(_scan_notebook(nb, shown, allow))
            return
    report.findings.extend(_scan_lines(text.splitlines(), shown, "line", allow))


def _skip_dir(folder: Path) -> bool:
    return folder.name in SKIP_DIRS or (folder / "pyvenv.cfg").is_file()


def _walk(top: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(top):
        base = Path(root)
        dirs[:] = sorted(d for d in dirs if not _skip_dir(base / d))
        for name in sorted(files):
            yield base / name


def _scan(paths: Iterable[str | Path], allow: Iterable[str]) -> _Report:
    report = _Report()
    allowed = frozenset(allow)
    seen: set[Path] = set()
    for given in paths:
        top = Path(given)
        if not top.exists():
            raise FileNotFoundError(f"There is no file or folder called {str(given)!r}.")
        for file in _walk(top) if top.is_dir() else [top]:
            if not file.is_file():
                continue  # sockets, fifos, broken links
            real = file.resolve()
            if real in seen:
                continue
            seen.add(real)
            _scan_file(file, printable(file, 4096), allowed, report)
    return report


def scan_paths(paths: Iterable[str | Path], *, allow: Iterable[str] = ()) -> list[Finding]:
    """Scan files and folders (recursively) for access keys, secrets and readable key files."""
    return _scan(paths, allow).findings


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summarize(findings: Sequence[Finding], files_scanned: int) -> str:
    """The one-line summary the command prints after the findings."""
    if not findings:
        return f"No secrets found in {_plural(files_scanned, 'file')}."
    files = _plural(len({f.path for f in findings}), "file")
    secrets = sum(f.kind != KIND_READABLE for f in findings)
    readable = len(findings) - secrets
    parts = []
    if secrets:
        parts.append(_plural(secrets, "possible secret"))
    if readable:
        parts.append(_plural(readable, "credentials file") + " readable by others")
    return f"Found {' and '.join(parts)} in {files}."


def advice(findings: Sequence[Finding]) -> str:
    """One line on what to do next, for the kinds of findings there are."""
    steps = []
    if any(f.kind != KIND_READABLE for f in findings):
        steps.append(
            "treat every real key shown as leaked: deactivate it in IAM, create a new one "
            "(rotate), then delete the old one and remove it from the file"
        )
    if any(f.kind == KIND_READABLE for f in findings):
        steps.append("run the chmod 600 shown so only you can read the credentials file")
    return "What to do: " + "; ".join(steps) + "."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The scanner's options, for `python -m labkit scan`."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to scan")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="KEYID",
        help="an access key ID not to report (for example a key you already deleted); repeatable",
    )


DESCRIPTION = ("Look for AWS access keys, secret keys and readable credentials files. Exit "
               "status: 1 if anything is found, 0 if not, 2 on usage errors, 3 when nothing was "
               "found but some files could not be read.")


def run(args: argparse.Namespace) -> int:
    """Scan `args.paths`, print the findings (masked) and what to do; the exit status."""
    try:
        allow = [validate_key_id(k) for k in args.allow]
    except KeyFormatError as exc:
        print(f"labkit scan: --allow needs an access key ID. {exc}", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        for p in missing:
            print(f"labkit scan: there is no file or folder called {p!r}.", file=sys.stderr)
        return 2
    report = _scan(args.paths, allow)
    for finding in report.findings:
        print(finding)
    for shown in report.too_large:
        size = MAX_FILE_BYTES // (1024 * 1024)
        print(f"labkit scan: skipped {shown} (larger than {size} MB).", file=sys.stderr)
    for shown, why in report.unreadable:
        print(f"labkit scan: could not read {shown} ({why}).", file=sys.stderr)
    print(summarize(report.findings, report.files_scanned))
    if report.binary:
        print(f"Skipped {_plural(report.binary, 'binary file')}.")
    if report.unreadable:
        print(f"Could not read {_plural(len(report.unreadable), 'file')}: they were not "
              "checked. Scan them as a user who can read them (or fix their permissions).")
    if report.findings:
        print(advice(report.findings))
        return 1
    return 3 if report.unreadable else 0
