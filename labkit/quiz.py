"""A lesson's quiz: questions as radio groups (one Tab stop each, arrow keys between options),
checked together, the score announced and recorded for the class view."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from labkit import checks
from labkit.verdicts import Verdict
from labkit.widgets import CSS, FILES, Status, show_in


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: `answer` is the index of the right option in `options`."""

    prompt: str
    options: list[str]
    answer: int
    why: str

    def __post_init__(self) -> None:
        if len(set(self.options)) != len(self.options) or len(self.options) < 2:
            raise ValueError(f"Question {self.prompt!r} needs two or more different options.")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(f"Question {self.prompt!r}: answer {self.answer} is not an option.")


class Choice(anywidget.AnyWidget):
    """One question's options as a radio group labelled by the question (one Tab stop, arrows
    move between options); `value` and `index` work as in ipywidgets' RadioButtons."""

    _esm = FILES / "choice.js"
    _css = CSS
    description = traitlets.Unicode("").tag(sync=True)
    options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    index = traitlets.Int(None, allow_none=True).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, options: Sequence[str], *, description: str = "",
                 value: str | None = None, **kwargs: Any) -> None:
        super().__init__(options=list(options), description=description, **kwargs)
        self.value = value

    @traitlets.validate("index")
    def _valid_index(self, proposal: dict[str, Any]) -> int | None:
        index = proposal["value"]
        if index is not None and not 0 <= index < len(self.options):
            raise traitlets.TraitError(f"Option {index} does not exist.")
        return index

    @property
    def value(self) -> str | None:
        """The chosen option's text, or None."""
        return None if self.index is None else self.options[self.index]

    @value.setter
    def value(self, text: str | None) -> None:
        if text is None:
            self.index = None
        elif text in self.options:
            self.index = self.options.index(text)
        else:
            raise traitlets.TraitError(f"{text!r} is not one of the options.")

    def __repr__(self) -> str:
        return f"Choice(description={self.description!r}, value={self.value!r})"


class Quiz(widgets.VBox):
    """Multiple-choice questions with a "Check answers" button that says why, one by one."""

    def __init__(self, questions: Sequence[Question], *, lesson: str | None = None,
                 name: str = "quiz") -> None:
        self.questions = list(questions)
        self.radios = [Choice(q.options, description=f"{n}. {q.prompt}")
                       for n, q in enumerate(self.questions, 1)]
        self.check_button = widgets.Button(description="Check answers", button_style="primary")
        self.output = Status()
        self.result: Verdict | None = None
        self.marks: list[bool] = []
        self._lesson = lesson
        self._name = name
        super().__init__(children=[*self.radios, self.check_button, self.output])
        self.add_class("labkit-widget")
        self.check_button.on_click(self._on_click)

    def _on_click(self, _button: Any = None) -> None:
        lines: list[Verdict] = []
        self.marks = []
        for n, (q, radio) in enumerate(zip(self.questions, self.radios), 1):
            right = radio.index == q.answer
            self.marks.append(right)
            if radio.index is None:
                lines.append(Verdict(False, f"{n}. Not answered yet.", "Pick one option."))
            else:
                verdict = "Right" if right else "Not quite"
                lines.append(Verdict(right, f"{n}. {verdict}: {radio.value}", q.why))
        score = sum(self.marks)
        ok = score == len(self.marks)
        self.result = Verdict(ok, f"{score} of {len(self.marks)} right."
                              + (" Well done." if ok else " Change the ❌ answers and check again."))
        if self._lesson:
            checks.record(self._lesson, self._name, ok)
        # The score first: it is what a screen reader announces before the details.
        show_in(self.output, self.result, *lines)
