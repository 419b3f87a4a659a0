"""MP4 rendering: settings per engine, atomic output, progress. Renders run in a subprocess: without
EGL, Workbench aborts the whole process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from nnviz_addon.preset.config import RenderConfig  # noqa: E402
from nnviz_addon.scene import render  # noqa: E402

pytestmark = pytest.mark.bpy
ROOT = Path(__file__).resolve().parents[2]

# Builds a 2-3-1 network over three records, two frames apart: frames 1..5.
SCENE = """
import json, sys
import numpy as np
import bpy
from nnviz_addon import scene
from nnviz_addon.preset.config import RenderConfig
from nnviz_addon.history import History, LayerSpec
from nnviz_addon.scene.render import render_mp4, render_png, configure_render

bpy.ops.wm.read_factory_settings(use_empty=True)
rng = np.random.default_rng(0)
params = {"0.weight": rng.normal(size=(3, 3, 2)), "0.bias": rng.normal(size=(3, 3)),
          "1.weight": rng.normal(size=(3, 1, 3)), "1.bias": rng.normal(size=(3, 1))}
history = History("render test", [LayerSpec("0", "Linear", 2, 3, "0.weight", "0.bias", "tanh"),
                                  LayerSpec("1", "Linear", 3, 1, "1.weight", "1.bias")],
                  steps=np.array([0, 5, 10]), loss=np.array([np.nan, 0.5, 0.25]), params=params,
                  grads={k: np.zeros_like(v) for k, v in params.items()})
config = RenderConfig(engine=sys.argv[2], resolution=(160, 90), samples=1, frames_per_record=2)
configure_render(bpy.context.scene, config)
scene.build(history, scene.SceneOptions.from_render_config(config))
out = sys.argv[1]
"""


def run_blender(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCENE + textwrap.dedent(script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def last_json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def read_back(path: Path) -> tuple[int, tuple[int, int]]:
    clip = bpy.data.movieclips.load(str(path))
    try:
        return clip.frame_duration, tuple(clip.size)
    finally:
        bpy.data.movieclips.remove(clip)


def test_engine_ids():
    assert render.engine_id("workbench") == "BLENDER_WORKBENCH"
    assert render.engine_id("cycles") == "CYCLES"
    expected = "BLENDER_EEVEE" if bpy.app.version >= (5, 0) else "BLENDER_EEVEE_NEXT"
    assert render.engine_id("eevee") == expected
    with pytest.raises(ValueError, match=r"'povray'.*workbench, eevee, cycles"):
        render.engine_id("povray")


@pytest.mark.usefixtures("empty_blend")
def test_configure_render_sets_the_scene():
    scene = bpy.context.scene
    render.configure_render(scene, RenderConfig(engine="eevee", resolution=(640, 360), fps=12, samples=4))
    assert scene.render.engine == render.engine_id("eevee")
    assert (scene.render.resolution_x, scene.render.resolution_y, scene.render.fps) == (640, 360, 12)
    assert scene.eevee.taa_render_samples == 4
    assert scene.render.image_settings.file_format == "FFMPEG"
    assert (scene.render.ffmpeg.format, scene.render.ffmpeg.codec) == ("MPEG4", "H264")
    render.configure_render(scene, RenderConfig(engine="cycles", samples=3))
    assert scene.render.engine == "CYCLES" and scene.cycles.samples == 3
    with pytest.raises(ValueError, match=r"161x90.*even"):
        render.configure_render(scene, RenderConfig(resolution=(161, 90)))
    with pytest.raises(ValueError, match="'povray'"):
        render.configure_render(scene, RenderConfig(engine="povray"))


@pytest.mark.usefixtures("empty_blend")
@pytest.mark.parametrize("engine", ["eevee", "cycles"])
def test_a_draft_uses_fxaa_and_few_samples_and_final_puts_them_back(engine):
    scene = bpy.context.scene

    def settings(**config) -> tuple[str, str, int]:
        render.configure_render(scene, RenderConfig(engine=engine, **config))
        samples = scene.cycles.samples if engine == "cycles" else scene.eevee.taa_render_samples
        return scene.display.render_aa, scene.display.viewport_aa, samples

    assert settings(samples=16, quality="draft") == ("FXAA", "FXAA", render.DRAFT_SAMPLES)
    assert settings(samples=16, quality="final")[::2] == ("8", 16)
    assert settings(samples=2, quality="draft")[2] == 2  # a draft never asks for more than the preset


def test_check_output(tmp_path):
    assert render.check_output(tmp_path / "a.mp4") == tmp_path / "a.mp4"
    with pytest.raises(FileNotFoundError, match=r"missing.*does not exist"):
        render.check_output(tmp_path / "missing" / "a.mp4")
    with pytest.raises(ValueError, match=r"a\.avi: must end in \.mp4"):
        render.check_output(tmp_path / "a.avi")
    assert render.check_output(tmp_path / "a.PNG", ".png") == tmp_path / "a.PNG"
    with pytest.raises(ValueError, match=r"a\.mp4: must end in \.png"):
        render.check_output(tmp_path / "a.mp4", ".png")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["workbench", "eevee", "cycles"])
def test_render_mp4(rendered_run, engine):
    run = rendered_run(engine)  # render_mp4 through train.py: this engine's one full render
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    progress = [line for line in run.result.stdout.splitlines() if line.startswith("nnviz: frame")]
    # after each frame written, with the time spent and left
    assert [line.split("  ")[0] for line in progress] == [f"nnviz: frame {n}/5" for n in range(1, 6)]
    assert read_back(run.video) == (5, (160, 90))  # records at steps 0, 4, 8, 12, 16
    assert sorted(p.name for p in run.video.parent.iterdir()) == ["xor.mp4"]  # no partial file left


@pytest.mark.slow
def test_failed_render_keeps_the_previous_file(tmp_path):
    out = tmp_path / "run.mp4"
    out.write_bytes(b"the previous good video")
    result = run_blender("""
        def stop(done, total):
            if done == 3:
                raise KeyboardInterrupt
        try:
            render_mp4(out, config, progress=stop)
        except KeyboardInterrupt:
            print(json.dumps({"interrupted": True, "frames": [bpy.context.scene.frame_start,
                                                              bpy.context.scene.frame_end]}))
    """, str(out), "workbench")
    assert last_json(result) == {"interrupted": True, "frames": [1, 5]}
    assert out.read_bytes() == b"the previous good video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.mp4"]


@pytest.mark.slow
def test_frame_range_and_no_file_on_bad_range(tmp_path):
    out = tmp_path / "part.mp4"
    result = run_blender("""
        path = render_mp4(out, config, frame_start=2, frame_end=4)
        filepath = bpy.context.scene.render.filepath
        try:
            render_mp4(sys.argv[1] + ".bad.mp4", config, frame_start=4, frame_end=2)
        except ValueError as error:
            print(json.dumps({"error": str(error), "path": str(path), "filepath": filepath}))
    """, str(out), "workbench")
    report = last_json(result)
    assert "4..2" in report["error"]
    assert report["path"] == report["filepath"] == str(out)  # a .blend saved now re-renders to the same file
    assert read_back(out) == (3, (160, 90))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.mp4"]


def image_pixels(path: Path) -> np.ndarray:
    image = bpy.data.images.load(str(path))
    try:
        width, height = image.size
        pixels = np.empty(width * height * image.channels, dtype=np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(height, width, image.channels)
    finally:
        bpy.data.images.remove(image)


@pytest.mark.slow
def test_render_png_renders_one_frame_and_keeps_the_video_settings(tmp_path):
    first, last = tmp_path / "first.png", tmp_path / "last.png"
    result = run_blender("""
        scene = bpy.context.scene
        scene.frame_set(2)

        def output_settings():  # every setting of the video file a saved .blend would render
            return {f"{struct.bl_rna.identifier}.{p.identifier}": getattr(struct, p.identifier)
                    for struct in (scene.render.image_settings, scene.render.ffmpeg)
                    for p in struct.bl_rna.properties if p.type in {"ENUM", "INT", "FLOAT", "BOOLEAN"}}

        before = scene.render.filepath, output_settings()
        render_png(sys.argv[1].replace("first", "last"))  # default: the last frame
        render_png(out, config, frame=1)
        outside = None
        try:
            render_png(out.replace("first", "outside"), frame=6)
        except ValueError as error:
            outside = str(error)
        changed = sorted(k for k, v in output_settings().items() if before[1][k] != v)
        print(json.dumps({"changed": changed, "frame": scene.frame_current,
                          "same path": scene.render.filepath == before[0], "outside": outside}))
    """, str(first), "workbench")
    assert last_json(result) == {"changed": [], "frame": 2, "same path": True,
                                 "outside": "frame 6 is outside the scene's frames 1..5"}
    first_pixels, last_pixels = image_pixels(first), image_pixels(last)
    assert first_pixels.shape[:2] == (90, 160)
    assert np.abs(first_pixels - last_pixels).max() > 0.1  # the weights changed between frames 1 and 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "last.png"]  # no partial file
