"""Big networks with the instanced cube writer (``render.cubes = "instanced"``), against the issue's
targets. ``python bench/bench_big.py [--skip-million]`` on the bpy wheel (needs torch); a few minutes.

1. 784-128-10 (101,770 parameters) trained with torch for a few hundred steps on random MNIST-shaped
   data and recorded by ``nnviz_addon.record.Recorder`` (100 records): ``train.py --history …
   --no-render --save-blend …`` wall time, in a subprocess as a user runs it (target ≤ 10 s), and
   the ``.blend``'s size against the ``.npz`` (target ≤ 1.5×).
2. 784-1024-128-10 (≈ 0.94M parameters), 50 records: ``scene.build`` time (target ≤ 60 s), and one
   1280×720 frame in Workbench and in Cycles (it must render; the times are reported).
3. The digits preset: recording + scene vs training alone, instanced and objects (target ≤ 1.25×
   for instanced), medians of interleaved runs.
4. The 784-128-10 of (1) recorded with a probe (``Recorder(model, probe=x)``, so its neurons are
   drawn: 784 + 128 + 10 of them): ``scene.build`` instanced, median of 3, and the objects it makes.
5. 101,770 parameters instanced: one live tick, ``scene.show_values`` and the evaluation of the
   changed cubes (target ≤ 30 ms), median of 10.
6. 101,770 parameters instanced: the tree's evaluation of a frame between records, diagram (flat
   squares) vs film (the blocks extruded to their depth), median of 10 frames each.
7. 1280×720 Workbench frame of (1) vs Blender's own empty-scene frame at the same anti-aliasing,
   both at 8 samples (final) and FXAA (draft) (target ≤ 2×); renders run in subprocesses, as
   without EGL Workbench aborts the process. Beside them, Blender's floor for that many squares:
   a scene without nnviz holding one static mesh of 101,761 squares with random colours (flat
   light, as nnviz's diagram), at the same settings.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnviz_addon import scene  # noqa: E402
from nnviz_addon.history import History  # noqa: E402
from nnviz_addon.preset.config import find_presets, load_preset  # noqa: E402
from nnviz_addon.scene import SceneOptions  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402

# Renders one frame of a saved .blend (or of Blender's empty scene) and prints its seconds; run in
# a subprocess that never imports nnviz.
RENDER_FRAME = """
import sys, time
import bpy
blend, engine, out, aa = sys.argv[1:5]
if blend not in ("-", "squares"):
    bpy.ops.wm.open_mainfile(filepath=blend)
else:  # nothing but a camera
    bpy.ops.wm.read_factory_settings(use_empty=True)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
if blend == "squares":  # and one mesh of 319 x 319 squares (101,761), 0.8 of their pitch wide, filling the frame
    import numpy as np
    camera.data.type, camera.data.ortho_scale, camera.location = "ORTHO", 1.1, (0.5, 0.5, 5.0)
    side = 319
    rows, cols = np.divmod(np.arange(side * side), side)
    corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)]) * 0.4 / side
    co = np.zeros((side * side, 4, 3), dtype=np.float32)
    co[..., :2] = np.stack([cols, rows], axis=1)[:, None] / side + corners[None]
    mesh = bpy.data.meshes.new("squares")
    mesh.vertices.add(side * side * 4)
    mesh.vertices.foreach_set("co", co.ravel())
    mesh.loops.add(side * side * 4)
    mesh.loops.foreach_set("vertex_index", np.arange(side * side * 4))
    mesh.polygons.add(side * side)
    mesh.polygons.foreach_set("loop_start", np.arange(0, side * side * 4, 4))
    mesh.update()
    colors = mesh.color_attributes.new("color", "FLOAT_COLOR", "CORNER")
    colors.data.foreach_set("color", np.random.default_rng(0).random(side * side * 16, dtype=np.float32))
    mesh.color_attributes.active_color = colors
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("squares", mesh))
    shading = bpy.context.scene.display.shading
    shading.light, shading.color_type = "FLAT", "VERTEX"
scene = bpy.context.scene
scene.render.engine = engine
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 1280, 720, 100
scene.display.render_aa = aa  # the same anti-aliasing for the scene and the empty one
scene.cycles.samples = 4
settings = scene.render.image_settings
if hasattr(settings, "media_type"):
    settings.media_type = "IMAGE"
settings.file_format = "PNG"
scene.render.filepath = out
if blend not in ("-", "squares"):
    scene.frame_set(scene.frame_end)
for warm in (True, False):  # the first render compiles shaders and builds the BVH
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
print(time.perf_counter() - start)
"""


def recorded_mlp(sizes: tuple[int, ...], records: int, steps_per_record: int = 3, probe: bool = False) -> History:
    """A torch MLP trained on random MNIST-shaped data and recorded every few steps (with ``probe``,
    also its activations for the first sample)."""
    import torch

    from nnviz_addon.training.record import Recorder

    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    x, y = torch.rand(512, sizes[0]), torch.randint(0, sizes[-1], (512,))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    recorder = Recorder(model, name="-".join(map(str, sizes)), probe=x[0] if probe else None)
    for step in range((records - 1) * steps_per_record + 1):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[step % 4 * 128:][:128]), y[step % 4 * 128:][:128])
        loss.backward()
        opt.step()
        if step % steps_per_record == 0:
            recorder.snapshot(step, loss=loss.item())
    return recorder.history()


def render_seconds(blend: str, engine: str, out: Path, aa: str = "8") -> float:
    """Seconds for one frame of ``blend`` ("-": Blender's empty scene; "squares": Blender's floor, see
    the module docstring) at Workbench anti-aliasing ``aa``."""
    result = subprocess.run([sys.executable, "-c", RENDER_FRAME, blend, engine, str(out), aa],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return float(result.stdout.strip().splitlines()[-1])


def bench_mnist_cli(work: Path) -> Path:
    history = recorded_mlp((784, 128, 10), records=100)
    npz, blend = work / "mnist.npz", work / "mnist.blend"
    history.save(npz)
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "train.py"), "--history", str(npz), "--no-render",
                    "--save-blend", str(blend), "--cubes", "instanced"], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    ratio = blend.stat().st_size / npz.stat().st_size
    print(f"784-128-10 ({history.parameter_count:,} params), {history.records} records: train.py --history "
          f"--no-render --save-blend {seconds:.2f} s (target <= 10 s); .blend {blend.stat().st_size / 1e6:.1f} MB "
          f"vs .npz {npz.stat().st_size / 1e6:.1f} MB: {ratio:.2f}x (target <= 1.5x)")
    return blend


def bench_neurons(repeats: int = 3) -> None:
    history = recorded_mlp((784, 128, 10), records=100, probe=True)
    seconds = []
    for _ in range(repeats):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        start = time.perf_counter()
        scene.build(history, SceneOptions(cubes="instanced"))
        seconds.append(time.perf_counter() - start)
    neurons = [obj for obj in bpy.data.collections["nnviz · neurons"].objects if obj.type == "MESH"]  # not the caption
    print(f"784-128-10 with a probe ({sum(s.out_features for s in history.structure) + 784} neurons), "
          f"{history.records} records: instanced scene.build {statistics.median(seconds):.2f} s "
          f"(median of {repeats}); {len(neurons)} objects for the neurons, {len(bpy.data.objects)} in all")


def bench_million(work: Path) -> None:
    history = recorded_mlp((784, 1024, 128, 10), records=50, steps_per_record=1)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    start = time.perf_counter()
    scene.build(history, SceneOptions(cubes="instanced"))
    seconds = time.perf_counter() - start
    blend = work / "million.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    workbench = render_seconds(str(blend), "BLENDER_WORKBENCH", work / "million_wb.png")
    cycles = render_seconds(str(blend), "CYCLES", work / "million_cycles.png")
    print(f"784-1024-128-10 ({history.parameter_count:,} params), {history.records} records: build {seconds:.1f} s "
          f"(target <= 60 s); 1280x720 frame: Workbench {workbench:.2f} s, Cycles (4 samples) {cycles:.2f} s",
          flush=True)


def bench_digits(repeats: int) -> None:
    preset = load_preset(find_presets()["digits"])
    alone, ratios = [], {"instanced": [], "objects": []}
    for _ in range(repeats):
        start = time.perf_counter()
        TrainingRun(preset.replace(train={"record_every": preset.train.steps}), probes=()).run()
        alone.append(time.perf_counter() - start)
        for cubes in ratios:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            start = time.perf_counter()
            history = TrainingRun(preset).run()
            scene.build(history, SceneOptions.from_render_config(preset.replace(render={"cubes": cubes}).render))
            ratios[cubes].append(time.perf_counter() - start)
    base = statistics.median(alone)
    print(f"digits: training alone {base:.3f} s; recording + scene: instanced "
          f"{statistics.median(ratios['instanced']):.3f} s = {statistics.median(ratios['instanced']) / base:.2f}x "
          f"(target <= 1.25x), objects {statistics.median(ratios['objects']):.3f} s = "
          f"{statistics.median(ratios['objects']) / base:.2f}x")


def bench_live_tick() -> None:
    history = recorded_mlp((784, 128, 10), records=3)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene.build(history, SceneOptions(cubes="instanced"))
    rng = np.random.default_rng(0)
    ticks = []
    for _ in range(10):
        values = {key: rng.normal(0, 0.1, array.shape[1:]) for key, array in history.params.items()}
        start = time.perf_counter()
        scene.show_values(values, 0.3)
        bpy.context.evaluated_depsgraph_get().update()  # what the viewport's redraw then evaluates
        ticks.append(time.perf_counter() - start)
    print(f"live tick, {history.parameter_count:,} params instanced: {statistics.median(ticks) * 1e3:.1f} ms "
          f"median of 10 (target <= 30 ms)")


def bench_film_blocks() -> None:
    history = recorded_mlp((784, 128, 10), records=3)
    medians = {}
    for style in ("diagram", "film"):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene.build(history, SceneOptions(cubes="instanced", style=style, frames_per_record=10))
        evaluations = []
        for frame in range(2, 12):  # between records 0 and 1: every frame mixes two records
            start = time.perf_counter()
            bpy.context.scene.frame_set(frame)
            evaluations.append(time.perf_counter() - start)
        medians[style] = statistics.median(evaluations)
    print(f"frame evaluation, {history.parameter_count:,} params instanced: diagram {medians['diagram'] * 1e3:.0f} ms, "
          f"film blocks {medians['film'] * 1e3:.0f} ms = {medians['film'] / medians['diagram']:.2f}x, median of 10")


def bench_frame(blend: Path, work: Path) -> None:
    """At nnviz's final (8 samples) and draft (FXAA) quality, each side at the same setting."""
    for aa, quality in (("8", "8 AA samples (final)"), ("FXAA", "FXAA (draft)")):
        frame = render_seconds(str(blend), "BLENDER_WORKBENCH", work / "mnist_wb.png", aa)
        empty = render_seconds("-", "BLENDER_WORKBENCH", work / "empty_wb.png", aa)
        floor = render_seconds("squares", "BLENDER_WORKBENCH", work / "squares_wb.png", aa)
        print(f"1280x720 Workbench frame, {quality}: 784-128-10 instanced {frame:.2f} s vs empty scene "
              f"{empty:.2f} s: {frame / empty:.2f}x (target <= 2x); Blender's floor, a static mesh of "
              f"101,761 squares: {floor:.2f} s = {floor / empty:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-million", action="store_true", help="leave out the ~1M-parameter run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved digits runs")
    args = parser.parse_args()
    print(f"Blender {bpy.app.version_string}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        blend = bench_mnist_cli(work)
        bench_frame(blend, work)
        bench_neurons()
        bench_live_tick()
        bench_film_blocks()
        bench_digits(args.repeats)
        if not args.skip_million:
            bench_million(work)


if __name__ == "__main__":
    main()
