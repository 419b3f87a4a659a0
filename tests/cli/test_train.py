"""train.py, the headless CLI, run as a user runs it: a subprocess of the venv's python."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnviz_addon.history import History

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "train.py"


def train(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TRAIN), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("nnviz")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nnviz: error: ")
    return lines[0]


def test_no_render_writes_history_and_metrics(tmp_path):
    result = train("--preset", "xor", "--steps", "12", "--seed", "2", "--no-render",
                   "--save-history", tmp_path / "run.npz", "--metrics", tmp_path / "metrics.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loss" in result.stdout and "step 12/12" in result.stdout
    history = History.load(tmp_path / "run.npz")
    assert history.steps.tolist() == [0, 4, 8, 12]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 12 and metrics["records"] == 4 and metrics["diverged"] is False
    assert metrics["final_loss"] == pytest.approx(history.loss[-1])
    assert metrics["accuracy"] == pytest.approx(history.metrics["accuracy"][-1])
    assert metrics["train_seconds"] >= 0 and "render_seconds" not in metrics


@pytest.mark.parametrize(("args", "message"), [
    (["--preset", "nope", "--no-render"], "no preset 'nope'"),
    (["--preset", "presets/missing.toml", "--no-render"], "no such preset file"),
    (["--preset", "xor", "--steps", "0", "--no-render"], "train.steps"),
    (["--preset", "xor", "--engine", "povray", "--no-render"], "render.engine"),
    (["--preset", "xor", "--resolution", "wide", "--no-render"], "WIDTHxHEIGHT"),
    (["--preset", "xor", "--steps", "ten", "--no-render"], "--steps"),
    (["--preset", "xor"], "--out"),
    (["--no-render"], "--preset"),
    (["--history", "missing.npz", "--out", "x.mp4"], "missing.npz: no such file"),
    (["--preset", str(ROOT / "presets"), "--no-render"], "presets: is a directory, not a preset file"),
    (["--preset", "xor", "--steps", "-1", "--no-render"], "train.steps must be at least 1, got -1"),
    (["--preset", "xor", "--resolution", "0x0", "--no-render"], "--resolution: 0x0: width and height must"),
    (["--preset", "xor", "--resolution", "161x90", "--no-render"], "--resolution: 161x90: H.264 video needs an even"),
    (["--preset", "xor", "--resolution", "70000x90", "--no-render"], "each be in 4..65536"),
    (["--preset", "xor", "--fps", "0", "--no-render"], "--fps: 0: frames per second must be in 1..32767"),
    (["--preset", "xor", "--fps", "40000", "--no-render"], "--fps: 40000: frames per second must be in 1..32767"),
    (["--preset", "xor", "--out", str(TRAIN / "x.mp4")], "x.mp4: cannot create its folder"),
    pytest.param(["--preset", "xor", "--out", "x.avi"], "must end in .mp4", marks=pytest.mark.bpy),
    pytest.param(["--preset", "xor", "--no-render", "--still", "x.jpg"], "must end in .png", marks=pytest.mark.bpy),
    (["--preset", "xor", "--no-render", "--still-frame", "3"], "--still-frame needs --still"),
    pytest.param(["--preset", "xor", "--steps", "4", "--out", "x.mp4", "--still", "x.png", "--still-frame", "99"],
                 "--still-frame 99: outside the run's frames 1..2", marks=pytest.mark.bpy),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message, request):
    if request.node.get_closest_marker("bpy"):
        pytest.importorskip("bpy")
    assert message in one_error_line(train(*args, cwd=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_without_bpy_rendering_asks_for_blender(tmp_path):
    if importlib.util.find_spec("bpy") is not None:
        pytest.skip("bpy is installed")
    assert "need Blender" in one_error_line(train("--preset", "xor", "--steps", "4", "--out", "x.mp4", cwd=tmp_path))


def test_divergence_saves_what_was_recorded_and_fails(tmp_path):
    preset = tmp_path / "wild.toml"
    text = (ROOT / "presets" / "rgb_perceptron.toml").read_text()
    preset.write_text(text.replace('output_activation = "sigmoid"', "").replace("lr = 4.0", "lr = 1e6"))
    video = ["--out", tmp_path / "run.mp4"] if importlib.util.find_spec("bpy") else ["--no-render"]
    result = train("--preset", preset, "--save-history", tmp_path / "run.npz", "--metrics", tmp_path / "m.json",
                   *video, cwd=tmp_path)
    assert "diverged at step" in one_error_line(result)
    assert History.load(tmp_path / "run.npz").records >= 1
    assert json.loads((tmp_path / "m.json").read_text())["diverged"] is True
    assert not (tmp_path / "run.mp4").exists()  # a diverged run is saved, not rendered


def frames_and_size(path: Path) -> tuple[int, tuple[int, int]]:
    bpy = pytest.importorskip("bpy")
    clip = bpy.data.movieclips.load(str(path))
    try:
        return clip.frame_duration, tuple(clip.size)
    finally:
        bpy.data.movieclips.remove(clip)


@pytest.mark.bpy
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["workbench", "eevee", "cycles"])
def test_renders_an_mp4(rendered_run, engine):
    bpy = pytest.importorskip("bpy")
    run = rendered_run(engine)  # --out, --history and --metrics of a 16-step xor run, shared with test_render
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    # Our progress, readable: not buried under Blender's line per frame (5.0: "Video append frame N"),
    # the frame count first, then the time spent and left after each frame; no EGL noise.
    framed = [line for line in run.result.stdout.splitlines() if "frame" in line.lower()]
    took = r"(\d+ h )?(\d+ min )?\d+ s"  # cli.progress.duration(): "42 s", "3 min 5 s", "1 h 2 min"
    assert re.match(rf"nnviz: rendering 5 frames at 160×90 \(\w+\): about {took} \(a trial frame took [\d.]+ s\)$",
                    framed[0]), run.result.stdout
    assert [line.split("  ")[0] for line in framed[1:]] == [f"nnviz: frame {n}/5" for n in range(1, 6)]
    assert all(re.search(rf"\({took} so far(, about {took} left)?\)$", line) for line in framed[1:]), framed
    assert "left" in framed[1] and "left" not in framed[-1]
    assert "EGL" not in run.result.stderr and "partial" not in run.result.stdout
    assert frames_and_size(run.video) == (5, (160, 90))  # records at steps 0, 4, 8, 12, 16
    assert sorted(p.name for p in run.folder.iterdir()) == ["m.json", "out", "run.npz"]
    assert json.loads((run.folder / "m.json").read_text())["render_seconds"] > 0

    # The saved run animates again without training, with the command line's overrides.
    again = run.folder / "again" / "last.png"
    result = train("--history", run.folder / "run.npz", "--resolution", "96x54", "--engine", engine,
                   "--no-render", "--still", again)
    assert result.returncode == 0, result.stderr[-3000:]
    # the still's messages name the real file, not the hidden one it is written to first; no EGL noise
    assert f"nnviz: wrote {again}" in result.stdout and "partial" not in result.stdout, result.stdout
    assert "EGL" not in result.stderr, result.stderr
    image = bpy.data.images.load(str(again))
    try:
        assert tuple(image.size) == (96, 54)
    finally:
        bpy.data.images.remove(image)


@pytest.mark.bpy
@pytest.mark.slow
def test_still_renders_one_png_without_the_video(tmp_path):
    bpy = pytest.importorskip("bpy")
    still = tmp_path / "pictures" / "xor.png"
    result = train("--preset", "xor", "--steps", "8", "--resolution", "96x54", "--no-render",
                   "--still", still, "--still-frame", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"wrote {still}" in result.stdout
    image = bpy.data.images.load(str(still))
    try:
        assert tuple(image.size) == (96, 54)
    finally:
        bpy.data.images.remove(image)
    assert sorted(p.name for p in still.parent.iterdir()) == ["xor.png"]


@pytest.mark.bpy
@pytest.mark.slow
def test_failed_render_leaves_no_file(tmp_path):
    pytest.importorskip("bpy")
    out = tmp_path / "xor.mp4"
    out.write_bytes(b"an earlier video")
    result = train("--preset", "xor", "--steps", "4", "--resolution", "161x90", "--out", out)
    assert "161x90" in one_error_line(result)
    assert out.read_bytes() == b"an earlier video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xor.mp4"]


RENDER_FRAMES = """
import sys
import bpy
import numpy as np
def render_frames(prefix):
    scene = bpy.context.scene
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "IMAGE"
    settings.file_format = "PNG"
    pixels = []
    for frame in (scene.frame_start, scene.frame_end):
        scene.frame_set(frame)
        scene.render.filepath = f"{prefix}-{frame}.png"
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(scene.render.filepath)
        pixels.append(np.array(image.pixels[:]).tolist())
    return pixels
"""


@pytest.mark.bpy
@pytest.mark.slow
def test_saved_blend_renders_the_same_without_nnviz(tmp_path):
    pytest.importorskip("bpy")
    blend = tmp_path / "xor.blend"
    # The original process: train.py's main() saves the .blend, then the same process renders frames.
    original = textwrap.dedent(f"""
        sys.path.insert(0, {str(ROOT)!r})
        import train, json
        code = train.main(["train.py", "--preset", "xor", "--steps", "8", "--resolution", "160x90",
                           "--no-render", "--save-blend", {str(blend)!r}])
        assert code == 0
        json.dump(render_frames({str(tmp_path / "original")!r}), open({str(tmp_path / "a.json")!r}, "w"))
    """)
    # A fresh interpreter, isolated (-I: no script directory, no PYTHONPATH), in a directory without nnviz.
    fresh = textwrap.dedent(f"""
        import importlib.util, json
        assert importlib.util.find_spec("nnviz_addon") is None
        bpy.ops.wm.open_mainfile(filepath={str(blend)!r})
        json.dump(render_frames({str(tmp_path / "fresh")!r}), open({str(tmp_path / "b.json")!r}, "w"))
    """)
    for script, cwd in ((original, ROOT), (fresh, tmp_path)):
        result = subprocess.run([sys.executable, "-I", "-c", RENDER_FRAMES + script], cwd=cwd,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    first, last = (np.array(p) for p in json.loads((tmp_path / "a.json").read_text()))
    fresh_first, fresh_last = (np.array(p) for p in json.loads((tmp_path / "b.json").read_text()))
    assert first.size == 160 * 90 * 4
    assert not np.array_equal(first, last)  # the network (and counter) changed between the frames
    np.testing.assert_array_equal(fresh_first, first)
    np.testing.assert_array_equal(fresh_last, last)


# Renders frames START..END of a saved .blend to PNGs as a render-farm node does: a fresh, isolated
# interpreter without nnviz, the .blend opened, the frame range and an image output set, -a.
FARM_NODE = """
import importlib.util, sys
import bpy
assert importlib.util.find_spec("nnviz_addon") is None
blend, start, end, pattern = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
bpy.ops.wm.open_mainfile(filepath=blend)
scene = bpy.context.scene
image = scene.render.image_settings
if hasattr(image, "media_type"):
    image.media_type = "IMAGE"
image.file_format = "PNG"
scene.frame_start, scene.frame_end = start, end
scene.render.filepath = pattern
bpy.ops.render.render(animation=True)
print("ANTI-ALIASING", scene.display.render_aa)
"""


@pytest.mark.bpy
@pytest.mark.slow
def test_a_saved_blend_split_into_frame_ranges_renders_the_same_frames(tmp_path):
    pytest.importorskip("bpy")
    from tests.support.pixels import png_pixels

    blend = tmp_path / "run.blend"
    result = train("--preset", "xor", "--steps", "16", "--resolution", "160x90", "--draft", "--no-render",
                   "--save-blend", blend)
    assert result.returncode == 0, result.stderr[-3000:]

    def render_node(start: int, end: int, folder: str) -> None:
        node = subprocess.run([sys.executable, "-I", "-c", FARM_NODE, str(blend), str(start), str(end),
                               str(tmp_path / folder / "####")], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert node.returncode == 0, node.stderr[-3000:]
        assert "ANTI-ALIASING FXAA" in node.stdout  # --draft is kept in the .blend

    render_node(1, 5, "sequential")  # records at steps 0, 4, 8, 12, 16: frames 1..5
    for start, end in ((4, 5), (1, 2), (3, 3)):  # separate processes, out of order, as a farm runs them
        render_node(start, end, "farm")

    names = sorted(p.name for p in (tmp_path / "sequential").iterdir())
    assert names == [f"{frame:04d}.png" for frame in range(1, 6)]
    assert sorted(p.name for p in (tmp_path / "farm").iterdir()) == names
    sequential = [png_pixels(tmp_path / "sequential" / name) for name in names]
    assert not np.array_equal(sequential[0], sequential[-1])  # the frames show the training
    for name, expected in zip(names, sequential, strict=True):
        np.testing.assert_array_equal(png_pixels(tmp_path / "farm" / name), expected, err_msg=name)


@pytest.mark.bpy
def test_a_corrupt_history_is_one_clear_line_and_writes_nothing(tmp_path):
    corrupt = tmp_path / "run.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "out"
    result = train("--history", corrupt, "--out", out / "x.mp4", "--metrics", out / "m.json", cwd=tmp_path)
    assert "run.npz: not an nnviz history file" in one_error_line(result)
    assert not out.exists() or list(out.iterdir()) == []
