"""Stochastic gradient descent with torch's momentum, dampening, Nesterov and weight-decay rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, check_non_negative, hyper_floats


class SGD(Optimizer):
    """torch.optim.SGD: g ← ±grad + wd·p; buf ← g on the first step, then μ·buf + (1−τ)·g;
    g ← g + μ·buf (Nesterov) or buf; p ← p − lr·g."""

    def __init__(
        self,
        params: Iterable[Any] | Iterable[ParamGroup],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, hyper: dict[str, Any]) -> None:
        check_non_negative(hyper["lr"], "learning rate")
        check_non_negative(hyper["momentum"], "momentum value")
        check_non_negative(hyper["weight_decay"], "weight_decay value")
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _hyper(self, group: ParamGroup) -> tuple:
        return (
            *hyper_floats(group, "lr", "momentum", "dampening", "weight_decay"),
            group["nesterov"],
            group["maximize"],
        )

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
        lr, momentum, dampening, weight_decay, nesterov, maximize = hyper
        if weight_decay != 0:
            np.multiply(data, weight_decay, out=effective)
            grad = (np.subtract if maximize else np.add)(effective, grad, out=effective)
        elif maximize:
            grad = np.negative(grad, out=effective)

        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # torch: the first buffer is the gradient itself, undamped.
                buf = state["momentum_buffer"] = np.array(grad, dtype=work.dtype)
            else:
                buf *= momentum
                if dampening != 0:
                    buf += np.multiply(grad, 1.0 - dampening, out=work)
                else:
                    buf += grad
            grad = np.add(grad, np.multiply(buf, momentum, out=work), out=work) if nesterov else buf

        np.multiply(grad, -lr, out=work)
