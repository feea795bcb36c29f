"""moto's bugs the sandbox works around, as patches in moto's own form (patches/moto/) with their
tests in moto's test style (tests/test_iam/ asserts exact codes and messages under @mock_aws).

Each test is a strict xfail on the moto this repository installs: it proves the bug is still
there. The day a moto release carries the fix, the test passes, strict xfail turns that into a
failure, and the workaround in labkit/sandbox/ (named in the reason) can go.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

PATCHES = Path(__file__).resolve().parent.parent / "patches" / "moto"


@pytest.mark.xfail(strict=True, reason="moto repeats Message as <message> (workaround: "
                   "labkit/sandbox/aws_iam/serialize.py; fix: patches/moto/"
                   "0001-query-errors-send-message-once.patch)")
def test_query_protocol_error_sends_message_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core import serialize

    # Stock moto's serializer, even if this process installed labkit's sandbox fixes.
    monkeypatch.setattr(serialize, "SERVICE_SPECIFIC_SERIALIZERS",
                        {k: v for k, v in serialize.SERVICE_SPECIFIC_SERIALIZERS.items()
                         if k not in ("iam", "sts")})
    with mock_aws():
        _get_unknown_user()


def _get_unknown_user() -> None:
    client = boto3.client("iam", region_name="us-east-1")
    with pytest.raises(ClientError) as exc:
        client.get_user(UserName="unknown")
    err = exc.value.response["Error"]
    assert err["Code"] == "NoSuchEntity"
    assert err["Message"] == "The user with name unknown cannot be found."
    assert "message" not in err
    assert "message" not in exc.value.response


@pytest.mark.parametrize("patch", sorted(PATCHES.glob("*.patch")), ids=lambda p: p.name)
def test_the_patch_applies_to_the_installed_moto(patch: Path, tmp_path: Path) -> None:
    if shutil.which("patch") is None:
        pytest.skip("needs the `patch` program (apt-get install patch)")
    import moto

    installed = Path(moto.__file__).resolve().parent
    copy = tmp_path / "moto"
    for line in patch.read_text().splitlines():
        if line.startswith("+++ b/moto/"):
            target = line.split()[1].removeprefix("b/moto/")
            (copy / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(installed / target, copy / target)
    done = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(patch)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
