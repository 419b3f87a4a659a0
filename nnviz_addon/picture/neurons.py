"""The neurons' plan: a sphere per neuron between the weight grids, where it sits, how big it is and
its colour at every record (pure numpy, no bpy). ``scene.neurons`` only writes it.

The input column shows the probe input itself (static); each drawn layer's column shows the layer's
output (after its activation) at every record, from ``History.series["activation/<layer>"]``.
Colours come from the weights' diverging map; each column is scaled on its own (see
:func:`activation_scale`), because a sigmoid's 0..1 and a logit's ±8 share no useful common scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..history import History
from ..history.keys import PROBE_INPUT, activation
from . import colormap
from .cubes import TensorCubes
from .shapes import Block, Bounds, Label, text_width
from .view_layout import CAPTION_SCALE, NEURON_CAPTION, NEURON_RADIUS, NeuronPlacement

# Activations whose output is bounded by ±1: their full range maps onto the whole colour map, so a
# saturated neuron looks saturated.
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softsign")


@dataclass(frozen=True)
class NeuronColumn:
    """One column: ``prefix`` ("input" or "layer <name>") of its spheres' names, their ``positions``
    (N, 3), each a unit sphere mesh scaled ``scale``; ``values`` (records, N) and ``rgba``
    (records, N, 4) at each record (one record for the static input), coloured on ``color_scale``;
    ``key`` is the History key the values come from (``probe/input`` or ``activation/<layer>``)."""

    prefix: str
    positions: np.ndarray
    scale: float
    values: np.ndarray
    rgba: np.ndarray
    key: str
    color_scale: float

    def instanced_cubes(self) -> TensorCubes:
        """The column as the instanced writer's tensor: its squares' centres divided by ``scale``,
        the object's scale, which shrinks the squares to the spheres' width with them."""
        count = len(self.positions)
        block = Block(self.prefix, "neurons", self.key, (count,), self.positions / self.scale,
                      np.arange(count)[:, None])
        return TensorCubes(block, self.values, self.color_scale)


@dataclass(frozen=True)
class NeuronsPlan:
    """The columns keyed at ``frames``, the caption (None without one) and the box they fill."""

    frames: np.ndarray
    columns: list[NeuronColumn]
    caption: Label | None
    bounds: Bounds


def activation_scale(values: np.ndarray, activation: str | None) -> float:
    """The |activation| that reaches the end of the colour map for one column of neurons."""
    return 1.0 if activation in BOUNDED_ACTIVATIONS else colormap.finite_peak(values)


def plan(history: History, frames: np.ndarray, placement: NeuronPlacement,
         caption_text: str = NEURON_CAPTION) -> NeuronsPlan | None:
    """The probe input and every drawn layer's recorded activations as ``placement`` places them,
    keyed at ``frames`` (one per record), under ``caption_text``; None when the history has no
    probe data."""
    columns = []
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for prefix, layer, values, scale in _columns(history, placement):
        count = values.shape[1]
        x = placement.input_x if layer is None else placement.layer_x[layer]
        spacing = placement.spacing(count, layer)
        positions = placement.positions(x, count, layer)
        radius = NEURON_RADIUS * spacing
        key = PROBE_INPUT if layer is None else activation(layer)
        columns.append(NeuronColumn(prefix, positions, spacing, values, colormap.colors(values, scale), key, scale))
        low = np.minimum(low, positions.min(axis=0) - radius)
        high = np.maximum(high, positions.max(axis=0) + radius)
    if not columns:
        return None
    caption = None
    if placement.caption is not None:
        x, z = placement.caption
        size = CAPTION_SCALE * placement.text_size
        caption = Label(caption_text, (x, 0.0, z), size)
        low = np.minimum(low, (x, 0.0, z - 0.3 * size))
        high = np.maximum(high, (x + text_width(caption_text, size), 0.0, z + size))
    return NeuronsPlan(frames=np.asarray(frames, dtype=np.float64), columns=columns, caption=caption,
                       bounds=(tuple(low.tolist()), tuple(high.tolist())))  # type: ignore[arg-type]


def column_keys(history: History) -> dict[str, str]:
    """Name prefix → History key of every neuron column there is data for, input first: ``"input"``
    → ``probe/input``, ``"layer <name>"`` → ``activation/<name>``."""
    keys = {"input": PROBE_INPUT} if PROBE_INPUT in history.static and history.structure else {}
    for spec in history.structure:
        if activation(spec.name) in history.series:
            keys[f"layer {spec.name}"] = activation(spec.name)
    return keys


def column_values(history: History) -> list[tuple[str, str | None, np.ndarray, float]]:
    """(name prefix, layer (None for the input), values (records, neurons), colour scale) of every
    column there is data for (:func:`column_keys`); a ValueError when a column's data doesn't fit
    its layer (``api.check_scene`` asks this before any scene work)."""
    columns = []
    keys = column_keys(history)
    if "input" in keys:
        probe = np.asarray(history.static[PROBE_INPUT], dtype=np.float64).ravel()
        expected = history.structure[0].in_features
        if probe.shape != (expected,):
            raise ValueError(f"add_neurons: static '{PROBE_INPUT}' has shape {probe.shape}, but layer "
                             f"{history.structure[0].name!r} takes ({expected},)")
        columns.append(("input", None, probe[None, :], activation_scale(probe, None)))
    for spec in history.structure:
        key = keys.get(f"layer {spec.name}")
        if key is None:
            continue
        values = np.asarray(history.series[key], dtype=np.float64)
        if values.shape != (history.records, spec.out_features):
            raise ValueError(f"add_neurons: series {key!r} has shape {values.shape}, expected "
                             f"{(history.records, spec.out_features)} (records, out_features)")
        columns.append((f"layer {spec.name}", spec.name, values, activation_scale(values, spec.activation)))
    return columns


def _columns(history: History, placement: NeuronPlacement
             ) -> list[tuple[str, str | None, np.ndarray, float]]:
    """:func:`column_values`, each layer's column checked to have a place."""
    columns = column_values(history)
    for _prefix, layer, _values, _scale in columns:
        if layer is not None and layer not in placement.layer_x:
            raise ValueError(f"add_neurons: no column placed for layer {layer!r} "
                             f"(placed: {sorted(placement.layer_x)})")
    return columns
