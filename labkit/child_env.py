"""What a child process (`!aws ...` in a cell, a terminal's `aws`) needs to reach the lab's sandbox.

`point_child_processes_at` is the one place where connecting changes this process's
`os.environ`: a lesson's `!aws iam list-users` runs in a child of the kernel, which inherits the
kernel's environment, so it must name the sandbox's endpoint and CLI files, never ~/.aws.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.boto_session import REGION

# Variables that would make a child process sign with something else than the lab's files.
SHADOWING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN")


def sandbox_exports(endpoint_url: str | None, credentials_file: Path,
                    config_file: Path) -> dict[str, str]:
    """What a shell needs to reach a sandbox: its endpoint, the region, its CLI files."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url or "",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_CONFIG_FILE": str(config_file),
    }


def point_child_processes_at(exports: dict[str, str]) -> None:
    """Change os.environ: drop SHADOWING variables, set `exports` (from `sandbox_exports`)."""
    for name in SHADOWING:
        os.environ.pop(name, None)
    os.environ.update(exports)
