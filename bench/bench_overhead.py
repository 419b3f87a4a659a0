"""What watching costs: a headless digits run with recording and keyframing vs the training alone.

``python bench/bench_overhead.py [--preset digits] [--repeats 5]`` on the bpy wheel. In one process,
interleaved so machine noise hits every variant alike, the median of ``--repeats`` runs of:

- **training alone**: the same steps, batches and seed, recording only the first and last step and
  no probes (what a plain training loop costs);
- **+ recording**: the preset's recording (every ``record_every`` steps: weights, gradients, accuracy,
  neuron activations and the task's probe);
- **+ keyframing**: ``scene.build`` of that History (cubes, colours, values, views, loss curve,
  counter), which is what ``train.py --no-render`` adds on top.

The issue's target: recording + keyframing adds at most 25% to the training alone.

It also measures **Blender's floor**: after each build, the cubes' keys are cleared and written
again with nothing but ``keyframe_points.add`` and ``foreach_set`` per curve (Blender's fastest
API for keys; no objects, actions, curves, colours or Python bookkeeping), to show how much of the
keyframing no change on our side can remove; and the same for creating the cubes as bare objects.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnviz_addon import scene  # noqa: E402
from nnviz_addon.preset.config import Preset, find_presets, load_preset  # noqa: E402
from nnviz_addon.scene import keyframes, objects  # noqa: E402
from nnviz_addon.training.run import TrainingRun  # noqa: E402


def time_training_alone(preset: Preset) -> float:
    unrecorded = preset.replace(train={"record_every": preset.train.steps})
    start = time.perf_counter()
    TrainingRun(unrecorded, probes=()).run()
    return time.perf_counter() - start


def time_recorded_and_keyframed(preset: Preset) -> tuple[float, float]:
    """Seconds for the recorded training, and for keyframing its History into an empty file (as
    ``train.py`` does; clearing an earlier build is not part of a headless run)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    start = time.perf_counter()
    history = TrainingRun(preset).run()
    trained = time.perf_counter()
    scene.build(history, scene.SceneOptions.from_render_config(preset.render))
    return trained - start, time.perf_counter() - trained


def time_key_floor() -> tuple[float, float, int]:
    """Seconds to write the built cubes' keys again with Blender's bulk calls alone, as nnviz writes
    them (LINEAR) and as Blender adds them by default (Bezier: one call less per curve), and how many
    keys that is."""
    curves = [curve for obj in objects.root_collection().all_objects if "nnviz_param" in obj
              for curve in keyframes.fcurves_of(obj)]
    counts = [len(curve.keyframe_points) for curve in curves]
    co = {count: np.zeros(2 * count, dtype=np.float32) for count in set(counts)}
    linear = {count: np.full(count, 1, dtype=np.int32) for count in set(counts)}  # 1 = LINEAR

    def rewrite(interpolated: bool) -> float:
        for curve in curves:
            curve.keyframe_points.clear()
        start = time.perf_counter()
        for curve, count in zip(curves, counts, strict=True):
            if interpolated:
                keyframes.fill_curve(curve, co[count], linear[count])
            else:
                curve.keyframe_points.add(count)
                curve.keyframe_points.foreach_set("co", co[count])
        return time.perf_counter() - start

    return rewrite(True), rewrite(False), sum(counts)


def time_object_floor() -> tuple[float, int]:
    """Seconds to create the built cubes again as bare objects (same names, one shared mesh, linked
    to the scene; no properties, actions or curves) in an empty file, and how many."""
    names = [obj.name for obj in objects.root_collection().all_objects if "nnviz_param" in obj]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    mesh = bpy.data.meshes.new("cube")
    link = bpy.context.scene.collection.objects.link
    start = time.perf_counter()
    for name in names:
        link(bpy.data.objects.new(name, mesh))
    return time.perf_counter() - start, len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--record-every", type=int, help="override the preset's train.record_every")
    args = parser.parse_args()
    preset = load_preset(find_presets()[args.preset])
    if args.record_every is not None:
        preset = preset.replace(train={"record_every": args.record_every})

    alone, recorded, keyframed, floor, bezier_floor, object_floor = [], [], [], [], [], []
    for _ in range(args.repeats):
        alone.append(time_training_alone(preset))
        train_s, key_s = time_recorded_and_keyframed(preset)
        recorded.append(train_s)
        keyframed.append(key_s)
        floor_s, bezier_s, keys = time_key_floor()
        floor.append(floor_s)
        bezier_floor.append(bezier_s)
        objects_s, cubes = time_object_floor()
        object_floor.append(objects_s)
    base = statistics.median(alone)
    record_extra = statistics.median(recorded) - base
    key_extra = statistics.median(keyframed)
    records = preset.train.steps // preset.train.record_every + 1
    print(f"# visualisation overhead: {preset.name}, {preset.train.steps} steps, {records} records, "
          f"median of {args.repeats}\n")
    print("| | seconds | vs training alone |")
    print("|---|---:|---:|")
    print(f"| training alone | {base:.3f} | 1.00× |")
    print(f"| + recording (weights, grads, accuracy, probes) | {base + record_extra:.3f} | "
          f"{(base + record_extra) / base:.2f}× |")
    total = base + record_extra + key_extra
    print(f"| + keyframing (scene.build) | {total:.3f} | {total / base:.2f}× |")
    verdict = "met" if total / base <= 1.25 else "NOT met"
    print(f"\nrecording + keyframing add {100 * (total / base - 1):.0f}% (target ≤ 25%: {verdict})")
    key_floor, bezier = statistics.median(floor), statistics.median(bezier_floor)
    print(f"Blender's floor: writing the cubes' {keys:,} keys with keyframe_points.add + foreach_set alone "
          f"takes {key_floor:.3f} s = {100 * key_floor / base:.0f}% of the training alone "
          f"({bezier:.3f} s = {100 * bezier / base:.0f}% even leaving them Bezier)")
    bare = statistics.median(object_floor)
    print(f"Blender's floor: creating the {cubes:,} cube objects alone (bpy.data.objects.new + link, nothing "
          f"else) takes {bare:.3f} s = {100 * bare / base:.0f}% of the training alone")


if __name__ == "__main__":
    main()
