"""The tutorial's CLI steps in a shell: `eval "$(python -m labkit env)"`, then the real `aws`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import sandbox


@pytest.fixture
def shell_env(tmp_path: Path):
    """A learner's shell: its own HOME with an existing ~/.aws, and LABKIT_HOME inside it."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\n# mine, do not touch\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABKIT_"))}
    env.update(HOME=str(home), LABKIT_HOME=str(home / ".labkit"))
    yield env
    sandbox.stop(home / ".labkit")


def _labkit_env(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "labkit", "env"], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    exported = dict(env)
    for line in out.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            exported[name] = shlex.split(value)[0]
    return exported


def aws(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["aws", *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.slow
def test_env_prints_exports_without_secrets(shell_env: dict[str, str]) -> None:
    out = subprocess.run([sys.executable, "-m", "labkit", "env"], env=shell_env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    names = [line.split("=")[0].removeprefix("export ") for line in out.splitlines()
             if line.startswith("export ")]
    assert names == ["AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_DEFAULT_REGION",
                     "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"]
    console = json.loads((Path(shell_env["LABKIT_HOME"]) / "console.json").read_text())
    assert console["secret_access_key"] not in out
    assert "AWS_DEFAULT_REGION=us-east-1" in out


@pytest.mark.slow
def test_the_tutorials_cli_steps_work_as_written(shell_env: dict[str, str]) -> None:
    env = _labkit_env(shell_env)
    before = (Path(shell_env["HOME"]) / ".aws" / "credentials").read_bytes()
    # Step 1 (as the console administrator, the [default] profile until `aws configure`).
    assert aws(env, "iam", "create-user", "--user-name", "temporary-iam-user").returncode == 0
    assert aws(env, "iam", "attach-user-policy", "--user-name", "temporary-iam-user",
               "--policy-arn", "arn:aws:iam::aws:policy/IAMReadOnlyAccess").returncode == 0
    # Step 2.
    made = aws(env, "iam", "create-access-key", "--user-name", "temporary-iam-user")
    key = json.loads(made.stdout)["AccessKey"]
    # Step 3: `aws configure` answering its four prompts, then get-caller-identity.
    configured = aws(env, "configure", stdin=f"{key['AccessKeyId']}\n{key['SecretAccessKey']}\n"
                                              "us-east-1\n\n")
    assert configured.returncode == 0, configured.stderr
    who = aws(env, "sts", "get-caller-identity")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["Arn"] == "arn:aws:iam::123456789012:user/temporary-iam-user"
    # Least privilege: the read-only user may list, not create.
    assert aws(env, "iam", "list-users").returncode == 0
    denied = aws(env, "iam", "create-user", "--user-name", "intruder")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    # Clean-up order: DeleteConflict while the key exists.
    conflict = aws(env, "iam", "delete-user", "--user-name", "temporary-iam-user",
                   "--profile", "console")
    assert conflict.returncode != 0 and "DeleteConflict" in conflict.stderr
    # A deactivated key is refused.
    assert aws(env, "iam", "update-access-key", "--user-name", "temporary-iam-user",
               "--access-key-id", key["AccessKeyId"], "--status", "Inactive",
               "--profile", "console").returncode == 0
    refused = aws(env, "sts", "get-caller-identity")
    assert refused.returncode != 0 and "InvalidClientTokenId" in refused.stderr
    # The learner's own ~/.aws was never touched.
    assert (Path(shell_env["HOME"]) / ".aws" / "credentials").read_bytes() == before
    assert not (Path(shell_env["HOME"]) / ".aws" / "config").exists()


@pytest.mark.slow
def test_sandbox_commands(shell_env: dict[str, str]) -> None:
    def labkit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "labkit", *args], env=shell_env,
                              capture_output=True, text=True, timeout=60, check=False)

    assert labkit("sandbox", "status").returncode == 3
    started = labkit("sandbox", "start")
    assert started.returncode == 0 and "Sandbox ready at https://127.0.0.1:" in started.stdout
    assert "already running" in labkit("sandbox", "start").stdout
    assert "uptime_s" in labkit("sandbox", "status").stdout
    assert "fresh, empty account" in labkit("sandbox", "reset").stdout
    assert labkit("sandbox", "stop").stdout.strip() == "Sandbox stopped."
    assert labkit("sandbox", "stop").stdout.strip() == "No sandbox was running."


def test_a_bad_backend_is_a_plain_message(shell_env: dict[str, str]) -> None:
    bad = subprocess.run([sys.executable, "-m", "labkit", "env"],
                         env=dict(shell_env, LABKIT_BACKEND="azure"), capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert "LABKIT_BACKEND='azure'" in bad.stderr and "Traceback" not in bad.stderr


COMMANDS = [[], ["sandbox"], *[["sandbox", a] for a in
                               ("start", "stop", "reset", "status", "serve", "advance")],
            ["env"], ["scan"], ["progress"], ["scenario"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "labkit")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """One argparse CLI: `--help` works for every command and starts nothing."""
    from labkit.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m labkit {' '.join(command)}".rstrip() + " ")


def test_usage_errors_exit_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    from labkit.__main__ import main

    for argv, says in ((["bogus"], "invalid choice: 'bogus'"),
                       (["scan"], "required: PATH"),
                       (["progress", "--lessons", "42"], "no lesson '42'"),
                       (["env", "--nope"], "unrecognized arguments: --nope")):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2, argv
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err, (argv, err)
