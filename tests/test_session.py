"""Which AWS the lab talks to: settings, someone else's sandbox, and real-AWS mode's guardrails
(tested against a stock moto server standing in for AWS)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import boto3
import nbformat
import pytest
import requests
from nbclient import NotebookClient

from labkit import session
from labkit.lab import Identity
from labkit.settings import LabError, Settings, settings
from tests.stock_moto import stock_moto

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ACCOUNT = "123456789012"


def test_unknown_backend_says_which_ones_exist() -> None:
    with pytest.raises(LabError) as err:
        settings({"LABKIT_BACKEND": "azure"})
    assert "sandbox" in str(err.value) and "aws" in str(err.value)


def test_binder_is_detected_and_defaults_are_the_sandbox() -> None:
    cfg = settings({"HOME": "/home/jovyan", "BINDER_LAUNCH_HOST": "https://mybinder.org"})
    assert cfg.binder and cfg.backend == "sandbox"
    assert cfg.home == Path("/home/jovyan/.labkit")


def test_root_credentials_are_refused_with_the_tutorials_reason() -> None:
    root = Identity("123456789012", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
    with pytest.raises(LabError) as err:
        session.guard_identity(root, Settings(backend="aws", aws_account=ACCOUNT))
    assert "root user" in str(err.value) and "IAM user" in str(err.value)


def test_real_aws_needs_the_account_confirmed() -> None:
    me = Identity("AIDA", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/ops")
    with pytest.raises(LabError) as err:
        session.guard_identity(me, Settings(backend="aws", aws_account=None))
    assert f"LABKIT_AWS_ACCOUNT={ACCOUNT}" in str(err.value)
    session.guard_identity(me, Settings(backend="aws", aws_account=ACCOUNT))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith(("AWS_", "LABKIT_", "BINDER_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / ".labkit"))
    monkeypatch.setattr(session, "_current", None)
    return tmp_path


def test_sandbox_url_with_nothing_there(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SANDBOX_URL", "http://127.0.0.1:9")
    with pytest.raises(LabError) as err:
        session.connect()
    assert "Nothing answers at LABKIT_SANDBOX_URL=http://127.0.0.1:9" in str(err.value)


def test_sandbox_url_that_is_not_moto(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Web(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args: object) -> None:
            pass

    web = HTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    monkeypatch.setenv("LABKIT_SANDBOX_URL", f"http://127.0.0.1:{web.server_address[1]}")
    try:
        with pytest.raises(LabError) as err:
            session.connect()
        assert "not a moto server" in str(err.value)
    finally:
        web.shutdown()


def test_unwritable_labkit_home(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "file").write_text("")
    monkeypatch.setenv("LABKIT_HOME", str(clean_env / "file" / "labkit"))
    with pytest.raises(LabError) as err:
        session.connect()
    assert "Point LABKIT_HOME at a folder you own" in str(err.value)


@pytest.mark.slow
def test_stock_moto_through_sandbox_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with stock_moto() as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        lab = session.connect()
        assert lab.identity.name == "console-admin" and lab.endpoint_url == url
        assert "stock moto" in lab.banner()
        assert lab.missing_fix("inactive-keys-rejected")
        # A second kernel finds the same console identity again.
        monkeypatch.setattr(session, "_current", None)
        assert session.connect().console_key == lab.console_key


def _run_course() -> list[str]:
    """Run every lesson in order in this process's environment; the text of all outputs."""
    os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "labkit-mpl"))
    texts = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=180, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        texts.append(nbformat.writes(nb))
    return texts


@pytest.mark.slow
def test_the_whole_course_on_a_stock_moto_server(clean_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with stock_moto() as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        outputs = "\n".join(_run_course())
    # Where a fix is missing, lessons say so in one line instead of failing.
    assert "Skipped: this stock moto server does not refuse here" in outputs
    assert "stock moto" in outputs


@pytest.mark.slow
def test_the_whole_course_on_a_stock_moto_without_managed_policies(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `moto_server` with its defaults: no IAMReadOnlyAccess; labkit's clients stand in for it.
    with stock_moto(managed_policies=False) as url:
        monkeypatch.setenv("LABKIT_SANDBOX_URL", url)
        outputs = "\n".join(_run_course())
    assert "so the lab made a customer managed copy of IAMReadOnlyAccess" in outputs


# --- real-AWS mode, against a moto server standing in for AWS -----------------------------------

@pytest.fixture
def aws_account(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """An 'AWS account' with an operator (admin), and users the lab must never touch: moto with
    labkit's fidelity fixes, which answer as AWS does where stock moto does not."""
    with stock_moto(aws_like=True) as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        iam.create_user(UserName="operator")
        iam.attach_user_policy(UserName="operator",
                               PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        op = iam.create_access_key(UserName="operator")["AccessKey"]
        existing = {}
        for name, n in (("alice", 2), ("bob", 1)):
            iam.create_user(UserName=name)
            existing[name] = sorted(iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
                                    for _ in range(n))
        requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=5,
                      headers={"Content-Type": "text/plain"})
        aws = clean_env / ".aws"
        aws.mkdir()
        (aws / "credentials").write_text("# my keys\n[work]\naws_access_key_id = "
                                         "AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = "
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        (aws / "config").write_text("[profile work]\nregion = eu-west-1\n")
        for k, v in {"LABKIT_BACKEND": "aws", "AWS_ENDPOINT_URL": url,
                     "AWS_ACCESS_KEY_ID": op["AccessKeyId"],
                     "AWS_SECRET_ACCESS_KEY": op["SecretAccessKey"],
                     "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(k, v)
        yield {"url": url, "existing": json.dumps(existing), "home": str(clean_env)}


@pytest.mark.slow
def test_real_aws_refused_without_confirmation(aws_account: dict[str, str]) -> None:
    with pytest.raises(LabError) as err:
        session.connect()
    assert "LABKIT_AWS_ACCOUNT=123456789012" in str(err.value)


@pytest.mark.slow
def test_real_aws_refused_on_binder(aws_account: dict[str, str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    with pytest.raises(LabError) as err:
        session.connect()
    assert "Binder" in str(err.value)


@pytest.mark.slow
def test_the_lab_never_touches_what_it_did_not_create(aws_account: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import iam

    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    lab = session.connect()
    assert lab.guarded and not lab.simulated and lab.identity.name == "operator"
    with pytest.raises(iam.NotOwnedError):
        iam.delete_user(lab.client("iam"), "alice", guarded=True)
    alice = json.loads(aws_account["existing"])["alice"]
    with pytest.raises(iam.NotOwnedError):
        iam.delete_access_key(lab.client("iam"), alice[0], "alice", guarded=True)
    assert len(iam.list_access_keys(lab.client("iam"), "alice")) == 2


@pytest.mark.slow
def test_the_whole_course_in_real_aws_mode(aws_account: dict[str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import iam

    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    aws = Path(aws_account["home"]) / ".aws"
    _run_course()
    lab = session.connect()
    client = lab.client("iam")
    # Everything that was there before the course is still there, untouched.
    for name, keys in json.loads(aws_account["existing"]).items():
        assert sorted(k.access_key_id for k in iam.list_access_keys(client, name)) == keys
    assert iam.get_user(client, "temporary-iam-user") is None  # the lab cleaned up after itself
    # ~/.aws: the learner's profile is intact, the lab's profile is gone, backups were made.
    assert "[work]" in (aws / "credentials").read_text()
    assert "temporary-iam-user" not in (aws / "credentials").read_text()
    assert (aws / "config").read_text() == "[profile work]\nregion = eu-west-1\n"
    # The backups made on the way held copies of the lab's key: clean-up removed them too.
    assert not list(aws.glob("*.labkit-backup-*"))


# --- someone else's temporary-iam-user and temporary-iam-role, untagged -------------------------

@pytest.fixture
def foreign_namesakes(aws_account: dict[str, str]) -> Iterator[dict[str, object]]:
    """An untagged `temporary-iam-user` (own inline policy, own key) and `temporary-iam-role`
    made by someone else, before the course runs. Returns how they looked."""
    iam = boto3.client("iam", endpoint_url=aws_account["url"], region_name="us-east-1",
                       aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
    iam.create_user(UserName="temporary-iam-user")
    iam.put_user_policy(UserName="temporary-iam-user", PolicyName="TheirOwn",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    iam.create_access_key(UserName="temporary-iam-user")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="temporary-iam-role", AssumeRolePolicyDocument=trust)
    yield _namesakes(iam)


def _namesakes(iam) -> dict[str, object]:
    user = "temporary-iam-user"
    return {
        "keys": sorted((k["AccessKeyId"], k["Status"]) for k in
                       iam.list_access_keys(UserName=user)["AccessKeyMetadata"]),
        "user_attached": iam.list_attached_user_policies(UserName=user)["AttachedPolicies"],
        "user_inline": {n: iam.get_user_policy(UserName=user, PolicyName=n)["PolicyDocument"]
                        for n in iam.list_user_policies(UserName=user)["PolicyNames"]},
        "user_tags": iam.get_user(UserName=user)["User"].get("Tags", []),
        "role_attached": iam.list_attached_role_policies(
            RoleName="temporary-iam-role")["AttachedPolicies"],
        "role_inline": iam.list_role_policies(RoleName="temporary-iam-role")["PolicyNames"],
        "role_trust": iam.get_role(RoleName="temporary-iam-role")["Role"][
            "AssumeRolePolicyDocument"],
    }


@pytest.mark.slow
def test_the_lab_clients_refuse_to_change_someone_elses_namesakes(
        foreign_namesakes: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit import iam as lab_iam

    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    lab = session.connect()
    client = lab.client("iam")
    user = "temporary-iam-user"
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    calls = [
        lambda: client.attach_user_policy(
            UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"),
        lambda: client.create_access_key(UserName=user),
        lambda: client.put_user_policy(UserName=user, PolicyName="TheirOwn",
                                       PolicyDocument=trust),
        lambda: client.delete_user_policy(UserName=user, PolicyName="TheirOwn"),
        lambda: client.delete_user(UserName=user),
        lambda: client.create_user(UserName=user, Tags=[lab_iam.LAB_TAG]),
        lambda: client.create_role(RoleName="temporary-iam-role", AssumeRolePolicyDocument=trust,
                                   Tags=[lab_iam.LAB_TAG]),
        lambda: client.update_assume_role_policy(RoleName="temporary-iam-role",
                                                 PolicyDocument=trust),
        lambda: client.attach_role_policy(
            RoleName="temporary-iam-role", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"),
        lambda: client.delete_role(RoleName="temporary-iam-role"),
        lambda: client.create_access_key(),  # the operator's own keys: not the lab's either
        lambda: lab_iam.attach_user_policy(client, user),
        lambda: lab_iam.create_access_key(client, user),
        lambda: lab_iam.allow_assume_role(client, user, "arn:aws:iam::123456789012:role/x"),
        lambda: lab_iam.disallow_assume_role(client, user),
        lambda: lab_iam.create_role(client, "temporary-iam-role", f"arn:aws:iam::{ACCOUNT}:root"),
        lambda: lab_iam.delete_role(client, "temporary-iam-role", guarded=True),
    ]
    for n, call in enumerate(calls):
        with pytest.raises(lab_iam.NotOwnedError) as err:
            call()
        assert "Nothing was changed" in str(err.value), n
        if n < 10:
            assert "another name" in str(err.value) and "fresh AWS account" in str(err.value)
    assert _namesakes(client) == foreign_namesakes
    # What the lab makes itself it may still change.
    lab_iam.create_user(client, "lab-made-user")
    lab_iam.create_access_key(client, "lab-made-user")
    assert lab_iam.delete_user(client, "lab-made-user", guarded=True)[-1].startswith("Deleted")


def _run_course_to_the_end() -> tuple[list[str], list[str]]:
    """Run every lesson, going on after one fails; the text of the outputs and of the errors."""
    from nbclient.exceptions import CellExecutionError

    os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "labkit-mpl"))
    texts, errors = [], []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        try:
            NotebookClient(nb, timeout=180, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        except CellExecutionError as exc:
            errors.append(f"{path.name}: {exc}")
        texts.append(nbformat.writes(nb))
    return texts, errors


@pytest.mark.slow
def test_the_course_in_real_aws_mode_leaves_someone_elses_namesakes_alone(
        foreign_namesakes: dict[str, object], aws_account: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    _, errors = _run_course_to_the_end()
    # The course stops where it would touch them, and says why and what to do.
    assert errors and all("was not created by this lab" in e for e in errors), errors[:1]
    client = session.connect().client("iam")
    assert _namesakes(client) == foreign_namesakes
    for name, keys in json.loads(aws_account["existing"]).items():
        assert sorted(k["AccessKeyId"] for k in
                      client.list_access_keys(UserName=name)["AccessKeyMetadata"]) == keys



@pytest.mark.slow
def test_real_aws_has_no_clock_to_move(aws_account: dict[str, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    monkeypatch.setenv("LABKIT_AWS_ACCOUNT", ACCOUNT)
    lab = session.connect()
    with pytest.raises(LabError) as err:
        lab.advance_clock("20m")
    assert "no clock to move" in str(err.value)
    assert abs(lab.now() - datetime.now(UTC)) < timedelta(minutes=1)


# --- the parts connect() is made of, each on its own (no sandbox needed) ----------------------


def test_a_sandbox_that_times_out_is_given_up_at_once_and_never_restarted(tmp_path: Path) -> None:
    from botocore.exceptions import ReadTimeoutError

    from labkit.sandbox_restart import Restarter, SandboxNotAnswering

    adopted: list[object] = []
    hook = Restarter(Settings(home=tmp_path), "http://127.0.0.1:9", adopted.append)
    with pytest.raises(SandboxNotAnswering) as err:
        hook(caught_exception=ReadTimeoutError(endpoint_url="http://127.0.0.1:9"))
    assert "did not answer within 15 s" in str(err.value)
    assert "nothing in it was lost" in str(err.value) and "labkit sandbox stop" in str(err.value)
    assert adopted == [] and not (tmp_path / "sandbox.lock").exists()  # nothing was started


def test_someone_elses_sandbox_that_refuses_connections_is_not_restarted(tmp_path: Path) -> None:
    from botocore.exceptions import EndpointConnectionError

    from labkit.sandbox_restart import Restarter

    adopted: list[object] = []
    cfg = Settings(home=tmp_path, sandbox_url="http://127.0.0.1:9")
    hook = Restarter(cfg, "http://127.0.0.1:9", adopted.append)
    assert hook(caught_exception=EndpointConnectionError(endpoint_url="http://127.0.0.1:9")) is None
    assert hook(caught_exception=ValueError("not a connection error")) is None
    assert adopted == [] and list(tmp_path.iterdir()) == []  # no sandbox of ours was started


def test_connecting_points_child_processes_at_the_lab_and_drops_other_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.child_env import point_child_processes_at, sandbox_exports

    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    exports = sandbox_exports("http://127.0.0.1:5000", tmp_path / "credentials",
                              tmp_path / "config")
    point_child_processes_at(exports)
    assert "AWS_PROFILE" not in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "credentials")
    assert os.environ["AWS_CONFIG_FILE"] == str(tmp_path / "config")
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"


def test_whoami_reads_sts_and_the_guardrail_refuses_root(tmp_path: Path) -> None:
    """botocore's Stubber answers for AWS: the test is about labkit's reading of the answer."""
    from botocore.stub import Stubber

    from labkit.boto_session import new_session
    from labkit.lab import Lab

    cfg = Settings(backend="aws", home=tmp_path, aws_account=ACCOUNT)
    lab = Lab(settings=cfg, session=new_session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                                                aws_secret_access_key="x" * 40),
              identity=Identity("", "", ""))
    with Stubber(lab.client("sts")) as sts:
        sts.add_response("get_caller_identity", {
            "UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"})
        who = lab.whoami()
        sts.assert_no_pending_responses()
    assert who.is_root and who.account == ACCOUNT
    with pytest.raises(LabError, match="root user credentials"):
        session.guard_identity(who, cfg)
