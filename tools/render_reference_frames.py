"""Render the small reference frames that guard the picture against unintended change:
``python tools/render_reference_frames.py OUTDIR [CASE ...]``.

Each case is ``preset:style:cubes:at`` — a shipped preset trained with its own settings, animated as
``train.py`` would, and the frame ``at`` of the way through rendered with Workbench at 320×180 into
``OUTDIR/<preset>_<style>_<cubes>_<at>.png``. ``tests/scene/test_reference_frames.py`` renders them
again and compares pixel for pixel with ``tests/data/reference_frames``; when a change is meant to
alter the picture, run this script into that folder, look at the new frames, and commit them.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("rgb_perceptron:diagram:auto:1", "xor:diagram:auto:0.5", "digits:diagram:instanced:1",
         "digits_cnn:diagram:auto:1", "iris:diagram:auto:1", "overfit:diagram:auto:1",
         "spiral:film:auto:0.6", "digits:film:instanced:0.3")
SIZE = (320, 180)


def file_name(case: str) -> str:
    return case.replace(":", "_") + ".png"


def render_case(case: str, folder: Path) -> Path:
    """Train, animate and render one case into ``folder`` (in this process; needs bpy)."""
    import bpy

    from nnviz_addon import api

    preset, style, cubes, at = case.split(":")
    history = api.train(str(ROOT / "presets" / f"{preset}.toml"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    render = dataclasses.replace(api.render_config_of(history), engine="workbench", resolution=SIZE, style=style,
                                 cubes=cubes)
    api.animate(history, render=render)
    scene = bpy.context.scene
    path = folder / file_name(case)
    api.render_still(path, frame=round(scene.frame_start + float(at) * (scene.frame_end - scene.frame_start)))
    return path


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    for case in argv[1:] or CASES:
        print(render_case(case, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
