"""Mutation score of the code that guards secrets and files, each module against its own tests.

Usage: python tools/mutation.py [--max-children N] [--survivors] [keys scan profiles aws_ini profile_validation state files credential_report cis]

Each module is mutated by mutmut (3.8) in a copy of the project under mutants/<module>/ and
checked against its own unit test file only. Mutants that only change the words of a message
(a string literal holding prose) are set aside: the score counts logic mutants alone.
Needs `pip install mutmut==3.8.1` (not part of requirements.txt: the test suite does not use it).
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"
GOAL = 90.0

# module short name -> (source file, its unit test file, the functions measured: None for all)
MODULES: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "keys": ("labkit/keys.py", "tests/test_keys.py", None),
    "scan": ("labkit/scan.py", "tests/test_scan.py", None),
    "profiles": ("labkit/profiles.py", "tests/test_profiles.py", None),
    "aws_ini": ("labkit/aws_ini.py", "tests/test_profiles.py", None),
    "profile_validation": ("labkit/profile_validation.py", "tests/test_profiles.py", None),
    # Whose LABKIT_HOME the lab trusts. (The sandbox-state readers that recover from damaged
    # files are tested as attacks in tests/test_security.py, which is too slow to run per mutant.)
    "state": ("labkit/sandbox/state.py", "tests/test_state.py",
              ("prepare_home", "check_private", "_not_writable")),
    # The private writer and the bounded reader the sandbox's files (and everyone's) go through.
    "files": ("labkit/files.py", "tests/test_state.py", None),
    # The credential report's parsing and the CIS rules; not the tables' styling or the chart.
    "credential_report": ("labkit/credential_report.py", "tests/test_reports.py", (
        "as_utc", "frame_now", "_when", "_flag", "report_label", "typed_keys", "with_ages",
        "_report_text", "credential_report_frame",
    )),
    "cis": ("labkit/cis.py", "tests/test_reports.py", ("_slot_text", "findings")),
}

# Killed, as mutmut counts: a failing test (1), a pytest internal error (3), a type check (37),
# or a timeout (36, or the CPU limit's SIGXCPU: -24, 24, 152, 255), e.g. an endless loop.
KILLED = {1, 3, 37, 36, -24, 24, 152, 255}
NO_TESTS = {5, 33}
# Two words of prose side by side, outside markup: the text of a message, not a key or a pattern.
PROSE = re.compile(r"[A-Za-z']{2,}[,.;:!?)]? \(?[A-Za-z']{2,}")
MARKUP = re.compile(r"[<>=]")


@dataclass
class Score:
    """One module's mutants, sorted into message-only and logic ones."""

    module: str
    total: int = 0
    message_only: int = 0
    killed: int = 0
    survived: list[str] = field(default_factory=list)
    no_tests: list[str] = field(default_factory=list)

    @property
    def logic(self) -> int:
        return self.total - self.message_only

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.logic if self.logic else 100.0


def _is_prose(literal: str) -> bool:
    """Whether a Python string literal's text reads as words of a message."""
    text = literal.lstrip("rRbBuU")
    if text[:3] in ('"""', "'''"):
        return False
    inner = text[1:-1]
    return bool(PROSE.search(inner)) and not MARKUP.search(inner)


def _tokens(code: str) -> list[tuple[int, str]]:
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
        if tok.type in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        out.append((tok.type, tok.string))
    return out


def message_only(original: str, mutant: str) -> bool:
    """True when the mutant differs from the original only inside string literals of prose."""
    try:
        before, after = _tokens(original), _tokens(mutant)
    except (tokenize.TokenError, SyntaxError):
        return False
    if len(before) != len(after):
        return False
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    return bool(changed) and all(
        b[0] == a[0] == tokenize.STRING and _is_prose(b[1]) for b, a in changed
    )


# Tests left out of the mutation run: they drive the real AWS CLI (about 20 s each on 2 cores)
# to check compatibility, or run labkit as another OS user with Debian's own Python, which has no
# mutmut to import the mutants' trampolines from. Leaving tests out can only lower a score.
SLOW_TESTS = {
    "scan": [
        "tests/test_scan.py::test_unreadable_files_are_reported_and_change_the_exit_status",
    ],
    # Starts a sandbox server in mutmut's own process; when it exits, mutmut's runner reaps a
    # child it did not start and crashes (KeyError in mutmut 3.8.1's isolation runner).
    "credential_report": [
        "tests/test_reports.py::test_inventory_and_report_keys_on_a_lab_client",
    ],
    "cis": [
        "tests/test_reports.py::test_inventory_and_report_keys_on_a_lab_client",
    ],
    "profiles": [
        "tests/test_profiles.py::test_aws_cli_reads_the_profile",
        "tests/test_profiles.py::test_same_format_as_aws_configure_set",
    ],
}
# profiles.py's helpers are measured against the same test file, leaving out the same tests.
SLOW_TESTS["aws_ini"] = SLOW_TESTS["profile_validation"] = SLOW_TESTS["profiles"]


def _prepare(name: str, source: str, tests: str) -> Path:
    """A fresh copy of the project whose mutmut settings name one module and one test file."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "artifacts")
    for folder in ("labkit", "tests", "bench"):  # test_reports compares with bench's naive loop
        shutil.copytree(ROOT / folder, work / folder, ignore=ignore)
    shutil.copy2(ROOT / "conftest.py", work / "conftest.py")
    pyproject = (ROOT / "pyproject.toml").read_text()
    pyproject = re.sub(r"(?ms)^only_mutate = \[.*?\]", f'only_mutate = ["{source}"]', pyproject)
    pyproject = re.sub(
        r"(?ms)^pytest_add_cli_args_test_selection = \[.*?\]",
        f'pytest_add_cli_args_test_selection = ["{tests}"]',
        pyproject,
    )
    deselect = "".join(f', "--deselect", "{t}"' for t in SLOW_TESTS.get(name, []))
    pyproject = re.sub(
        r"(?m)^pytest_add_cli_args = \[(.*)\]$", rf"pytest_add_cli_args = [\1{deselect}]", pyproject
    )
    (work / "pyproject.toml").write_text(pyproject)
    return work


def _mutant_code(work: Path, source: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Each mutant's original and mutated function text, read with mutmut's own helpers."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import libcst as cst\n"
        "from mutmut.mutation.diff_apply import (read_functions_from_index, read_mutants_module,\n"
        "    read_original_function, read_mutant_function)\n"
        "path = Path(sys.argv[1]); out = {}\n"
        "module = None\n"
        "for name in json.load(sys.stdin):\n"
        "    f = read_functions_from_index(name, path)\n"
        "    if f is None:\n"
        "        module = module or read_mutants_module(path)\n"
        "        f = (read_original_function(module, name), read_mutant_function(module, name))\n"
        "    out[name] = [cst.Module([x]).code.strip() for x in f]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, source],
        cwd=work, input=json.dumps(names), capture_output=True, text=True, check=True,
    )
    return {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}


def measure(name: str, max_children: int, show: bool, run: bool = True) -> Score:
    """Run mutmut on one module against its own test file and sort its mutants."""
    source, tests, functions = MODULES[name]
    dotted = source.removesuffix(".py").replace("/", ".")
    patterns = [f"{dotted}.x_{f}__mutmut_*" for f in functions] if functions else []
    work = WORK / name
    log = work / "mutmut.log"
    if run:
        work = _prepare(name, source, tests)
        # Subprocesses the tests start (the sandbox server) import this unmutated copy.
        env = dict(os.environ, PYTHONPATH=str(work))
        with open(log, "w") as fh:
            subprocess.run(
                ["mutmut", "run", "--max-children", str(max_children), *patterns],
                cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False,
            )
    meta = work / "mutants" / (source + ".meta")
    if not meta.exists():
        raise SystemExit(f"mutmut did not finish for {name}; see {log}")
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    if patterns:
        exit_codes = {
            k: v for k, v in exit_codes.items() if any(fnmatch.fnmatch(k, p) for p in patterns)
        }
    code = _mutant_code(work, source, list(exit_codes))
    score = Score(name, total=len(exit_codes))
    for mutant, exit_code in exit_codes.items():
        if message_only(*code[mutant]):
            score.message_only += 1
        elif exit_code in KILLED:
            score.killed += 1
        elif exit_code in NO_TESTS:
            score.no_tests.append(mutant)
        else:
            score.survived.append(mutant)
    if show:
        for mutant in score.no_tests + score.survived:
            print(f"\n# {mutant}: {'no tests' if mutant in score.no_tests else 'survived'}")
            before, after = code[mutant]
            print("\n".join(difflib.unified_diff(
                before.splitlines(), after.splitlines(), source, source, lineterm="", n=1
            )))
    return score


def main(argv: list[str] | None = None) -> int:
    """Measure the chosen modules (all five by default) and print one line per module."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)} (default all)")
    parser.add_argument("--max-children", type=int, default=1,
                        help="parallel test processes (default 1; the machine may be shared)")
    parser.add_argument("--survivors", action="store_true",
                        help="print the diff of every surviving or untested logic mutant")
    parser.add_argument("--no-run", action="store_true",
                        help="report the last run's results again without running mutmut")
    args = parser.parse_args(argv)
    if shutil.which("mutmut") is None:
        print("mutmut is not installed. Install it with: pip install mutmut==3.8.1")
        return 2
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        print(f"Unknown module {unknown[0]!r}: choose from {', '.join(MODULES)}.")
        return 2
    scores = []
    for name in args.modules or list(MODULES):
        scores.append(measure(name, args.max_children, args.survivors, not args.no_run))
    print(f"\n{'module':<10} {'mutants':>7} {'message':>7} {'logic':>5} {'killed':>6} "
          f"{'survived':>8} {'no test':>7} {'score':>7}")
    for s in scores:
        print(f"{s.module:<10} {s.total:>7} {s.message_only:>7} {s.logic:>5} {s.killed:>6} "
              f"{len(s.survived):>8} {len(s.no_tests):>7} {s.percent:>6.1f}%")
    low = [s.module for s in scores if s.percent < GOAL]
    if low:
        print(f"Below the {GOAL:.0f}% goal: {', '.join(low)}. "
              "See the survivors with: python tools/mutation.py --survivors " + " ".join(low))
        return 1
    print(f"Every module kills at least {GOAL:.0f}% of its logic mutants.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
