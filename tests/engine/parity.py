"""Run the same code on the engine and on torch (float64) and compare values and gradients.

A case is written once as ``fn(lib, F, *leaves)``: ``lib`` is ``nnviz_addon.engine`` or ``torch``
and ``F`` the matching ``nn.functional``, so the two sides cannot drift apart. Every output
(a tensor or a tuple of them) is weighted by a fixed random array and summed into one loss, so
backward exercises each output's gradient with a non-trivial upstream value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from nnviz_addon import engine
from nnviz_addon.engine import Tensor
from nnviz_addon.engine.nn import functional as EF

TOL = 1e-9  # the brief's bound, relative and absolute, in float64

SIDES = ((engine, EF), (torch, torch.nn.functional))


def assert_close(ours: Any, theirs: Any, what: str = "") -> None:
    """Engine tensor/array against torch tensor: same shape, values within TOL (NaN where torch has NaN)."""
    mine = ours.data if isinstance(ours, Tensor) else np.asarray(ours)
    other = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert mine.shape == other.shape, f"{what}: shape {mine.shape} != torch's {other.shape}"
    np.testing.assert_allclose(mine, other, rtol=TOL, atol=TOL, err_msg=what)


def outputs(result: Any) -> list[Any]:
    """A module's or op's result as a flat list of tensors (None entries dropped)."""
    if isinstance(result, (tuple, list)):
        return [r for r in result if r is not None]
    return [result]


def weighted_loss(results: Sequence[Any], weights: Sequence[np.ndarray], lib: Any) -> Any:
    """sum_i (result_i * weight_i).sum(), with NaN results (fully masked rows) left out."""
    total = None
    for result, weight in zip(results, weights, strict=True):
        values = result.data if isinstance(result, Tensor) else result.detach().numpy()
        finite = np.where(np.isnan(values), 0.0, weight)
        picked = result.masked_fill(lib.tensor(np.isnan(values)), 0.0) if np.isnan(values).any() else result
        term = (picked * lib.tensor(finite)).sum()
        total = term if total is None else total + term
    return total


def run_both(
    fn: Callable[..., Any], arrays: Sequence[np.ndarray], rng: np.random.Generator, grad: Sequence[bool] | None = None
) -> tuple[list[Any], list[Any], list[Tensor], list[torch.Tensor]]:
    """``fn`` on engine and torch leaves made from ``arrays`` (float arrays require a gradient
    unless ``grad`` says otherwise), then one backward of the weighted loss on each side."""
    wants = [a.dtype.kind == "f" for a in arrays] if grad is None else list(grad)
    ours = [Tensor(a.copy(), requires_grad=w) for a, w in zip(arrays, wants, strict=True)]
    theirs = [torch.tensor(a, requires_grad=w) for a, w in zip(arrays, wants, strict=True)]
    out_e = outputs(fn(engine, EF, *ours))
    out_t = outputs(fn(torch, torch.nn.functional, *theirs))
    weights = [rng.standard_normal(tuple(o.shape)) for o in out_t]
    weighted_loss(out_e, weights, engine).backward()
    weighted_loss(out_t, weights, torch).backward()
    return out_e, out_t, ours, theirs


def check(fn: Callable[..., Any], arrays: Sequence[np.ndarray], rng: np.random.Generator,
          grad: Sequence[bool] | None = None) -> None:
    """Outputs and every leaf's gradient agree with torch."""
    out_e, out_t, ours, theirs = run_both(fn, arrays, rng, grad)
    assert len(out_e) == len(out_t)
    for i, (e, t) in enumerate(zip(out_e, out_t, strict=True)):
        assert_close(e, t, f"output {i}")
    for i, (e, t) in enumerate(zip(ours, theirs, strict=True)):
        if t.grad is None:
            assert e.grad is None or not np.any(e.grad.data), f"leaf {i}: torch has no gradient"
        else:
            assert e.grad is not None, f"leaf {i}: the engine gave no gradient"
            assert_close(e.grad, t.grad, f"gradient of leaf {i}")


def copy_weights(ours: engine.nn.Module, theirs: torch.nn.Module) -> None:
    """torch's state_dict into the engine module (which must already be float64)."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def assert_parameter_grads(ours: engine.nn.Module, theirs: torch.nn.Module) -> None:
    torch_params = dict(theirs.named_parameters())
    assert [name for name, _ in ours.named_parameters()] == list(torch_params)
    for name, param in ours.named_parameters():
        assert_close(param.grad, torch_params[name].grad, f"gradient of {name}")


def check_module(
    ours: engine.nn.Module,
    theirs: torch.nn.Module,
    call: Callable[[Any, Any, list[Any]], Any],
    arrays: Sequence[np.ndarray],
    rng: np.random.Generator,
) -> None:
    """``call(lib, module, leaves)`` on both modules (float64, same weights): outputs, input
    gradients and parameter gradients agree with torch."""
    copy_weights(ours, theirs)

    def fn(lib: Any, F: Any, *leaves: Any) -> Any:
        return call(lib, ours if lib is engine else theirs, list(leaves))

    check(fn, arrays, rng)
    assert_parameter_grads(ours, theirs)
