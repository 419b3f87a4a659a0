"""``make_dataset``: a task's points or images with targets shaped for the chosen loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import catalog  # a module, not its names: catalog imports this package's tasks in turn
from .digits import digits
from .tasks import POINT_TASKS, RGB_MAPPINGS, TASKS, rgb

if TYPE_CHECKING:
    from ..config import DataConfig


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets of one task, ready for the engine.

    ``y`` is float ``(N, out_features)`` for mse/l1/bce/bce_with_logits (the class as 0/1 for binary
    tasks, one-hot for digits) and int64 class indices ``(N,)`` for cross_entropy. ``labels`` keeps
    each sample's class (int64 ``(N,)``) for classification tasks so views can colour the points;
    it is None for the regression task.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    in_features: int
    out_features: int
    kind: str  # "regression" | "binary" | "multiclass"
    classes: int = 0
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)


def output_size(task: str, loss: str) -> int:
    """The model's output width that ``loss`` needs on ``task`` (raises ValueError if they don't fit)."""
    info = TASKS[task]
    if loss == "cross_entropy":
        if info.classes == 0:
            raise ValueError(f"loss 'cross_entropy' needs classes but task {task!r} is a regression task")
        return info.classes
    return info.outputs


def make_dataset(config: DataConfig, loss: str, dtype: np.dtype | type = np.float32) -> Dataset:
    """Generate ``config.task``'s samples (seeded by ``config.seed``) with targets for ``loss``."""
    if config.task not in TASKS:
        raise ValueError(f"unknown task {config.task!r}; allowed: {', '.join(TASKS)}")
    if loss not in catalog.LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(catalog.LOSSES)}")
    info = TASKS[config.task]
    out_features = output_size(config.task, loss)
    rng = np.random.default_rng(config.seed)
    if config.task == "rgb":
        if config.mapping not in RGB_MAPPINGS:
            raise ValueError(f"unknown rgb mapping {config.mapping!r}; allowed: {', '.join(RGB_MAPPINGS)}")
        x, targets = rgb(config.samples, rng, config.mapping)
        return Dataset(name=f"rgb {config.mapping}", x=x.astype(dtype), y=targets.astype(dtype),
                       in_features=info.inputs, out_features=out_features, kind=info.kind)
    if config.task == "digits":
        x, labels = digits(config.samples, rng)
    else:
        x, labels = POINT_TASKS[config.task](config.samples, rng, config.noise)
    if loss == "cross_entropy":
        y = labels
    elif info.kind == "binary":
        y = labels[:, None].astype(dtype)
    else:
        y = np.eye(info.classes, dtype=dtype)[labels]
    return Dataset(name=config.task, x=x.astype(dtype), y=y, in_features=info.inputs,
                   out_features=out_features, kind=info.kind, classes=info.classes, labels=labels)
