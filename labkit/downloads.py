"""The console's "Download .csv file" for a new key pair: save it, read it back, forget it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from labkit import iam
from labkit.files import write_private_text
from labkit.keys import AccessKey, validate_key_id, validate_secret
from labkit.session import Lab

CSV_HEADER = ["Access key ID", "Secret access key"]


def download_path(lab: Lab, user_name: str = iam.USER_NAME) -> Path:
    """Where the lab keeps a key's .csv, like the console's "Download .csv file" button."""
    return lab.settings.home / "downloads" / f"{user_name}_accessKeys.csv"


def save_key_csv(lab: Lab, key: AccessKey) -> Path:
    """Save a new key pair as the console's .csv download (readable by you only)."""
    path = download_path(lab, key.user_name or iam.USER_NAME)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        [CSV_HEADER, [key.access_key_id, key.reveal_secret()]])
    write_private_text(path, buf.getvalue())
    return path


def load_key_csv(path: Path, user_name: str | None = iam.USER_NAME) -> AccessKey | None:
    """Read a key pair back from a console-style .csv download (None if there is none)."""
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
        key_id, secret = validate_key_id(rows[1][0]), validate_secret(rows[1][1])
    except (OSError, IndexError, ValueError):
        return None
    return AccessKey(key_id, secret, user_name)


def forget_downloads(lab: Lab, user_name: str = iam.USER_NAME) -> str:
    """Delete the lab's saved .csv of the user's keys (the keys themselves are gone)."""
    path = download_path(lab, user_name)
    if not path.exists():
        return "No saved key file to delete."
    path.unlink()
    return f"Deleted {path}."
