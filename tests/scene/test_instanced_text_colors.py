"""With the instanced writer Workbench shows colour attributes; the loss curves and the coloured
labels (curves and text, which have none) keep their colours in the rendered frame."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# argv: worktree, PNG. For each curve and each coloured text object, the colour it should show and
# the rendered pixel (near each point of a curve, in a text's box) closest to it, in sRGB.
RENDER = textwrap.dedent("""
    import json, sys
    import bpy, numpy as np
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector
    sys.path.insert(0, sys.argv[1])
    from nnviz_addon import api, scene
    from nnviz_addon.picture import colormap
    from nnviz_addon.preset.config import RenderConfig
    from nnviz_addon.scene import SceneOptions
    bpy.ops.wm.read_factory_settings(use_empty=True)
    history = api.train("iris", steps=60)  # a test split: the training and the test loss curves
    api.animate(history, options=SceneOptions(cubes="instanced"),
                render=RenderConfig(resolution=(960, 540)))
    s = bpy.context.scene
    api.render_still(sys.argv[2])  # the last frame: both curves fully grown
    s.frame_set(s.frame_end)
    image = bpy.data.images.load(sys.argv[2])
    w, h = image.size
    srgb = np.array(image.pixels[:]).reshape(h, w, 4)[..., :3]

    def closest(expected, points):
        best = 9.0
        for point in points:
            p = world_to_camera_view(s, s.camera, Vector(point))
            x, y = int(p.x * w), int(p.y * h)
            patch = srgb[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].reshape(-1, 3)
            best = min(best, float(np.abs(patch - expected).max(axis=1).min()))
        return best

    rows = []
    for obj in bpy.data.objects:
        grey = max(obj.color[:3]) - min(obj.color[:3]) < 0.1
        if obj.type not in ("CURVE", "FONT") or (obj.type == "FONT" and grey):
            continue  # grey labels: too thin to tell from their antialiased edges
        expected = colormap.linear_to_srgb(np.array(obj.color[:3]))
        if obj.type == "CURVE":
            points = [obj.matrix_world @ Vector(p.co[:3]) for p in obj.data.splines[0].points][1:-1]
        else:
            corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
            low, high = np.min(corners, axis=0), np.max(corners, axis=0)
            points = [low + (high - low) * np.array([fx, 0.5, fz]) for fx in np.linspace(0, 1, 12)
                      for fz in np.linspace(0, 1, 6)]
        rows.append((obj.name, expected.tolist(), closest(expected, points)))
    print("RESULT" + json.dumps(rows))
""")


@pytest.mark.bpy
@pytest.mark.slow
def test_loss_curves_and_coloured_labels_keep_their_colours_in_workbench(tmp_path):
    done = subprocess.run([sys.executable, "-c", RENDER, str(ROOT), str(tmp_path / "frame.png")],
                          capture_output=True, text=True, timeout=600)
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and result, done.stdout[-2000:] + done.stderr[-2000:]
    rows = {name: (expected, off) for name, expected, off in json.loads(result[0][len("RESULT"):])}
    curves = {name: expected for name, (expected, _) in rows.items() if name.endswith("· curve")}
    assert len(curves) == 2 and len({tuple(c) for c in curves.values()}) == 2  # training and test differ
    assert any("key" in name for name in rows), sorted(rows)
    for name, (_, off) in rows.items():  # thin glyphs are antialiased all over: some slack for text
        allowed = 3 / 255 if name in curves else 12 / 255
        assert off < allowed, f"{name}: no pixel within {off * 255:.0f}/255 of its colour"
