"""Histories made for tests: synthetic ones with known values, and short runs of the shipped presets."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from nnviz_addon.history import History, LayerSpec
from nnviz_addon.preset.config import find_presets, load_preset
from nnviz_addon.training.run import TrainingRun


def synthetic_history(sizes=(2, 4, 1), records=6, seed=0, norm=False) -> History:
    """An MLP's parameters doing a random walk, with gradients whose magnitudes span decades (none at
    record 0, as in a real run): enough to draw and key without training anything."""
    rng = np.random.default_rng(seed)
    structure, params = [], {}
    for i, (a, b) in enumerate(pairwise(sizes)):
        name = str(2 * i)
        structure.append(LayerSpec(name, "Linear", a, b, f"{name}.weight", f"{name}.bias", "tanh"))
        params[f"{name}.weight"] = rng.normal(0, 0.3, (records, b, a)).cumsum(axis=0)
        params[f"{name}.bias"] = rng.normal(0, 0.1, (records, b)).cumsum(axis=0)
    if norm:
        n = sizes[-1]
        structure.append(LayerSpec("norm", "LayerNorm", n, n, "norm.weight", "norm.bias"))
        params["norm.weight"] = 1 + rng.normal(0, 0.1, (records, n)).cumsum(axis=0)
        params["norm.bias"] = rng.normal(0, 0.1, (records, n)).cumsum(axis=0)
    grad_rng = np.random.default_rng(seed + 1)
    grads = {k: grad_rng.normal(0, 1, v.shape) * 10.0 ** grad_rng.uniform(-4, -1, v.shape)
             for k, v in params.items()}
    for grad in grads.values():
        grad[0] = 0.0
    return History(name="synthetic", structure=structure, steps=np.arange(records) * 10,
                   loss=np.linspace(1.0, 0.1, records), params=params, grads=grads)


def short_run(preset: str, steps: int = 40, record_every: int = 4) -> History:
    """A shipped preset trained for a few steps by the engine, with its probe series."""
    return TrainingRun(load_preset(find_presets()[preset]).replace(
        train={"steps": steps, "record_every": record_every})).run()


def loss_history(loss, step_every: int = 1, **metrics) -> History:
    """A one-weight run whose records carry ``loss`` and ``metrics`` (what the overlay and the loss
    curve draw), a record every ``step_every`` steps."""
    records = len(loss)
    zeros = {"0.weight": np.zeros((records, 1, 1))}
    return History(name="a run", structure=[LayerSpec("0", "Linear", 1, 1, "0.weight", None, None)],
                   steps=np.arange(records) * step_every, loss=np.asarray(loss, dtype=np.float64), params=zeros,
                   grads=zeros, metrics=metrics)


def mlp(*sizes: int) -> tuple[list[LayerSpec], dict[str, tuple[int, ...]]]:
    """The structure and parameter shapes of a Linear network of ``sizes`` (no History needed)."""
    structure, shapes = [], {}
    for i, (a, b) in enumerate(pairwise(sizes)):
        name = str(2 * i)
        structure.append(LayerSpec(name, "Linear", a, b, f"{name}.weight", f"{name}.bias"))
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (b, a), (b,)
    return structure, shapes
