"""The installable extension: built by Blender's own tool, installed from the zip, used, removed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_extension  # noqa: E402

pytestmark = [
    pytest.mark.bpy,
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs the bpy wheel"),
]


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    return build_extension.build(tmp_path_factory.mktemp("dist"))


def test_the_zip_is_named_by_the_manifest_and_holds_what_the_addon_needs(extension_zip):
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    assert extension_zip.name == f"nnviz-{manifest['version']}.zip"
    names = set(zipfile.ZipFile(extension_zip).namelist())
    # The add-on's __init__.py beside the manifest, the presets where config.find_presets looks first.
    assert {"blender_manifest.toml", "__init__.py", "ui/operators.py", "scene/__init__.py", "training/run.py",
            "datasets/digits.npz"} <= names
    shipped = {f"presets/{path.name}" for path in (ROOT / "presets").glob("*.toml")}
    assert shipped and shipped <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")
                or name.startswith("tests/") or "/test_" in name]


def test_a_broken_manifest_fails_the_build(tmp_path, monkeypatch):
    broken = tmp_path / "blender_manifest.toml"
    text = (ROOT / "blender_manifest.toml").read_text()
    broken.write_text(text.replace('tagline = "', 'tagline = "Far too long a tagline, it goes on and on. '))
    monkeypatch.setattr(build_extension, "MANIFEST", broken)
    with pytest.raises(RuntimeError, match="tagline"):
        build_extension.build(tmp_path / "dist")


INSTALL_AND_TRAIN = textwrap.dedent("""
    import sys

    import bpy
    import addon_utils  # on sys.path once bpy is imported

    zip_path, repo_dir = sys.argv[1:3]
    module = "bl_ext.nnviz_test.nnviz"
    prefs = bpy.context.preferences
    repo = prefs.extensions.repos.new(name="nnviz_test", module="nnviz_test", custom_directory=repo_dir,
                                      source='USER')
    try:
        # This operator says FINISHED even when it fails: addon_utils tells the truth.
        bpy.ops.extensions.package_install_files(filepath=zip_path, repo="nnviz_test", enable_on_install=True)
        print("ENABLED", addon_utils.check(module)[1], sys.modules[module].__file__)
        settings = bpy.context.scene.nnviz
        settings.preset = "xor"  # one of the presets inside the zip
        bpy.ops.nnviz.load_preset()
        settings.steps = 8
        print("TRAIN", bpy.ops.nnviz.train())
        print("CUBES", len([obj for obj in bpy.data.objects if "nnviz_param" in obj]))
    finally:
        # Unregister before exit: bpy 4.2 crashes and 4.5 hangs with operators still registered.
        addon_utils.disable(module)
        prefs.extensions.repos.remove(repo)
    print("REMOVED", hasattr(bpy.types.Scene, "nnviz"))
""")


@pytest.mark.slow
def test_install_from_the_zip_train_and_remove(extension_zip, tmp_path):
    repo_dir = tmp_path / "repo"
    result = subprocess.run([sys.executable, "-c", INSTALL_AND_TRAIN, str(extension_zip), str(repo_dir)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.split(" ")[0].isupper())
    assert lines["ENABLED"] == f"True {repo_dir / 'nnviz' / '__init__.py'}"
    assert lines["TRAIN"] == "{'FINISHED'}"
    assert lines["CUBES"] == "17"  # xor's 2-4-1 network: 8 + 4 + 4 + 1 parameters
    assert lines["REMOVED"] == "False"
