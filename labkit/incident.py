"""Lesson 10's incident: the CI user's key leaked in a repository, and someone else used it.

Everything is made at run time in the sandbox: the users, the CI's key (in a private scratch
repository and in the CI's profile), and what the intruder did with the key, as real requests
signed with it, so the activity trail and `GetAccessKeyLastUsed` tell the story. The record kept
beside it holds key IDs only, never a secret.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from labkit import iam as lab_iam
from labkit.files import write_private_text
from labkit.profiles import configure_profile, read_profile, remove_profile

CI_USER = "ci-deployer"  # the pipeline's IAM user; its profile has the same name
COLLEAGUE = "lee-analyst"  # a colleague the intruder gave a second key
INTRUDER_USER = "svc-backup"  # the user the intruder made, named to look harmless
USERS = (CI_USER, COLLEAGUE, INTRUDER_USER)
FOLDER = "scratch-10"
RECORD = "incident.json"
CI_AGENT = "ci-runner/1.0"  # what the trail's `source` shows for the pipeline's requests
INTRUDER_AGENT = "aws-cli/2.9.0"  # and for the intruder's (simulated labels)
SEEDED = "Seeded the incident"  # how the setup says it started afresh (nothing done yet)

_DEPLOY = """#!/bin/sh
# Deploy the site. TODO: move the key to the CI's secret store (committed "just for a test").
export AWS_ACCESS_KEY_ID={key_id}
export AWS_SECRET_ACCESS_KEY={secret}
export AWS_DEFAULT_REGION=us-east-1
aws sts get-caller-identity
aws s3 sync build/ s3://example-company-site/
"""
_README = """# company-site

The company's web site. `deploy.sh` runs in CI on every push to main, as the IAM user
ci-deployer (credentials: the CI's profile `ci-deployer`).
"""
_WORKFLOW = """name: deploy
on: {push: {branches: [main]}}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ./deploy.sh
"""


@dataclass(frozen=True)
class Incident:
    """What the incident made: the repository, and the IDs of the keys involved (not secret)."""

    repo: Path
    leaked_key_id: str  # the CI's key, written into deploy.sh
    colleague_key_id: str  # lee-analyst's own key: it must keep working
    planted_key_id: str  # the key the intruder made for lee-analyst
    intruder_key_id: str  # the key of the intruder's own user
    started: float  # sandbox time (UNIX seconds) just before the leak was used

    def __repr__(self) -> str:
        return (f"The incident: a key of {CI_USER} is in the repository {self.repo}; the CI "
                f"pipeline signs with the profile [{CI_USER}].")


def folder(lab: Any) -> Path:
    """The scratch folder of lesson 10 (private: it holds a live key)."""
    return lab.settings.home / FOLDER


def load(lab: Any) -> Incident | None:
    """The incident recorded in this lab's home, or None when none was seeded."""
    try:
        data = json.loads((folder(lab) / RECORD).read_text())
        return Incident(Path(data["repo"]), data["leaked_key_id"], data["colleague_key_id"],
                        data["planted_key_id"], data["intruder_key_id"], float(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def in_progress(lab: Any) -> Incident | None:
    """The recorded incident, unless the sandbox has none of its users (reset since): None."""
    found = load(lab)
    client = lab.client("iam")
    if found is None or all(lab_iam.get_user(client, name) is None for name in USERS):
        return None
    return found


def _signed(lab: Any, key: Any, service: str, agent: str) -> Any:
    """A client that signs with `key` and names `agent` as its User-Agent (the trail's source)."""
    client = lab.client_for(key, service)

    def label(request: Any, **_: Any) -> None:
        request.headers["User-Agent"] = agent

    client.meta.events.register("before-sign", label)
    return client


def _age(lab: Any, user: str, key_id: str, *, user_days: int, key_days: int,
         used_days: int | None) -> None:
    """Backdate a user and its key on the sandbox's clock: people's keys are months old."""
    now = lab.now()

    def ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    lab.sandbox.admin("POST", "backdate", {
        "user": user, "user_created": ago(user_days), "access_key_id": key_id,
        "created": ago(key_days), "last_used": None if used_days is None else ago(used_days),
        "service": "iam", "region": "us-east-1"})


def remove(lab: Any) -> list[str]:
    """Delete the incident's users, the CI's profile and the scratch repository."""
    # One admin call of labkit's sandbox instead of about 30 AWS calls (bench/: lesson overhead).
    gone = set(lab.sandbox.admin("DELETE", "users", {"users": list(USERS)})["deleted"])
    steps = [f"Deleted the user {name}." if name in gone else
             f"There is no user {name}: nothing to delete." for name in USERS]
    if read_profile(CI_USER, **lab.cli_files) is not None:
        remove_profile(CI_USER, **lab.cli_files)
        steps.append(f"Removed the profile [{CI_USER}].")
    if folder(lab).exists():
        shutil.rmtree(folder(lab))
        steps.append(f"Deleted {folder(lab)}.")
    return steps


def seed(lab: Any) -> Incident:
    """Make the incident afresh: users, the CI's key and profile, the leak, the intruder's calls."""
    remove(lab)
    client = lab.client("iam")
    for name, policy in ((CI_USER, "AdministratorAccess"), (COLLEAGUE, lab_iam.READ_ONLY)):
        lab_iam.create_user(client, name)
        lab_iam.attach_user_policy(client, name, policy)
    colleague = lab_iam.create_access_key(client, COLLEAGUE)
    ci_key = lab_iam.create_access_key(client, CI_USER)
    configure_profile(CI_USER, ci_key, region=lab.region, **lab.cli_files)
    _age(lab, CI_USER, ci_key.access_key_id, user_days=400, key_days=120, used_days=None)
    _age(lab, COLLEAGUE, colleague.access_key_id, user_days=300, key_days=200, used_days=1)
    # The pipeline works: its last run, as the trail shows it.
    _signed(lab, ci_key, "sts", CI_AGENT).get_caller_identity()
    repo = folder(lab) / "company-site"
    for part in (folder(lab), repo, repo / ".github", repo / ".github" / "workflows"):
        part.mkdir(mode=0o700, exist_ok=True)  # each one: parents=True would leave them 0755
    write_private_text(repo / "deploy.sh", _DEPLOY.format(key_id=ci_key.access_key_id,
                                                          secret=ci_key.reveal_secret()))
    write_private_text(repo / "README.md", _README)
    write_private_text(repo / ".github" / "workflows" / "deploy.yml", _WORKFLOW)
    started = lab.now().timestamp()
    # Someone found deploy.sh: who am I, what is there, then a way back in that outlives the key.
    sts, iam = _signed(lab, ci_key, "sts", INTRUDER_AGENT), _signed(lab, ci_key, "iam",
                                                                      INTRUDER_AGENT)
    sts.get_caller_identity()
    iam.list_users()
    iam.create_user(UserName=INTRUDER_USER)
    iam.attach_user_policy(UserName=INTRUDER_USER,
                           PolicyArn=lab_iam.policy_arn("AdministratorAccess"))
    intruder = iam.create_access_key(UserName=INTRUDER_USER)["AccessKey"]["AccessKeyId"]
    planted = iam.create_access_key(UserName=COLLEAGUE)["AccessKey"]["AccessKeyId"]
    found = Incident(repo, ci_key.access_key_id, colleague.access_key_id, planted, intruder,
                     started)
    write_private_text(folder(lab) / RECORD, json.dumps({
        "repo": str(repo), "leaked_key_id": found.leaked_key_id,
        "colleague_key_id": found.colleague_key_id, "planted_key_id": planted,
        "intruder_key_id": intruder, "started": started}))
    return found


def runs_in(lab: Any) -> bool:
    """Whether the incident can run here: only in the labkit sandbox (its trail, its clock)."""
    return bool(lab.simulated and lab.sandbox is not None and lab.sandbox.has_fidelity_fixes)


def start(lab: Any) -> tuple[list[str], Incident | None]:
    """Lesson 10's setup: continue an incident under way, or seed one (in the sandbox only)."""
    if not runs_in(lab):
        return (["The incident runs only in the labkit sandbox, never in a real AWS account: "
                 "read this lesson, and try it in the sandbox."], None)
    found = None
    with contextlib.suppress(Exception):  # an unreadable or stale record: start afresh
        found = in_progress(lab)
    if found is not None:
        return ([f"Continuing the incident you started earlier (in {found.repo.parent}); "
                 "lesson.start_over() begins it again."], found)
    return ([f"{SEEDED}: {', '.join(USERS[:2])} and what happened to them."],
            seed(lab))
