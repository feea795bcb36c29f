"""tools/mutation.py sets aside only mutants that reword a message, never a logic change."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "mutation", Path(__file__).resolve().parent.parent / "tools" / "mutation.py"
)
assert _spec and _spec.loader
mutation = importlib.util.module_from_spec(_spec)
sys.modules["mutation"] = mutation  # dataclasses look their module up there
_spec.loader.exec_module(mutation)

MESSAGE = 'raise KeyFormatError(\n    "The secret is empty. Paste it in and try again."\n)'


def test_reworded_messages_are_message_only() -> None:
    assert mutation.message_only(MESSAGE, MESSAGE.replace('"The', '"XXThe').replace('n."', 'n.XX"'))
    assert mutation.message_only(MESSAGE, MESSAGE.replace("Paste", "PASTE"))
    assert mutation.message_only('x = ("Copy it " "once more.")', 'x = ("Copy it " "ONCE MORE.")')
    # A piece with a single word is counted as logic: when unsure, the score is not helped.
    assert not mutation.message_only('x = ("Copy it " "again.")', 'x = ("Copy it " "AGAIN.")')


def test_logic_changes_are_not_message_only() -> None:
    assert not mutation.message_only(MESSAGE, MESSAGE)  # no change at all
    assert not mutation.message_only(MESSAGE, "raise KeyFormatError(\n    None\n)")
    assert not mutation.message_only('k.startswith("AKIA")', 'k.startswith("XXAKIAXX")')
    assert not mutation.message_only('", ".join(x)', '"XX, XX".join(x)')
    assert not mutation.message_only(
        't.strftime("%Y-%m-%d %H:%M UTC")', 't.strftime("%y-%m-%d %h:%m utc")'
    )
    assert not mutation.message_only(
        "f\"<tr><th style='text-align:left'>\"", "f\"XX<tr><th style='text-align:left'>XX\""
    )
    assert not mutation.message_only('a = "two words" if x else y', 'a = "two words" if y else y')


def test_every_test_left_out_of_a_mutation_run_still_exists() -> None:
    """A renamed test would no longer be left out: one that starts a sandbox then crashes
    mutmut's runner, and every mutant of the module counts as survived (a 0% score)."""
    root = Path(__file__).resolve().parent.parent
    for module, tests in mutation.SLOW_TESTS.items():
        assert module in mutation.MODULES
        for test in tests:
            path, name = test.split("::")
            assert f"def {name}(" in (root / path).read_text(), test
