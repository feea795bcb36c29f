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
# AWS_CA_BUNDLE: the sandbox's certificate, when it has one, and no other.
SHADOWING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE")


def sandbox_exports(endpoint_url: str | None, credentials_file: Path,
                    config_file: Path, ca: str | None = None) -> dict[str, str]:
    """What a shell needs to reach a sandbox: its endpoint and certificate, the region, its CLI
    files. With the certificate, the CLI talks to nothing else on that address."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url or "",
        **({"AWS_CA_BUNDLE": ca} if ca else {}),  # botocore refuses an empty one
        "AWS_DEFAULT_REGION": REGION,
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_CONFIG_FILE": str(config_file),
    }


def point_child_processes_at(exports: dict[str, str]) -> None:
    """Change os.environ: drop SHADOWING variables, set `exports` (from `sandbox_exports`)."""
    for name in SHADOWING:
        os.environ.pop(name, None)
    os.environ.update(exports)
