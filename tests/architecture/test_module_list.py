"""docs/ARCHITECTURE.md lists every module of the package, one line each, in data-flow order, and
nothing that is not there (so the page stays true as the tree changes)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nnviz_addon"
PAGE = ROOT / "docs" / "ARCHITECTURE.md"
LISTED = re.compile(r"^- `([\w/]+\.py)` — \S", re.MULTILINE)


def stages() -> list[str]:
    """The stage order the import test enforces (read from it, so the two never disagree)."""
    spec = importlib.util.spec_from_file_location("test_imports", Path(__file__).with_name("test_imports.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STAGES


def listed() -> list[str]:
    return LISTED.findall(PAGE.read_text(encoding="utf-8"))


def test_every_module_is_listed_once_and_every_listed_one_exists():
    modules = {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")}
    names = listed()
    assert len(names) == len(set(names)), "listed twice: " + ", ".join(n for n in set(names) if names.count(n) > 1)
    assert not sorted(modules - set(names)), f"add to docs/ARCHITECTURE.md: {sorted(modules - set(names))}"
    assert not sorted(set(names) - modules), f"no such module: {sorted(set(names) - modules)}"


def test_modules_are_listed_in_data_flow_order():
    order = stages()
    # the add-on's own __init__ registers the ui, so it comes after every stage
    rank = [len(order) if name == "__init__.py" else order.index(name.split("/")[0].removesuffix(".py"))
            for name in listed()]
    assert rank == sorted(rank), "out of data-flow order: " + ", ".join(
        name for name, r, previous in zip(listed()[1:], rank[1:], rank, strict=False) if r < previous)
