"""The README's API example in a fresh Blender (whose factory scene has the default Cube, Camera and
Light) renders only nnviz's picture: the user's objects are taken out of the render, not deleted,
and come back when nnviz's scene is cleared."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# argv: worktree, a scratch folder. Prints the pixels' largest difference between the frame with the
# default Cube left in the scene and the same frame with it deleted, and the Cube's state after.
API_EXAMPLE = textwrap.dedent("""
    import json, sys
    import bpy, numpy as np
    sys.path.insert(0, sys.argv[1])
    from nnviz_addon import api, scene
    from nnviz_addon.preset.config import RenderConfig
    bpy.ops.wm.read_factory_settings()  # not empty: the default Cube, Camera and Light
    assert "Cube" in bpy.data.objects
    history = api.train("xor", steps=20)
    api.animate(history, render=RenderConfig(resolution=(320, 180)))
    with_cube = api.render_still(sys.argv[2] + "/with_cube.png")
    cube_hidden = bpy.data.objects["Cube"].hide_render
    def pixels(path):
        image = bpy.data.images.load(str(path))
        values = np.array(image.pixels[:])
        bpy.data.images.remove(image)
        return values
    first = pixels(with_cube)
    scene.clear()
    shown_after_clear = not bpy.data.objects["Cube"].hide_render
    bpy.data.objects.remove(bpy.data.objects["Cube"])
    api.animate(history, render=RenderConfig(resolution=(320, 180)))
    second = pixels(api.render_still(sys.argv[2] + "/without_cube.png"))
    print("RESULT" + json.dumps({"difference": float(np.abs(first - second).max()), "hidden": cube_hidden,
                                 "shown_after_clear": shown_after_clear}))
""")


@pytest.mark.bpy
@pytest.mark.slow
def test_the_api_example_renders_no_default_cube(tmp_path):
    done = subprocess.run([sys.executable, "-c", API_EXAMPLE, str(ROOT), str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and result, done.stdout[-2000:] + done.stderr[-2000:]
    found = json.loads(result[0][len("RESULT"):])
    assert found["hidden"] and found["shown_after_clear"]
    assert found["difference"] == 0.0  # the frame is the one a scene without the Cube renders
