"""The sandbox's own AWS CLI files: [console] for the admin, [default] until `aws configure`."""

from __future__ import annotations

import os
from pathlib import Path

from labkit.boto_session import REGION
from labkit.keys import AccessKey
from labkit.profiles import ProfileFileError, configure_profile, read_profile


def write_sandbox_files(credentials_file: Path, config_file: Path,
                        console: AccessKey) -> str | None:
    """Write [console] (and [default], unless the learner configured one) for the sandbox.

    A damaged file (the lab's own, in LABKIT_HOME) is moved aside and written afresh; the answer
    is then the sentence that tells the learner so (None otherwise)."""
    files = {"credentials_file": credentials_file, "config_file": config_file}
    said = None
    try:
        read_profile("default", **files)
    except ProfileFileError as exc:
        moved = []
        for path in (credentials_file, config_file):
            try:
                read_profile("default", credentials_file=path, config_file=path.with_name(
                    ".labkit-none"))
            except ProfileFileError:
                aside = path.with_name(path.name + ".damaged")
                os.replace(path, aside)
                os.chmod(aside, 0o600)  # it may hold keys
                moved.append(f"{path} to {aside}")
        why = str(exc).split(", so ")[0]
        said = (f"{why}, so the lab moved it aside ({'; '.join(moved)}) and wrote a fresh one: "
                "[default] is the console admin again; run `aws configure` again if you had.")
    configure_profile("console", console, region=REGION, **files)
    if read_profile("default", **files) is None:
        configure_profile("default", console, region=REGION, **files)
    return said
