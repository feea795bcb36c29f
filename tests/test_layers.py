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
    "session": ("labkit.settings", "labkit.boto_session", "labkit.child_env", "labkit.lab_clock",
                "labkit.stock_moto_hooks", "labkit.sandbox_restart", "labkit.sandbox_cli_files",
                "labkit.lab", "labkit.session", "labkit.guard", "labkit.profiles",
                "labkit.aws_ini", "labkit.profile_validation",
                "labkit.serverext"),
    "domain": ("labkit.iam", "labkit.answers", "labkit.credential_report", "labkit.cis",
               "labkit.trail", "labkit.scan", "labkit.leaks", "labkit.scenario", "labkit.checks",
               "labkit.keycheck", "labkit.downloads", "labkit.lab_profiles", "labkit.readiness",
               "labkit.memory", "labkit.incident", "labkit.cli_config", "labkit.classbook",
               "labkit.class_report"),
    "display": ("labkit.widgets", "labkit.quiz", "labkit.reports", "labkit.terminal"),
    "course": ("labkit.course", "labkit.catchup", "labkit.checkpoints", "labkit.notebook",
               "labkit.progress", "labkit.outputs", "labkit.cli_steps", "labkit.classview",
               "labkit.start_over"),
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


# The one module that reads environment variables, and the modules allowed to change them.
ENV_READER = "labkit.settings"
ENV_WRITERS = {
    "labkit.child_env": "points `!aws` in a cell at the sandbox (connect() calls it)",
    "labkit.serverext": "names the Jupyter server as the sandbox's owner for its kernels",
}
_ENV_CHANGES = {"update", "pop", "setdefault", "clear", "popitem"}


def environment_uses(path: Path) -> list[tuple[int, str]]:
    """Every read (`"read"`) or change (`"write"`) of os.environ / os.getenv in `path`, by line."""
    tree = ast.parse(path.read_text(), str(path))
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    from_os = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module == "os" for a in node.names if a.name in ("environ", "getenv")}
    found = []
    for node in ast.walk(tree):
        is_env = (isinstance(node, ast.Attribute)
                  and node.attr in ("environ", "environb", "getenv")
                  and isinstance(node.value, ast.Name) and node.value.id == "os") or (
            isinstance(node, ast.Name) and node.id in from_os)
        if not is_env:
            continue
        up = parent.get(node)
        write = (isinstance(up, ast.Subscript) and isinstance(up.ctx, (ast.Store, ast.Del))) or (
            isinstance(up, ast.Attribute) and up.attr in _ENV_CHANGES)
        found.append((node.lineno, "write" if write else "read"))
    return sorted(found)


def environment_violations(paths: list[Path], root: Path = ROOT) -> list[str]:
    """One line per read of the environment outside ENV_READER, or change outside ENV_WRITERS."""
    out = []
    for path in paths:
        module = module_name(path, root)
        for line, use in environment_uses(path):
            if use == "read" and module != ENV_READER:
                out.append(f"{module} (line {line}) reads the environment: read it in "
                           f"{ENV_READER} (settings()) and pass the value in")
            elif use == "write" and module not in ENV_WRITERS and module != ENV_READER:
                out.append(f"{module} (line {line}) changes os.environ: only "
                           f"{', '.join(ENV_WRITERS)} may, each for a reason ENV_WRITERS says")
    return out


def test_only_settings_reads_the_environment() -> None:
    found = environment_violations(sorted(PACKAGE.rglob("*.py")))
    assert not found, "\n".join(found)


def test_the_check_catches_a_read_and_a_change_of_the_environment(tmp_path: Path) -> None:
    bad = tmp_path / "labkit" / "_env_probe.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import os\nfrom os import getenv as g\n\n\ndef home():\n"
                   "    os.environ['AWS_PROFILE'] = 'x'\n    return os.environ.get('HOME'), g('X')\n")
    assert environment_violations([bad], root=tmp_path) == [
        "labkit._env_probe (line 6) changes os.environ: only labkit.child_env, labkit.serverext "
        "may, each for a reason ENV_WRITERS says",
        "labkit._env_probe (line 7) reads the environment: read it in labkit.settings "
        "(settings()) and pass the value in",
        "labkit._env_probe (line 7) reads the environment: read it in labkit.settings "
        "(settings()) and pass the value in",
    ]


def import_graph(paths: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    """Each labkit module among `paths` -> the labkit modules it imports (anywhere in it)."""
    graph = {module_name(path, root): set() for path in paths}
    for path in paths:
        module = module_name(path, root)
        for _, target in imports(path, root):
            target = target.partition(":")[0]
            if target != module and target in graph:
                graph[module].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles in `graph`: each strongly connected group of two or more, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circle_between_labkit_modules() -> None:
    found = circles(import_graph(sorted(PACKAGE.rglob("*.py"))))
    assert not found, "modules that import each other (directly or round a circle): move what " \
        "both need into a module below them:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_check_catches_a_circle(tmp_path: Path) -> None:
    package = tmp_path / "labkit"
    package.mkdir()
    (package / "a.py").write_text("from labkit.b import two\n")
    (package / "b.py").write_text("def two():\n    from labkit.c import three\n")
    (package / "c.py").write_text("from labkit.a import *\n")
    (package / "d.py").write_text("from labkit import a\n")
    graph = import_graph(sorted(package.glob("*.py")), root=tmp_path)
    assert circles(graph) == [["labkit.a", "labkit.b", "labkit.c"]]
