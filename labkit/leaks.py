"""The leak drill of lesson 08: plant a fresh sandbox key in sample files, then fix the samples.

No literal key is ever committed: the key is made at run time, in the sandbox, and written only
into a scratch folder under LABKIT_HOME.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import iam
from labkit.files import write_private_text
from labkit.keys import AccessKey, mask_text

SCRATCH = "scratch-08"

_LEAKY_SCRIPT = '''"""Count the account's IAM users (a sample with a DANGEROUS mistake)."""
import boto3

# Never do this: anyone who reads this file can use the key.
session = boto3.Session(
    aws_access_key_id="{key_id}",
    aws_secret_access_key="{secret}",
    region_name="us-east-1",
)
print(len(session.client("iam").list_users()["Users"]), "users")
'''

_SAFE_SCRIPT = '''"""Count the account's IAM users, with credentials from a named profile."""
import boto3

# The key stays in ~/.aws/credentials (or the environment), never in code.
session = boto3.Session(profile_name="{profile}")
print(len(session.client("iam").list_users()["Users"]), "users")
'''


@dataclass(frozen=True)
class Drill:
    """The scratch folder, its sample files, and the key planted in them (masked on display)."""

    folder: Path
    script: Path
    notebook: Path
    key: AccessKey


def plant(lab: Any, user_name: str = iam.USER_NAME) -> Drill:
    """Make a new key for the user and hard-code it into a sample script and notebook."""
    client = lab.client("iam")
    keys = iam.list_access_keys(client, user_name)
    if len(keys) >= 2:  # re-running the drill: drop the key planted last time
        iam.delete_access_key(client, keys[-1].access_key_id, user_name, guarded=lab.guarded)
    key = iam.create_access_key(client, user_name)
    folder = lab.settings.home / SCRATCH
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private: it will hold a live key
    script = folder / "count_users.py"
    write_private_text(script, _LEAKY_SCRIPT.format(key_id=key.access_key_id,
                                                secret=key.reveal_secret()))
    leaked = repr(f"{key.access_key_id}:{key.reveal_secret()}")
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Quick analysis"},
        {"cell_type": "code", "id": "peek", "metadata": {}, "execution_count": 1,
         "source": "import os\nos.environ['AWS_ACCESS_KEY_ID']",
         "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                      "data": {"text/plain": leaked}}]}]}
    notebook = folder / "analysis.ipynb"
    write_private_text(notebook, json.dumps(nb, indent=1))
    return Drill(folder, script, notebook, key.without_secret())


def show(path: Path) -> str:
    """A file's text with key IDs and secrets masked, for looking at a leak without spreading it."""
    return mask_text(path.read_text())


def fix(drill: Drill, profile: str = iam.USER_NAME) -> list[str]:
    """Rewrite the samples the safe way: a profile in the script, no outputs in the notebook."""
    write_private_text(drill.script, _SAFE_SCRIPT.format(profile=profile))
    nb = json.loads(drill.notebook.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    write_private_text(drill.notebook, json.dumps(nb, indent=1))
    return [f"{drill.script.name}: now reads the key from the profile {profile!r}.",
            f"{drill.notebook.name}: outputs cleared (commit notebooks without outputs)."]


def remove(lab: Any) -> str:
    """Delete the scratch folder."""
    folder = lab.settings.home / SCRATCH
    if folder.exists():
        shutil.rmtree(folder)
        return f"Deleted {folder}."
    return "Nothing to delete."
