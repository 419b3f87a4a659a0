"""The numpy half of nnviz imports with numpy alone: no bpy (Blender) and no torch at import time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NUMPY_ONLY = ["nnviz_addon", "nnviz_addon.engine", "nnviz_addon.engine.nn.functional", "nnviz_addon.engine.optim",
              "nnviz_addon.datasets", "nnviz_addon.config", "nnviz_addon.training", "nnviz_addon.probes",
              "nnviz_addon.history", "nnviz_addon.record", "nnviz_addon.api", "nnviz_addon.colormap",
              "nnviz_addon.layout", "nnviz_addon.view_layout", "nnviz_addon.magnitude", "nnviz_addon.picture"]
# Every picture plan: what a frame shows is computed without Blender.
NUMPY_ONLY += sorted(f"nnviz_addon.picture.{path.stem}" for path in (ROOT / "nnviz_addon" / "picture").glob("*.py")
                     if path.stem != "__init__")


def test_imports_without_bpy_or_torch():
    # Setting a module to None in sys.modules makes importing it fail, as if it were not installed.
    code = "import sys; sys.modules['bpy'] = None; sys.modules['torch'] = None\n" + "\n".join(
        f"import {module}" for module in NUMPY_ONLY)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
