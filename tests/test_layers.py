"""labkit's layers: every module imports only its own layer and the layers below it.

The layers and their modules are drawn in docs/architecture.md ("Layers"); this test reads every
`labkit/**/*.py` with `ast` (imports at module level and inside functions alike) and fails on any
import that points up, naming the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labkit"

# Lowest first. A module may import modules of its own layer and of every layer below.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("labkit.keys", "labkit.files", "labkit.errors", "labkit.verdicts", "labkit.text",
             "labkit.lazy", "labkit.plain_json"),
    "sandbox": ("labkit.sandbox",),  # the package and everything in it
    "session": ("labkit.session", "labkit.guard", "labkit.profiles", "labkit.serverext"),
    "domain": ("labkit.iam", "labkit.answers", "labkit.credential_report", "labkit.cis",
               "labkit.trail", "labkit.scan", "labkit.leaks", "labkit.scenario", "labkit.checks",
               "labkit.keycheck", "labkit.classbook", "labkit.class_report"),
    "display": ("labkit.widgets", "labkit.reports"),
    "course": ("labkit.course", "labkit.checkpoints", "labkit.notebook", "labkit.progress",
               "labkit.classview", "labkit.start_over"),
    "entry": ("labkit", "labkit.__main__"),  # `import labkit` and `python -m labkit`
}
ORDER = list(LAYERS)


def module_name(path: Path, root: Path = ROOT) -> str:
    """`labkit/sandbox/server.py` -> `labkit.sandbox.server`; a package's `__init__` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    """Whether `name` is a module or package of labkit (not a name defined in one)."""
    path = ROOT / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def layer_of(module: str) -> str | None:
    """The layer a labkit module belongs to (the longest matching name wins)."""
    best: tuple[int, str] | None = None
    for layer, names in LAYERS.items():
        for name in names:
            if module == name or (name != "labkit" and module.startswith(name + ".")):
                if best is None or len(name) > best[0]:
                    best = (len(name), layer)
    return best[1] if best else None


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every labkit module `path` imports, anywhere in it, with its line: `(line, module)`."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from labkit import checks` imports the module labkit.checks, not just the package.
            for alias in node.names:
                if alias.name.startswith("_") and target != module:
                    # A private name belongs to its module: reaching in hides a dependency.
                    found.append((node.lineno, f"{target}:{alias.name}"))
                    continue
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else target))
    return [(line, name) for line, name in found if name == "labkit" or name.startswith("labkit.")]


def violations(paths: list[Path], root: Path = ROOT) -> list[str]:
    """One line per import of a higher layer (or of a module no layer names)."""
    out = []
    for path in paths:
        module = module_name(path, root)
        mine = layer_of(module)
        if mine is None:
            out.append(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
            continue
        for line, target in imports(path, root):
            theirs = layer_of(target.partition(":")[0])
            if ":" in target:
                out.append(f"{module} (line {line}) imports the private name {target}: make it "
                           "public (a name without _) where it is defined")
            elif theirs is None:
                out.append(f"{module} (line {line}) imports {target}, which is in no layer")
            elif ORDER.index(theirs) > ORDER.index(mine):
                out.append(f"{module} ({mine}, line {line}) imports {target} ({theirs}): "
                           f"a {mine} module may import only {', '.join(ORDER[:ORDER.index(mine) + 1])}")
    return out


def test_every_import_points_down() -> None:
    found = violations(sorted(PACKAGE.rglob("*.py")))
    assert not found, "imports that point up a layer:\n" + "\n".join(found)


def test_core_imports_no_other_layer() -> None:
    core = [p for p in PACKAGE.rglob("*.py") if layer_of(module_name(p)) == "core"]
    assert core
    for path in core:
        for line, target in imports(path):
            assert layer_of(target) == "core", f"{module_name(path)} line {line} imports {target}"


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    # A sandbox module that imports the session (the violation this layering removed).
    bad = tmp_path / "labkit" / "sandbox" / "_layer_probe.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def account():\n    from labkit.session import connect\n    return connect\n")
    found = violations([bad], root=tmp_path)
    assert found == ["labkit.sandbox._layer_probe (sandbox, line 2) imports labkit.session "
                     "(session): a sandbox module may import only core, sandbox"]


@pytest.mark.parametrize("module", ["labkit.sandbox.server", "labkit.keys", "labkit.widgets"])
def test_every_module_has_a_layer(module: str) -> None:
    assert layer_of(module) is not None


def test_architecture_doc_lists_every_layer_and_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for layer, names in LAYERS.items():
        assert f"| {layer} |" in doc, layer
        for name in names:
            if name != "labkit" and _is_module(name):
                assert f"`{name.removeprefix('labkit.')}`" in doc, name
