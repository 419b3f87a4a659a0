"""The film's forward passes as pure numpy (no bpy): what a pass lights in turn, where the passes sit
on the frames, and how much of the signal each weight carries when its layer's turn comes.

A pass shows one record: every neuron goes dark, then each stage (:func:`pass_stages`) lights up in
turn, ``FORWARD_STEP_FRAMES`` apart, while the weights feeding it flash by their share of the
signal (:func:`contributions`, :func:`kernel_contributions`). :func:`timeline` places the records
and the passes on the film's frames; the scene keys what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..history import History
from ..preset.limits import FORWARD_STEP_FRAMES, pass_frames, pass_records
from . import colormap
from . import neurons as neuron_plan


def neuron_columns(history: History) -> list[str]:
    """The ``nnviz_neuron`` names of the neuron columns the scene draws, input first."""
    return list(neuron_plan.column_keys(history))


def pass_stages(history: History) -> list[str]:
    """What a forward pass lights in turn, in the signal's order: the neuron columns
    (:func:`neuron_columns`) and, between them, each Conv2d layer whose feature maps are recorded
    (``"layer <name>"``: its kernels flash there; its maps stay as they are)."""
    columns = neuron_columns(history)
    stages = ["input"] if "input" in columns else []
    for spec in history.structure:
        name = f"layer {spec.name}"
        if name in columns or (spec.kind == "Conv2d" and f"feature/{spec.name}" in history.series):
            stages.append(name)
    return stages


def pass_inputs(history: History, record: int) -> dict[str, np.ndarray]:
    """Layer name → the probe's input to that Linear or Conv2d layer at ``record``, where it is
    recorded: for a Linear layer the probe input or the recorded activation of the layer before (a
    vector); for a Conv2d layer the probe image or the feature maps recorded just before its own
    (C, H, W)."""
    inputs: dict[str, np.ndarray] = {}
    previous = history.static.get("probe/input")
    for spec in history.structure:
        if previous is not None and spec.kind == "Linear" and np.size(previous) == spec.in_features:
            inputs[spec.name] = np.asarray(previous, dtype=np.float64).ravel()
        series = history.series.get(f"activation/{spec.name}")
        previous = None if series is None else series[record]  # this record's only, not a copy of the run
    convs = {spec.name: spec for spec in history.structure if spec.kind == "Conv2d"}
    maps = history.static.get("probe/image")
    for key, series in history.series.items():  # the feature maps, in the model's order
        if not key.startswith("feature/"):
            continue
        spec = convs.get(key.removeprefix("feature/"))
        if spec is not None and maps is not None and np.shape(maps)[0] == spec.in_features:
            inputs[spec.name] = np.asarray(maps, dtype=np.float64)
        maps = series[record]
    return inputs


def forward_pass_frames(columns: int, start: int | np.ndarray, step: int = FORWARD_STEP_FRAMES) -> np.ndarray:
    """The frame each of ``columns`` neuron columns (input first) lights up at, in a forward pass
    whose first frame (all dark) is ``start`` (passes starting at a column of ``start`` frames give
    a row each); the pass takes ``(columns + 1) * step`` frames."""
    return start + step * np.arange(1, columns + 1, dtype=np.int64)


@dataclass(frozen=True)
class Timeline:
    """Where the records and the forward passes sit on the film's frames.

    ``record_frames[r]`` is record r's frame; pass i shows record ``passes[i]``: every neuron dark
    at ``starts[i]``, column k lit at ``lit[i, k]``; a pass takes ``pass_length`` frames. The intro
    pass (record 0) comes before record 0; any other pass at record r starts the frame after it and
    pauses the run (records after r come a pass later): every keyed value holds record r's until
    ``holds[j]`` (for the pass at ``hold_records[j]``), then moves on to the next record as usual.
    ``frame_end`` is the last frame.
    """

    record_frames: np.ndarray
    passes: np.ndarray
    starts: np.ndarray
    lit: np.ndarray
    hold_records: np.ndarray
    holds: np.ndarray
    frame_end: int
    pass_length: int


def timeline(records: int, frames_per_record: int, frame_start: int, columns: int, mode: str,
             every: int = 1, step: int = FORWARD_STEP_FRAMES) -> Timeline:
    """The :class:`Timeline` of ``records`` records ``frames_per_record`` apart from ``frame_start``
    with the forward passes of ``mode`` over ``columns`` neuron columns (none without columns)."""
    length = pass_frames(columns, step)
    shown = pass_records(records, mode, every) if length else []
    middle = np.array([r for r in shown if 0 < r < records - 1], dtype=np.int64)
    # Frames before each record: the intro before record 0, a paused pass after each middle record.
    gap = np.full(records, frames_per_record, dtype=np.int64)
    gap[0] = length if shown else 0
    gap[middle + 1] += length
    record_frames = frame_start + np.cumsum(gap)
    starts = np.array([frame_start if i == 0 else record_frames[r] + 1 for i, r in enumerate(shown)],
                      dtype=np.int64)
    lit = forward_pass_frames(columns, starts[:, None], step)
    holds = record_frames[middle + 1] - frames_per_record
    end = int(starts[-1]) + length if len(shown) > 1 else int(record_frames[-1])
    return Timeline(record_frames, np.array(shown, dtype=np.int64), starts, lit, middle, holds, end, length)


def contributions(weight: np.ndarray, x: np.ndarray) -> np.ndarray:
    """|w_ij · x_j| of a Linear layer's ``weight`` (out, in) for the input ``x`` (in,), divided by
    its largest (all zero when every product is zero): the share of the signal each weight carries."""
    weight = np.asarray(weight, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).ravel()
    if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
        raise ValueError(f"contributions: weight {weight.shape} does not take an input of shape {x.shape}")
    return _shares(np.abs(weight * x[None, :]))


def kernel_contributions(weight: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """A Conv2d layer's share of the signal per kernel weight, for the input feature ``maps``
    (in, H, W): a kernel weight w[o, i, u, v] meets every position of channel i, so it carries
    |w| times the mean |x| of that channel (borders and stride aside), divided by the largest
    (all zero when every product is zero)."""
    weight = np.asarray(weight, dtype=np.float64)
    maps = np.asarray(maps, dtype=np.float64)
    if weight.ndim != 4 or maps.ndim != 3 or weight.shape[1] != maps.shape[0]:
        raise ValueError(f"kernel_contributions: weight {weight.shape} does not take feature maps "
                         f"of shape {maps.shape}")
    return _shares(np.abs(weight) * np.abs(maps).mean(axis=(1, 2))[None, :, None, None])


def _shares(carried: np.ndarray) -> np.ndarray:
    """``carried`` divided by its largest finite value (not finite: 0; all zero stays zero)."""
    carried = np.where(np.isfinite(carried), carried, 0.0)
    top = carried.max(initial=0.0)
    return carried / top if top > 0 else carried




def column_colors(history: History) -> dict[str, np.ndarray]:
    """Neuron column name → its neurons' colours (records, N, 3) as the neurons' plan keys them (one
    row for the static input): what a column shows when its turn in a pass lights it."""
    return {prefix: colormap.colors(values, scale)[..., :3]
            for prefix, _layer, values, scale in neuron_plan.column_values(history)}
