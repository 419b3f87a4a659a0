"""Adam and AdamW with torch's update order, so trajectories match torch step for step."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, ParamGroup, check_non_negative, hyper_floats


class Adam(Optimizer):
    """torch.optim.Adam. Per step, in torch's order:

    g ← ±grad (+ wd·p, or p ← p·(1 − lr·wd) when decoupled); m ← lerp(m, g, 1−β1);
    v ← β2·v + (1−β2)·g²; denom ← √v / √(1−β2^t) + eps (v's running max with amsgrad);
    p ← p − lr/(1−β1^t) · m / denom.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Any] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, hyper: dict[str, Any]) -> None:
        check_non_negative(hyper["lr"], "learning rate")
        check_non_negative(hyper["eps"], "epsilon value")
        betas = hyper["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (must be a pair of floats in [0, 1))")
        for index, beta in enumerate(betas):
            is_number = isinstance(beta, (int, float, np.number)) and not isinstance(beta, bool)
            if not is_number or not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta} (must be in [0, 1))")
        check_non_negative(hyper["weight_decay"], "weight_decay value")

    def _hyper(self, group: ParamGroup) -> tuple:
        beta1, beta2 = (float(beta) for beta in group["betas"])
        return (
            *hyper_floats(group, "lr", "eps", "weight_decay"),
            beta1,
            beta2,
            group["amsgrad"],
            group["maximize"],
        )

    def _init_state(self, hyper: tuple, like: np.ndarray) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": np.zeros_like(like), "exp_avg_sq": np.zeros_like(like)}
        if hyper[5]:  # amsgrad
            state["max_exp_avg_sq"] = np.zeros_like(like)
        return state

    def _reads_params(self, hyper: tuple) -> bool:
        return hyper[2] != 0  # weight decay

    def _apply(
        self,
        hyper: tuple,
        data: np.ndarray | None,
        grad: np.ndarray,
        state: dict[str, Any],
        effective: np.ndarray,
        work: np.ndarray,
    ) -> None:
        lr, eps, weight_decay, beta1, beta2, amsgrad, maximize = hyper
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if maximize:
            grad = np.negative(grad, out=effective)
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                data *= 1.0 - lr * weight_decay
            else:
                grad = np.add(grad, np.multiply(data, weight_decay, out=work), out=effective)

        # m.lerp_(g, 1 − β1) is m + (1 − β1)·(g − m) in torch's kernel.
        exp_avg += np.multiply(np.subtract(grad, exp_avg, out=work), 1.0 - beta1, out=work)
        exp_avg_sq *= beta2
        exp_avg_sq += np.multiply(np.square(grad, out=work), 1.0 - beta2, out=work)

        bias_correction1 = 1.0 - beta1**step
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        second_moment = exp_avg_sq
        if amsgrad:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        denom = np.sqrt(second_moment, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        np.multiply(np.divide(exp_avg, denom, out=work), -(lr / bias_correction1), out=work)


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay p ← p·(1 − lr·wd) before the moments."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any] | Iterable[ParamGroup],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
