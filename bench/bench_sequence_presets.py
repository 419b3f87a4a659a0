"""The sequence presets' targets, measured: each preset trained to its end with its probes (as
``train.py`` trains it), with wall and CPU time, the held-out per-token accuracy, and for
``grokking`` the steps where train accuracy first reaches 99% and test accuracy 95%.

    .venv/bin/python bench/bench_sequence_presets.py [reverse sort grokking]

Targets (issue #21): reverse ≥ 95% held-out per-token accuracy within 60 s; grokking's test
accuracy ≥ 95% at least twice as late as train accuracy ≥ 99%. Not a test: timings depend on the
machine and its load (the script prints the load average), so it reports CPU time too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun


def first_step(steps: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    reached = np.flatnonzero(values >= threshold)
    return int(steps[reached[0]]) if len(reached) else None


def measure(name: str) -> None:
    preset = load_preset(find_presets()[name])
    wall, cpu = time.perf_counter(), time.process_time()
    history = TrainingRun(preset).run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    metrics = history.metrics
    line = (f"{name:10s} {preset.train.steps:5d} steps  {wall:6.1f} s wall  {cpu:6.1f} s CPU  "
            f"train {metrics['accuracy'][-1]:.1%}  held-out per token {metrics['test_accuracy'][-1]:.1%}")
    if name == "grokking":
        train = first_step(history.steps, metrics["accuracy"], 0.99)
        test = first_step(history.steps, metrics["test_accuracy"], 0.95)
        ratio = f"{test / train:.1f}×" if train and test else "n/a"
        line += f"  train ≥ 99% at step {train}, test ≥ 95% at step {test} ({ratio} later)"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sequences = ["reverse", "sort", "grokking"]
    # (no choices=: Python 3.11's argparse checks an empty nargs="*" list against them and fails)
    parser.add_argument("names", nargs="*", metavar="PRESET",
                        help=f"the presets to train, of {', '.join(sequences)} (default: all)")
    names = parser.parse_args().names or sequences
    unknown = [name for name in names if name not in sequences]
    if unknown:
        parser.error(f"not a sequence preset: {', '.join(unknown)}; allowed: {', '.join(sequences)}")
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for name in names:
        measure(name)


if __name__ == "__main__":
    main()
