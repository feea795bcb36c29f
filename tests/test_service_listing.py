"""A kernel's first AWS client reads botocore's list of services from LABKIT_HOME instead of
walking botocore's folders again (about 5,000 system calls per kind of file, 0.1-0.3 s of a
lesson's first cell while pandas imports beside it)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FIRST_CLIENT = """
import json, sys
import botocore.loaders
from labkit.boto_session import new_session
if sys.argv[1] == "no-walk":  # a second kernel must not walk botocore's folders at all
    def walk(*args, **kwargs):
        raise AssertionError("walked botocore's folders")
    botocore.loaders.Loader.list_available_services = walk
session = new_session(aws_access_key_id="testing", aws_secret_access_key="testing")
print(json.dumps(sorted(session.client("iam").meta.service_model.operation_names)[:2]))
"""


def _first_client(home: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", FIRST_CLIENT, mode], text=True,
                          capture_output=True, env={"LABKIT_HOME": str(home), "PATH": "/usr/bin"},
                          timeout=120)


def test_the_second_kernel_reads_the_list_the_first_one_kept(tmp_path: Path) -> None:
    home = tmp_path / "labkit"
    home.mkdir(mode=0o700)
    first = _first_client(home, "walk")
    assert first.returncode == 0, first.stderr
    kept = home / "botocore-services.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    listing = json.loads(kept.read_text())
    assert "iam" in listing["service-2"] and "sts" in listing["endpoint-rule-set-1"]
    second = _first_client(home, "no-walk")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout


@pytest.mark.parametrize("damage", ["{not json", json.dumps({"key": "old", "service-2": []}),
                                    json.dumps(["a list"])])
def test_a_damaged_or_stale_list_is_walked_again(tmp_path: Path, damage: str) -> None:
    home = tmp_path / "labkit"
    home.mkdir(mode=0o700)
    (home / "botocore-services.json").write_text(damage)
    got = _first_client(home, "walk")
    assert got.returncode == 0, got.stderr
    assert "iam" in json.loads((home / "botocore-services.json").read_text())["service-2"]


def test_without_a_labkit_home_the_client_still_works(tmp_path: Path) -> None:
    got = _first_client(tmp_path / "missing" / "labkit", "walk")
    assert got.returncode == 0, got.stderr
    assert not (tmp_path / "missing").exists()
