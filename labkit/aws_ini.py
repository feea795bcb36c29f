"""The AWS CLI's credentials and config files: read as botocore reads them (strict, never echoing a
line, which may hold a secret) and edited line by line, leaving everything else as it was."""

from __future__ import annotations

import configparser
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# Mirrors configparser's SECTCRE, applied to the stripped line as configparser does.
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<key>.*?)\s*[=:]")
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class ProfileFileError(RuntimeError):
    """A credentials or config file that cannot be read, or did not read back as written."""




def read_text(path: Path) -> str | None:
    """The file's text, None if it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ProfileFileError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileFileError(
            f"{path} is not UTF-8 text, so the AWS CLI may not read it either. "
            "labkit changed nothing; save it as UTF-8 and try again."
        ) from None


def parse(text: str, path: Path) -> dict[str, dict[str, str]]:
    """Parse as botocore does (RawConfigParser, strict); errors never echo a line (secrets)."""
    if text.startswith("\ufeff"):
        raise ProfileFileError(
            f"{path} starts with an invisible byte-order mark (Notepad adds one), which the AWS "
            "CLI cannot read. labkit changed nothing; save it as UTF-8 without BOM."
        )
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        lineno = getattr(exc, "lineno", None)
        # MissingSectionHeaderError is a ParsingError without `.errors` on some Pythons.
        errors = getattr(exc, "errors", None)
        if isinstance(exc, configparser.ParsingError) and errors:
            lineno = errors[0][0]
        where = f" (line {lineno})" if lineno else ""
        what = {
            "DuplicateSectionError": "has the same [section] twice",
            "DuplicateOptionError": "has the same setting twice in one section",
            "MissingSectionHeaderError": "has settings before the first [section]",
        }.get(type(exc).__name__, "has a line that is not 'name = value'")
        raise ProfileFileError(
            f"{path} {what}{where}, so the AWS CLI cannot read it. labkit changed nothing; "
            "fix that line or move the file aside, then try again."
        ) from None
    return {s: dict(parser.items(s)) for s in parser.sections()}


def matches(header: str, name: str, *, config: bool) -> bool:
    """Whether a section header is this profile's, by botocore's rules."""
    if not config:
        return header == name
    if name == "default" and header == "default":
        return True
    if not header.startswith("profile"):
        return False
    try:
        return shlex.split(header) == ["profile", name]
    except ValueError:
        return False


def profile_values(
    parsed: dict[str, dict[str, str]], name: str, *, config: bool
) -> dict[str, str] | None:
    found = None
    for header, values in parsed.items():
        if matches(header, name, config=config):
            found = values  # botocore lets the last matching section win
    return found


def stored(path: Path, name: str, *, config: bool) -> dict[str, str] | None:
    """Profile `name`'s settings in the file at `path` (None: no such file or profile)."""
    text = read_text(path)
    return None if text is None else profile_values(parse(text, path), name, config=config)


# ---------------------------------------------------------------- line-based editing
# Kept rather than awscli's ConfigFileWriter (what `aws configure` uses): that writer edits the
# file in place (no temporary copy to verify and swap), updates only the first matching section,
# cannot remove a key (a stale aws_session_token) or a profile, writes "\n" into CRLF files, and
# leaves a replaced value's continuation lines behind.


@dataclass
class _Option:
    key: str
    lines: list[int]  # the option line and its continuation lines


@dataclass
class _Section:
    header: str
    start: int
    options: list[_Option]

    @property
    def last_line(self) -> int:
        return max([self.start] + [i for o in self.options for i in o.lines])


def _sections(lines: list[str]) -> list[_Section]:
    """Find sections and options exactly where configparser would (continuations first)."""
    sections: list[_Section] = []
    current: _Option | None = None
    indent_level = 0
    for i, line in enumerate(lines):
        value = line.strip()
        if not value or value.startswith(("#", ";")):
            continue
        indent = len(line) - len(line.lstrip())
        if sections and current and indent > indent_level:
            current.lines.append(i)
            continue
        indent_level = indent
        m = _SECTION_RE.match(value)
        if m:
            sections.append(_Section(m.group("header"), i, []))
            current = None
        elif sections:
            key = _OPTION_RE.match(value)
            current = _Option((key.group("key") if key else value).rstrip().lower(), [i])
            sections[-1].options.append(current)
    return sections


def set_values(
    text: str, name: str, values: dict[str, str | None], *, config: bool, header: str
) -> str:
    """Set (or, for None, delete) keys in the profile's section(s); add the section if missing."""
    lines = _LINE_RE.findall(text)
    nl = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"  # as the file's first line ends
    targets = [s for s in _sections(lines) if matches(s.header, name, config=config)]
    if not targets:
        new = [f"{k} = {v}{nl}" for k, v in values.items() if v is not None]
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += nl
        return "".join(lines + [f"[{header}]{nl}"] + new)
    replace: dict[int, str | None] = {}  # line index -> new text (None: drop the line)
    insert: dict[int, list[str]] = {}  # after line index -> new lines
    for section in targets:
        pending = dict(values)
        for option in section.options:
            if option.key not in pending:
                continue
            value = pending.pop(option.key)
            first = lines[option.lines[0]]
            ending = first[len(first.rstrip("\r\n")) :] or nl
            current = _OPTION_RE.sub("", first.strip(), count=1).strip()
            if value is not None and len(option.lines) == 1 and current == value:
                continue  # already right: keep the line byte for byte
            for i in option.lines:
                replace[i] = None
            if value is not None:
                replace[option.lines[0]] = f"{option.key} = {value}{ending}"
        extra = [f"{k} = {v}{nl}" for k, v in pending.items() if v is not None]
        if extra:
            insert.setdefault(section.last_line, []).extend(extra)
    out: list[str] = []
    for i, line in enumerate(lines):
        line = replace.get(i, line)
        if line is not None:
            out.append(line)
        if i in insert:
            if out and not out[-1].endswith("\n"):
                out[-1] += nl
            out.extend(insert[i])
    return "".join(out)


def remove_sections(text: str, name: str, *, config: bool) -> str:
    """Drop the profile's sections: header through its last setting, nothing around them."""
    lines = _LINE_RE.findall(text)
    drop: set[int] = set()
    for section in _sections(lines):
        if matches(section.header, name, config=config):
            # Comments between its settings go with it; comments after them (often about
            # the next profile) stay.
            drop.update(range(section.start, section.last_line + 1))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


