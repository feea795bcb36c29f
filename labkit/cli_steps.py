"""Lesson 04 around `aws configure`: where the saved key pair is, the terminal the learner types
into, the checkpoint that sees what they typed (and with which key), and the lab doing it for
them, saying so, when nobody typed (Run All unattended, nbval)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from labkit import cli_config, iam
from labkit.downloads import download_path, load_key_csv
from labkit.keys import mask_secret
from labkit.lab_profiles import configure
from labkit.verdicts import Verdict

if TYPE_CHECKING:  # the lesson's lab, key and notes: no course <-> cli_steps import circle
    from labkit.checkpoints import LessonView as Lesson

USER = iam.USER_NAME
PROFILE = iam.USER_NAME  # the named profile later lessons give: --profile temporary-iam-user
STARTED = "cli_started_ns"  # lesson.notes: when the lesson started (CLI files older: earlier run)


def show_key_csv(lesson: Lesson) -> str:
    """Where lesson 03's .csv is and what it holds (the secret masked), and how to see it."""
    path = download_path(lesson.lab)
    key = load_key_csv(path)
    if key is None:
        return f"No saved key pair at {path}: run the Setup cells again (they make one)."
    return "\n".join([
        f"Your key pair, saved in lesson 03 (readable by you only): {path}",
        f"  Access key ID:     {key.access_key_id}",
        f"  Secret access key: {mask_secret(key.reveal_secret())}  (masked here)",
        f"To copy the secret, show the file in the terminal: cat {shlex.quote(str(path))}",
    ])


def terminal(lesson: Lesson) -> Any:
    """The button that opens a terminal; on real AWS, first a warning about [default]."""
    from labkit.terminal import TerminalButton

    if not lesson.lab.simulated:
        print("Real AWS: in the terminal, type `aws configure --profile temporary-iam-user`. "
              "Plain `aws configure` would replace your own [default] profile, and the lab "
              "could not give it back.")
    return TerminalButton()


def _profiles(names: tuple[str, ...]) -> str:
    return ", ".join(f"[{name}]" for name in names)


def verdict(lesson: Lesson) -> Verdict:
    """Lesson 04's checkpoint: a profile the learner wrote holds the lesson-03 key, and the
    sandbox answers to it as the user; otherwise, what is missing and what to do."""
    key = lesson.key
    if key is None:
        return Verdict(False, "The lesson has no key pair to look for.", "Run the Setup cells again.")
    found = cli_config.find(lesson.lab, key, USER)
    theirs = f"{key.masked_id}, the key of {USER} you saved in lesson 03"
    if found.by_learner:
        said = (f"configured the AWS CLI: {_profiles(found.by_learner)} holds {theirs}, and AWS "
                f"answers to it as {USER}.")
        started = lesson.notes.get(STARTED)
        if found.written_ns is not None and started is not None and found.written_ns < started:
            return Verdict(True, f"Done in an earlier run: you {said}")
        return Verdict(True, f"You {said}")
    if found.wrong_secret:
        return Verdict(False, f"{_profiles(found.wrong_secret)} holds your key ID {key.masked_id} "
                              "with another secret: AWS refuses it.",
                       "Run `aws configure` again in the terminal and paste the secret access key "
                       "from the .csv (its second column), then run this cell again.",
                       code="SignatureDoesNotMatch")
    if found.by_lab:
        return Verdict(False, f"Not typed by you: the lab configured {_profiles(found.by_lab)} "
                              f"with {key.masked_id}, because nobody ran `aws configure`.",
                       "To do it yourself: open a terminal with the button above, type "
                       "`aws configure` and its four answers, then run this cell again.")
    return Verdict(False, f"Nobody has run `aws configure` yet with {theirs}.",
                   "Open a terminal with the button above, type `aws configure` and its four "
                   "answers, then run this cell again. Running the lesson unattended (Run All, "
                   "an automated check)? The next cell does it for you.")


def configure_cli(lesson: Lesson) -> list[str]:
    """After the checkpoint: keep the key as the profile later lessons name, doing the whole
    `aws configure` for the learner (and saying so) when nobody typed it."""
    key, lab = lesson.key, lesson.lab
    if key is None:
        return ["This lesson has no key pair to configure: run the Setup cells again."]
    found = cli_config.find(lab, key, USER)
    if found.by_learner:
        out = [f"You ran `aws configure` yourself: {_profiles(found.by_learner)} holds "
               f"{key.masked_id}. Nothing for the lab to do there."]
    elif found.by_lab:
        out = [f"Nobody ran `aws configure` with your key {key.masked_id} here: the lab did it "
               f"for you in an earlier run ({_profiles(found.by_lab)})."]
    else:
        out = [f"Nobody ran `aws configure` with your key {key.masked_id} here, so the lab did it "
               f"for you, as `aws configure --profile {PROFILE}` would."]
    if PROFILE in found.signing:
        out.append(f"The profile [{PROFILE}] holds {key.masked_id}: later lessons name it "
                   f"(--profile {PROFILE}).")
        return out
    configure(lab, key, PROFILE)
    cli_config.record_by_lab(lab, PROFILE, key)
    also = "your [default] stays as you configured it" if "default" in found.by_learner \
        else "[default] stays as it was"
    out.append(f"Saved the profile [{PROFILE}] with {key.masked_id}, region {lab.region}: later "
               f"lessons name it (--profile {PROFILE}); {also}.")
    return out
