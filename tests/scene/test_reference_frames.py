"""Rendered frames stay pixel-identical to the reference frames (rendered from the code before the
package was re-laid; regenerate with ``tools/render_reference_frames.py`` when a change is meant to
alter the picture). Workbench output differs between Blender lines, so the references are 5.0's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = [pytest.mark.bpy, pytest.mark.slow,
              pytest.mark.skipif(bpy.app.version[:2] != (5, 0), reason="references are Blender 5.0's frames")]

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "data" / "reference_frames"
sys.path.insert(0, str(ROOT / "tools"))
from render_reference_frames import CASES, file_name  # noqa: E402

from tests.support.pixels import png_pixels  # noqa: E402


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One subprocess renders every case: Workbench aborts the whole process without EGL.
    folder = tmp_path_factory.mktemp("frames")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "render_reference_frames.py"), str(folder)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize("case", CASES)
def test_frame_is_pixel_identical_to_its_reference(rendered: Path, case: str):
    ours, reference = png_pixels(rendered / file_name(case)), png_pixels(REFERENCES / file_name(case))
    assert ours.shape == reference.shape
    difference = np.abs(ours - reference)
    changed = difference.max(axis=-1) > 0
    assert not changed.any(), f"{case}: {changed.mean():.2%} of pixels differ (largest {difference.max()})"
