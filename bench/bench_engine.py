"""Time one training step of the nnviz engine against PyTorch on the CPU.

A step is zero_grad + forward + loss + backward + optimiser step. Engine and torch run the same
nets (weights copied through state_dict) on the same synthetic float32 batches, in alternating
blocks within one process so that machine noise hits both; the median per-step time after a
warm-up is reported as a markdown table.

    python bench/bench_engine.py [--quick] [--json PATH]

Targets: the three small nets at least 3x faster than torch, 784-128-10 no slower.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install

from nnviz_addon import engine
from nnviz_addon.engine import nn as enn
from nnviz_addon.engine import optim as eoptim
from nnviz_addon.engine.nn import functional as ef

BLAS_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
BATCHES_PER_CASE = 8  # a small pool cycled through, so data creation stays out of the timing


@dataclass(frozen=True)
class Case:
    name: str
    data: str  # "rgb" | "spiral" | "digits" | "mnist": what the synthetic data imitates
    sizes: tuple[int, ...]  # layer widths, input first
    activation: str  # hidden activation: "tanh" | "relu"
    batch: int
    loss: str  # "mse" | "bce" | "ce"
    optimizer: str  # class name, the same in torch.optim and engine.optim
    options: dict[str, Any] = field(default_factory=dict)
    min_speedup: float = 1.0  # target: torch time / engine time


CASES = (
    Case("3-3", "rgb", (3, 3), "tanh", 64, "mse", "SGD", {"lr": 0.1}, min_speedup=3.0),
    Case("2-16-16-1", "spiral", (2, 16, 16, 1), "tanh", 128, "bce", "Adam", {"lr": 0.01}, min_speedup=3.0),
    Case("64-32-10", "digits", (64, 32, 10), "relu", 64, "ce", "Adam", {"lr": 0.001}, min_speedup=3.0),
    Case("784-128-10", "mnist", (784, 128, 10), "relu", 128, "ce", "SGD", {"lr": 0.01, "momentum": 0.9}),
)


# -- synthetic data ------------------------------------------------------------------------------


def make_batch(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One float32 batch shaped like the data the case imitates (labels int64 for "ce")."""
    n = case.batch
    if case.data == "rgb":  # colours → a fixed colour transform of them
        x = rng.random((n, 3), dtype=np.float32)
        mix = np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [0.3, 0.3, 0.4]], dtype=np.float32)
        return x, x @ mix
    if case.data == "spiral":  # two interleaved noisy spiral arms, label = arm
        label = rng.integers(0, 2, n)
        radius = rng.random(n)
        angle = 3 * np.pi * radius + np.pi * label + rng.normal(0, 0.2, n)
        x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype(np.float32)
        return x, label.astype(np.float32)[:, None]
    # "digits" (8×8 images, grey levels 0..16 scaled) and "mnist" (28×28 in [0, 1]): random pixels
    x = rng.random((n, case.sizes[0]), dtype=np.float32)
    if case.data == "digits":
        x = np.round(x * 16) / np.float32(16)
    return x, rng.integers(0, case.sizes[-1], n).astype(np.int64)


# -- the two contestants ---------------------------------------------------------------------------


def build_torch(case: Case) -> tuple[torch.nn.Module, torch.optim.Optimizer, Callable]:
    layers: list[torch.nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(case.sizes, case.sizes[1:], strict=False)):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(case.sizes) - 2:
            layers.append(torch.nn.Tanh() if case.activation == "tanh" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = getattr(torch.optim, case.optimizer)(model.parameters(), **case.options)
    loss = {
        "mse": torch.nn.functional.mse_loss,
        "bce": torch.nn.functional.binary_cross_entropy_with_logits,
        "ce": torch.nn.functional.cross_entropy,
    }[case.loss]
    return model, optimizer, loss


def build_engine(case: Case, weights: dict[str, np.ndarray]) -> tuple[Any, Any, Callable]:
    layers: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(zip(case.sizes, case.sizes[1:], strict=False)):
        layers.append(enn.Linear(fan_in, fan_out))
        if i < len(case.sizes) - 2:
            layers.append(enn.Tanh() if case.activation == "tanh" else enn.ReLU())
    model = enn.Sequential(*layers)
    model.load_state_dict(weights)
    optimizer = getattr(eoptim, case.optimizer)(model.parameters(), **case.options)
    loss = {"mse": ef.mse_loss, "bce": ef.binary_cross_entropy_with_logits, "ce": ef.cross_entropy}[case.loss]
    return model, optimizer, loss


class Runner:
    """Trains one model on the cycled batches; `block(n)` times n steps one by one."""

    def __init__(self, model: Any, optimizer: Any, loss: Callable, batches: list[tuple[Any, Any]]) -> None:
        self.model, self.optimizer, self.loss, self.batches = model, optimizer, loss, batches
        self.steps = 0

    def block(self, n: int) -> list[float]:
        model, optimizer, loss_fn, batches = self.model, self.optimizer, self.loss, self.batches
        clock = time.perf_counter
        times = []
        for _ in range(n):
            x, y = batches[self.steps % len(batches)]
            start = clock()
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            times.append(clock() - start)
            self.steps += 1
        return times


def bench_case(case: Case, rounds: int, block: int, warmup: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    batches = [make_batch(case, rng) for _ in range(BATCHES_PER_CASE)]
    torch.manual_seed(seed)
    t_model, t_opt, t_loss = build_torch(case)
    weights = {k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()}
    e_model, e_opt, e_loss = build_engine(case, weights)
    e_batches = [(engine.Tensor(x), engine.Tensor(y)) for x, y in batches]
    t_batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    runners = {
        "engine": Runner(e_model, e_opt, e_loss, e_batches),
        "torch": Runner(t_model, t_opt, t_loss, t_batches),
    }
    for runner in runners.values():
        runner.block(warmup)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(rounds):
        order = ("engine", "torch") if r % 2 == 0 else ("torch", "engine")
        for name in order:
            times[name].extend(runners[name].block(block))

    engine_ms = statistics.median(times["engine"]) * 1e3
    torch_ms = statistics.median(times["torch"]) * 1e3
    # Both saw the same batches in the same order: their weights should still agree closely.
    t_state = t_model.state_dict()
    drift = max(
        float(np.max(np.abs(array - t_state[name].detach().numpy())))
        for name, array in e_model.parameter_arrays().items()
    )
    return {
        "case": case.name,
        "data": case.data,
        "batch": case.batch,
        "loss": case.loss,
        "optimizer": case.optimizer + "".join(f" {k}={v}" for k, v in case.options.items()),
        "steps_timed": len(times["engine"]),
        "engine_ms": engine_ms,
        "torch_ms": torch_ms,
        "speedup": torch_ms / engine_ms,
        "target": case.min_speedup,
        "met": torch_ms / engine_ms >= case.min_speedup,
        "max_weight_diff": drift,
    }


# -- environment report ----------------------------------------------------------------------------


def openblas_cores() -> list[str]:
    """The OpenBLAS kernels loaded in this process (e.g. "Haswell"; "Prescott" is the slow generic
    fallback), read from the libraries themselves, or via threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        return [f"{i['internal_api']} {i['version']} {i.get('architecture')}" for i in threadpool_info()]
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    found = []
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("openblas_get_corename", "openblas_get_corename64_", "scipy_openblas_get_corename64_"):
            getter = getattr(lib, name, None)
            if getter is not None:
                getter.restype = ctypes.c_char_p
                found.append(f"{Path(path).name}: {getter().decode()}")
                break
    return found


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def environment() -> dict[str, Any]:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": f"{blas.get('name')} {blas.get('version')}",
        "blas_kernels": openblas_cores(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "env": {name: os.environ.get(name) for name in BLAS_ENV_VARS},
    }


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| net | data | batch | loss | optimiser | engine ms/step | torch ms/step | torch/engine | target |",
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        verdict = "met" if r["met"] else "MISSED"
        lines.append(
            f"| {r['case']} | {r['data']} | {r['batch']} | {r['loss']} | {r['optimizer']} | "
            f"{r['engine_ms']:.3f} | {r['torch_ms']:.3f} | {r['speedup']:.2f}× | "
            f"≥{r['target']:g}× {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds per net)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rounds, block, warmup = (6, 25, 30) if args.quick else (20, 50, 100)

    env = environment()
    kernels = ", ".join(env["blas_kernels"]) or "not found"
    print(f"numpy {env['numpy']} ({env['numpy_blas']}), BLAS kernels: {kernels}")
    print(
        f"torch {env['torch']} with {env['torch_threads']} threads (default, not changed); "
        f"CPU: {env['cpu']} × {env['cpu_count']}"
    )
    print("env: " + ", ".join(f"{k}={v}" for k, v in env["env"].items()))
    print()
    results = []
    for case in CASES:
        result = bench_case(case, rounds, block, warmup, args.seed)
        results.append(result)
        progress = f"engine {result['engine_ms']:.3f} ms, torch {result['torch_ms']:.3f} ms"
        print(f"  {case.name}: {progress}", file=sys.stderr)
    print(markdown_table(results))
    print(
        f"\nmedian of {results[0]['steps_timed']} timed steps per side after {warmup} warm-up steps; "
        "max |engine − torch| weight difference at the end: "
        + ", ".join(f"{r['case']} {r['max_weight_diff']:.1e}" for r in results)
    )
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
