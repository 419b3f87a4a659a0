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
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnviz_addon import scene  # noqa: E402
from nnviz_addon.config import Preset, find_presets, load_preset  # noqa: E402
from nnviz_addon.training import TrainingRun  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--record-every", type=int, help="override the preset's train.record_every")
    args = parser.parse_args()
    preset = load_preset(find_presets()[args.preset])
    if args.record_every is not None:
        preset = preset.replace(train={"record_every": args.record_every})

    alone, recorded, keyframed = [], [], []
    for _ in range(args.repeats):
        alone.append(time_training_alone(preset))
        train_s, key_s = time_recorded_and_keyframed(preset)
        recorded.append(train_s)
        keyframed.append(key_s)
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


if __name__ == "__main__":
    main()
