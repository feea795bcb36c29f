"""No secret from a command in a notebook: what `!aws ...` prints is masked like AWS's answers."""

from __future__ import annotations

import json
import os
import random
import re
import string
from pathlib import Path

import pytest

from labkit import outputs
from labkit.keys import EXAMPLE_KEY_ID, mask_secret, mask_secrets_in_text


def _secret() -> str:
    # Mixed case for sure, as every real secret is (all one case: once in a billion).
    rest = random.choices(string.ascii_letters + string.digits + "/+", k=38)
    return "".join(["a", "B", *rest])


def _token() -> str:
    return "IQoJb3JpZ2luX2VjE" + "".join(random.choices(string.ascii_letters + string.digits,
                                                        k=300)) + "=="


def _create_access_key_outputs(secret: str) -> dict[str, str]:
    """What `aws iam create-access-key` prints in each --output format, with `secret`."""
    answer = {"AccessKey": {"UserName": "temporary-iam-user", "AccessKeyId": EXAMPLE_KEY_ID,
                            "Status": "Active", "SecretAccessKey": secret,
                            "CreateDate": "2026-12-07T03:00:00+00:00"}}
    return {
        "json": json.dumps(answer, indent=4),
        "text": f"ACCESSKEY\t{EXAMPLE_KEY_ID}\t2026-12-07T03:00:00+00:00\t{secret}\tActive\t"
                "temporary-iam-user\n",
        "table": ("-------------------------------------------------\n"
                  "|                CreateAccessKey                |\n"
                  "+-----------------------------------------------+\n"
                  f"||  AccessKeyId     |  {EXAMPLE_KEY_ID}          ||\n"
                  f"||  SecretAccessKey |  {secret}  ||\n"
                  "||  Status          |  Active                  ||\n"),
        "yaml": f"AccessKey:\n  AccessKeyId: {EXAMPLE_KEY_ID}\n  SecretAccessKey: {secret}\n"
                "  Status: Active\n",
        "ini": f"[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\n"
               f"aws_secret_access_key = {secret}\n",
    }


@pytest.mark.parametrize("fmt", ["json", "text", "table", "yaml", "ini"])
def test_a_new_keys_secret_is_masked_in_every_output_format(fmt: str) -> None:
    secret = _secret()
    shown = mask_secrets_in_text(_create_access_key_outputs(secret)[fmt])
    assert secret not in shown
    assert mask_secret(secret) in shown  # as `aws configure` shows it: the last four only
    assert EXAMPLE_KEY_ID in shown  # the key ID is not a secret: it stays readable


def test_a_secret_in_one_case_is_masked_where_its_field_is_named() -> None:
    lower = "".join(random.choices(string.ascii_lowercase + string.digits, k=40))
    shown = mask_secrets_in_text(f'{{"SecretAccessKey": "{lower}"}}')
    assert lower not in shown and mask_secret(lower) in shown


def test_session_tokens_are_masked_whole() -> None:
    token, secret = _token(), _secret()
    text = (f'"Credentials": {{"AccessKeyId": "{EXAMPLE_KEY_ID}", "SecretAccessKey": '
            f'"{secret}", "SessionToken": "{token}"}}')
    shown = mask_secrets_in_text(text)
    assert token not in shown and token[:40] not in shown and secret not in shown
    assert EXAMPLE_KEY_ID in shown


def test_ordinary_output_is_left_alone() -> None:
    text = ('{"Arn": "arn:aws:iam::123456789012:user/temporary-iam-user", "UserId": '
            '"AIDAIOSFODNN7EXAMPLE", "Account": "123456789012"}\n'
            "commit 0123456789abcdef0123456789abcdef01234567\n"
            "PasswordLastUsed: 2026-12-07T03:00:00Z\n")
    assert mask_secrets_in_text(text) == text


class Collect:
    """A stream that keeps what reaches it, as the kernel's stdout would send it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.flushes = 0

    def write(self, text: str) -> int:
        self.sent.append(text)
        return len(text)

    def flush(self) -> None:
        self.flushes += 1


def test_a_secret_split_across_writes_is_masked_all_the_same() -> None:
    stream, secret = Collect(), _secret()
    assert outputs.mask_stream(stream)
    assert outputs.mask_stream(stream)  # a second install changes nothing
    stream.write('{"SecretAccessKey": "' + secret[:13])
    stream.write(secret[13:31])
    assert stream.sent == []  # an unfinished line waits for its end
    stream.write(secret[31:] + '"}\nnext line')
    stream.flush()
    sent = "".join(stream.sent)
    assert secret not in sent and mask_secret(secret) in sent
    assert sent.endswith("next line") and stream.flushes == 1


def test_outside_a_kernel_the_streams_are_left_as_they_are() -> None:
    import sys

    class Shell:
        def getoutput(self, cmd: str, split: bool = True, depth: int = 0) -> list[str]:
            return []

    before = sys.stdout.write
    assert outputs.install(Shell()) is False  # pytest's capture is no kernel stream
    assert sys.stdout.write == before and not hasattr(sys.stdout, "_labkit_masked")


def test_captured_command_output_is_masked() -> None:
    secret = _secret()

    class Shell:
        def getoutput(self, cmd: str, split: bool = True, depth: int = 0) -> list[str]:
            return [f"ACCESSKEY\t{EXAMPLE_KEY_ID}\t{secret}\tActive"]

    shell = Shell()
    outputs.mask_getoutput(shell)
    outputs.mask_getoutput(shell)
    got = shell.getoutput("aws iam create-access-key --output text")
    assert secret not in got[0] and mask_secret(secret) in got[0] and EXAMPLE_KEY_ID in got[0]


# --- in a real kernel: `!aws`, `%%bash`, subprocess, `x = !aws`, print --------------------------

KERNEL_CONFIG = Path(__file__).resolve().parents[1] / "jupyter-config" / "ipython" / \
    "ipython_kernel_config.json"
SECRET_RUN = re.compile(r"[A-Za-z0-9/+]{40}")


def _commands(admin: str) -> list[str]:
    """Cells that make a key pair in each way a notebook runs a command, and print a secret."""
    make = "aws iam create-user --user-name {0} {1} >/dev/null && " \
           "aws iam create-access-key --user-name {0} {1}"
    return [
        "import labkit\nlesson = labkit.start('00_start_here')",
        "!" + make.format("mask-a", admin),
        "%%bash\n" + make.format("mask-b", admin) + " --output text",
        "import subprocess\nsubprocess.run(" + repr(make.format("mask-c", admin)
                                               + " --output table") + ", shell=True)",
        "made = !" + make.format("mask-d", admin) + "\nmade",
        "print(lesson.lab.session.get_credentials().secret_key)",
    ]


def _run_in_kernel(cells: list[str], workdir: Path) -> list[str]:
    """Run `cells` in a kernel with labkit's IPython config; each cell's outputs as text."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   extra_arguments=[f"--config={KERNEL_CONFIG}"],
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return [json.dumps(cell.outputs) for cell in nb.cells]


def _assert_made_and_masked(shown: list[str], key_ids: list[str]) -> None:
    assert len(key_ids) == 4, "each way ran its command (one key per user)"
    # `!aws`, `%%bash` and `x = !aws`: the answer is there, its key ID readable, its secret
    # masked. (What a subprocess writes to the kernel's own stdout reaches the notebook when
    # ipykernel's pipe reader gets to it, possibly in a later cell: the leak check covers it.)
    for index in (1, 2, 4):
        assert "****************" in shown[index], (index, shown[index][:300])
        assert any(key_id in shown[index] for key_id in key_ids), index


@pytest.mark.slow  # a kernel and a sandbox (or a moto server): the full tier
def test_no_secret_from_a_command_in_the_sandbox(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import sandbox

    home = tmp_path / ".labkit"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_HOME", str(home))
    for name in ("LABKIT_BACKEND", "LABKIT_SANDBOX_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    try:
        shown = _run_in_kernel(_commands("--profile console"), tmp_path)
        box = sandbox.ensure(home)
        candidates = [run for text in shown for run in SECRET_RUN.findall(text)]
        assert box.admin("POST", "issued", {"candidates": candidates})["issued"] == []
        # The detector is not blind: the console identity's secret is one the sandbox issued.
        assert box.admin("POST", "issued", {"candidates": [box.console.reveal_secret()]})["issued"]
        assert box.console.reveal_secret() not in shown[5]
        assert mask_secret(box.console.reveal_secret()) in shown[5]
        iam = boto3_client(box.url, box.console.access_key_id, box.console.reveal_secret(),
                           box.ca)
        key_ids = [k["AccessKeyId"] for user in ("mask-a", "mask-b", "mask-c", "mask-d")
                   for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
        _assert_made_and_masked(shown, key_ids)
    finally:
        sandbox.stop(home)


def boto3_client(url: str, key_id: str, secret: str, ca: str | None = None):
    import boto3

    return boto3.client("iam", endpoint_url=url, region_name="us-east-1", verify=ca,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def _signs(url: str, key_id: str, secret: str) -> bool:
    import boto3

    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id=key_id, aws_secret_access_key=secret)
    try:
        sts.get_caller_identity()
    except Exception:  # noqa: BLE001 - refused: not the key's secret
        return False
    return True


@pytest.mark.slow  # a kernel and a sandbox (or a moto server): the full tier
def test_no_secret_from_a_command_in_real_aws_mode(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Real-AWS mode against a stock moto server standing in for AWS (with authentication on)."""
    import requests

    from tests.stock_moto import stock_moto

    with stock_moto() as url:
        iam = boto3_client(url, "testing", "testing")
        iam.create_user(UserName="operator")
        iam.attach_user_policy(UserName="operator",
                               PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        op = iam.create_access_key(UserName="operator")["AccessKey"]
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=5,
                      headers={"Content-Type": "text/plain"})
        for name in list(os.environ):
            if name.startswith(("AWS_", "LABKIT_", "BINDER_")):
                monkeypatch.delenv(name)
        for name, value in {"HOME": str(tmp_path), "LABKIT_HOME": str(tmp_path / ".labkit"),
                            "LABKIT_BACKEND": "aws", "LABKIT_AWS_ACCOUNT": "123456789012",
                            "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1",
                            "AWS_ACCESS_KEY_ID": op["AccessKeyId"],
                            "AWS_SECRET_ACCESS_KEY": op["SecretAccessKey"]}.items():
            monkeypatch.setenv(name, value)
        shown = _run_in_kernel(_commands(""), tmp_path)
        admin = boto3_client(url, op["AccessKeyId"], op["SecretAccessKey"])
        key_ids = [k["AccessKeyId"] for user in ("mask-a", "mask-b", "mask-c", "mask-d")
                   for k in admin.list_access_keys(UserName=user)["AccessKeyMetadata"]]
        candidates = {run for text in shown for run in SECRET_RUN.findall(text)}
        assert not [c[:4] for c in candidates for k in key_ids + [op["AccessKeyId"]]
                    if _signs(url, k, c)]
        # The detector is not blind: an unmasked answer's secret signs.
        fresh = admin.create_access_key(UserName="mask-a")["AccessKey"]
        assert _signs(url, fresh["AccessKeyId"], fresh["SecretAccessKey"])
        assert op["SecretAccessKey"] not in shown[5]
        assert mask_secret(op["SecretAccessKey"]) in shown[5]
        _assert_made_and_masked(shown, key_ids)
