"""The lesson widgets, driven as ipywidgets' own tests do: set `.value`, call `.click()`.

The key checks run against the real local sandbox. The test that matters most: no secret ever
reaches a widget's saved state (what JupyterLab and nbclient store in the notebook).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.configloader
import ipywidgets
import pytest
import traitlets

from labkit import checks
from labkit.checks import Verdict
from labkit.keys import EXAMPLE_KEY_ID, EXAMPLE_SECRET, AccessKey
from labkit.quiz import Question, Quiz
from labkit.widgets import (
    SAVED,
    KeyEntryForm,
    SecretInput,
    SecretReveal,
    Status,
    show_in,
)

USER = "temporary-iam-user"
POLICY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


@dataclass
class Made:
    key_id: str
    secret: str
    arn: str


@pytest.fixture
def made(lab: Any) -> Made:
    """The tutorial's user with one access key, in a fresh sandbox account."""
    iam = lab.client("iam")
    arn = iam.create_user(UserName=USER)["User"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=POLICY)
    got = iam.create_access_key(UserName=USER)["AccessKey"]
    return Made(got["AccessKeyId"], got["SecretAccessKey"], arn)


@dataclass
class OfflineLab:
    """Stands in for the lab where AWS must not be contacted; records any attempt."""

    calls: list[str] = field(default_factory=list)
    error: Exception | None = None
    simulated: bool = True

    def client_for(self, key: AccessKey, service: str) -> Any:
        self.calls.append(service)
        if self.error is not None:
            raise self.error
        raise AssertionError("AWS was contacted")


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Custom messages the kernel sends to the browser (not saved with the notebook)."""
    log: list[tuple[Any, dict[str, Any]]] = []
    for cls in (SecretInput, SecretReveal):
        monkeypatch.setattr(cls, "send", lambda self, content, buffers=None:
                            log.append((self, content)))
    return log


def saved_state() -> str:
    """Every live widget's state, as a notebook would save it (metadata.widgets)."""
    return json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False), default=str)


def shown_html(output: ipywidgets.Output) -> str:
    return "".join(o["data"].get("text/html", "") for o in output.outputs)


def browser_says(widget: ipywidgets.Widget, content: dict[str, Any]) -> None:
    """A custom message from the widget's JavaScript, as the kernel receives it."""
    widget._handle_custom_msg(content, [])


# ---------------------------------------------------------------- KeyEntryForm against AWS


def test_the_right_pair_is_verified_and_the_secret_box_empties(lab: Any, made: Made,
                                                                sent: list) -> None:
    form = KeyEntryForm(lab)
    form.key_id.value = made.key_id
    form.secret.value = made.secret
    assert form.secret.filled
    form.verify_button.click()

    assert form.result is not None and form.result.ok, form.result
    assert form.result.title == (
        "This key pair works: it belongs to temporary-iam-user "
        "(arn:aws:iam::123456789012:user/temporary-iam-user) in account 123456789012.")
    assert made.arn in form.result.title
    assert form.secret.value == ""
    assert not form.secret.filled
    assert (form.secret, {"event": "clear"}) in sent
    assert form.key_id.value == made.key_id  # the other fields keep their values
    assert form.region.value == "us-east-1"
    assert "This key pair works" in shown_html(form.output)
    assert made.key_id not in form.result.detail  # masked: AKIA************xxxx
    assert made.key_id[-4:] in form.result.detail


def test_typing_in_the_browser_reaches_the_kernel_by_custom_message_only(lab: Any, made: Made,
                                                                        sent: list) -> None:
    form = KeyEntryForm(lab)
    form.key_id.value = made.key_id
    for n in range(1, len(made.secret) + 1):  # one message per keystroke
        browser_says(form.secret, {"event": "input", "value": made.secret[:n]})
    assert form.secret.filled and form.secret.value == made.secret
    assert made.secret not in saved_state()
    assert made.secret not in repr(form.secret)

    browser_says(form.secret, {"event": "submit"})  # Enter in the password box

    assert form.result is not None and form.result.ok, form.result
    assert form.secret.value == ""


def test_whitespace_and_line_breaks_pasted_around_values_are_accepted(lab: Any,
                                                                     made: Made) -> None:
    form = KeyEntryForm(lab)
    verdict = form.submit(f"  {made.key_id}\n", f"\t{made.secret}\r\n", region=" us-east-1 ")
    assert verdict.ok, verdict
    assert made.arn in verdict.title


def test_a_wrong_but_well_formed_secret_is_signature_does_not_match(lab: Any,
                                                                   made: Made) -> None:
    wrong = made.secret[:-1] + ("A" if made.secret[-1] != "A" else "B")
    verdict = KeyEntryForm(lab).submit(made.key_id, wrong)
    assert not verdict.ok
    assert verdict.code == "SignatureDoesNotMatch"
    assert "wrong secret access key" in verdict.title


def test_a_deleted_key_is_invalid_client_token_id(lab: Any, made: Made) -> None:
    lab.client("iam").delete_access_key(UserName=USER, AccessKeyId=made.key_id)
    form = KeyEntryForm(lab)
    verdict = form.submit(made.key_id, made.secret)
    assert not verdict.ok
    assert verdict.code == "InvalidClientTokenId"
    assert "does not recognise this access key ID" in verdict.title


def test_a_deactivated_key_is_invalid_client_token_id(lab: Any, made: Made) -> None:
    lab.client("iam").update_access_key(UserName=USER, AccessKeyId=made.key_id,
                                        Status="Inactive")
    verdict = KeyEntryForm(lab).submit(made.key_id, made.secret)
    assert not verdict.ok
    assert verdict.code == "InvalidClientTokenId"


def test_a_checkpoint_is_recorded_for_the_lesson(lab: Any, made: Made,
                                                 sandbox_home: Path) -> None:
    form = KeyEntryForm(lab, lesson="widgets-test-verify")
    form.submit(made.key_id, made.secret[::-1])
    progress = checks.read(sandbox_home)[0]
    assert progress["lessons"]["widgets-test-verify"]["key_verified"]["ok"] is False
    form.submit(made.key_id, made.secret)
    progress = checks.read(sandbox_home)[0]
    assert progress["lessons"]["widgets-test-verify"]["key_verified"]["ok"] is True


# ---------------------------------------------------------------- profile mode


def test_profile_mode_checks_then_writes_the_profile(lab: Any, made: Made,
                                                     sandbox_home: Path) -> None:
    from labkit.profiles import read_profile

    assert sandbox_home in lab.credentials_file.parents  # never the learner's ~/.aws
    form = KeyEntryForm(lab, lesson="widgets-test-profile", profile="lab-widgets")
    assert form.verify_button.description == "Verify and save profile"
    assert form.profile_name is not None and form.profile_name in form.children
    verdict = form.submit(made.key_id, made.secret, region="eu-west-1")

    assert verdict.ok, verdict
    assert "Saved profile 'lab-widgets'" in verdict.title
    assert form.verdicts[0].title.startswith("This key pair works")
    files = {"credentials_file": lab.credentials_file, "config_file": lab.config_file}
    stored = read_profile("lab-widgets", **files)
    assert stored is not None and stored.access_key_id == made.key_id
    assert stored.reveal_secret() == made.secret
    # as the AWS CLI reads it
    profiles = botocore.configloader.load_config(str(lab.config_file))["profiles"]
    assert profiles["lab-widgets"]["region"] == "eu-west-1"
    assert made.secret not in verdict.title + verdict.detail
    lessons = checks.read(sandbox_home)[0]["lessons"]["widgets-test-profile"]
    assert lessons["profile_configured"]["ok"] is True
    assert lessons["key_verified"]["ok"] is True


def test_profile_mode_writes_nothing_for_a_key_that_does_not_work(lab: Any, made: Made) -> None:
    from labkit.profiles import read_profile

    form = KeyEntryForm(lab, profile="lab-widgets-bad")
    verdict = form.submit(made.key_id, made.secret[::-1])
    assert verdict.code == "SignatureDoesNotMatch"
    assert read_profile("lab-widgets-bad", credentials_file=lab.credentials_file,
                        config_file=lab.config_file) is None


# Every bad region and profile name is in tests/test_keycheck.py; here, what the form shows.
@pytest.mark.parametrize(("region", "profile", "says"), [
    ("us-east-1a", "lab", "Availability Zone"),
    ("us-east-1", "my lab", "space"),
])
def test_profile_mode_refuses_a_bad_region_or_profile_name(region: str, profile: str,
                                                           says: str) -> None:
    offline = OfflineLab()
    form = KeyEntryForm(offline, profile="lab")
    verdict = form.submit(EXAMPLE_KEY_ID, EXAMPLE_SECRET, region=region, profile=profile)
    assert not verdict.ok
    assert says in verdict.title
    assert offline.calls == []


# ---------------------------------------------------------------- formats (nothing sent to AWS)


# Every format rule is in tests/test_keys.py and tests/test_keycheck.py; here, what the form shows.
@pytest.mark.parametrize(("key_id", "secret", "says"), [
    (EXAMPLE_KEY_ID, EXAMPLE_KEY_ID, "looks like an access key ID"),
    (EXAMPLE_KEY_ID, EXAMPLE_SECRET[:-1], "40 characters long; this one has 39"),
    ("", EXAMPLE_SECRET, "access key ID is empty"),
    (EXAMPLE_KEY_ID, "  \n", "secret access key is empty"),
])
def test_a_key_that_cannot_be_right_is_explained_without_asking_aws(key_id: str, secret: str,
                                                                   says: str) -> None:
    offline = OfflineLab()
    form = KeyEntryForm(offline)
    verdict = form.submit(key_id, secret)
    assert not verdict.ok
    assert says in verdict.title
    assert verdict.detail.endswith("Nothing was sent to AWS.")
    assert offline.calls == []
    assert form.secret.value == ""


def test_swapped_id_and_secret_are_named_and_the_secret_leaves_the_id_box(sent: list) -> None:
    offline = OfflineLab()
    form = KeyEntryForm(offline)
    verdict = form.submit(EXAMPLE_SECRET, EXAMPLE_KEY_ID)
    assert not verdict.ok
    assert "Did you swap the two fields?" in verdict.title
    assert "emptied" in verdict.detail
    assert form.key_id.value == ""  # a synced field: it must not keep the secret
    assert form.secret.value == ""
    assert offline.calls == []
    assert EXAMPLE_SECRET not in saved_state()


def test_a_secret_pasted_into_any_text_box_is_emptied_at_once() -> None:
    form = KeyEntryForm(OfflineLab(), profile="lab")
    assert form.profile_name is not None
    for box in (form.key_id, form.region, form.profile_name):
        box.value = f"{EXAMPLE_KEY_ID},{EXAMPLE_SECRET}\n"  # a line of the downloaded .csv
        assert box.value == ""
        assert form.result is not None and not form.result.ok
        assert "emptied" in form.result.detail
    assert EXAMPLE_SECRET not in saved_state()


def test_an_unexpected_error_is_a_red_line_that_never_shows_the_secret() -> None:
    offline = OfflineLab(error=RuntimeError(f"socket hiccup while sending {EXAMPLE_SECRET}"))
    form = KeyEntryForm(offline)
    verdict = form.submit(EXAMPLE_KEY_ID, EXAMPLE_SECRET)
    assert not verdict.ok
    assert verdict.title.startswith("Checking the key pair failed: socket hiccup")
    assert EXAMPLE_SECRET not in verdict.title + verdict.detail + shown_html(form.output)
    assert not form.verify_button.disabled
    assert form.secret.value == ""


def test_submit_with_a_profile_on_a_form_without_one_is_a_mistake_in_the_lesson() -> None:
    with pytest.raises(ValueError, match="profile"):
        KeyEntryForm(OfflineLab()).submit(EXAMPLE_KEY_ID, EXAMPLE_SECRET, profile="lab")


# ---------------------------------------------------------------- SecretInput


def test_secret_input_take_returns_the_value_once(sent: list) -> None:
    box = SecretInput("Secret access key")
    browser_says(box, {"event": "input", "value": EXAMPLE_SECRET})
    assert box.filled
    assert EXAMPLE_SECRET not in repr(box)
    assert EXAMPLE_SECRET not in json.dumps(box.get_state(), default=str)
    assert box.take() == EXAMPLE_SECRET
    assert box.take() == ""
    assert not box.filled
    assert sent[-1] == (box, {"event": "clear"})


# ---------------------------------------------------------------- SecretReveal


def test_secret_reveal_shows_the_secret_until_it_is_confirmed_saved(lab: Any, made: Made,
                                                                   sent: list,
                                                                   sandbox_home: Path) -> None:
    key = AccessKey(made.key_id, made.secret, user_name=USER)
    page = SecretReveal(key, lesson="widgets-test-reveal")
    assert page.key_id == made.key_id  # the ID is not secret: shown in full, to be copied
    assert page.user_name == USER
    assert not page.confirmed
    assert page.reveal() == made.secret

    browser_says(page, {"event": "reveal", "purpose": "show"})
    assert sent[-1] == (page, {"event": "secret", "value": made.secret, "purpose": "show"})
    assert made.secret not in saved_state()
    assert made.secret not in repr(page)

    browser_says(page, {"event": "confirm"})  # "I have saved my secret access key"
    assert page.confirmed
    assert page.notice == SAVED
    assert (page, {"event": "forget"}) in sent
    assert page.reveal() is None
    assert not page.key.has_secret

    browser_says(page, {"event": "reveal", "purpose": "copy"})
    assert sent[-1] == (page, {"event": "forget"})  # nothing to show any more
    progress = checks.read(sandbox_home)[0]
    assert progress["lessons"]["widgets-test-reveal"]["secret_saved"]["ok"] is True


def test_secret_reveal_of_a_key_without_its_secret_offers_nothing(sent: list) -> None:
    page = SecretReveal(AccessKey(EXAMPLE_KEY_ID, EXAMPLE_SECRET).without_secret())
    assert not page.available
    assert page.reveal() is None
    browser_says(page, {"event": "reveal"})
    assert sent == [(page, {"event": "forget"})]


# ---------------------------------------------------------------- the hard requirement


def test_no_secret_is_ever_in_the_saved_widget_state(lab: Any, made: Made) -> None:
    """After every way of using the form and the reveal page, the saved state has no secret."""
    form = KeyEntryForm(lab, profile="lab-state")
    form.key_id.value = made.key_id
    browser_says(form.secret, {"event": "input", "value": made.secret})
    assert made.secret not in saved_state()  # typed, not yet checked
    form.verify_button.click()
    assert form.result is not None and form.result.ok
    form.submit(made.key_id, made.secret[::-1])  # wrong secret
    form.submit(made.secret, made.key_id)  # swapped
    form.submit(f"{made.key_id} {made.secret}", "")  # both pasted in the ID box
    form.region.value = made.secret
    form.submit(made.key_id, made.secret + "x")  # too long

    page = SecretReveal(AccessKey(made.key_id, made.secret, user_name=USER))
    page._handle_custom_msg({"event": "reveal"}, [])
    state_before_confirm = saved_state()
    page.confirm()

    state = saved_state()
    for secret in (made.secret, made.secret[::-1], made.secret + "x"):
        assert secret not in state_before_confirm
        assert secret not in state
    # The check itself is real: the state does hold the form's outputs and the key ID.
    assert "This key pair works" in state
    assert made.key_id in state


# ---------------------------------------------------------------- Quiz


QUESTIONS = [
    Question("Who can see a secret access key after it is created?",
             ["Anyone with IAMReadOnlyAccess", "Nobody: AWS shows it once", "The root user"],
             1, "AWS stores only what it needs to check signatures; it never shows it again."),
    Question("You lost a secret access key. What do you do?",
             ["Ask AWS support", "Create a new key and delete the old one"],
             1, "A lost secret cannot be recovered; replace the key."),
]


def test_quiz_all_right_records_the_checkpoint(sandbox_home: Path) -> None:
    quiz = Quiz(QUESTIONS, lesson="widgets-test-quiz", name="keys_quiz")
    assert [r.value for r in quiz.radios] == [None, None]
    quiz.radios[0].value = "Nobody: AWS shows it once"
    quiz.radios[1].value = "Create a new key and delete the old one"
    quiz.check_button.click()
    assert quiz.result is not None and quiz.result.ok
    assert quiz.marks == [True, True]
    assert "it never shows it again" in shown_html(quiz.output)
    progress = checks.read(sandbox_home)[0]
    assert progress["lessons"]["widgets-test-quiz"]["keys_quiz"]["ok"] is True


def test_quiz_marks_wrong_and_missing_answers() -> None:
    quiz = Quiz(QUESTIONS)
    quiz.radios[0].value = "The root user"
    quiz.check_button.click()
    assert quiz.result is not None and not quiz.result.ok
    assert quiz.result.title.startswith("0 of 2 right.")
    assert quiz.marks == [False, False]
    html = shown_html(quiz.output)
    assert "Not quite: The root user" in html and "Not answered yet." in html


def test_a_question_whose_answer_is_not_an_option_is_refused() -> None:
    with pytest.raises(ValueError, match="not an option"):
        Question("?", ["a", "b"], 2, "")


# ---------------------------------------------------------------- accessibility


def test_a_failure_is_announced_as_an_alert_and_a_success_politely() -> None:
    status = Status()
    show_in(status, Verdict(True, "Fine."), "checked at 10:00:00")
    assert status.urgent is False
    assert [o["data"]["text/plain"] for o in status.outputs] == ["✅ Fine.",
                                                                 "checked at 10:00:00"]
    show_in(status, Verdict(True, "First part."), Verdict(False, "Second part failed."))
    assert status.urgent is True  # role="alert" in the browser
    show_in(status, Verdict(True, "Fixed."))
    assert status.urgent is False


def test_the_form_announces_its_verdicts_and_never_disables_a_focused_control() -> None:
    form = KeyEntryForm(OfflineLab())
    assert isinstance(form.output, Status)
    assert "labkit-widget" in form._dom_classes  # the lab's focus ring applies
    toggled: list[str] = []
    form.verify_button.observe(lambda c: toggled.append("button"), names="disabled")
    form.secret.observe(lambda c: toggled.append("secret"), names="disabled")
    verdict = form.submit("AKIA-not-a-key", EXAMPLE_SECRET)
    assert not verdict.ok
    # Disabling the button under the keyboard focus would drop the focus to the page.
    assert toggled == []
    assert form.output.urgent is True
    assert "checked at" in form.output.outputs[-1]["data"]["text/plain"]
    assert not form.output.outputs[-1]["data"]["text/plain"].startswith("'")  # no repr quotes


def test_quiz_questions_are_radio_groups_labelled_by_their_question() -> None:
    quiz = Quiz(QUESTIONS)
    assert [r.description for r in quiz.radios] == [
        "1. Who can see a secret access key after it is created?",
        "2. You lost a secret access key. What do you do?",
    ]
    assert quiz.radios[0].options == QUESTIONS[0].options
    quiz.radios[0].index = 1  # what the browser sets when an option is chosen
    assert quiz.radios[0].value == "Nobody: AWS shows it once"
    with pytest.raises(traitlets.TraitError):
        quiz.radios[0].value = "Somebody"
    with pytest.raises(traitlets.TraitError):
        quiz.radios[0].index = 3
    quiz.check_button.click()
    assert quiz.output.urgent is True  # question 2 is unanswered
    # The score comes first: it is what a screen reader announces before the details.
    assert quiz.output.outputs[0]["data"]["text/plain"].startswith("❌ 1 of 2 right.")


def test_the_widgets_javascript_and_css_ship_with_the_package() -> None:
    from labkit.widgets import FILES

    for widget in (SecretInput(), Status(), SecretReveal(AccessKey(EXAMPLE_KEY_ID,
                                                                   EXAMPLE_SECRET))):
        assert "export default" in widget._esm
        assert "outline: 2px solid" in widget._css
    assert sorted(p.name for p in FILES.iterdir()) == [
        "choice.js", "labkit.css", "reveal.js", "secret_input.js", "status.js", "terminal.js"]
