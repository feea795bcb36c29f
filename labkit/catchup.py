"""Each lesson's catch-up: what it needs made (or cleared) before its first step, whichever
lessons ran before, so that any lesson can be opened first and Run All works again."""

from __future__ import annotations

from collections.abc import Callable

from labkit import iam, incident
from labkit.downloads import download_path, forget_downloads, load_key_csv, save_key_csv
from labkit.keys import AccessKey
from labkit.lab_profiles import PROFILE, configure, works
from labkit.profiles import read_profile
from labkit.session import Lab

# What each lesson needs made (or cleared) before its first step, in order: the names are the
# catch-up steps in CATCH_UP below. A lesson's setup runs exactly these, whichever ran before.
NEEDS: dict[str, tuple[str, ...]] = {
    "00_start_here": (),
    "01_root_and_iam_users": (),
    "02_create_an_iam_user": ("no_user",),
    "03_create_access_keys": ("user_with_room",),
    "04_configure_the_cli": ("key",),
    "05_rotate_access_keys": ("profile_with_room",),
    "06_monitor_key_age_and_usage": ("report_libraries", "profile_key_only"),
    "07_prefer_iam_roles": ("profile_with_room", "no_role"),
    "08_keep_secrets_out_of_code": ("profile_with_room",),
    "09_clean_up": ("profile_with_room",),
    "10_respond_to_a_leaked_key": ("incident",),
}
LESSONS = tuple(NEEDS)


def _need_user(lab: Lab) -> list[str]:
    client = lab.client("iam")
    out = []
    user = iam.create_user(client, iam.USER_NAME)
    if user.new:
        out.append(f"Caught up: created {iam.USER_NAME} (lesson 02 had not run in this sandbox).")
    said = iam.attach_user_policy(client, iam.USER_NAME, iam.READ_ONLY)
    if not said.endswith("already attached to " + iam.USER_NAME + "."):
        out.append(f"Caught up: {said}")
    return out


def _need_key(lab: Lab) -> tuple[list[str], AccessKey]:
    """A working key pair of the user whose secret the lab knows (its .csv), made if needed."""
    out = _need_user(lab)
    saved = load_key_csv(download_path(lab))
    if works(lab, saved):
        assert saved is not None
        return out, saved
    client = lab.client("iam")
    keys = iam.list_access_keys(client)
    if len(keys) >= 2:
        iam.delete_access_key(client, keys[0].access_key_id, guarded=lab.guarded)
    key = iam.create_access_key(client)
    save_key_csv(lab, key)
    if keys:
        out.append(f"Caught up: made a new access key {key.masked_id} for {iam.USER_NAME} (the "
                   "secret of its earlier key is shown only once, and this lab did not keep it).")
    else:
        out.append(f"Caught up: made an access key {key.masked_id} for {iam.USER_NAME} "
                   "(lesson 03 had not run in this sandbox).")
    return out, key


def _need_profile(lab: Lab) -> tuple[list[str], AccessKey]:
    current = read_profile(PROFILE, **lab.cli_files)
    if works(lab, current):
        assert current is not None
        return _need_user(lab), current
    out, key = _need_key(lab)
    configure(lab, key)
    out.append(f"Caught up: configured the profile {PROFILE} (lesson 04's `aws configure`).")
    return out, key


def _start_over_user(lab: Lab) -> list[str]:
    """Lesson 02 creates the user: a user left from an earlier run goes first (keys and all)."""
    client = lab.client("iam")
    if iam.get_user(client, iam.USER_NAME) is None:
        return []
    iam.delete_user(client, iam.USER_NAME, guarded=lab.guarded)
    forget_downloads(lab)
    return [f"Started over: deleted {iam.USER_NAME} (and its keys) from an earlier run, so that "
            "Step 1 can create it again. Later lessons catch up on what they need."]


def _keep_only(lab: Lab, keep: AccessKey | None, why: str,
               keys: list[AccessKey] | None = None) -> list[str]:
    """Delete the user's keys (`keys` if listed already) other than `keep`, so the lesson's
    create_access_key has room."""
    client = lab.client("iam")
    out = []
    for key in iam.list_access_keys(client) if keys is None else keys:
        if keep is None or key.access_key_id != keep.access_key_id:
            iam.delete_access_key(client, key.access_key_id, guarded=lab.guarded)
            out.append(f"Deleted the access key {key.masked_id} ({why}).")
    return out


def _start_keys(lab: Lab) -> tuple[list[str], AccessKey | None]:
    """Lesson 03: the user, and room for its keys; a key you saved in an earlier run is kept."""
    out = _need_user(lab)
    saved = load_key_csv(download_path(lab))
    keep = saved if works(lab, saved) else None
    out += _keep_only(lab, keep, "left by an earlier run; its secret was not saved")
    if keep is not None:
        out.append(f"Kept your saved key {keep.masked_id} from an earlier run: it still works. "
                   "Step 1 makes a second one.")
    return out, keep


def _start_rooms(lab: Lab) -> tuple[list[str], AccessKey]:
    """Lessons 05 and 07-09: a working profile, and its key the user's only key (room for one
    more)."""
    out, key = _need_profile(lab)
    out += _keep_only(lab, key, f"not the key of your profile {PROFILE}; a user may have two "
                                "keys and this lesson makes one")
    return out, key


def _start_profile_key(lab: Lab) -> tuple[list[str], AccessKey]:
    """Lesson 06: the profile's key the user's only key. Nothing there signs with it, so an active
    key the user lists is enough; anything else gets lesson 05's catch-up."""
    current = read_profile(PROFILE, **lab.cli_files)
    client = lab.client("iam")
    try:
        keys = iam.list_access_keys(client) if current is not None else []
    except client.exceptions.NoSuchEntityException:
        keys = []
    if current is None or not any(k.access_key_id == current.access_key_id
                                  and k.status == "Active" for k in keys):
        return _start_rooms(lab)
    return _keep_only(lab, current, f"not the key of your profile {PROFILE}; lesson 06 audits "
                                    "a user with one key", keys), current


def _start_roles(lab: Lab) -> list[str]:
    """Lesson 07 creates the role: one left from an earlier run goes first."""
    client = lab.client("iam")
    try:
        client.get_role(RoleName=iam.ROLE_NAME)
    except Exception:  # noqa: BLE001 - no role: nothing to start over
        return []
    iam.disallow_assume_role(client, iam.USER_NAME)
    iam.delete_role(client, iam.ROLE_NAME, guarded=lab.guarded)
    return [f"Started over: deleted {iam.ROLE_NAME} from an earlier run, so that Step 1 can "
            "create it again."]


def _import_reports() -> None:
    """Lesson 06 shows tables: import pandas and its Styler while its setup and first cells
    wait for the sandbox (or the learner reads), not when the first table is due."""
    import pandas.io.formats.style  # noqa: F401


# Needs met in a thread before connecting, so that they overlap the sandbox's start. A cell
# that needs them first waits for the import under way (Python's import lock).
WARM_UP: dict[str, Callable[[], None]] = {"report_libraries": _import_reports}
CatchUp = Callable[[Lab], tuple[list[str], AccessKey | None]]
# Each need of NEEDS: what it does, and the key pair it leaves the lesson (or None).
CATCH_UP: dict[str, CatchUp] = {
    "no_user": lambda lab: (_start_over_user(lab), None),
    "user_with_room": _start_keys,
    "key": _need_key,
    "profile_with_room": _start_rooms,
    "profile_key_only": _start_profile_key,
    "no_role": lambda lab: (_start_roles(lab), None),
    "incident": lambda lab: (incident.start(lab)[0], None),
}
