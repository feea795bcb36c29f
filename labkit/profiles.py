"""Save a named AWS profile the way `aws configure` does, without disturbing anything else."""

from __future__ import annotations

import contextlib
import glob
import html
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from labkit import aws_ini
from labkit.aws_ini import ProfileFileError
from labkit.files import HomeError, write_private_bytes
from labkit.keys import (
    AccessKey,
    mask_key_id,
    validate_key_id,
    validate_secret,
)
from labkit.profile_validation import (  # noqa: F401 - the names callers import from profiles
    CREDENTIAL_KEYS,
    MAX_PROFILE_NAME,
    OUTPUT_FORMATS,
    TUTORIAL_REGION,
    ProfileNameError,
    RegionError,
    known_regions,
    validate_extra,
    validate_output,
    validate_profile_name,
    validate_region,
)


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
        config_values["output"] = validate_output(output)
    config_values.update(validate_extra(extra_config or {}))
    cred_values: dict[str, str | None] = {
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "aws_session_token": token,  # None removes a stale token left by an older key
    }

    cred_path, conf_path = _real(credentials_file), _real(config_file)
    cred_old, conf_old = aws_ini.read_text(cred_path), aws_ini.read_text(conf_path)
    # Refuse to edit a file the CLI cannot read: we would not know what we are changing.
    aws_ini.parse(cred_old or "", cred_path)
    conf_parsed = aws_ini.parse(conf_old or "", conf_path)
    header = "default" if name == "default" else f"profile {name}"
    changes = [
        _Change(
            cred_path,
            cred_old,
            aws_ini.set_values(cred_old or "", name, cred_values, config=False, header=name),
        ),
        _Change(
            conf_path,
            conf_old,
            aws_ini.set_values(conf_old or "", name, config_values, config=True, header=header),
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
    old_conf = aws_ini.profile_values(conf_parsed, name, config=True) or {}
    if any(k in old_conf for k in CREDENTIAL_KEYS):
        message += (
            f" Note: the config file also has a key for {name!r}; the credentials file wins, "
            "but delete the one in the config file so no stale key is left lying around."
        )
    if backups:
        message += " Backups: " + ", ".join(str(b) for b in backups) + "."
    return ProfileResult(name, cred_path, conf_path, changed, backups, message)


def _verify(name: str, path: Path, expected: dict[str, str | None], *, config: bool) -> None:
    values = aws_ini.stored(path, name, config=config)
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
        old = aws_ini.read_text(path)
        if old is None:
            continue
        aws_ini.parse(old, path)
        new = aws_ini.remove_sections(old, name, config=config)
        if new != old:
            changes.append(_Change(path, old, new))
    written, backups = _apply(changes, backup, now)
    for change in written:
        if aws_ini.stored(change.path, name, config=change.path == conf_path) is not None:
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
        values = aws_ini.stored(path, name, config=config) or {}
        if values.get("aws_access_key_id"):
            return AccessKey(
                values["aws_access_key_id"],
                values.get("aws_secret_access_key", ""),
                session_token=values.get("aws_session_token") or None,
            )
    return None
