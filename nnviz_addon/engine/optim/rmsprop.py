"""RMSprop with torch's (optionally centred, optionally momentum) update."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, check_non_negative, hyper_floats


class RMSprop(Optimizer):
    """torch.optim.RMSprop: g ← ±grad + wd·p; v ← α·v + (1−α)·g²; centred: a ← lerp(a, g, 1−α)
    and d ← √(v − a²), else d ← √v; d += eps; with momentum b ← μ·b + g/d and p ← p − lr·b,
    else p ← p − lr·g/d."""

    def __init__(
        self,
        params: Iterable[Any] | Iterable[ParamGroup],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, hyper: dict[str, Any]) -> None:
        check_non_negative(hyper["lr"], "learning rate")
        check_non_negative(hyper["eps"], "epsilon value")
        check_non_negative(hyper["momentum"], "momentum value")
        check_non_negative(hyper["weight_decay"], "weight_decay value")
        check_non_negative(hyper["alpha"], "alpha value")

    def _hyper(self, group: ParamGroup) -> tuple:
        return (
            *hyper_floats(group, "lr", "alpha", "eps", "weight_decay", "momentum"),
            group["centered"],
            group["maximize"],
        )

    def _init_state(self, hyper: tuple, like: np.ndarray) -> dict[str, Any]:
        momentum, centered = hyper[4], hyper[5]
        state = {"step": 0, "square_avg": np.zeros_like(like)}
        if momentum > 0:
            state["momentum_buffer"] = np.zeros_like(like)
        if centered:
            state["grad_avg"] = np.zeros_like(like)
        return state

    def _reads_params(self, hyper: tuple) -> bool:
        return hyper[3] != 0  # weight decay

    def _apply(
        self,
        hyper: tuple,
        data: np.ndarray | None,
        grad: np.ndarray,
        state: dict[str, Any],
        effective: np.ndarray,
        work: np.ndarray,
    ) -> None:
        lr, alpha, eps, weight_decay, momentum, centered, maximize = hyper
        if maximize:
            grad = np.negative(grad, out=effective)
        if weight_decay != 0:
            grad = np.add(grad, np.multiply(data, weight_decay, out=work), out=effective)

        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += np.multiply(np.square(grad, out=work), 1.0 - alpha, out=work)
        if centered:
            grad_avg = state["grad_avg"]
            grad_avg += np.multiply(np.subtract(grad, grad_avg, out=work), 1.0 - alpha, out=work)
            denom = np.subtract(square_avg, np.square(grad_avg, out=work), out=work)
            np.sqrt(denom, out=denom)
        else:
            denom = np.sqrt(square_avg, out=work)
        denom += eps

        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += np.divide(grad, denom, out=work)
            np.multiply(buf, -lr, out=work)
        else:
            np.multiply(np.divide(grad, denom, out=work), -lr, out=work)
