"""The one set of checks a History passes before the scene draws it, wherever it came from: a file
(:meth:`History.load`), the Recorder or our training (:class:`HistoryWriter`), or a History built
in memory and handed to ``api.animate``.

The scene trusts what passes: every array is a numpy array of the right kind, records first and as
many as ``steps`` has, each gradient shaped as its parameter, every value and gradient finite (the
record that isn't is named), ``steps`` strictly increasing, and no more data than nnviz loads.
Arrays are named as the file names them (``'param/0.weight'``), so a message reads the same for a
file and for a History built in memory. Each failure is one :class:`HistoryError` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from .keys import GRAD, METRIC, PARAM, SERIES, STATIC, stored
from .layer_spec import LayerSpec

# More than a run may record (preset.limits.MAX_RECORDED_BYTES) with room for its series and statics.
MAX_LOADED_BYTES = 8 * 2**30


class Checked(Protocol):
    """The fields of a :class:`~.history.History` the checks read (History itself imports this module)."""

    name: Any
    structure: Any
    steps: Any
    loss: Any
    params: dict[str, Any]
    grads: dict[str, Any]
    metrics: dict[str, Any]
    series: dict[str, Any]
    static: dict[str, Any]
    config: Any


class HistoryError(ValueError):
    """A History the scene can't draw; the message names the array (and record) and what is allowed."""


def size_text(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} bytes"


def check_history(history: Checked) -> None:
    """Raise :class:`HistoryError` unless the scene can draw ``history`` (see the module docstring)."""
    if not isinstance(history.name, str):
        raise HistoryError(f"'name' must be text, got {type(history.name).__name__}")
    if not isinstance(history.config, Mapping):
        raise HistoryError(f"'config' must be a dict (a preset's settings), got {type(history.config).__name__}")
    steps = _array("steps", history.steps)
    if steps.ndim != 1 or steps.dtype.kind not in "iu":
        raise HistoryError(f"'steps' must be a 1-D integer array, got {steps.dtype} of shape {steps.shape}")
    records = len(steps)
    if records < 1:
        raise HistoryError("'steps' is empty: a history holds at least one record")
    falls = np.flatnonzero(np.diff(steps) <= 0)
    if falls.size:
        at = int(falls[0]) + 1
        raise HistoryError(f"'steps' must be strictly increasing, but record {at} is step {int(steps[at])} "
                           f"after step {int(steps[at - 1])}")
    _real_records("loss", history.loss, records, per_record=())
    for name, array in history.metrics.items():
        _real_records(stored(METRIC, name), array, records, per_record=())
    if not history.params:
        raise HistoryError(f"it holds no parameters ('{PARAM}/...')")
    for name, array in history.params.items():
        _real_records(stored(PARAM, name), array, records)
    for name, array in history.grads.items():
        if name not in history.params:
            raise HistoryError(f"'{stored(GRAD, name)}' has no parameter '{stored(PARAM, name)}'")
        _real_records(stored(GRAD, name), array, records, per_record=history.params[name].shape[1:])
    # A run of values only (a folder of checkpoints keeps no gradients) has none; otherwise every
    # parameter has its gradient.
    missing = sorted(set(history.params) - set(history.grads)) if history.grads else []
    if missing:
        raise HistoryError(f"'{stored(PARAM, missing[0])}' has no gradient '{stored(GRAD, missing[0])}'")
    for name, array in history.series.items():
        array = _array(stored(SERIES, name), array)
        if array.dtype.kind not in "biuf" or array.shape[:1] != (records,):
            raise HistoryError(f"'{stored(SERIES, name)}' must be real numbers, {records} records first; got "
                               f"{array.dtype} of shape {array.shape}")
    for name, array in history.static.items():
        _array(stored(STATIC, name), array)
    for group, arrays in ((PARAM, history.params), (GRAD, history.grads)):
        for name, array in arrays.items():
            _finite(stored(group, name), array, steps)
    total = sum(np.asarray(a).nbytes for group in (history.params, history.grads, history.series, history.static)
                for a in group.values())
    if total > MAX_LOADED_BYTES:
        raise HistoryError(f"its arrays take {size_text(total)}; nnviz draws at most {size_text(MAX_LOADED_BYTES)}")
    _check_structure(history)
    _check_graph(history)


def _array(key: str, value: Any) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise HistoryError(f"{key!r} must be a numpy array, got {type(value).__name__}")
    return value


def _real_records(key: str, array: Any, records: int, per_record: tuple[int, ...] | None = None) -> None:
    """``array`` is real floating point, ``records`` first (then ``per_record``, when given)."""
    array = _array(key, array)
    if array.dtype.kind != "f":
        raise HistoryError(f"{key!r} must hold real floating-point numbers, got {array.dtype}")
    if array.shape[:1] != (records,) or (per_record is not None and array.shape[1:] != tuple(per_record)):
        wanted = f"({records}, {', '.join(map(str, per_record))})" if per_record is not None else f"({records}, ...)"
        raise HistoryError(f"{key!r} has shape {array.shape}, expected {wanted.replace(', )', ',)')}")


def _finite(key: str, array: np.ndarray, steps: np.ndarray) -> None:
    finite = np.isfinite(array.reshape(len(steps), -1)).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise HistoryError(f"{key!r} is not finite (inf or nan) in record {bad} (step {int(steps[bad])}); "
                           "the scene can't draw it")


def _check_graph(history: Checked) -> None:
    """Each module of the model graph (a recorded torch model's) names parameters the History holds."""
    graph = getattr(history, "graph", None)
    for key in [] if graph is None else graph.param_keys:
        if key not in history.params:
            raise HistoryError(f"'graph_json' names parameter {key!r}, which the history does not hold")


def _check_structure(history: Checked) -> None:
    """Each layer names parameters the History holds."""
    if not isinstance(history.structure, list | tuple):
        raise HistoryError(f"'structure' must be a list of LayerSpec, got {type(history.structure).__name__}")
    for index, layer in enumerate(history.structure):
        if not isinstance(layer, LayerSpec):
            raise HistoryError(f"'structure'[{index}] must be a LayerSpec, got {type(layer).__name__}")
        for role, key in (("weight", layer.weight), ("bias", layer.bias)):
            if key is not None and key not in history.params:
                raise HistoryError(f"layer {layer.name!r} names {role} {key!r}, which the history does not hold")
