"""Time one training step of a CNN in the nnviz engine against PyTorch on the CPU.

The same protocol as ``bench_engine.py`` (whose runner and environment report this reuses): same
weights through state_dict, same synthetic float32 batches, alternating blocks in one process,
median per-step time after a warm-up.

    python bench/bench_conv.py [--quick]

Nets: the ``digits_cnn`` preset's (1×8×8 → Conv 8@3×3 pad 1 → ReLU → MaxPool 2 → Conv 16@3×3 →
ReLU → Flatten → Linear 10), batch 64, Adam: target ≥ 1.5× torch's speed; and LeNet-5 sized
(1×28×28 → Conv 6@5×5 → ReLU → MaxPool 2 → Conv 16@5×5 → ReLU → MaxPool 2 → 256-120-84-10),
batch 64, Adam: reported, target ≥ 0.5×.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_engine import Runner, environment

from nnviz_addon import engine
from nnviz_addon.engine import nn as enn
from nnviz_addon.engine import optim as eoptim
from nnviz_addon.engine.nn import functional as ef

# (name, image shape, layers as (module class, args), target) — the classes exist in both libraries
CASES: tuple[tuple[str, tuple[int, int, int], list[tuple[str, tuple]], float], ...] = (
    ("digits CNN", (1, 8, 8), [("Conv2d", (1, 8, 3, 1, 1)), ("ReLU", ()), ("MaxPool2d", (2,)),
                               ("Conv2d", (8, 16, 3)), ("ReLU", ()), ("Flatten", ()), ("Linear", (64, 10))], 1.5),
    ("LeNet 1×28×28", (1, 28, 28), [("Conv2d", (1, 6, 5)), ("ReLU", ()), ("MaxPool2d", (2,)),
                                    ("Conv2d", (6, 16, 5)), ("ReLU", ()), ("MaxPool2d", (2,)), ("Flatten", ()),
                                    ("Linear", (256, 120)), ("ReLU", ()), ("Linear", (120, 84)), ("ReLU", ()),
                                    ("Linear", (84, 10))], 0.5),
)
BATCH = 64
BATCHES = 8


def bench(name: str, image: tuple[int, int, int], layers: list[tuple[str, tuple]], target: float, rounds: int,
          block: int, warmup: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    batches = [(rng.random((BATCH, *image), dtype=np.float32), rng.integers(0, 10, BATCH)) for _ in range(BATCHES)]
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(*(getattr(torch.nn, kind)(*args) for kind, args in layers))
    e_model = enn.Sequential(*(getattr(enn, kind)(*args) for kind, args in layers))
    e_model.load_state_dict({k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()})
    runners = {
        "engine": Runner(e_model, eoptim.Adam(e_model.parameters(), lr=1e-3), ef.cross_entropy,
                         [(engine.Tensor(x), engine.Tensor(y)) for x, y in batches]),
        "torch": Runner(t_model, torch.optim.Adam(t_model.parameters(), lr=1e-3), torch.nn.functional.cross_entropy,
                        [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]),
    }
    for runner in runners.values():
        runner.block(warmup)
    times: dict[str, list[float]] = {side: [] for side in runners}
    for r in range(rounds):
        for side in (("engine", "torch") if r % 2 == 0 else ("torch", "engine")):
            times[side].extend(runners[side].block(block))
    engine_ms, torch_ms = (statistics.median(times[side]) * 1e3 for side in ("engine", "torch"))
    final = t_model.state_dict()
    drift = max(float(np.max(np.abs(a - final[k].numpy()))) for k, a in e_model.parameter_arrays().items())
    return {"case": name, "engine_ms": engine_ms, "torch_ms": torch_ms, "speedup": torch_ms / engine_ms,
            "target": target, "steps": len(times["engine"]), "drift": drift}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args(argv)
    rounds, block, warmup = (6, 20, 20) if args.quick else (20, 50, 50)
    env = environment()
    print(f"numpy {env['numpy']} ({env['numpy_blas']}), BLAS kernels: {', '.join(env['blas_kernels']) or '?'}; "
          f"torch {env['torch']} with {env['torch_threads']} threads; CPU: {env['cpu']} × {env['cpu_count']}\n")
    print("| net | batch, loss, optimiser | engine ms/step | torch ms/step | torch/engine | target |")
    print("|---|---|---:|---:|---:|---|")
    results = [bench(*case, rounds, block, warmup) for case in CASES]
    for r in results:
        verdict = "met" if r["speedup"] >= r["target"] else "MISSED"
        print(f"| {r['case']} | {BATCH}, cross-entropy, Adam | {r['engine_ms']:.3f} | {r['torch_ms']:.3f} | "
              f"{r['speedup']:.2f}× | ≥ {r['target']:g}× {verdict} |")
    print(f"\nmedian of {results[0]['steps']} timed steps per side; max |engine − torch| weight difference at the "
          "end: " + ", ".join(f"{r['case']} {r['drift']:.1e}" for r in results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
