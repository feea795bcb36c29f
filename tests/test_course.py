"""The course layer the lessons stand on: re-runs, profiles after rotation and clean-up, masked
answers, plain-words errors, checkpoints; the dead ends a new learner met, each shut."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from labkit import catchup, course, downloads, iam, lab_profiles
from labkit.profiles import read_profile

USER = "temporary-iam-user"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _default(lab) -> str | None:
    key = read_profile("default", credentials_file=lab.credentials_file,
                       config_file=lab.config_file)
    return key.access_key_id if key else None


def test_default_follows_rotation_and_goes_back_to_console_after_clean_up(lab) -> None:
    """Dead end 1: a terminal's `aws configure` wrote [default]; rotation and clean-up keep the
    CLI working."""
    l04 = course.start("04_configure_the_cli")
    course.configure(lab, l04.key, "default")  # what `aws configure` in the terminal does
    l05 = course.start("05_rotate_access_keys")
    client = l05.client("iam")
    new = client.create_access_key(UserName=USER)
    l05.switch_profiles(new)
    client.delete_access_key(UserName=USER, AccessKeyId=l04.key.access_key_id)
    assert _default(lab) == new["AccessKey"]["AccessKeyId"]
    assert lab.whoami(lab.session_for_profile("default")).name == USER
    l09 = course.start("09_clean_up")
    iam.delete_user(l09.lab.client("iam"), USER)
    assert lab_profiles.profiles_with_deleted_keys(lab) == ["default", USER]
    l09.remove_profiles()
    assert _default(lab) == lab.console_key.access_key_id
    assert lab.whoami(lab.session_for_profile("default")).name == "console-admin"
    assert l09.verify("profiles_clean").ok


def test_sandbox_reset_gives_default_back_to_the_console(lab, sandbox_home: Path) -> None:
    l04 = course.start("04_configure_the_cli")
    course.configure(lab, l04.key, "default")
    env = {**os.environ, "LABKIT_HOME": str(sandbox_home),
           "PYTHONPATH": str(Path(course.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "labkit", "sandbox", "reset"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[default] is console-admin again" in done.stdout
    assert _default(lab) == lab.console_key.access_key_id


def test_a_start_repairs_a_default_holding_a_deleted_key(lab) -> None:
    """Lesson 00 after starting over must not answer InvalidClientTokenId under its ✅."""
    l04 = course.start("04_configure_the_cli")
    course.configure(lab, l04.key, "default")
    iam.delete_user(lab.client("iam"), USER)
    again = course.start("00_start_here")
    assert any("Restored the CLI's [default]" in line for line in again.caught_up)
    assert lab.whoami(lab.session_for_profile("default")).name == "console-admin"


def test_rerunning_lesson_03_keeps_the_saved_key(lab) -> None:
    """Dead end 2: Run All twice keeps the pair the learner saved (and it still works)."""
    first = course.start("03_create_access_keys")
    made = first.client("iam").create_access_key(UserName=USER)
    first.save_key_csv(made)
    assert first.verify("limit_exceeded").ok
    saved = made["AccessKey"]["AccessKeyId"]
    again = course.start("03_create_access_keys")
    assert any("Kept your saved key" in line for line in again.caught_up)
    again.client("iam").create_access_key(UserName=USER)  # Step 1 of the second run
    verdict = again.verify("limit_exceeded")
    assert verdict.ok and verdict.code == "LimitExceeded"
    live = [k.access_key_id for k in iam.list_access_keys(lab.client("iam"))]
    assert saved in live and len(live) == 2
    key = downloads.load_key_csv(downloads.download_path(lab))
    assert key is not None and key.access_key_id == saved
    assert lab.whoami(lab.session_for(key)).name == USER


def test_running_lesson_05_setup_again_does_not_rotate(lab) -> None:
    """Dead end 3: re-running Setup keeps the profile's key and the user's keys as they are."""
    first = course.start("05_rotate_access_keys")
    keys = [k.access_key_id for k in iam.list_access_keys(lab.client("iam"))]
    again = course.start("05_rotate_access_keys")
    assert again.key == first.key
    assert [k.access_key_id for k in iam.list_access_keys(lab.client("iam"))] == keys
    assert again.caught_up == []


def test_lesson_06_setup_keeps_the_profile_key_only_without_signing_with_it(
        lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lesson 06 signs nothing with the profile's key: an active key of the user is enough, and
    any other key of the user goes, so the audit sees one key."""
    l05 = course.start("05_rotate_access_keys")
    extra = iam.create_access_key(lab.client("iam"))
    signed: list[object] = []
    for module in (catchup, lab_profiles):  # catch-up and [default]'s repair both ask
        monkeypatch.setattr(module, "works", lambda lab, key: signed.append(key) or True)
    l06 = course.start("06_monitor_key_age_and_usage")
    assert signed == [] and l06.key == l05.key
    assert [k.access_key_id for k in iam.list_access_keys(lab.client("iam"))] == [
        l05.key.access_key_id]
    assert any(extra.masked_id in line and "one key" in line for line in l06.caught_up)


def test_lesson_06_setup_catches_up_like_lesson_05_when_the_profile_key_is_gone(lab) -> None:
    l05 = course.start("05_rotate_access_keys")
    client = lab.client("iam")
    client.update_access_key(UserName=USER, AccessKeyId=l05.key.access_key_id, Status="Inactive")
    l06 = course.start("06_monitor_key_age_and_usage")
    assert l06.key != l05.key
    assert lab.whoami(lab.session_for_profile(course.PROFILE)).name == USER
    iam.delete_user(client, USER)
    fresh = course.start("06_monitor_key_age_and_usage")
    assert any("configured the profile" in line for line in fresh.caught_up)
    assert [k.access_key_id for k in iam.list_access_keys(client)] == [fresh.key.access_key_id]


def test_each_lesson_declares_what_it_needs() -> None:
    """Catch-up is chosen by what a lesson declares, not by its number: every lesson has an
    entry, and every need names a catch-up step."""
    assert list(course.NEEDS) == sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert course.LESSONS == tuple(course.NEEDS)
    for lesson, needs in course.NEEDS.items():
        assert set(needs) <= set(course.CATCH_UP) | set(course.WARM_UP), lesson


def test_a_lesson_gets_exactly_what_it_declares(lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lesson 07 declares a profile with room and no role left over: it gets both, and nothing
    for the other needs; lesson 01 declares nothing, and nothing runs."""
    ran: list[str] = []
    for need, step in list(course.CATCH_UP.items()):
        monkeypatch.setitem(course.CATCH_UP, need,
                            lambda lab, need=need, step=step: (ran.append(need), step(lab))[1])
    lesson = course.start("07_prefer_iam_roles")
    assert ran == ["profile_with_room", "no_role"]
    assert lesson.key is not None
    assert read_profile(course.PROFILE, credentials_file=lab.credentials_file,
                        config_file=lab.config_file) == lesson.key
    ran.clear()
    course.start("01_root_and_iam_users")
    assert ran == []


def test_catching_up_without_an_earlier_key_does_not_mention_one(lab) -> None:
    """Dead end 6."""
    lesson = course.start("04_configure_the_cli")
    said = " ".join(lesson.caught_up)
    assert "lesson 03 had not run" in said and "earlier" not in said


def test_secrets_in_answers_are_masked_wherever_they_are_shown(lab) -> None:
    from IPython.lib.pretty import pretty

    from labkit.answers import Secret

    lesson = course.start("03_create_access_keys")
    made = lesson.client("iam").create_access_key(UserName=USER)
    secret = made["AccessKey"]["SecretAccessKey"]
    assert isinstance(secret, Secret) and len(secret.reveal()) == 40
    for shown in (repr(made), str(made), pretty(made), f"{secret}", str(secret), repr(secret)):
        assert secret.reveal() not in shown
    # The secret still signs: the pair works.
    assert lab.whoami(lab.session_for(course._as_key(made))).name == USER
    # Times read like the CLI's, not datetime.datetime(...).
    assert "datetime.datetime" not in pretty(made) and "Z" in repr(made["AccessKey"]["CreateDate"])


def test_aws_errors_show_in_plain_words_with_their_code(lab) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from labkit import notebook

    shell = InteractiveShell.instance()
    try:
        assert notebook.install(shell)
        shell.user_ns["iam"] = course.start("02_create_an_iam_user").client("iam")
        with capture_output() as cap:
            shell.run_cell('iam.create_user(UserName="temporary-iam-user")')
            shell.run_cell('iam.create_user(UserName="temporary-iam-user")')
        shown = "\n".join(repr(o.data.get("text/plain", "")) for o in cap.outputs)
        assert "EntityAlreadyExists" in shown and "did this cell run before" in shown
        assert "Traceback" not in cap.stdout + cap.stderr
        with capture_output() as cap:
            shell.run_cell("lesson.verify('x')")  # a kernel that forgot the Setup cells
        shown = "\n".join(o.data.get("text/plain", "") for o in cap.outputs)
        assert "Run the Setup cells again" in shown
    finally:
        shell.set_custom_exc((), None)
        InteractiveShell.clear_instance()


def test_checkpoints_are_one_line_and_never_raise(lab) -> None:
    lesson = course.start("09_clean_up")
    assert not lesson.verify("no_such_checkpoint").ok
    iam.delete_user(lab.client("iam"), USER)
    verdict = lesson.verify("delete_conflict")  # the user is gone: NoSuchEntity, said plainly
    assert not verdict.ok and verdict.code == "NoSuchEntity"


class _Columns(HTMLParser):
    """The text of each visible column of a pandas/Styler HTML table."""

    def __init__(self) -> None:
        super().__init__()
        self.columns: dict[int, list[str]] = {}
        self._col: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("td", "th"):
            self._col = next((int(c[3:]) for c in classes if c.startswith("col")
                              and c[3:].isdigit()), None)

    def handle_data(self, data: str) -> None:
        if self._col is not None:
            self.columns.setdefault(self._col, []).append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._col = None


def _width_px(html: str) -> float:
    """JupyterLab's output tables: 12 px sans-serif (about 7 px a character), 1 em padding."""
    parser = _Columns()
    parser.feed(html)
    return sum(max(len(t) for t in texts) * 7.0 + 12 for texts in parser.columns.values())


def test_lesson_06_tables_fit_jupyterlab_output_area(lab) -> None:
    """Dead end 4: the company and findings tables, as lesson 06 shows them, fit ~960 px."""
    from labkit import reports, scenario

    scenario.company(lab, now=datetime(2026, 3, 1, tzinfo=UTC))
    keys = reports.key_inventory(lab.client("iam"), now=datetime(2026, 3, 1, tzinfo=UTC))
    shown = reports.style_keys(keys).hide(["key_id", "created", "last_used", "last_region"],
                                           axis="columns")
    found = reports.findings(keys)
    wide = reports.style_keys(keys).to_html()
    assert _width_px(wide) > 960  # the whole table would not fit: the measure is not blind
    for table in (shown.to_html(), reports.style_findings(found).hide(["detail"], axis="columns")
                  .to_html()):
        assert _width_px(table) <= 960
    source = (NOTEBOOKS / "06_monitor_key_age_and_usage.ipynb").read_text()
    assert 'hide([\\"key_id\\", \\"created\\", \\"last_used\\", \\"last_region\\"], axis=\\"columns\\")' in source
    assert 'hide([\\"detail\\"], axis=\\"columns\\")' in source


def test_lesson_04_warns_before_a_secret_is_pasted_in_a_terminal() -> None:
    """Dead end 7."""
    import nbformat

    nb = nbformat.read(NOTEBOOKS / "04_configure_the_cli.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    warning = text.index("**shows what you type**")
    assert "**history**" in text[warning:] and warning < text.index("aws configure          #")


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_lessons_call_aws_themselves(path: Path) -> None:
    """The call a step teaches is in the learner's cell, on a lesson client; checkpoints are one
    line; labkit's own IAM module is not what the cells use."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    joined = "\n".join(code)
    assert "boto3.client(" not in joined and "from labkit import iam" not in joined
    assert "lesson.check(" not in joined and "lesson.iam" not in joined
    for source in code:
        if "lesson.verify(" in source:
            assert source.count("\n") == 0, source
    if path.stem[:2] != "00":
        assert 'lesson.client("iam")' in joined or path.stem.startswith("04")


def test_the_forms_time_stamp_reads_as_words(lab) -> None:
    """Dead end 5: 'checked at 16:52:36', not a quoted Python string."""
    from labkit import widgets

    lesson = course.start("04_configure_the_cli")
    form = widgets.KeyEntryForm(lab, lesson=lesson.name)
    form.submit(lesson.key.access_key_id, lesson.key.reveal_secret())
    stamp = form.output.outputs[-1]["data"]["text/plain"]
    assert stamp.startswith("checked at ") and "'" not in stamp


SHIPPED_KERNEL_CONFIG = Path(__file__).resolve().parents[1] / "jupyter-config" / "ipython" / \
    "ipython_kernel_config.json"


def test_a_restarted_kernel_with_the_extension_says_run_setup_again(tmp_path: Path) -> None:
    """Dead end 3: a kernel with the IPython config labkit installs (the extension loads at
    start), restarted and asked for `lesson`, says what to do instead of a bare NameError."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell('lesson.verify("key_created")'))
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   extra_arguments=[f"--config={SHIPPED_KERNEL_CONFIG}"],
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in nb.cells[0].outputs)
    assert "Run the Setup cells again" in shown, nb.cells[0].outputs
    assert not any(o.get("output_type") == "error" and "Traceback" in "".join(o.get("traceback", []))
                   for o in nb.cells[0].outputs)


def test_lesson_06_builds_its_inventory_in_view() -> None:
    """Issue 21.7: the inventory is built from the calls it uses, in the learner's cells (list
    calls through paginators, as AWS's examples), and the report's CSV columns are shown."""
    import nbformat

    nb = nbformat.read(NOTEBOOKS / "06_monitor_key_age_and_usage.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    step1 = "\n".join(code[2:code.index('lesson.verify("inventory")')])
    for call in ('iam.get_paginator("list_users")', 'iam.get_paginator("list_access_keys")',
                 "iam.get_access_key_last_used(", "iam.generate_credential_report()",
                 "iam.get_credential_report()", "csv.DictReader(", "access_key_1_last_used_date"):
        assert call in step1, call
    assert 'mask_key_id(key["AccessKeyId"])' in step1  # key IDs masked in the table
