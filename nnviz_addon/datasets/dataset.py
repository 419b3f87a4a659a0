"""``make_dataset``: a task's points or images with targets shaped for the chosen loss."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import catalog
from .digits import digits
from .sequences import SEQUENCE_TASKS
from .table import Table, load_table
from .tasks import POINT_TASKS, RGB_MAPPINGS, TASKS, TaskInfo, rgb

TABLE_TASK = "table"  # your own data: data.path, data.features, data.target
TASK_NAMES = (*TASKS, TABLE_TASK)
SPLIT_STREAM = 1  # the test split draws from its own stream of data.seed, apart from the task's samples


@dataclass(frozen=True)
class DataConfig:
    """The ``[data]`` section of a preset: which task, how many samples, and for a table its file
    and columns (checked by :mod:`..preset.config`)."""

    task: str
    samples: int = 200
    seed: int = 0
    noise: float = 0.1  # jitter of the 2D point tasks
    mapping: str = "complement"  # rgb only
    path: str = ""  # table only: a .csv (header row) or .npz; relative to the preset's folder
    features: tuple[str, ...] = ()  # table only: the feature columns; () = every column but the target
    target: str = ""  # table only: the column to predict
    # Shift and scale the features by the training split's mean and std; None (the default) does so
    # for a table, whose columns come on any scale, and not for the built-in tasks.
    standardize: bool | None = None
    test_fraction: float = 0.0  # held out (seeded by seed) for the test loss and accuracy; 0 = none


    @property
    def standardizes(self) -> bool:
        """Whether the features are standardised: ``standardize`` as set, else only for a table."""
        return self.task == TABLE_TASK if self.standardize is None else self.standardize


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets of one task, ready for the engine.

    ``y`` is float ``(N, out_features)`` for mse/l1/bce/bce_with_logits (the class as 0/1 for binary
    tasks, one-hot for digits) and int64 class indices ``(N,)`` for cross_entropy. A sequence task's
    ``x`` and ``y`` are int64 tokens ``(N, L)``, a target per position (``sequences.IGNORE`` where
    none is asked), and ``labels`` is ``y``. ``labels`` keeps
    each sample's class (int64 ``(N,)``) for classification tasks so views can colour the points;
    it is None for the regression task. A table keeps its column and class names for the views.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    in_features: int
    out_features: int
    kind: str  # "regression" | "binary" | "multiclass"
    classes: int = 0
    labels: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, indices: np.ndarray) -> Dataset:
        """The samples at ``indices``, in that order."""
        labels = None if self.labels is None else self.labels[indices]
        return dataclasses.replace(self, x=self.x[indices], y=self.y[indices], labels=labels)


def table_of(config: DataConfig) -> Table:
    """The table a ``task = "table"`` config names (read once, then cached)."""
    return load_table(config.path, config.target, config.features)


def task_info(config: DataConfig) -> TaskInfo:
    """What the model must fit for ``config``'s task: a built-in task's, or the table's columns."""
    if config.task != TABLE_TASK:
        return TASKS[config.task]
    table = table_of(config)
    outputs = 1 if table.classes <= 2 else table.classes
    return TaskInfo(inputs=len(table.features), outputs=outputs, classes=table.classes,
                    max_samples=len(table))


def output_size(task: str | TaskInfo, loss: str) -> int:
    """The model's output width that ``loss`` needs on ``task`` (raises ValueError if they don't fit)."""
    info = TASKS[task] if isinstance(task, str) else task
    if loss == "cross_entropy":
        if info.classes == 0:
            raise ValueError("loss 'cross_entropy' needs classes but the task is a regression task")
        return info.classes
    return info.outputs


def make_dataset(config: DataConfig, loss: str, dtype: np.dtype | type = np.float32) -> Dataset:
    """Generate ``config.task``'s samples (seeded by ``config.seed``) with targets for ``loss``, or
    read the table; neither split nor standardised (:func:`.split.train_test` does that)."""
    if config.task not in TASK_NAMES:
        raise ValueError(f"unknown task {config.task!r}; allowed: {', '.join(TASK_NAMES)}")
    if loss not in catalog.LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(catalog.LOSSES)}")
    info = task_info(config)
    out_features = output_size(info, loss)
    rng = np.random.default_rng(config.seed)
    if config.task == "rgb":
        if config.mapping not in RGB_MAPPINGS:
            raise ValueError(f"unknown rgb mapping {config.mapping!r}; allowed: {', '.join(RGB_MAPPINGS)}")
        x, targets = rgb(config.samples, rng, config.mapping)
        return Dataset(name=f"rgb {config.mapping}", x=x.astype(dtype), y=targets.astype(dtype),
                       in_features=info.inputs, out_features=out_features, kind=info.kind)
    if info.is_sequence:
        if loss != "cross_entropy":
            raise ValueError(f"task {config.task!r} predicts a token at every position: it needs loss 'cross_entropy'")
        tokens, targets = SEQUENCE_TASKS[config.task](config.samples, rng)
        return Dataset(name=config.task, x=tokens, y=targets, in_features=info.inputs, out_features=out_features,
                       kind=info.kind, classes=info.classes, labels=targets)
    names: dict[str, tuple[str, ...]] = {}
    if config.task == TABLE_TASK:
        table = table_of(config)
        names = {"feature_names": table.features, "class_names": table.class_names}
        if info.kind == "regression":
            return Dataset(name=TABLE_TASK, x=table.x.astype(dtype), y=table.y[:, None].astype(dtype),
                           in_features=info.inputs, out_features=out_features, kind=info.kind, **names)
        x, labels = table.x, table.y.copy()
    elif config.task == "digits":
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
                   out_features=out_features, kind=info.kind, classes=info.classes, labels=labels, **names)
