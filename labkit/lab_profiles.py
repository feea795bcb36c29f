"""The lab's AWS CLI profiles, kept tidy: configure, switch on rotation, find and remove the
profiles that hold deleted keys, and keep [default] working."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from labkit import iam
from labkit.keys import AccessKey, mask_secret
from labkit.profiles import configure_profile, read_profile, remove_profile
from labkit.session import Lab

PROFILE = iam.USER_NAME  # the named profile lesson 04 configures, as `aws configure --profile`


def works(lab: Lab, key: AccessKey | None) -> bool:
    """Whether AWS accepts `key` (GetCallerIdentity signed with it)."""
    if key is None:
        return False
    try:
        lab.whoami(lab.session_for(key))
    except Exception:  # noqa: BLE001 - any refusal means: not usable
        return False
    return True


def configure(lab: Lab, key: AccessKey, profile: str = PROFILE) -> Any:
    """What `aws configure --profile NAME` does, into the lab's files (backed up on real AWS)."""
    return configure_profile(profile, key, region=lab.region, backup=lab.guarded, **lab.cli_files)


def show_aws_file(path: Path) -> str:
    """An AWS CLI file's text with every secret masked, for looking at it in a lesson."""
    try:
        text = path.read_text()
    except OSError:
        return f"({path} does not exist yet)"
    out = []
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in ("aws_secret_access_key", "aws_session_token"):
            line = f"{name}= {mask_secret(value.strip())}"
        out.append(line)
    return f"# {path}\n" + "\n".join(out)


def profile_names(lab: Lab) -> list[str]:
    """The profiles of the lab's credentials file."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(lab.credentials_file)
    except configparser.Error:
        return []
    return parser.sections()


def switch_profiles(lab: Lab, key: AccessKey, profile: str = PROFILE) -> list[str]:
    """Rotation's switch: `profile`, and every profile holding the same old key (a terminal's
    `aws configure` writes [default]), now hold `key`. Nothing else changes."""
    old = read_profile(profile, **lab.cli_files)
    names = [profile] + [n for n in profile_names(lab) if n != profile and old is not None
                         and (read_profile(n, **lab.cli_files) or key).access_key_id
                         == old.access_key_id]
    out = []
    for name in names:
        configure(lab, key, name)
        out.append(f"The profile [{name}] now uses {key.masked_id}"
                   + (f" (it used {old.masked_id})." if old else "."))
    return out


def profiles_with_deleted_keys(lab: Lab, user_name: str = iam.USER_NAME) -> list[str]:
    """Profiles of the lab's CLI files whose key is neither the console's nor a live key of
    `user_name` (the lab's user): they would answer InvalidClientTokenId."""
    console = lab.console_key.access_key_id if lab.console_key else None
    client = lab.client("iam")
    live = {k.access_key_id for k in iam.list_access_keys(client, user_name)} \
        if iam.get_user(client, user_name) is not None else set()
    stale = []
    # On real AWS the files are the learner's own ~/.aws: only the lab's profile is ours.
    for name in profile_names(lab) if lab.simulated else [PROFILE]:
        key = read_profile(name, **lab.cli_files)
        if key is not None and not key.temporary and key.access_key_id not in live | {console}:
            stale.append(name)
    return stale


def repair_default(lab: Lab) -> list[str]:
    """[default] back to the console identity when its key was deleted (sandbox only)."""
    if not lab.simulated or lab.console_key is None:
        return []
    current = read_profile("default", **lab.cli_files)
    if current is not None and (current.access_key_id == lab.console_key.access_key_id
                                or works(lab, current)):
        return []  # the console's key, or a working key the learner chose: theirs to keep
    configure(lab, lab.console_key, "default")
    return [] if current is None else [
        "Restored the CLI's [default] profile to console-admin: the key it held "
        f"({current.masked_id}) no longer exists."]


def remove_profiles_of(lab: Lab, user_name: str = iam.USER_NAME) -> list[str]:
    """Clean-up: remove the lab's profile and every profile holding a deleted key of the user;
    [default] goes back to the console identity (in the sandbox), so the CLI keeps working."""
    out = []
    for name in [PROFILE, *profiles_with_deleted_keys(lab, user_name)]:
        if name == "default" and lab.simulated and lab.console_key is not None:
            configure(lab, lab.console_key, "default")
            out.append("The profile [default] is console-admin again (it held a deleted key).")
        elif name != "default" and read_profile(name, **lab.cli_files) is not None:
            remove_profile(name, backup=lab.guarded, **lab.cli_files)
            out.append(f"Removed the profile [{name}].")
    return out or ["No profile held a key of " + user_name + "."]
