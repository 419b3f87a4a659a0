"""Scene speed, measured in one run on the bpy wheel: ``python bench/bench_scene.py``.

1. Keyframing 1,000 cubes × 200 records (colour RGB + nnviz_value: 4 curves per cube) in bulk
   against the per-key ``keyframe_insert`` baseline. The baseline is timed on a subset of cubes and
   scaled linearly (it does the same work per cube); the table says so.
2. Creating 10,000 cubes through ``bpy.data`` (no keys), and a whole ``scene.build`` of a digits net
   widened to 64-150-10 (11,260 cubes).
3. The digits network (64-32-10: 2,410 cubes) × 300 records of real training: keying alone and the
   whole build, each without and with cube sizes showing gradients (2 more curves per cube). The
   gradient rows must stay within 2× of the plain ones.
4. Keyframing everything a digits build keys (cube values, colours and sizes, neurons, task view,
   loss curve, counter) against keying the weights alone (colour + value, no probe series): the time
   spent in ``keyframes.new_actions`` and ``keyframes.write_curves`` during ``scene.build``, which
   must stay within 2×.

Timings are the best of ``REPEATS`` runs: the machine is shared, and the minimum is the least noisy.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnviz_addon import scene  # noqa: E402
from nnviz_addon.history import History, LayerSpec  # noqa: E402
from nnviz_addon.picture import colormap, magnitude  # noqa: E402
from nnviz_addon.picture.layout import layout_network  # noqa: E402
from nnviz_addon.picture.shapes import Block  # noqa: E402
from nnviz_addon.preset.config import find_presets, load_preset  # noqa: E402
from nnviz_addon.scene import SceneOptions, keyframes, objects  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402

BASELINE_SUBSET = 50
REPEATS = 3


def one_block(count: int) -> Block:
    spec = LayerSpec("0", "LayerNorm", count, count, "0.weight", None)
    return layout_network([spec], {"0.weight": (count,)}).blocks[0]


def make_cubes(block: Block) -> list[bpy.types.Object]:
    root = objects.tagged(bpy.data.collections.new(objects.ROOT_COLLECTION))
    bpy.context.scene.collection.children.link(root)
    zeros = np.zeros(len(block.positions))
    return objects.add_cubes(block, objects.shared_cube_mesh(), root, zeros, colormap.colors(zeros, 1.0))


def random_walk(records: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.random.default_rng(0).normal(0, 0.1, (records, count)).cumsum(axis=0)
    return 1 + np.arange(records), values, colormap.colors(values, np.abs(values).max())


def seconds_to_key_in_bulk(records: int, count: int, with_sizes: bool = False) -> float:
    """Making the actions and writing the curves of ``count`` cubes, as ``scene.build`` does; with
    sizes, the cubes' sizes follow the magnitude of each step of the walk."""
    frames, values, rgba = random_walk(records, count)
    sizes = None
    if with_sizes:
        steps = np.abs(np.diff(values, axis=0, prepend=values[:1]))
        sizes = magnitude.sizes(steps, magnitude.run_scale({"walk": steps})["walk"])
    block = one_block(count)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    start = time.perf_counter()
    actions = objects.cube_actions(block)
    made = time.perf_counter() - start
    cubes = make_cubes(block)
    start = time.perf_counter()
    objects.key_cubes(cubes, actions, frames, values, rgba, sizes)
    return made + time.perf_counter() - start


def digits_history(layers: list[int], steps: int) -> History:
    """A real training run of the digits preset, recording every step (1 + ``steps`` records)."""
    preset = load_preset(find_presets()["digits"])
    run = TrainingRun(preset.replace(model={"layers": layers}, train={"steps": max(steps, 1),
                                                                      "record_every": 1}))
    return run.run() if steps else run.history()


def seconds_to_build(history: History, options: SceneOptions) -> float:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return seconds(scene.build, history, options)


def seconds_keying_in_build(history: History, options: SceneOptions) -> float:
    """The time ``scene.build`` spends making actions and writing curves (timed by wrapping the two
    functions of :mod:`keyframes` every keyed object goes through)."""
    spent = 0.0
    originals = keyframes.new_actions, keyframes.write_curves

    def timed(function):
        def wrapper(*args, **kwargs):
            nonlocal spent
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent += time.perf_counter() - start
        return wrapper

    keyframes.new_actions, keyframes.write_curves = (timed(f) for f in originals)
    try:
        seconds_to_build(history, options)
    finally:
        keyframes.new_actions, keyframes.write_curves = originals
    return spent


def weights_only(history: History) -> History:
    """The same run without its probe series: the build keys the cubes (and loss curve, counter) only."""
    return History(history.name, history.structure, history.steps, history.loss, history.params, history.grads,
                   history.metrics)


def best(function, *args) -> float:
    return min(function(*args) for _ in range(REPEATS))


def seconds_to_key_one_by_one(records: int, count: int) -> float:
    frames, values, rgba = random_walk(records, count)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    cubes = make_cubes(one_block(count))
    start = time.perf_counter()
    for i, cube in enumerate(cubes):
        for r, frame in enumerate(frames.tolist()):
            cube.color = rgba[r, i]
            cube["nnviz_value"] = float(values[r, i])
            for c in range(3):
                cube.keyframe_insert("color", index=c, frame=frame)
            cube.keyframe_insert('["nnviz_value"]', frame=frame)
    return time.perf_counter() - start


def seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    rows: list[tuple[str, float, str]] = []
    per_key = seconds_to_key_one_by_one(200, BASELINE_SUBSET) * 1000 / BASELINE_SUBSET
    bulk = best(seconds_to_key_in_bulk, 200, 1000)
    rows.append((f"keyframe_insert per key, 1,000 cubes × 200 records (timed on {BASELINE_SUBSET} cubes, "
                 f"scaled ×{1000 // BASELINE_SUBSET})", per_key, "baseline"))
    rows.append(("bulk F-Curves, 1,000 cubes × 200 records", bulk,
                 f"{per_key / bulk:.0f}× faster (target ≥ 30×)"))

    block = one_block(10_000)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rows.append(("create 10,000 cubes via bpy.data", seconds(make_cubes, block), "target < 1 s"))
    wide = digits_history([64, 150, 10], steps=0)
    rows.append((f"scene.build, {wide.parameter_count:,} cubes × 1 record (objects, keys, legend, stage)",
                 best(seconds_to_build, wide, SceneOptions()), ""))

    plain = best(seconds_to_key_in_bulk, 300, 2410)
    sized = best(seconds_to_key_in_bulk, 300, 2410, True)
    rows.append(("digits 64-32-10: key 2,410 cubes × 300 records (colour + value)", plain, ""))
    rows.append(("digits 64-32-10: same + sizes (gradient view)", sized,
                 f"{sized / plain:.2f}× the plain keys (target ≤ 2×)"))
    digits = digits_history([64, 32, 10], steps=299)
    plain = best(seconds_to_build, digits, SceneOptions())
    sized = best(seconds_to_build, digits, SceneOptions(magnitude="gradient"))
    rows.append((f"digits 64-32-10: scene.build × {digits.records} records", plain, ""))
    rows.append((f"digits 64-32-10: scene.build × {digits.records} records, magnitude='gradient'", sized,
                 f"{sized / plain:.2f}× the plain build (target ≤ 2×)"))

    weights = best(seconds_keying_in_build, weights_only(digits), SceneOptions())
    everything = best(seconds_keying_in_build, digits, SceneOptions(magnitude="gradient"))
    rows.append((f"digits 64-32-10 × {digits.records} records: keying in scene.build, weights alone", weights, ""))
    rows.append(("same, everything (values, colours, sizes, neurons, task view, loss curve)", everything,
                 f"{everything / weights:.2f}× the weights alone (target ≤ 2×)"))

    print(f"bpy {bpy.app.version_string}\n")
    print("| measurement | seconds | note |\n|---|---:|---|")
    for name, time_s, note in rows:
        print(f"| {name} | {time_s:.3f} | {note} |")


if __name__ == "__main__":
    main()
