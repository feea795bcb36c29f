"""What the sandbox's fixes need from moto: a moto upgrade that removes or renames one fails here,
naming the fix, instead of silently breaking it (labkit/sandbox/moto_adapter.py lists them)."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from labkit.sandbox import moto_adapter

SANDBOX = Path(__file__).resolve().parent.parent / "labkit" / "sandbox"


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize("name", sorted(moto_adapter.RELIES_ON))
def test_moto_still_has_what_a_fix_relies_on(name: str) -> None:
    try:
        _resolve(name)
    except (AttributeError, ModuleNotFoundError) as exc:
        pytest.fail(f"moto no longer has {name}, which the sandbox needs for "
                    f"{moto_adapter.RELIES_ON[name]!r}: {exc}")


@pytest.mark.parametrize("cls, attributes", [
    ("moto.iam.access_control.IAMRequestBase", moto_adapter.REQUEST_ATTRIBUTES),
    ("moto.iam.access_control.IAMUserAccessKey", moto_adapter.USER_KEY_ATTRIBUTES),
])
def test_moto_requests_still_set_what_the_adapter_reads(cls: str, attributes: tuple) -> None:
    source = inspect.getsource(_resolve(cls).__init__)  # type: ignore[attr-defined]
    for attribute in attributes:
        assert re.search(rf"self\.{attribute}\s*=", source), \
            f"{cls}.__init__ no longer sets {attribute}: update labkit/sandbox/moto_adapter.py"


def test_backend_dict_builds_the_registered_class() -> None:
    from moto.core.base_backend import BackendDict
    from moto.iam.models import IAMBackend, iam_backends

    class Marked(IAMBackend):
        pass

    backends = BackendDict(IAMBackend, "iam", use_boto3_regions=False,
                           additional_regions=iam_backends._additional_regions)
    backends.backend = Marked  # what aws_iam.register() does to moto's iam_backends
    assert type(backends["123456789012"]["aws"]) is Marked


def test_only_the_adapter_reads_private_moto_attributes() -> None:
    """Outside moto_adapter.py, labkit/sandbox/ names no `_private` attribute of a moto object
    (its own helpers and subclass hooks it overrides are listed here, each with its reason)."""
    allowed = {
        "_get_param", "_get_int_param",  # BaseResponse's documented way to read parameters
        "_serialize_error_metadata", "_serialize_type_timestamp",  # serializer hooks overridden
        "_init_aws_policies",  # IAMBackend hook overridden in SandboxIAMBackend
        "_labkit_clock",  # clock.install: the name moto's swapped utcnow reads
    }
    own: set[str] = set()  # labkit's own private names (functions, classes, attributes)
    for path in SANDBOX.parent.rglob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                own.add(n.name)
            elif isinstance(n, (ast.Assign, ast.AnnAssign)):
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                    if isinstance(t, ast.Name):
                        own.add(t.id)
                    elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) \
                            and t.value.id == "self":
                        own.add(t.attr)
    found: dict[str, set[str]] = {}
    for path in SANDBOX.rglob("*.py"):
        if path.name == "moto_adapter.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and node.attr not in own \
                    and node.attr not in allowed:
                found.setdefault(path.name, set()).add(node.attr)
    assert found == {}, f"private moto attributes outside moto_adapter.py: {found}"
