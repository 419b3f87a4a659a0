"""Build the installable extension: ``dist/nnviz-<version>.zip``.

Blender wants ``blender_manifest.toml`` beside the add-on's ``__init__.py``; this repository keeps
the manifest at the top, the package in ``nnviz_addon/`` and the presets in ``presets/``. So the
files are staged into a temporary folder in the shape Blender wants (presets inside the package,
where ``config.find_presets()`` looks first), then Blender's own extension tool validates it and
builds the zip. That tool (``blender_ext.py``, what ``blender --command extension`` runs) ships in
the bpy wheel and needs only the standard library, so no Blender executable is needed.

    python tools/build_extension.py [--output-dir dist] [--blender-ext PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
PACKAGE = ROOT / "nnviz_addon"
PRESETS = ROOT / "presets"
# Never shipped: caches, and tests should any appear inside the package.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "tests", "test_*.py", ".*")


def find_blender_ext() -> Path:
    """``blender_ext.py`` inside the installed bpy wheel (``bpy/<version>/scripts/addons_core/…``)."""
    spec = importlib.util.find_spec("bpy")  # locates the module without starting Blender
    if spec is None or spec.origin is None:
        raise FileNotFoundError("no bpy module here; pass --blender-ext PATH/blender_ext.py")
    found = sorted(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise FileNotFoundError(f"no blender_ext.py under {Path(spec.origin).parent}")
    return found[-1]


def valid_tags_file(blender_ext: Path) -> Path:
    """The tag list Blender itself validates against (``blender --command extension`` passes it too)."""
    scripts = blender_ext.parents[3]
    return scripts / "modules" / "_bpy_internal" / "extensions" / "tags.py"


def stage(destination: Path) -> Path:
    """Copy manifest, package and presets into ``destination`` in the layout Blender expects."""
    shutil.copytree(PACKAGE, destination, ignore=IGNORED)
    shutil.copy2(MANIFEST, destination / MANIFEST.name)
    shutil.copytree(PRESETS, destination / "presets", ignore=IGNORED, dirs_exist_ok=True)
    return destination


def run_blender_ext(blender_ext: Path, *args: str) -> None:
    command = [sys.executable, str(blender_ext), *args, "--valid-tags", str(valid_tags_file(blender_ext))]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:1])} failed:\n{result.stdout}{result.stderr}")


def build(output_dir: Path, blender_ext: Path | None = None) -> Path:
    """Validate and build the extension zip; returns its path."""
    blender_ext = blender_ext or find_blender_ext()
    with open(MANIFEST, "rb") as handle:
        manifest = tomllib.load(handle)
    output = output_dir.resolve() / f"{manifest['id']}-{manifest['version']}.zip"
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nnviz-build-") as temp:
        source = stage(Path(temp) / "nnviz")
        run_blender_ext(blender_ext, "validate", str(source))
        run_blender_ext(blender_ext, "build", "--source-dir", str(source), "--output-filepath", str(output))
    run_blender_ext(blender_ext, "validate", str(output))
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--blender-ext", type=Path, help="blender_ext.py to use (default: the bpy wheel's)")
    args = parser.parse_args(argv)
    try:
        path = build(args.output_dir, args.blender_ext)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"build_extension: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
