"""What `aws configure` left in the lab's CLI files, confirmed by the sandbox: which profiles hold
a key, whether AWS answers to them as its user, and which of them the lab wrote for the learner.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.files import read_json, write_private
from labkit.keys import AccessKey
from labkit.profiles import read_profile

# The profiles the lab configured because nobody typed `aws configure` (lesson 04, unattended),
# with the credentials file's modification time just after: a later write is someone else's.
BY_LAB = "cli-configured-by-lab.json"


@dataclass(frozen=True)
class Configured:
    """Where a key pair stands in the CLI files, as the checkpoint of lesson 04 reports it."""

    key: AccessKey
    signing: tuple[str, ...] = ()  # profiles holding the pair that AWS answers as its user
    wrong_secret: tuple[str, ...] = ()  # profiles with the key ID and a secret AWS refuses
    by_lab: tuple[str, ...] = ()  # of `signing`, those the lab wrote (nobody typed)
    written_ns: int | None = None  # when the credentials file last changed

    @property
    def by_learner(self) -> tuple[str, ...]:
        """The profiles holding the pair that someone other than the lab wrote."""
        return tuple(name for name in self.signing if name not in self.by_lab)


def profile_names(credentials_file: Path) -> list[str]:
    """The profiles of a credentials file, in its order ([] if it is missing or unreadable)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(credentials_file)
    except configparser.Error:
        return []
    return parser.sections()


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _arn(lab: Any, profile: str) -> str | None:
    """Who AWS says the profile is, or None when it refuses the profile's key."""
    try:
        sts = lab.client_for(lab.session_for_profile(profile), "sts")
        return str(sts.get_caller_identity()["Arn"])
    except Exception:  # noqa: BLE001 - any refusal (wrong secret, deleted key) means: not this
        return None


def _recorded(lab: Any) -> dict[str, Any]:
    return read_json(lab.settings.home / BY_LAB) or {}


def find(lab: Any, key: AccessKey, user_name: str) -> Configured:
    """Every profile of the lab's CLI files holding `key`, checked by signing with it."""
    signing, wrong = [], []
    for name in profile_names(lab.credentials_file):
        try:
            held = read_profile(name, **lab.cli_files)
        except ValueError:  # a section name the CLI cannot use as a profile
            continue
        if held is None or held.access_key_id != key.access_key_id:
            continue
        arn = _arn(lab, name)
        if arn is not None and arn.endswith(f":user/{user_name}"):
            signing.append(name)
        else:
            wrong.append(name)
    written = _mtime_ns(lab.credentials_file)
    marks = _recorded(lab)
    by_lab = tuple(name for name in signing
                   if isinstance(marks.get(name), dict) and marks[name].get("key") == key.access_key_id
                   and marks[name].get("written_ns") == written)
    return Configured(key, tuple(signing), tuple(wrong), by_lab, written)


def record_by_lab(lab: Any, profile: str, key: AccessKey) -> None:
    """Remember that the lab, not the learner, wrote `profile` with `key` just now."""
    marks = _recorded(lab)
    marks[profile] = {"key": key.access_key_id, "written_ns": _mtime_ns(lab.credentials_file)}
    write_private(lab.settings.home / BY_LAB, marks)
