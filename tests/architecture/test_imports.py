"""The package's imports, read from the code: data flows one way, so no module imports one of a later
stage and no import circle exists. Function-level and type-only imports count too: they are the
same dependency, only deferred."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nnviz_addon"

# The stages in the order the data flows; a module may import its own stage and earlier ones only.
# The catalog (the one list of names every stage reads) imports nothing and comes first.
STAGES = ["catalog", "engine", "datasets", "history", "preset", "training", "record", "picture", "scene", "api",
          "ui", "cli"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_modules(name: str, path: Path) -> set[str]:
    """The nnviz modules ``name`` imports anywhere in its text (``from . import x`` names the
    submodule ``x``; ``from .pkg import Name`` the package itself)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported_modules(name, path) for name, path in MODULES.items()}


def stage_of(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:  # the add-on's own __init__: register() imports the ui, after everything
        return len(STAGES)
    return STAGES.index(parts[1])


def test_every_module_belongs_to_a_stage():
    unknown = sorted(name for name in MODULES if "." in name and name.split(".")[1] not in STAGES)
    assert not unknown, f"add these to STAGES in their place in the data flow: {unknown}"


def test_no_module_imports_a_later_stage():
    upward = sorted(f"{name} -> {target}" for name, targets in GRAPH.items() for target in targets
                    if stage_of(target) > stage_of(name))
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_no_import_circle():
    circles, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target):], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_the_numpy_half_imports_without_bpy_or_torch():
    numpy_only = sorted(name for name in MODULES
                        if name.split(".")[1:2] and name.split(".")[1] not in ("scene", "ui"))
    # A module set to None in sys.modules fails to import, as if it were not installed.
    code = "import sys; sys.modules['bpy'] = None; sys.modules['torch'] = None\n" + "\n".join(
        f"import {module}" for module in numpy_only)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
