"""The record of a training run: the contract between the engine (or PyTorch) and the scene.

A History holds, for every recorded step, each parameter's value and gradient, the loss and any
metrics, plus the model's structure and the preset it came from. It is plain numpy and saves to one
``.npz`` file that loads with ``allow_pickle=False``.

File format (``FORMAT_VERSION`` 2; version 1 files, which lack ``graph_json``, load as before), one
array per key:

============================  ====================================================================
``format_version``            int64 scalar, 2 (or 1)
``name``                      str scalar: the run's title (preset name)
``structure_json``            str scalar: JSON list of layer dicts (see :class:`LayerSpec`)
``config_json``               str scalar: JSON object, the preset as plain data (may be ``{}``)
``graph_json``                optional str scalar: the model's module tree, running order and skips
                              (see :class:`.graph.ModelGraph`); recorded torch runs have it
``steps``                     int64 (R,): the optimiser step each record was taken after (0 = initial)
``loss``                      float64 (R,): the loss of that step (NaN for the initial record)
``param/<name>``              (R, *shape): the parameter's value, ``<name>`` as in ``state_dict``
``grad/<name>``               (R, *shape): its gradient (zeros where none existed yet)
``metric/<name>``             float64 (R,): e.g. ``accuracy``, ``test_loss``, ``test_accuracy``
``series/<name>``             (R, ...): other per-record arrays (activations, predictions, ...)
``static/<name>``             any shape: per-run arrays that do not change (probe inputs, data points)
``static/input_shape``        int64 (k,), optional: the shape of one input sample, e.g. ``[28, 28]``
                              or ``[C, H, W]``, when the inputs form an image (see
                              :attr:`History.input_shape`); files without it load as before
============================  ====================================================================
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import file_format as history_file
from .atomic import write_atomically
from .checks import HistoryError, check_history
from .graph import ModelGraph
from .keys import GRAD, GROUPS, INPUT_SHAPE, METRIC, PARAM, SERIES, STATIC, stored
from .layer_spec import LayerSpec

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: no graph_json
# What reading a file that is not a (whole) .npz raises, from numpy, zipfile and zlib.
_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


@dataclass
class History:
    """Every recorded step of one run. Arrays are indexed by record first."""

    name: str
    structure: list[LayerSpec]
    steps: np.ndarray
    loss: np.ndarray
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    static: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    graph: ModelGraph | None = None  # how a recorded model is built; None: draw ``structure`` alone

    def validate(self) -> History:
        """Check everything the scene relies on (:func:`.checks.check_history`: dtypes, shapes,
        finite values, increasing steps, size) and return ``self``; a :class:`.checks.HistoryError`
        (a ValueError) names the array and the record otherwise. ``load`` and ``api.animate`` call it."""
        check_history(self)
        return self

    @property
    def records(self) -> int:
        return len(self.steps)

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one input sample (``(8, 8)`` for digits, ``(28, 28)``, ``(C, H, W)``) when the
        run recorded one, else None. The scene draws the first layer's weights as images of it."""
        shape = self.static.get(INPUT_SHAPE)
        return None if shape is None else tuple(int(n) for n in np.asarray(shape).reshape(-1))

    @property
    def parameter_count(self) -> int:
        return int(sum(int(np.prod(a.shape[1:])) for a in self.params.values()))

    def value_range(self, keys: list[str] | None = None) -> float:
        """The largest |value| over all records of the given parameters (all when None)."""
        chosen = self.params if keys is None else {k: self.params[k] for k in keys}
        finite = [np.nanmax(np.abs(a)) for a in chosen.values() if a.size]
        return float(max(finite)) if finite else 0.0

    def save(self, path: str | Path) -> Path:
        """Write the run to one ``.npz`` file (see the module docstring for the format), atomically:
        on any failure (a full disk) the earlier file is kept and :class:`~.atomic.OutputError`
        names ``path``. A History that :meth:`validate` refuses is not written (a ValueError)."""
        path = Path(path)
        self.validate()
        arrays: dict[str, np.ndarray] = {
            "format_version": np.asarray(FORMAT_VERSION, dtype=np.int64),
            "name": np.asarray(self.name),
            "structure_json": np.asarray(json.dumps([layer.to_dict() for layer in self.structure])),
            "config_json": np.asarray(json.dumps(self.config)),
            "steps": np.asarray(self.steps, dtype=np.int64),
            "loss": np.asarray(self.loss, dtype=np.float64),
        }
        if self.graph is not None:
            arrays["graph_json"] = np.asarray(self.graph.to_json())
        for prefix, group in ((PARAM, self.params), (GRAD, self.grads), (METRIC, self.metrics),
                              (SERIES, self.series), (STATIC, self.static)):
            for key, array in group.items():
                arrays[stored(prefix, key)] = np.asarray(array)
        def write(partial: Path) -> None:
            # np.savez_compressed's layout, written here because numpy leaves its archive unclosed
            # when a write fails (a full disk), which then complains again when collected.
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for key, array in arrays.items():
                    with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)

        # Checked as a user would open it: a file that doesn't load never replaces a good one.
        return write_atomically(path, write, check=History.load)

    @classmethod
    def load(cls, path: str | Path) -> History:
        """Read a run written by :meth:`save` (ours or :mod:`nnviz_addon.record`'s). Anything that
        is not such a file (missing, truncated, another archive, arrays of the wrong kind, sizes
        its headers can't back, parameters that aren't finite) is a ValueError naming ``path``;
        see :mod:`.history_file` for what is checked."""
        path = Path(path)
        try:
            history_file.check_claimed_sizes(path)  # before anything is allocated
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            history_file.check_version(arrays, READABLE_VERSIONS)
            history_file.check_arrays(arrays)
            history = cls._from_arrays(arrays)
            history.validate()
        except HistoryError as error:
            raise ValueError(f"{path}: {error}") from None
        except (*_UNREADABLE, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path}: not an nnviz history file ({type(error).__name__}: {error})") from error
        return history

    @classmethod
    def _from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> History:
        groups: dict[str, dict[str, np.ndarray]] = {p: {} for p in GROUPS}
        for key, array in arrays.items():
            prefix, sep, name = key.partition("/")
            if sep and prefix in groups:
                groups[prefix][name] = array
        config = json.loads(str(arrays["config_json"]))
        if not isinstance(config, dict):
            raise history_file.HistoryFileError(f"'config_json' must be a JSON object, got {type(config).__name__}")
        return cls(
            name=str(arrays["name"]),
            structure=[LayerSpec.from_dict(d) for d in json.loads(str(arrays["structure_json"]))],
            steps=arrays["steps"],
            loss=arrays["loss"],
            params=groups[PARAM],
            grads=groups[GRAD],
            metrics=groups[METRIC],
            series=groups[SERIES],
            static=groups[STATIC],
            config=config,
            graph=ModelGraph.from_json(str(arrays["graph_json"])) if "graph_json" in arrays else None,
        )


class HistoryWriter:
    """Collects records into preallocated arrays while training, cheaply (one copy per array).

    ``capacity`` is a hint; the buffers double when it is exceeded.
    """

    def __init__(self, name: str, structure: list[LayerSpec], shapes: Mapping[str, tuple[int, ...]],
                 dtype: np.dtype | type = np.float32, capacity: int = 64,
                 config: Mapping[str, Any] | None = None, graph: ModelGraph | None = None) -> None:
        self.name = name
        self.graph = graph
        self.structure = list(structure)
        self.config = dict(config or {})
        self.static: dict[str, np.ndarray] = {}
        self._dtype = np.dtype(dtype)
        self._shapes = {key: tuple(shape) for key, shape in shapes.items()}
        self._count = 0
        capacity = max(1, int(capacity))
        self._steps = np.zeros(capacity, dtype=np.int64)
        self._loss = np.zeros(capacity, dtype=np.float64)
        self._params = {k: np.zeros((capacity, *s), dtype=self._dtype) for k, s in self._shapes.items()}
        self._grads = {k: np.zeros((capacity, *s), dtype=self._dtype) for k, s in self._shapes.items()}
        self._metrics: dict[str, np.ndarray] = {}
        self._series: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self._count

    @property
    def last_step(self) -> int | None:
        return int(self._steps[self._count - 1]) if self._count else None

    def record(self, step: int, loss: float, params: Mapping[str, np.ndarray],
               grads: Mapping[str, np.ndarray | None] | None = None,
               metrics: Mapping[str, float] | None = None,
               series: Mapping[str, np.ndarray] | None = None) -> None:
        """Append one record. Missing gradients (``None``) are stored as zeros."""
        if self._count == len(self._steps):
            self._grow()
        i = self._count
        self._steps[i] = step
        self._loss[i] = loss
        for key, shape in self._shapes.items():
            value = params[key]
            if value.shape != shape:
                raise ValueError(f"HistoryWriter: parameter {key!r} has shape {value.shape}, expected {shape}")
            self._params[key][i] = value
            grad = None if grads is None else grads.get(key)
            if grad is None:
                self._grads[key][i] = 0
            else:
                self._grads[key][i] = grad
        for key, value in (metrics or {}).items():
            number = _metric_number(key, value)
            buffer = self._metrics.get(key)
            if buffer is None:
                buffer = self._metrics[key] = np.full(len(self._steps), np.nan)
            buffer[i] = number
        for key, value in (series or {}).items():
            value = np.asarray(value)
            buffer = self._series.get(key)
            if buffer is None:
                buffer = self._series[key] = np.zeros((len(self._steps), *value.shape), dtype=value.dtype)
            buffer[i] = value
        self._count += 1

    def discard_last(self) -> None:
        """Forget the last record, so its step can be recorded again (after a weight edited by hand)."""
        if not self._count:
            raise ValueError("HistoryWriter.discard_last: there is no record to discard")
        self._count -= 1
        for buffer in self._metrics.values():  # a metric the next record lacks must read as unknown
            buffer[self._count] = np.nan

    def _grow(self) -> None:
        def doubled(array: np.ndarray, fill: float = 0.0) -> np.ndarray:
            extra = np.full((len(array), *array.shape[1:]), fill, dtype=array.dtype)
            return np.concatenate([array, extra])

        self._steps = doubled(self._steps)
        self._loss = doubled(self._loss)
        self._params = {k: doubled(v) for k, v in self._params.items()}
        self._grads = {k: doubled(v) for k, v in self._grads.items()}
        self._metrics = {k: doubled(v, np.nan) for k, v in self._metrics.items()}
        self._series = {k: doubled(v) for k, v in self._series.items()}

    def history(self) -> History:
        """A History of everything recorded so far (copies, so recording can go on)."""
        n = self._count
        return History(
            name=self.name,
            structure=list(self.structure),
            steps=self._steps[:n].copy(),
            loss=self._loss[:n].copy(),
            params={k: v[:n].copy() for k, v in self._params.items()},
            grads={k: v[:n].copy() for k, v in self._grads.items()},
            metrics={k: v[:n].copy() for k, v in self._metrics.items()},
            series={k: v[:n].copy() for k, v in self._series.items()},
            static={k: np.array(v) for k, v in self.static.items()},
            config=dict(self.config),
            graph=self.graph,
        )


def _metric_number(key: str, value: Any) -> float:
    """A metric's value as a float, or a ValueError naming the metric (``"high"`` is no number)."""
    if isinstance(value, str | bytes | bool) or np.ndim(value) != 0:
        raise ValueError(f"metric {key!r} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"metric {key!r} must be a number, got {value!r}") from None


def check_input_shape(input_shape: Any, structure: list[LayerSpec], source: str) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints that fits the first layer of ``structure``: a
    ``Linear`` takes ``prod(input_shape)`` inputs, a ``Conv2d`` (C, H, W) or (H, W) with C its
    input channels (1 for (H, W)). Raises ValueError starting with ``source``, naming both sizes."""
    try:
        shape = tuple(int(n) for n in input_shape)
    except TypeError:
        raise ValueError(f"{source}: input_shape must be a tuple of sizes such as (28, 28) or (1, 28, 28), "
                         f"got {input_shape!r}") from None
    whole = all(n == v for n, v in zip(shape, input_shape, strict=True))  # 28.5 is not a size
    if not (1 <= len(shape) <= 3 and whole and all(n >= 1 for n in shape)):
        raise ValueError(f"{source}: input_shape must be 1 to 3 positive integers such as (28, 28) or "
                         f"(1, 28, 28), got {input_shape!r}")
    if not structure:
        return shape
    first = structure[0]
    if first.kind == "Conv2d":
        channels = shape[0] if len(shape) == 3 else 1
        if len(shape) == 1 or channels != first.in_features:
            raise ValueError(f"{source}: input_shape {shape} is not an image of {first.in_features} channels, "
                             f"which the first layer {first.name!r} (Conv2d) takes; give (C, H, W) with "
                             f"C = {first.in_features}")
        return shape
    size = int(np.prod(shape))
    if size != first.in_features:
        raise ValueError(f"{source}: input_shape {shape} has {size} values but the first layer "
                         f"{first.name!r} ({first.kind}) takes {first.in_features} inputs")
    return shape
