"""Binder: the image repo2docker would build from binder/, and binder/start played for real."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from subprocess import CompletedProcess

import pytest

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
BIN = Path(sys.executable).parent  # this Python's bin folder: python, aws, jupyter
CONSOLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:user/console-admin$")


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_runtime_is_python_311() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_requirements_are_pinned_without_a_local_reference() -> None:
    from packaging.requirements import Requirement

    pins = requirement_lines(BINDER / "requirements.txt")
    for line in pins:
        # `.`, `-e .` or a path would make repo2docker install after copying the repository,
        # rebuilding the whole pip layer on every commit.
        assert not line.startswith(("-", ".", "/")) and "file:" not in line, line
        spec = list(Requirement(line).specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"not pinned: {line}"
    names = {Requirement(line).name.lower() for line in pins}
    assert {"jupyterlab", "ipywidgets", "anywidget", "boto3", "botocore", "awscli", "moto",
            "pandas"} <= names
    # Nothing draws with it (the key-age chart is SVG), and where it is installed pandas' Styler
    # imports pyplot with itself: a third of a second of CPU in lesson 06.
    assert "matplotlib" not in names
    assert "server" in Requirement(next(p for p in pins if p.startswith("moto"))).extras


def test_pins_fall_within_the_ranges_of_requirements_txt() -> None:
    """Binder runs what requirements.txt promises; a pin outside it is a drift to fix."""
    from packaging.requirements import Requirement

    ranges = {}
    for line in requirement_lines(REPO / "requirements.txt"):
        if not line.startswith(("-", ".")):  # options, and labkit itself (`.`)
            req = Requirement(line)
            ranges[req.name.lower()] = req.specifier
    for line in requirement_lines(BINDER / "requirements.txt"):
        pin = Requirement(line)
        version = next(iter(pin.specifier)).version
        if pin.name.lower() in ranges:
            assert ranges[pin.name.lower()].contains(version), \
                f"{line} is outside requirements.txt's {pin.name}{ranges[pin.name.lower()]}"


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_scripts_are_executable_bash(script: str) -> None:
    path = BINDER / script
    assert os.access(path, os.X_OK), f"chmod +x binder/{script}"
    assert path.read_text().startswith("#!/bin/bash\n")
    done = subprocess.run(["bash", "-n", str(path)], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_post_build_installs_labkit_only() -> None:
    text = (BINDER / "postBuild").read_text()
    assert "set -euo pipefail" in text
    assert re.search(r"^pip install( --no-cache-dir)? --no-deps \.$", text, re.MULTILINE)


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile repo2docker generates for this repository (no Docker, no network)."""
    if importlib.util.find_spec("repo2docker") is None:
        pytest.skip("jupyter-repo2docker is not installed (pip install jupyter-repo2docker)")
    # --no-build only renders the plan; a dead DOCKER_HOST proves no Docker daemon is needed.
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = subprocess.run([sys.executable, "-m", "repo2docker", "--no-build", "--debug", "."],
                          check=False, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout + done.stderr


def test_repo2docker_pins_python_311(dockerfile: str) -> None:
    assert "Building conda environment for python=3.11" in dockerfile
    # The locked conda environment for 3.11 (file names are escaped: "." as -2e, "-" as -2d).
    assert re.search(r"environment(\.|-2e)py(-|-2d)3(\.|-2e)11(-|-2d)linux", dockerfile)


def test_repo2docker_installs_requirements_before_copying_the_repository(dockerfile: str) -> None:
    lines = dockerfile.splitlines()
    pip = lines.index('RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir '
                      '-r "binder/requirements.txt"')
    copy = next(i for i, line in enumerate(lines)
                if re.fullmatch(r"COPY --chown=\S+ src/ \$\{REPO_DIR\}/", line))
    # Before: a commit that changes only notebooks reuses the cached pip layer.
    assert pip < copy


def test_repo2docker_runs_post_build_and_the_start_entrypoint(dockerfile: str) -> None:
    lines = dockerfile.splitlines()
    copy = next(i for i, line in enumerate(lines) if re.fullmatch(r"COPY --chown=\S+ src/ .*", line))
    assert lines.index("RUN ./binder/postBuild") > copy
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in lines


def fresh_env(home: Path, labkit_home: Path) -> dict[str, str]:
    """What `env -i` leaves, plus what a Binder container sets: HOME, PATH, LABKIT_HOME."""
    return {"HOME": str(home), "PATH": f"{BIN}:/usr/bin:/bin", "LABKIT_HOME": str(labkit_home)}


def run_clean(env: dict[str, str], *command: str, timeout: float = 120) -> CompletedProcess[str]:
    """Run `command` from the repository root as `env -i K=V ... command` would."""
    return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
                          check=False, cwd=REPO, capture_output=True, text=True, timeout=timeout)


INNER = """
echo "url=$LABKIT_SANDBOX_URL"
echo "endpoint=$AWS_ENDPOINT_URL"
echo "cli=$(aws sts get-caller-identity --query Arn --output text)"
echo "sdk=$(python -c 'import labkit.session as s; print(s.connect().whoami().arn)')"
"""


@pytest.mark.slow
def test_binder_start_points_notebooks_and_terminals_at_the_sandbox(tmp_path: Path) -> None:
    if not (BIN / "aws").exists() or not (BIN / "python").exists():
        pytest.skip(f"`python` and `aws` are not both in {BIN}")
    env = fresh_env(tmp_path, tmp_path / ".labkit")
    try:
        done = run_clean(env, "bash", "binder/start", "bash", "-c", INNER, timeout=180)
    finally:
        stopped = run_clean(env, "python", "-m", "labkit", "sandbox", "stop", timeout=60)

    assert done.returncode == 0, done.stderr
    got = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", got["url"]), done.stdout
    assert got["endpoint"] == got["url"]
    assert CONSOLE_ARN.match(got["cli"]), done.stdout + done.stderr
    assert CONSOLE_ARN.match(got["sdk"]), done.stdout + done.stderr
    assert not (tmp_path / ".aws").exists()  # the sandbox's profiles live in LABKIT_HOME
    assert stopped.stdout.strip() == "Sandbox stopped.", stopped.stdout + stopped.stderr


def test_binder_start_still_starts_jupyter_when_the_sandbox_cannot(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = fresh_env(tmp_path, blocker / ".labkit")  # LABKIT_HOME cannot be created
    done = run_clean(env, "bash", "binder/start", "bash", "-c",
                     'echo "jupyter ran with: $* url=${LABKIT_SANDBOX_URL-unset}"; exit 7',
                     "_", "--ip", "0.0.0.0")

    assert done.returncode == 7  # `exec "$@"`: Jupyter's exit is the container's
    assert done.stdout.splitlines()[-1] == "jupyter ran with: --ip 0.0.0.0 url=unset"
    assert "the sandbox did not start" in done.stderr
    assert f"cannot write its files to {blocker / '.labkit'}" in done.stderr  # and why


def test_binder_start_leaves_real_aws_alone(tmp_path: Path) -> None:
    """A "Real AWS" profile on Zero to JupyterHub: no sandbox, no endpoint pointing at one."""
    env = {**fresh_env(tmp_path, tmp_path / ".labkit"), "LABKIT_BACKEND": "aws"}
    done = run_clean(env, "bash", "binder/start", "bash", "-c",
                     'echo "endpoint=${AWS_ENDPOINT_URL-unset} url=${LABKIT_SANDBOX_URL-unset}"')

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "endpoint=unset url=unset"
    assert not (tmp_path / ".labkit").exists()  # no sandbox was started
