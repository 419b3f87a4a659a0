"""Neurons: a sphere per neuron between the weight grids, coloured by its activation for the probe input.

The input column shows the probe input itself (static); each drawn layer's column shows the layer's
output (after its activation) keyed at every record, from ``History.series["activation/<layer>"]``.
Colours come from the weights' diverging map; each column is scaled on its own (see
:func:`activation_scale`), because a sigmoid's 0..1 and a logit's ±8 share no useful common scale.

With the objects writer every neuron is a keyed sphere object (``nnviz_neuron``, ``nnviz_index``);
with the instanced writer each column is one Geometry Nodes object (:func:`.instanced.add_tensor`,
its History key ``probe/input`` or ``activation/<layer>``), so a 784-input column costs one object
instead of 784. Its neurons are the writer's squares, as wide as the spheres (``NEURON_RADIUS`` is
half ``CUBE_SIZE``): the object is scaled by the column's spacing, which shrinks the squares with it.
"""

from __future__ import annotations

import bpy
import numpy as np

from .. import colormap
from ..history import History
from ..layout import Block, Label, text_width
from ..picture.cubes import TensorCubes
from ..view_layout import (
    CAPTION_SCALE,
    INSTANCED_NEURON_CAPTION,
    NEURON_CAPTION,
    NEURON_RADIUS,
    Bounds,
    NeuronPlacement,
)
from . import instanced, objects

# Activations whose output is bounded by ±1: their full range maps onto the whole colour map, so a
# saturated neuron looks saturated.
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softsign")


def activation_scale(values: np.ndarray, activation: str | None) -> float:
    """The |activation| that reaches the end of the colour map for one column of neurons."""
    if activation in BOUNDED_ACTIVATIONS:
        return 1.0
    finite = np.abs(np.asarray(values, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def add_neurons(parent: bpy.types.Collection, history: History, record_frames: np.ndarray,
                placement: NeuronPlacement, writer: str = "objects", frames_per_record: int = 1) -> Bounds | None:
    """Draw the probe input and every drawn layer's recorded activations in a collection
    ``nnviz · neurons`` under ``parent``, at ``record_frames`` (one frame per record): keyed spheres
    with the ``"objects"`` writer, one instanced object per column with ``"instanced"``
    (``frames_per_record`` apart, as the cubes).

    Returns the world-space box the neurons fill, or None when the history has no probe data.
    """
    record_frames = objects.record_frames_of(history, record_frames, "add_neurons")
    columns = _columns(history, placement)
    if not columns:
        return None
    collection = objects.new_collection("nnviz · neurons", parent)
    mesh = objects.sphere_mesh() if writer == "objects" else None
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for prefix, layer, values, scale in columns:
        count = values.shape[1]
        x = placement.input_x if layer is None else placement.layer_x[layer]
        spacing = placement.spacing(count, layer)
        positions = placement.positions(x, count, layer)
        radius = NEURON_RADIUS * spacing
        low = np.minimum(low, positions.min(axis=0) - radius)
        high = np.maximum(high, positions.max(axis=0) + radius)
        if writer == "instanced":
            key = "probe/input" if layer is None else f"activation/{layer}"
            block = Block(prefix, "neurons", key, (count,), positions / spacing, np.arange(count)[:, None])
            column = instanced.add_tensor(TensorCubes(block, values, scale), collection, int(record_frames[0]),
                                          frames_per_record)
            column.scale = (spacing,) * 3
            continue
        rgba = colormap.colors(values, scale)
        names = [f"{prefix} · neuron[{i}]" for i in range(count)]
        keyed = len(values) > 1
        spheres, actions = objects.new_objects(names, mesh, collection, positions, rgba[0], keyed=keyed)
        for i, sphere in enumerate(spheres):
            sphere.scale = (spacing,) * 3
            sphere["nnviz_neuron"] = prefix
            sphere["nnviz_index"] = i
            sphere["nnviz_value"] = float(values[0, i])
            if keyed:
                channels = {("color", c): rgba[:, i, c] for c in range(3)}
                channels['["nnviz_value"]', 0] = values[:, i]
                objects.key(sphere, actions[i], record_frames, channels)
    if placement.caption is not None:
        x, z = placement.caption
        size = CAPTION_SCALE * placement.text_size
        caption = INSTANCED_NEURON_CAPTION if writer == "instanced" else NEURON_CAPTION
        objects.add_label(Label(caption, (x, 0.0, z), size), "neurons · caption", collection)
        low = np.minimum(low, (x, 0.0, z - 0.3 * size))
        high = np.maximum(high, (x + text_width(caption, size), 0.0, z + size))
    return tuple(low.tolist()), tuple(high.tolist())  # type: ignore[return-value]


def _columns(history: History, placement: NeuronPlacement
             ) -> list[tuple[str, str | None, np.ndarray, float]]:
    """(name prefix, layer (None for the input), values (records, neurons), colour scale) of every
    column there is data for."""
    columns = []
    probe = history.static.get("probe/input")
    if probe is not None and history.structure:
        probe = np.asarray(probe, dtype=np.float64).ravel()
        expected = history.structure[0].in_features
        if probe.shape != (expected,):
            raise ValueError(f"add_neurons: static 'probe/input' has shape {probe.shape}, but layer "
                             f"{history.structure[0].name!r} takes ({expected},)")
        columns.append(("input", None, probe[None, :], activation_scale(probe, None)))
    for spec in history.structure:
        key = f"activation/{spec.name}"
        if key not in history.series:
            continue
        values = np.asarray(history.series[key], dtype=np.float64)
        if values.shape != (history.records, spec.out_features):
            raise ValueError(f"add_neurons: series {key!r} has shape {values.shape}, expected "
                             f"{(history.records, spec.out_features)} (records, out_features)")
        if spec.name not in placement.layer_x:
            raise ValueError(f"add_neurons: no column placed for layer {spec.name!r} "
                             f"(placed: {sorted(placement.layer_x)})")
        columns.append((f"layer {spec.name}", spec.name, values,
                        activation_scale(values, spec.activation)))
    return columns
