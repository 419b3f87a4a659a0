"""What recording every step costs a PyTorch loop: the Recorder's ``watch`` against the loop alone.

``python bench/bench_record.py [--steps 200] [--rounds 7] [--threads 1]`` (needs torch, not Blender). A
784-256-10 MLP (ReLU), batch 64, SGD with momentum, on the CPU, in one process. Each round runs the
same number of steps several ways, interleaved (each round starting at the next variant) so machine
noise hits each alike:

- **loop alone**: zero_grad, forward, cross-entropy, backward, step;
- **+ recording every step**: the same with ``Recorder(model).watch(opt, every=1)`` and ``rec.log(loss=...)``
  (every value and gradient, 1.6 MB a step, kept in memory);
- **+ recording with a probe**: the same, also recording what each layer makes of one input sample;
- **+ recording as float16**: ``dtype="float16"``, half the bytes;
- **memory floor**: no training, only writing a step's 1.6 MB (values and gradients) into fresh
  memory, as any recording must: the part of the cost the machine's memory sets, not the Recorder.

The rounds reuse memory the rounds before them freed. Memory new to the process can cost far more
(on a VM that hands freed memory back to its host, the host maps every page again), so before the
rounds one recorded run is timed on its own, first in the process, and printed apart: what a
user's run, which keeps taking new memory, can pay.

It prints the median time a step of each, the ratios against the loop alone, whether the issue's
targets are met (at most 1.3x recording every step, at most 1.5x with a probe) and the machine's
load average before and after, since other work on the machine shifts every figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnviz_addon.training.record import Recorder

TARGETS = {"+ recording every step": 1.3, "+ recording with a probe": 1.5}  # at most, times the loop alone


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_floor(steps: int) -> float:
    """Seconds a step to write one record's values and gradients (2 x 203,530 float32) into fresh memory."""
    record = np.ones(2 * (784 * 256 + 256 + 256 * 10 + 10), dtype=np.float32)
    start = time.perf_counter()
    rows = np.empty((steps, record.size), dtype=np.float32)
    for row in rows:
        np.copyto(row, record)
    seconds = (time.perf_counter() - start) / steps
    del rows
    return seconds


def one_round(steps: int, recording: str | None) -> float:
    """Seconds a step of a fresh run, recorded as ``recording`` says (None, "values", "probe", "float16")."""
    if recording == "floor":
        return memory_floor(steps)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    rec = None
    if recording is not None:
        rec = Recorder(model, probe=x[0] if recording == "probe" else None,
                       dtype="float16" if recording == "float16" else None).watch(opt, every=1)
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if rec is not None:
            rec.log(loss=loss)
    seconds = (time.perf_counter() - start) / steps
    if rec is not None:
        rec.unwatch()
        assert rec.records == steps + 1
    del rec
    gc.collect()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps a round (each recorded: 1.6 MB a step)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's threads (1: steadier on a small machine other work shares)")
    options = parser.parse_args()
    load_before = os.getloadavg()
    torch.set_num_threads(options.threads)
    variants = {"loop alone": None, "+ recording every step": "values", "+ recording with a probe": "probe",
                "+ recording as float16": "float16", "memory floor (no training)": "floor"}
    one_round(20, None)  # warm up torch's kernels
    first_recorded = one_round(options.steps, "values")  # memory new to the process
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_number in range(options.rounds):
        # Each round starts at the next variant: on a VM that hands freed memory back to its host, a
        # run right after another run's memory was freed writes into memory still backed, and is faster.
        for name in names[round_number % len(names):] + names[:round_number % len(names)]:
            times[name].append(one_round(options.steps, variants[name]))
    alone = statistics.median(times["loop alone"])
    print(f"{cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{options.steps} steps x {options.rounds} rounds, medians; load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    met = []
    for name, seconds in times.items():
        ratio = statistics.median(seconds) / alone
        target = TARGETS.get(name)
        verdict = "" if target is None else f"   target <= {target}x: {'met' if ratio <= target else 'NOT met'}"
        met += [] if target is None else [ratio <= target]
        print(f"  {name:28s} {statistics.median(seconds) * 1e3:7.3f} ms a step   {ratio:5.2f}x{verdict}")
    print(f"  first recorded run of the process (memory new to it): {first_recorded * 1e3:.3f} ms a step   "
          f"{first_recorded / alone:5.2f}x")
    print(f"targets met: {'all' if all(met) else f'{sum(met)} of {len(met)}'}")


if __name__ == "__main__":
    main()
