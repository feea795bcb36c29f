"""`python -m labkit ...`: the sandbox, shell settings, the secrets scanner, class progress."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    from labkit import classview, progress, scan, start_over

    p = argparse.ArgumentParser(prog="python -m labkit", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sb = sub.add_parser("sandbox", help="start, stop, reset or check your sandbox AWS account",
                        description="Your sandbox: a private, simulated AWS account.")
    actions = sb.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
            ("start", "start your sandbox (nothing happens if it is running)"),
            ("stop", "stop your sandbox (its account is lost; your keys' files stay)"),
            ("reset", "a fresh, empty account; your console identity stays the same"),
            ("status", "is it running, where, and what time is it there")):
        actions.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".")
    serve = actions.add_parser("serve", description="Run the sandbox server in this process "
                               "(labkit starts it this way; you never need to).")
    serve.add_argument("--home", type=Path, help="the LABKIT_HOME whose sandbox this is")
    advance = actions.add_parser(
        "advance", help="move the sandbox's clock forward (20m, 2h, 91d)",
        description="Move the sandbox's simulated clock forward, so keys age and temporary "
                    "credentials expire.")
    advance.add_argument("duration", nargs="*", metavar="DURATION",
                         help="how far: 20m, 2h, 91d or 1d2h (1d 2h means the same)")

    sub.add_parser("env", help="print `export` lines that point a shell at your sandbox; "
                               'use as: eval "$(python -m labkit env)"',
                   description='Print `export` lines for your sandbox: eval "$(python -m labkit '
                               'env)". They hold no credentials.')
    for module, text in ((scan, "look for access keys and secrets in files"),
                         (progress, "a class table of lesson checkpoints"),
                         (classview, "the instructor's live class view (a JupyterHub service)"),
                         (start_over, "a new class: your sandbox, progress and lab files reset")):
        name = module.__name__.rpartition(".")[2].replace("_", "-")
        command = sub.add_parser(name, help=text,
                                 description=module.DESCRIPTION)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    sn = sub.add_parser("scenario", help="seed the sandbox with an example account",
                        description="Seed the sandbox with an example account to audit.")
    sn.add_argument("name", choices=["company"])
    return p


def _fail(message: str) -> int:
    print(f"labkit: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status (argparse exits with 2 on a usage error)."""
    parser = _parser()
    args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if extra:
        if getattr(args, "action", None) != "advance":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        # A DURATION may look like an option (-5m): _advance refuses it in plain words.
        args.duration = [*args.duration, *extra]
    if "run" in args:  # scan and progress: their modules run them
        return args.run(args)
    advance = args.command == "sandbox" and args.action == "advance"
    if advance and not _duration_ok(args.duration):
        return 2
    if args.command == "sandbox" and args.action == "serve":
        from labkit.sandbox.server import serve

        return serve(args.home)

    from labkit import sandbox
    from labkit.session import connect
    from labkit.settings import LabError, settings

    try:
        if args.command == "sandbox" and not advance:
            return _sandbox(args.action, settings().home)
        lab = connect()
        if lab.message:
            print(lab.message, file=sys.stderr)
        if advance:
            lab.advance_clock(" ".join(args.duration))  # `advance 1d 2h` means 1d2h
            print(f"Sandbox time is now {_clock_time(lab)}.")
            return 0
        if args.command == "env":
            if not lab.simulated:
                return _fail("`env` is for the sandbox; with real AWS use your own profile.")
            for name, value in lab.shell_exports().items():
                print(f"export {name}={shlex.quote(value)}")
            print("# Your sandbox's profiles: [default] (the console admin until you run "
                  "`aws configure`) and [console].")
            return 0
        if args.command == "scenario":
            from labkit.scenario import company

            made = company(lab)
            print(made)
            return 0
    except (LabError, sandbox.SandboxError) as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - an AWS error in plain words, not a traceback
        from labkit.errors import explain

        why = explain(exc)
        return _fail(f"{why.meaning} {why.what_to_do}")
    return 2


def _sandbox(action: str, home: Path) -> int:
    from labkit import sandbox
    from labkit.session import connect

    if action == "stop":
        print("Sandbox stopped." if sandbox.stop(home) else "No sandbox was running.")
        return 0
    if action == "status":
        info = sandbox.status(home)
        if info is None:
            print("No sandbox is running. Any labkit call (or `python -m labkit sandbox start`) "
                  "starts one.")
            return 3
        for k, v in info.items():
            print(f"{k}: {v}")
        print(f"time: {_sandbox_time()}")
        return 0
    lab = connect()
    if action == "reset":
        sandbox.reset(lab.sandbox)
        print("Sandbox reset: a fresh, empty account (your console identity is the same), its "
              "clock back at real time.")
        from labkit.lab_profiles import remove_profiles_of

        for line in remove_profiles_of(lab):  # the CLI files must not point at deleted keys
            if not line.startswith("No profile"):
                print(line)
        return 0
    took = lab.sandbox.started_in
    print(f"Sandbox ready at {lab.endpoint_url}" + (f" (started in {took:.2f} s)" if took else
                                                    " (already running)"))
    return 0


def _describe_time(now: datetime, offset_s: float) -> str:
    """One line: the sandbox's time (the host's calendar) and how much time it simulated."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if offset_s <= 0:
        return f"{stamp} (real time)"
    return f"{stamp} (simulated: {_span(offset_s)} have passed in the sandbox)"


def _span(seconds: float) -> str:
    left, parts = int(seconds), []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return ", ".join(parts) or "0 seconds"


def _sandbox_time() -> str:
    from labkit.session import connect
    from labkit.settings import LabError

    try:
        lab = connect()
        if lab.sandbox is None or "clock" not in lab.sandbox.fixes:
            return f"{_describe_time(lab.now(), 0)}; this server has no clock of its own"
        return _clock_time(lab)
    except (LabError, RuntimeError) as exc:
        return f"unknown ({exc})"


def _clock_time(lab: Any) -> str:
    """The sandbox's clock, asked of the sandbox, in words."""
    got = lab.sandbox.admin("GET", "clock")
    return _describe_time(datetime.fromisoformat(got["now"]), float(got["offset_s"]))


def _duration_ok(words: list[str]) -> bool:
    """Whether `sandbox advance` was given a duration; if not, say why, before starting anything
    (nothing changes)."""
    from labkit.sandbox.clock import DurationError, parse_duration

    if not words:
        print("usage: python -m labkit sandbox advance DURATION   (for example 20m, 2h, 91d, "
              "1d2h)", file=sys.stderr)
        return False
    try:
        parse_duration(" ".join(words))
    except DurationError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
