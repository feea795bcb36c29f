"""Save a named AWS profile the way `aws configure` does, without disturbing anything else."""

from __future__ import annotations

import configparser
import contextlib
import functools
import glob
import html
import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from labkit.files import HomeError, write_private_bytes
from labkit.keys import (
    AccessKey,
    looks_like_key,
    mask_key_id,
    validate_key_id,
    validate_secret,
)

TUTORIAL_REGION = "us-east-1"
MAX_PROFILE_NAME = 64
OUTPUT_FORMATS = ("json", "yaml", "yaml-stream", "text", "table")
_CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]+$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_CONFIG_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Mirrors configparser's SECTCRE, applied to the stripped line as configparser does.
_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<key>.*?)\s*[=:]")
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class ProfileNameError(ValueError):
    """A profile name the AWS CLI would misread; the message says what to type instead."""


class RegionError(ValueError):
    """Not an AWS region code; the message suggests the tutorial's region."""


class ProfileFileError(RuntimeError):
    """A credentials or config file that cannot be read, or did not read back as written."""


@dataclass(repr=False)
class ProfileResult:
    """What configure_profile or remove_profile did. Holds no secret."""

    profile: str
    credentials_file: Path
    config_file: Path
    changed: bool
    backups: list[Path] = field(default_factory=list)
    message: str = ""

    def __repr__(self) -> str:
        return (
            f"ProfileResult(profile={self.profile!r}, changed={self.changed}, "
            f"credentials_file='{self.credentials_file}', config_file='{self.config_file}', "
            f"backups={[str(b) for b in self.backups]!r}, message={self.message!r})"
        )

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        rows = [
            ("profile", self.profile),
            ("changed", "yes" if self.changed else "no (unchanged)"),
            ("credentials file", str(self.credentials_file)),
            ("config file", str(self.config_file)),
        ] + [("backup", str(b)) for b in self.backups]
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        return f"<p>{html.escape(self.message)}</p><table class='labkit-profile'>{body}</table>"


# ---------------------------------------------------------------- validation


def validate_profile_name(name: object) -> str:
    """Return the trimmed profile name, or raise ProfileNameError saying what is wrong."""
    text = "" if name is None else str(name).strip()
    if not text:
        raise ProfileNameError("The profile name is empty. Type a short name such as 'lab'.")
    if looks_like_key(text):
        # Do not echo it back: it is probably a key pasted into the wrong box.
        raise ProfileNameError(
            "That looks like an access key, not a profile name. A profile name is a short "
            "label such as 'lab'; the key goes in the key fields."
        )
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    if not text.isascii():
        odd = next(ch for ch in text if not ch.isascii())
        raise ProfileNameError(
            f"The profile name {shown} contains {odd!r}. Use only plain letters (a-z, A-Z), "
            "digits and - _ . @ +."
        )
    if any(ch.isspace() for ch in text):
        raise ProfileNameError(
            f"The profile name {shown} has a space in it, which the AWS files cannot hold. "
            f"Use a dash instead: {'-'.join(text.split())!r}."
        )
    if "[" in text or "]" in text:
        raise ProfileNameError(
            f"The profile name {shown} has a square bracket; the files use [brackets] to mark "
            "where a profile starts. Leave them out: the CLI adds them."
        )
    if "#" in text or ";" in text:
        raise ProfileNameError(
            f"The profile name {shown} has '#' or ';', which start a comment in the AWS files. "
            "Leave them out."
        )
    if len(text) > MAX_PROFILE_NAME:
        raise ProfileNameError(
            f"The profile name is {len(text)} characters long; keep it to "
            f"{MAX_PROFILE_NAME} or fewer."
        )
    if text == "DEFAULT":
        # configparser treats [DEFAULT] as values shared by every profile.
        raise ProfileNameError(
            "'DEFAULT' in capitals is special in these files (its settings would leak into "
            "every profile). Use 'default' in lower case, or another name."
        )
    if not _NAME_RE.match(text):
        bad = " ".join(repr(ch) for ch in sorted({ch for ch in text if not _NAME_RE.match(ch)}))
        raise ProfileNameError(
            f"The profile name {shown} contains {bad}. Use only letters, digits and - _ . @ +."
        )
    return text


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region botocore knows, in every partition (aws, aws-cn, aws-us-gov, ...)."""
    from botocore.loaders import Loader
    from botocore.regions import EndpointResolver

    # Only botocore's bundled data: no user config files, no environment variables.
    loader = Loader(
        extra_search_paths=[Loader.BUILTIN_DATA_PATH],
        include_default_search_paths=False,
        include_default_extras=False,
    )
    endpoints = loader.load_data("endpoints")
    resolver = EndpointResolver(endpoints, uses_builtin_data=True)
    regions: set[str] = set()
    for partition in endpoints.get("partitions", []):
        regions.update(partition.get("regions", {}))
        regions.update(resolver.get_available_endpoints("ec2", partition["partition"]))
    return frozenset(regions)


def validate_region(region: object) -> str:
    """Return the trimmed region code, or raise RegionError suggesting the tutorial's region."""
    text = "" if region is None else str(region).strip()
    if text == TUTORIAL_REGION:  # every profile the lab writes: skip loading botocore's 1 MB
        return text  # endpoints file (a quarter second and megabytes in each kernel)
    hint = f"The tutorial uses {TUTORIAL_REGION}."
    if not text:
        raise RegionError(f"The region is empty. {hint}")
    if looks_like_key(text):
        raise RegionError(f"That looks like an access key, not a region. {hint}")
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    if text != text.lower() and _REGION_RE.match(text.lower()):
        raise RegionError(
            f"Region codes are written in lower case: use {text.lower()!r}, not {shown}."
        )
    zone = re.match(r"^(.*-\d)[a-z]$", text)
    if zone and zone.group(1) in known_regions():
        raise RegionError(
            f"{shown} is an Availability Zone, not a region. Use the region {zone.group(1)!r}."
        )
    if not _REGION_RE.match(text) or text not in known_regions():
        if " " in text or "(" in text:
            raise RegionError(
                f"{shown} is a region's display name; use its code, like {TUTORIAL_REGION}."
            )
        raise RegionError(f"{shown} is not an AWS region. {hint}")
    return text


def _validate_output(output: str) -> str:
    text = output.strip()
    if text not in OUTPUT_FORMATS:
        raise ValueError(
            f"{text!r} is not an AWS CLI output format. Use one of: {', '.join(OUTPUT_FORMATS)}."
        )
    return text


def _validate_extra(extra: dict[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in extra.items():
        k = str(key).strip().lower()
        if not _CONFIG_KEY_RE.match(k):
            raise ValueError(f"{key!r} is not a config setting name (like endpoint_url).")
        if k in _CREDENTIAL_KEYS:
            raise ValueError(
                f"{k} belongs in the credentials file; pass the key to configure_profile instead."
            )
        if k in ("region", "output"):
            raise ValueError(f"Pass {k} as its own argument, not in extra_config.")
        v = str(value).strip()
        if not v or "\n" in v or "\r" in v:
            raise ValueError(f"The value for {k} must be one non-empty line.")
        clean[k] = v
    return clean


# ---------------------------------------------------------------- reading INI files


def _read_text(path: Path) -> str | None:
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


def _parse(text: str, path: Path) -> dict[str, dict[str, str]]:
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


def _matches(header: str, name: str, *, config: bool) -> bool:
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


def _profile_values(
    parsed: dict[str, dict[str, str]], name: str, *, config: bool
) -> dict[str, str] | None:
    found = None
    for header, values in parsed.items():
        if _matches(header, name, config=config):
            found = values  # botocore lets the last matching section win
    return found


def _stored(path: Path, name: str, *, config: bool) -> dict[str, str] | None:
    """Profile `name`'s settings in the file at `path` (None: no such file or profile)."""
    text = _read_text(path)
    return None if text is None else _profile_values(_parse(text, path), name, config=config)


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


def _set_values(
    text: str, name: str, values: dict[str, str | None], *, config: bool, header: str
) -> str:
    """Set (or, for None, delete) keys in the profile's section(s); add the section if missing."""
    lines = _LINE_RE.findall(text)
    nl = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"  # as the file's first line ends
    targets = [s for s in _sections(lines) if _matches(s.header, name, config=config)]
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


def _remove_sections(text: str, name: str, *, config: bool) -> str:
    """Drop the profile's sections: header through its last setting, nothing around them."""
    lines = _LINE_RE.findall(text)
    drop: set[int] = set()
    for section in _sections(lines):
        if _matches(section.header, name, config=config):
            # Comments between its settings go with it; comments after them (often about
            # the next profile) stay.
            drop.update(range(section.start, section.last_line + 1))
    return "".join(line for i, line in enumerate(lines) if i not in drop)


# ---------------------------------------------------------------- writing files safely


def _ensure_folder(folder: Path) -> None:
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue  # someone else made it: not ours to chmod
        os.chmod(d, 0o700)  # mkdir's mode is reduced by the umask


def _backup(path: Path, data: bytes, now: datetime) -> Path:
    stem = f"{path.name}.labkit-backup-{now.strftime('%Y%m%dT%H%M%S')}"
    target = path.with_name(stem)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{stem}-{n}")
    write_private_bytes(target, data)
    return target


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None


@dataclass
class _Change:
    path: Path
    old: str | None
    new: str

    @property
    def needed(self) -> bool:
        return self.old != self.new or (os.name != "nt" and _mode(self.path) != 0o600)


def _apply(
    changes: list[_Change], backup: bool, now: datetime | None
) -> tuple[list[_Change], list[Path]]:
    """Back up, then write every change that is needed; on failure put the originals back."""
    todo = [c for c in changes if c.needed]
    backups: list[Path] = []
    if backup:
        stamp = now or datetime.now()
        backups = [_backup(c.path, c.old.encode("utf-8"), stamp) for c in todo if c.old is not None]
    done: list[_Change] = []
    try:
        for change in todo:
            _ensure_folder(change.path.parent)
            done.append(change)
            if change.old == change.new:
                os.chmod(change.path, 0o600)
            else:
                write_private_bytes(change.path, change.new.encode("utf-8"))
    except BaseException:
        _restore(done)
        raise
    return todo, backups


def _restore(done: list[_Change]) -> None:
    for change in reversed(done):
        with contextlib.suppress(OSError, HomeError):
            if change.old is None:
                change.path.unlink(missing_ok=True)
            else:
                write_private_bytes(change.path, change.old.encode("utf-8"))


def _real(path: Path | str) -> Path:
    # Write through a symlink (dotfiles setups) instead of replacing it with a plain file.
    return Path(os.path.realpath(path))


# ---------------------------------------------------------------- public API


def configure_profile(
    name: str,
    key: AccessKey,
    *,
    region: str = TUTORIAL_REGION,
    output: str | None = None,
    credentials_file: Path,
    config_file: Path,
    backup: bool = False,
    extra_config: dict[str, str] | None = None,
    now: datetime | None = None,
) -> ProfileResult:
    """Save a key as profile `name`, as `aws configure --profile name` would, changing nothing else."""
    name = validate_profile_name(name)
    region = validate_region(region)
    key_id = validate_key_id(key.access_key_id)
    secret = validate_secret(key.reveal_secret())
    token = (key.session_token or "").strip() or None
    if token and any(ch.isspace() for ch in token):
        raise ValueError("The session token has a space or line break inside; copy it again.")
    config_values: dict[str, str | None] = {"region": region}
    if output is not None:
        config_values["output"] = _validate_output(output)
    config_values.update(_validate_extra(extra_config or {}))
    cred_values: dict[str, str | None] = {
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "aws_session_token": token,  # None removes a stale token left by an older key
    }

    cred_path, conf_path = _real(credentials_file), _real(config_file)
    cred_old, conf_old = _read_text(cred_path), _read_text(conf_path)
    # Refuse to edit a file the CLI cannot read: we would not know what we are changing.
    _parse(cred_old or "", cred_path)
    conf_parsed = _parse(conf_old or "", conf_path)
    header = "default" if name == "default" else f"profile {name}"
    changes = [
        _Change(
            cred_path,
            cred_old,
            _set_values(cred_old or "", name, cred_values, config=False, header=name),
        ),
        _Change(
            conf_path,
            conf_old,
            _set_values(conf_old or "", name, config_values, config=True, header=header),
        ),
    ]
    written, backups = _apply(changes, backup, now)
    changed = bool(written)
    try:
        _verify(name, cred_path, cred_values, config=False)
        _verify(name, conf_path, config_values, config=True)
    except ProfileFileError:
        _restore(written)
        raise

    shown = f"key {mask_key_id(key_id)}, region {region}"
    if not changed:
        message = f"Profile {name!r} already holds {shown}: unchanged."
    else:
        message = f"Saved profile {name!r} ({shown}) in {cred_path} and {conf_path}."
    old_conf = _profile_values(conf_parsed, name, config=True) or {}
    if any(k in old_conf for k in _CREDENTIAL_KEYS):
        message += (
            f" Note: the config file also has a key for {name!r}; the credentials file wins, "
            "but delete the one in the config file so no stale key is left lying around."
        )
    if backups:
        message += " Backups: " + ", ".join(str(b) for b in backups) + "."
    return ProfileResult(name, cred_path, conf_path, changed, backups, message)


def _verify(name: str, path: Path, expected: dict[str, str | None], *, config: bool) -> None:
    values = _stored(path, name, config=config)
    wrong = [k for k, v in expected.items() if (values or {}).get(k) != v]
    if values is None or wrong:
        raise ProfileFileError(
            f"After writing {path}, profile {name!r} did not read back as written "
            f"({', '.join(wrong) or 'section missing'}). labkit put the old file back."
        )


def remove_profile(
    name: str,
    *,
    credentials_file: Path,
    config_file: Path,
    backup: bool = False,
    now: datetime | None = None,
    keep_backups: bool = False,
) -> ProfileResult:
    """Delete profile `name` from both files, leaving every other line as it was. With
    `backup` (the learner's own ~/.aws), the backups labkit made are removed afterwards, unless
    `keep_backups`."""
    name = validate_profile_name(name)
    cred_path, conf_path = _real(credentials_file), _real(config_file)
    changes: list[_Change] = []
    for path, config in ((cred_path, False), (conf_path, True)):
        old = _read_text(path)
        if old is None:
            continue
        _parse(old, path)
        new = _remove_sections(old, name, config=config)
        if new != old:
            changes.append(_Change(path, old, new))
    written, backups = _apply(changes, backup, now)
    for change in written:
        if _stored(change.path, name, config=change.path == conf_path) is not None:
            _restore(written)
            raise ProfileFileError(
                f"Profile {name!r} was still in {change.path} after removing it. "
                "labkit put the old files back."
            )
    if not changes:
        message = f"There is no profile {name!r} in {cred_path} or {conf_path}: unchanged."
    else:
        where = " and ".join(str(c.path) for c in changes)
        message = f"Removed profile {name!r} from {where}."
    if backup and not keep_backups:
        # The backups labkit made of these files hold copies of the lab's key: once the lab's
        # profile is gone, they are litter with a secret in it.
        dropped = remove_backups(cred_path, conf_path)
        backups = []
        if dropped:
            message += (f" Removed {len(dropped)} backup file(s) the lab had made of them "
                        "(they held copies of the lab's key).")
    elif backups:
        message += " Backups: " + ", ".join(str(b) for b in backups) + "."
    return ProfileResult(name, cred_path, conf_path, bool(changes), backups, message)


def remove_backups(*files: Path) -> list[Path]:
    """Delete the `FILE.labkit-backup-*` copies labkit made of these files; returns them."""
    removed = []
    for path in files:
        for old in sorted(path.parent.glob(glob.escape(path.name) + ".labkit-backup-*")):
            try:
                if old.is_symlink() or not old.is_file() or old.stat().st_uid != os.getuid():
                    continue  # not a backup labkit wrote
                old.unlink()
                removed.append(old)
            except OSError:
                continue
    return removed


def read_profile(name: str, *, credentials_file: Path, config_file: Path) -> AccessKey | None:
    """The key stored for profile `name` (credentials file first, then config), or None."""
    name = validate_profile_name(name)
    for path, config in ((_real(credentials_file), False), (_real(config_file), True)):
        values = _stored(path, name, config=config) or {}
        if values.get("aws_access_key_id"):
            return AccessKey(
                values["aws_access_key_id"],
                values.get("aws_secret_access_key", ""),
                session_token=values.get("aws_session_token") or None,
            )
    return None
