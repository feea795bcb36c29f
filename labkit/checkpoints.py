"""Each lesson's checkpoints, exercise checks and quizzes: the rules and hints, out of the cells.

A checkpoint cell is one line, `lesson.verify("key_created")`, as otter-grader's
`grader.check("q1")`: the rule, its words and its hint live here. An exercise check,
`lesson.exercise("tag_user")`, looks at the sandbox's state and prints a line starting with ✅,
or a hint, and never raises, so Run All passes before the learner has typed anything.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labkit import checks, reports, scan
from labkit.answers import plain
from labkit.checks import Verdict
from labkit.keys import AccessKey

if TYPE_CHECKING:
    from labkit.course import Lesson

USER = "temporary-iam-user"
ROLE = "temporary-iam-role"
LEFTOVER_USER = "former-intern"

Rule = Callable[["Lesson"], Verdict]
Exercise = Callable[["Lesson"], tuple[bool, str]]
# Each lesson's checkpoint rules and exercise checks by name, filled in by the decorators below
# where each rule is written.
RULES: dict[str, dict[str, Rule]] = {}
EXERCISES: dict[str, dict[str, Exercise]] = {}


def rule(lesson: str, name: str) -> Callable[[Rule], Rule]:
    """Register a checkpoint rule: `lesson.verify(name)` in that lesson runs it."""
    def register(check: Rule) -> Rule:
        RULES.setdefault(lesson, {})[name] = check
        return check
    return register


def exercise_check(lesson: str, name: str) -> Callable[[Exercise], Exercise]:
    """Register an exercise check: `lesson.exercise(name)` in that lesson runs it."""
    def register(check: Exercise) -> Exercise:
        EXERCISES.setdefault(lesson, {})[name] = check
        return check
    return register


def _ok(ok: bool, passed: str, failed: str, todo: str = "") -> Verdict:
    return Verdict(True, passed) if ok else Verdict(False, failed, todo)


def _unless_missing(call: Callable[..., Any], **kwargs: Any) -> Any:
    """AWS's answer to `call`, or None when what it asks about does not exist (NoSuchEntity)."""
    try:
        return call(**kwargs)
    except Exception as exc:  # noqa: BLE001 - only NoSuchEntity is an answer here
        if checks.error_code(exc) == "NoSuchEntity":
            return None
        raise


def _keys(lesson: Lesson, user: str = USER) -> list[dict[str, Any]]:
    got = _unless_missing(lesson.client("iam").list_access_keys, UserName=user)
    return [] if got is None else got["AccessKeyMetadata"]  # a missing user has no keys


def _user_exists(lesson: Lesson, user: str = USER) -> bool:
    return _unless_missing(lesson.client("iam").get_user, UserName=user) is not None


def _skip_without(lesson: Lesson, fix: str, code: str) -> Verdict | None:
    if lesson.lab.missing_fix(fix):
        return Verdict(True, f"Skipped: this stock moto server does not refuse here as AWS "
                             f"would ({code}); the labkit sandbox does.")
    return None


# ---------------------------------------------------------------- lesson 00

@rule("00_start_here", "ready")
def _ready(lesson: Lesson) -> Verdict:
    from labkit.course import readiness

    found = readiness(lesson.lab)
    missing = [v for v in found if not v.ok]
    if missing:
        return Verdict(False, "Something is missing: " + "; ".join(v.title for v in missing),
                       " ".join(v.detail for v in missing))
    return Verdict(True, "Everything is in place: " + "; ".join(v.title for v in found) + ".")


@rule("00_start_here", "sandbox_mode")
def _sandbox_mode(lesson: Lesson) -> Verdict:
    return _ok(lesson.lab.simulated,
               "You are in the sandbox: nothing here touches a real AWS account.",
               "You are in REAL AWS mode.",
               "That is fine if you meant it: the guardrails described above are on.")


# ---------------------------------------------------------------- lesson 01

@rule("01_root_and_iam_users", "whoami")
def _whoami(lesson: Lesson) -> Verdict:
    me = lesson.lab.whoami()
    return _ok(not me.is_root, f"You are the IAM user {me.name}, not the root user.",
               "You are signed in as the root user.",
               "Use an IAM user for everyday work, as the tutorial does.")


@rule("01_root_and_iam_users", "root_has_no_keys")
def _root_has_no_keys(lesson: Lesson) -> Verdict:
    summary = lesson.client("iam").get_account_summary()["SummaryMap"]
    return _ok(summary.get("AccountAccessKeysPresent", 0) == 0,
               "The root user has no access keys. Keep it that way.",
               "The root user has access keys.",
               "Delete them in the console (Security credentials of the root user).")


@exercise_check("01_root_and_iam_users", "password_policy")
def _password_policy(lesson: Lesson) -> tuple[bool, str]:
    got = _unless_missing(lesson.client("iam").get_account_password_policy)
    if got is None:
        return False, ("The account has no password policy yet. Call "
                       "iam.update_account_password_policy(...) with MinimumPasswordLength=14.")
    length = got["PasswordPolicy"].get("MinimumPasswordLength", 0)
    if length < 14:
        return False, (f"The policy asks for {length} characters; CIS 1.8 asks for at least 14 "
                       "(MinimumPasswordLength=14).")
    return True, f"The account's passwords must now be at least {length} characters long (CIS 1.8)."


# ---------------------------------------------------------------- lesson 02

@rule("02_create_an_iam_user", "user_exists")
def _user_created(lesson: Lesson) -> Verdict:
    return _ok(_user_exists(lesson), f"{USER} exists.", f"{USER} was not found.",
               "Run the create_user cell above.")


def _attached(lesson: Lesson) -> list[str]:
    if not _user_exists(lesson):
        return []
    got = lesson.client("iam").list_attached_user_policies(UserName=USER)["AttachedPolicies"]
    return [p["PolicyName"] for p in got]


@rule("02_create_an_iam_user", "read_only_attached")
def _read_only_attached(lesson: Lesson) -> Verdict:
    names = _attached(lesson)
    return _ok(names == ["IAMReadOnlyAccess"],
               f"{USER} has exactly one policy: IAMReadOnlyAccess.",
               f"{USER} has these policies: {', '.join(names) or 'none'}.",
               "Run the attach_user_policy cell above; detach anything else.")


@exercise_check("02_create_an_iam_user", "tag_user")
def _tagged(lesson: Lesson) -> tuple[bool, str]:
    if not _user_exists(lesson):
        return False, f"{USER} does not exist yet: run Step 1 first."
    tags = lesson.client("iam").list_user_tags(UserName=USER)["Tags"]
    if {"Key": "project", "Value": "access-keys-lab"} in tags:
        return True, f"{USER} carries the tag project = access-keys-lab."
    return False, ("No tag project = access-keys-lab on the user yet. Call iam.tag_user(UserName=..., "
                   "Tags=[{\"Key\": \"project\", \"Value\": \"access-keys-lab\"}]).")


# ---------------------------------------------------------------- lesson 03

@rule("03_create_access_keys", "key_created")
def _key_created(lesson: Lesson) -> Verdict:
    made = lesson.last_answer("CreateAccessKey")
    key = (made or {}).get("AccessKey", {})
    live = {k["AccessKeyId"]: k["Status"] for k in _keys(lesson)}
    ok = key.get("AccessKeyId", "").startswith("AKIA") and live.get(key.get("AccessKeyId")) == "Active"
    return _ok(ok, f"A new active access key was created for {USER}.",
               "No active key was created.", "Run the create_access_key cell above.")


@rule("03_create_access_keys", "secret_masked")
def _secret_masked(lesson: Lesson) -> Verdict:
    made = lesson.last_answer("CreateAccessKey")
    if not made:
        return Verdict(False, "No key was created yet.", "Run Step 1 first.")
    secret = plain(made["AccessKey"]["SecretAccessKey"])
    shown = repr(made) + str(made) + f"{made['AccessKey']['SecretAccessKey']}"
    return _ok(secret not in shown, "The secret never appears when the key is displayed.",
               "The secret appeared in a display!", "Report this as a bug in labkit.")


@rule("03_create_access_keys", "limit_exceeded")
def _third_key_refused(lesson: Lesson) -> Verdict:
    iam = lesson.lab.client("iam")  # not the learner's client: its answers stay the learner's
    made = []
    while len(_keys(lesson)) < 2:  # the limit shows only once the user has its two keys
        made.append(iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"])
    verdict = checks.refusal("LimitExceeded", iam.create_access_key, UserName=USER)
    for key_id in made:
        iam.delete_access_key(UserName=USER, AccessKeyId=key_id)
    return verdict


@exercise_check("03_create_access_keys", "key_description")
def _key_described(lesson: Lesson) -> tuple[bool, str]:
    keys = {k["AccessKeyId"] for k in _keys(lesson)}
    if not keys:
        return False, f"{USER} has no access key: run Step 1 first."
    tags = lesson.client("iam").list_user_tags(UserName=USER)["Tags"]
    described = [t for t in tags if t["Key"] in keys and t["Value"].strip()]
    if described:
        return True, f"Your key has a description: {described[0]['Value']!r}."
    return False, ("No key has a description yet. The console keeps it as a user tag whose Key is "
                   "the access key ID: iam.tag_user(UserName=..., Tags=[{\"Key\": <the key ID>, "
                   "\"Value\": \"...\"}]).")


# ---------------------------------------------------------------- lesson 04

def _profile_arn(lesson: Lesson, profile: str = USER) -> str | None:
    try:
        return lesson.client("sts", profile=profile).get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - any refusal means: the profile does not work
        return None


@rule("04_configure_the_cli", "cli_identity")
def _cli_identity(lesson: Lesson) -> Verdict:
    # The CLI and boto3 read the same credentials and config files, the same way (botocore).
    arn = _profile_arn(lesson)
    return _ok(bool(arn) and str(arn).endswith(f":user/{USER}"),
               f"The AWS CLI signs as {USER} with your profile.",
               f"The profile {USER} signs as {arn or 'nobody (it was refused)'}.",
               "Run the configure_profile cell above again.")


@rule("04_configure_the_cli", "create_denied")
def _create_denied(lesson: Lesson) -> Verdict:
    user_iam = lesson.client("iam", profile=USER)
    return checks.refusal("AccessDenied", user_iam.create_user, UserName="not-allowed")


@rule("04_configure_the_cli", "wrong_secret")
def _wrong_secret(lesson: Lesson) -> Verdict:
    key = lesson.key
    if key is None:
        return Verdict(False, "The lesson has no key pair to try.", "Run the Setup cells again.")
    wrong = AccessKey(key.access_key_id, key.reveal_secret()[::-1])
    sts = lesson.client("sts", credentials=wrong)
    return checks.refusal("SignatureDoesNotMatch", sts.get_caller_identity)


@exercise_check("04_configure_the_cli", "output_table")
def _output_table(lesson: Lesson) -> tuple[bool, str]:
    config = configparser.RawConfigParser()
    try:
        config.read(lesson.lab.config_file)
    except configparser.Error:
        return False, "The config file cannot be read; run Setup again."
    output = config.get(f"profile {USER}", "output", fallback="")
    if output == "table":
        return True, f"The profile {USER} now answers in tables: output = table in config."
    return False, (f"The profile {USER} has output = {output or '(not set)'}. Use "
                   f"`!aws configure set output table --profile {USER}`.")


# ---------------------------------------------------------------- lesson 05

def _profile_key_id(lesson: Lesson, profile: str = USER) -> str | None:
    key = lesson.profile_key(profile)
    return key.access_key_id if key else None


@rule("05_rotate_access_keys", "new_key_works")
def _new_key_works(lesson: Lesson) -> Verdict:
    old = lesson.key.access_key_id if lesson.key else None
    now = _profile_key_id(lesson)
    arn = _profile_arn(lesson)
    ok = bool(now) and now != old and bool(arn) and str(arn).endswith(f":user/{USER}")
    return _ok(ok, f"The new key works: your profile signs as {USER} with it.",
               "Your profile does not sign with a new key yet.",
               "Run Steps 2 and 3 again: create the key, then switch the profiles to it.")


@rule("05_rotate_access_keys", "old_key_refused")
def _old_key_refused(lesson: Lesson) -> Verdict:
    skipped = _skip_without(lesson, "inactive-keys-rejected", "InvalidClientTokenId")
    if skipped or lesson.key is None:
        return skipped or Verdict(False, "No old key to try.", "Run the Setup cells again.")
    sts = lesson.client("sts", credentials=lesson.key)
    return checks.refusal("InvalidClientTokenId", sts.get_caller_identity)


@rule("05_rotate_access_keys", "rotated")
def _rotated(lesson: Lesson) -> Verdict:
    ids = [k["AccessKeyId"] for k in _keys(lesson)]
    now = _profile_key_id(lesson)
    ok = len(ids) == 1 and ids[0] == now and (lesson.key is None or now != lesson.key.access_key_id)
    if ok:
        lesson.notes["rotated_to"] = now
    return _ok(ok, "Rotation done: one active key, and your profile uses it.",
               f"The user has {len(ids)} key(s), and the profile uses {'one of them' if now in ids else 'none'}.",
               "Run the steps above again, in order.")


@exercise_check("05_rotate_access_keys", "rotate_again")
def _rotate_again(lesson: Lesson) -> tuple[bool, str]:
    before = lesson.notes.get("rotated_to")
    if not before:
        return False, "Finish Step 6 first (its checkpoint must be green), then rotate once more."
    keys = _keys(lesson)
    now = _profile_key_id(lesson)
    if [k["AccessKeyId"] for k in keys] == [before]:
        return False, ("The user still has only the key from Step 2. Create a new key, switch the "
                       "profiles to it, then delete the key from Step 2.")
    if len(keys) != 1:
        return False, f"The user has {len(keys)} keys: delete the one from Step 2 when the new one works."
    if keys[0]["AccessKeyId"] != now:
        return False, "Your profile does not use the new key: call lesson.switch_profiles(...)."
    if _profile_arn(lesson) is None:
        return False, "The profile's key is refused: is it active?"
    return True, "Rotated again: a new key, the profile switched to it, the old one deleted."


# ---------------------------------------------------------------- lesson 06

def _last_report(lesson: Lesson) -> Any:
    """The key table of the credential report the learner fetched last (no new request), or a
    fresh one when there is none."""
    got = lesson.last_answer("GetCredentialReport")
    if got and got.get("Content"):
        return reports.credential_report_frame(got["Content"])
    return reports.key_inventory(lesson.lab.client("iam"))


@rule("06_monitor_key_age_and_usage", "inventory")
def _inventory(lesson: Lesson) -> Verdict:
    keys = _last_report(lesson)
    mine = keys[keys["user"] == USER]
    return _ok(len(mine) == 1 and bool(mine["active"].iloc[0]),
               f"{USER} has one active key, as after lesson 05.",
               f"{USER} has {len(mine)} keys.", "Run lesson 05 again.")


@rule("06_monitor_key_age_and_usage", "old_key_unused")
def _old_key_unused(lesson: Lesson) -> Verdict:
    from labkit import iam, trail

    profile = lesson.profile_key()
    keys = iam.list_access_keys(lesson.lab.client("iam"), USER)
    current = next((k for k in keys if profile and k.access_key_id == profile.access_key_id), None)
    if current is None:
        return Verdict(False, "Your profile's key is not a key of the user.", "Run lesson 05 again.")
    after = trail.other_keys_since(lesson.lab, USER, current)
    return _ok(bool(after["error"].notna().all()),
               f"No other key worked since the rotation ({len(after)} attempts, all refused).",
               "An old key was still used successfully after the rotation.",
               "Find the program using it (the trail shows when and for what) and switch it over.")


@rule("06_monitor_key_age_and_usage", "audit")
def _audit(lesson: Lesson) -> Verdict:
    if not lesson.lab.simulated or lesson.lab.missing_fix("inactive-keys-rejected"):
        return Verdict(True, "Skipped: the company scenario runs only in the labkit sandbox.")
    found = reports.findings(_last_report(lesson))
    expected = {"root_access_key", "rotation_overdue", "two_active_keys"}
    return _ok(expected <= set(found["check"]),
               "The audit found the root key, the overdue keys and the user with two active keys.",
               "The audit missed something.", "Run Step 3 again.")


@exercise_check("06_monitor_key_age_and_usage", "deactivate_unused")
def _unused_deactivated(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.lab.simulated or lesson.lab.missing_fix("inactive-keys-rejected"):
        return False, "The company scenario runs only in the labkit sandbox: nothing to do here."
    # A fresh report (the exercise changed the keys); the checks need no key IDs.
    keys = reports.report_keys(lesson.lab.client("iam"))
    if not set(keys["user"]) & {"cara-analyst", "fay-data-export", "ana-developer"}:
        return False, "Seed the company account first (Step 3)."
    found = reports.findings(keys)
    unused = sorted(set(found.query("check == 'unused_key' and user != '<root_account>'")["user"]))
    if unused:
        return False, (f"Still active and unused for 45+ days: the keys of {', '.join(unused)}. "
                       "Set them Inactive with iam.update_access_key(...).")
    return True, "Every company key unused for 45 days or more is now inactive (CIS 1.12)."


# ---------------------------------------------------------------- lesson 07

@rule("07_prefer_iam_roles", "temporary_credentials")
def _temporary_credentials(lesson: Lesson) -> Verdict:
    answer = lesson.last_answer("AssumeRole") or {}
    creds = answer.get("Credentials", {})
    ok = str(creds.get("AccessKeyId", "")).startswith("ASIA") and bool(creds.get("SessionToken")) \
        and creds.get("Expiration") is not None
    return _ok(ok, "Temporary credentials: an ASIA key ID, a session token, and an expiry time.",
               "These are not temporary credentials.", "Run the assume_role cell again.")


@rule("07_prefer_iam_roles", "credentials_expired")
def _credentials_expired(lesson: Lesson) -> Verdict:
    if not lesson.lab.simulated:
        return Verdict(True, "Skipped on real AWS: its clock cannot be moved. These credentials "
                             "stop working by themselves at their Expiration time.")
    skipped = _skip_without(lesson, "credentials-expire", "ExpiredToken")
    if skipped:
        return skipped
    answer = lesson.last_answer("AssumeRole") or {}
    if "Credentials" not in answer:
        return Verdict(False, "No temporary credentials yet.", "Run Step 2 (assume_role) first.")
    expires = answer["Credentials"]["Expiration"]
    if lesson.lab.now() < expires:
        return Verdict(False, f"These credentials are still valid until {expires:%H:%M:%S} UTC "
                              "(sandbox time).",
                       'Move the clock past it first: lesson.advance_clock("20m").')
    sts = lesson.client("sts", credentials=answer["Credentials"])
    return checks.refusal("ExpiredToken", sts.get_caller_identity)


@exercise_check("07_prefer_iam_roles", "assumed_role_arn")
def _assumed_role_arn(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.lab.simulated or lesson.lab.sandbox is None or not lesson.lab.sandbox.labkit:
        return False, "This check reads the labkit sandbox's trail: run it in the sandbox."
    events = lesson.lab.sandbox.admin("GET", "trail?since=0")["events"]
    assumed = [e for e in events if e["event"] == "AssumeRole" and not e["error"]
               and e["params"].get("RoleSessionName") == "exercise-07"]
    if not assumed:
        return False, ("AWS has not seen an AssumeRole with RoleSessionName=\"exercise-07\" yet: "
                       "call user_sts.assume_role(...) with that session name.")
    used = [e for e in events if e["event"] == "GetCallerIdentity" and not e["error"]
            and str(e["access_key_id"]).startswith("ASIA") and e["time"] >= assumed[-1]["time"]]
    if not used:
        return False, ("You assumed the role; now ask who you are with its credentials: "
                       "lesson.client(\"sts\", credentials=...).get_caller_identity()[\"Arn\"].")
    return True, f"You signed as the assumed role {ROLE}, session exercise-07."


# ---------------------------------------------------------------- lesson 08

def _with_drill(check: Callable[[Lesson, Any], Verdict]) -> Rule:
    """A rule that needs the leak drill Step 2 plants; without one, it says so."""
    def run(lesson: Lesson) -> Verdict:
        drill = lesson.notes.get("drill")
        if drill is None:
            return Verdict(False, "No leak was planted yet.", "Run Step 2 first.")
        return check(lesson, drill)
    return run


@rule("08_keep_secrets_out_of_code", "leak_found")
@_with_drill
def _leak_found(lesson: Lesson, drill: Any) -> Verdict:
    found = scan.scan_paths([drill.folder])
    return _ok({f.path for f in found} >= {str(drill.script), str(drill.notebook)},
               "The scanner found the key in both the script and the notebook.",
               "The scanner missed a file.", "Run Step 2 again.")


@rule("08_keep_secrets_out_of_code", "leak_revoked")
@_with_drill
def _leak_revoked(lesson: Lesson, drill: Any) -> Verdict:
    left = {k["AccessKeyId"] for k in _keys(lesson)}
    return _ok(drill.key.access_key_id not in left, "The leaked key is deleted: it can do no harm.",
               "The leaked key still exists.", "Run the delete_access_key cell above.")


@rule("08_keep_secrets_out_of_code", "code_clean")
@_with_drill
def _code_clean(lesson: Lesson, drill: Any) -> Verdict:
    return _ok(not scan.scan_paths([drill.folder]), "The rewritten samples hold no secrets.",
               "A secret is still there.", "Run Step 5 again.")


@exercise_check("08_keep_secrets_out_of_code", "second_leak")
def _second_leak(lesson: Lesson) -> tuple[bool, str]:
    drill = lesson.notes.get("second_drill")
    if drill is None:
        return False, "Run the cell that plants the second leak first."
    left = {k["AccessKeyId"]: k["Status"] for k in _keys(lesson)}
    if drill.key.access_key_id in left:
        return False, (f"The leaked key {drill.key.masked_id} is still {left[drill.key.access_key_id]}. "
                       "Deactivate it, then delete it.")
    return True, f"The second leaked key {drill.key.masked_id} is gone: it can do no harm."


# ---------------------------------------------------------------- lesson 09

@rule("09_clean_up", "delete_conflict")
def _delete_conflict(lesson: Lesson) -> Verdict:
    skipped = _skip_without(lesson, "delete-user-conflicts", "DeleteConflict")
    if skipped:
        return skipped
    return checks.refusal("DeleteConflict", lesson.client("iam").delete_user, UserName=USER)


@rule("09_clean_up", "nothing_left")
def _nothing_left(lesson: Lesson) -> Verdict:
    return _ok(not _user_exists(lesson), f"{USER} and all its keys are gone.",
               f"{USER} still exists.", "Run Step 3 again.")


@rule("09_clean_up", "profiles_clean")
def _profiles_clean(lesson: Lesson) -> Verdict:
    from labkit.course import profiles_with_deleted_keys

    stale = profiles_with_deleted_keys(lesson.lab)
    return _ok(not stale, "No CLI profile holds a deleted key; [default] is the console identity.",
               f"These profiles hold deleted keys: {', '.join(stale)}.",
               "Run lesson.remove_profiles() again.")


@exercise_check("09_clean_up", "delete_leftover_user")
def _leftover_removed(lesson: Lesson) -> tuple[bool, str]:
    if not lesson.notes.get("leftover"):
        return False, f"Run the cell that makes {LEFTOVER_USER} first."
    if _user_exists(lesson, LEFTOVER_USER):
        keys = len(_keys(lesson, LEFTOVER_USER))
        return False, (f"{LEFTOVER_USER} still exists ({keys} key(s)). Delete its keys, detach its "
                       "policies, then delete the user, as Step 3 did.")
    return True, f"{LEFTOVER_USER} is gone, with its key and its policy."


# Quizzes: (question, choices, index of the answer, why), kept out of the learner's cells.
QUIZZES: dict[str, dict[str, list[tuple[str, list[str], int, str]]]] = {
    "01_root_and_iam_users": {"quiz": [
        ("Who should have access keys for everyday CLI work?",
         ["The root user", "An IAM user with only the permissions it needs", "Nobody"], 1,
         "An IAM user with least privilege; root keys would give away the whole account."),
        ("Which ARN belongs to the root user?",
         ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/root"], 0,
         "Root's ARN ends in :root; IAM users have :user/NAME."),
        ("Can a policy limit what the root user does?",
         ["Yes", "No"], 1, "No: root bypasses IAM policies, which is why you lock it away."),
    ]},
    "09_clean_up": {"faq": [
        ("Are access keys free?",
         ["No, each key costs money", "Yes; the requests made with them are billed as usual"], 1,
         "Creating keys is free; what you do with them is billed by each service."),
        ("Do access keys expire?",
         ["Yes, after 90 days", "No, they last until deactivated or deleted"], 1,
         "They are long-term credentials: that is why you rotate them and prefer roles."),
        ("Where do you find a key's access key ID?",
         ["In the IAM console: the user's page, Access keys, 'Access key ID' column",
          "Only in the .csv downloaded at creation"], 0,
         "The ID is always listed; only the secret is shown once."),
    ]},
}


def verify(lesson: Lesson, name: str) -> Verdict:
    """Run the lesson's checkpoint `name`, record it, and say in one line how it went."""
    rule = RULES.get(lesson.name, {}).get(name)
    if rule is None:
        known = ", ".join(RULES.get(lesson.name, {})) or "none"
        return Verdict(False, f"This lesson has no checkpoint {name!r}.", f"Its checkpoints: {known}.")
    try:
        verdict = rule(lesson)
    except Exception as exc:  # noqa: BLE001 - a checkpoint explains, it never raises
        verdict = checks.failure(exc, "Checking")
    checks.record(lesson.name, name, verdict.ok,
                  hint=" ".join(filter(None, (verdict.title, verdict.detail))))
    return verdict


def exercise(lesson: Lesson, name: str) -> str:
    """The line an exercise check prints: ✅ and what is right, or 💡 and a hint."""
    check = EXERCISES.get(lesson.name, {}).get(name)
    if check is None:
        return f"💡 This lesson has no exercise {name!r}."
    try:
        done, said = check(lesson)
    except Exception as exc:  # noqa: BLE001 - never raise: Run All passes before the learner types
        done, said = False, f"Not yet: {checks.explain(exc)}"
    if done:  # progress shows what a learner did; an exercise not yet typed is not a failure
        checks.record(lesson.name, f"exercise_{name}", done)
    return ("✅ " if done else "💡 Not done yet. ") + said
