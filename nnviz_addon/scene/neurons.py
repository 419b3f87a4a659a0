"""Neurons: a sphere per neuron between the weight grids, coloured by its activation for the probe input.

The input column shows the probe input itself (static); each drawn layer's column shows the layer's
output (after its activation) keyed at every record, from ``History.series["activation/<layer>"]``.
Colours come from the weights' diverging map; each column is scaled on its own (see
:func:`activation_scale`), because a sigmoid's 0..1 and a logit's ±8 share no useful common scale.

Also home of the small datablock helpers the other learning views share (the shared material, the
sphere mesh, objects whose actions are made first as :mod:`.keyframes` asks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bpy
import numpy as np

from .. import colormap
from ..history import History
from ..layout import CHAR_WIDTH, Label
from ..view_layout import NEURON_RADIUS, Bounds, NeuronPlacement
from . import keyframes, objects

# Activations whose output is bounded by ±1: their full range maps onto the whole colour map, so a
# saturated neuron looks saturated.
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softsign")
CAPTION = "circles: each neuron's output for one probe input"
CAPTION_SCALE = 0.8  # of the layout's text size, like the legend's labels
SPHERE_SEGMENTS = 24  # around; enough for a round silhouette at any size the frame gives a neuron
SPHERE_RINGS = 12


def activation_scale(values: np.ndarray, activation: str | None) -> float:
    """The |activation| that reaches the end of the colour map for one column of neurons."""
    if activation in BOUNDED_ACTIVATIONS:
        return 1.0
    finite = np.abs(np.asarray(values, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def add_neurons(parent: bpy.types.Collection, history: History, record_frames: np.ndarray,
                placement: NeuronPlacement) -> Bounds | None:
    """Draw the probe input and every drawn layer's recorded activations as spheres in a collection
    ``nnviz · neurons`` under ``parent``; key them at ``record_frames`` (one frame per record).

    Returns the world-space box the spheres fill, or None when the history has no probe data.
    """
    record_frames = _check_frames(record_frames, history)
    columns = _columns(history, placement)
    if not columns:
        return None
    collection = objects.new_collection("nnviz · neurons", parent)
    mesh = sphere_mesh()
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for prefix, x, values, scale in columns:
        count = values.shape[1]
        positions = placement.positions(x, count)
        radius = NEURON_RADIUS * placement.spacing(count)
        rgba = colormap.colors(values, scale)
        names = [f"{prefix} · neuron[{i}]" for i in range(count)]
        keyed = len(values) > 1
        spheres, actions = new_objects(names, mesh, collection, positions, rgba[0], keyed=keyed)
        for i, sphere in enumerate(spheres):
            sphere.scale = (placement.spacing(count),) * 3
            sphere["nnviz_neuron"] = prefix
            sphere["nnviz_index"] = i
            sphere["nnviz_value"] = float(values[0, i])
            if keyed:
                channels = {("color", c): rgba[:, i, c] for c in range(3)}
                channels['["nnviz_value"]', 0] = values[:, i]
                key(sphere, actions[i], record_frames, channels)
        low = np.minimum(low, positions.min(axis=0) - radius)
        high = np.maximum(high, positions.max(axis=0) + radius)
    if placement.caption is not None:
        x, z = placement.caption
        size = CAPTION_SCALE * placement.text_size
        objects.add_label(Label(CAPTION, (x, 0.0, z), size), "neurons · caption", collection, shared_material())
        low = np.minimum(low, (x, 0.0, z - 0.3 * size))
        high = np.maximum(high, (x + len(CAPTION) * CHAR_WIDTH * size, 0.0, z + size))
    return tuple(low.tolist()), tuple(high.tolist())  # type: ignore[return-value]


def _check_frames(record_frames: np.ndarray, history: History) -> np.ndarray:
    record_frames = np.asarray(record_frames, dtype=np.float64)
    if record_frames.shape != (history.records,):
        raise ValueError(f"record_frames has shape {record_frames.shape}, expected ({history.records},): "
                         "one frame per record")
    return record_frames


def _columns(history: History, placement: NeuronPlacement) -> list[tuple[str, float, np.ndarray, float]]:
    """(name prefix, x, values (records, neurons), colour scale) of every column there is data for."""
    columns = []
    probe = history.static.get("probe/input")
    if probe is not None and history.structure:
        probe = np.asarray(probe, dtype=np.float64).ravel()
        expected = history.structure[0].in_features
        if probe.shape != (expected,):
            raise ValueError(f"add_neurons: static 'probe/input' has shape {probe.shape}, but layer "
                             f"{history.structure[0].name!r} takes ({expected},)")
        columns.append(("input", placement.input_x, probe[None, :], activation_scale(probe, None)))
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
        columns.append((f"layer {spec.name}", placement.layer_x[spec.name], values,
                        activation_scale(values, spec.activation)))
    return columns


# -- datablocks shared by the learning views ---------------------------------------------------------


def shared_material() -> bpy.types.Material:
    """The scene's object-colour material, made if no build made it yet (one for all objects)."""
    for material in bpy.data.materials:
        if material.get(objects.TAG) and material.name.startswith("nnviz · object colour"):
            return material
    return objects.object_color_material()


def shared_mesh(name: str, vertices: np.ndarray, faces: Sequence[Sequence[int]]) -> bpy.types.Mesh:
    """The tagged mesh ``name`` with the shared material, made from ``vertices`` and ``faces`` the
    first time it is asked for."""
    mesh = bpy.data.meshes.get(name)
    if mesh is not None and mesh.get(objects.TAG):
        return mesh
    mesh = objects.tagged(bpy.data.meshes.new(name))
    mesh.from_pydata(np.asarray(vertices, dtype=np.float64).tolist(), [], [list(f) for f in faces])
    mesh.validate()
    mesh.materials.append(shared_material())
    return mesh


def sphere_mesh() -> bpy.types.Mesh:
    """A UV sphere of radius ``NEURON_RADIUS`` (neurons, data points, markers)."""
    rings, segments = SPHERE_RINGS, SPHERE_SEGMENTS
    polar = np.pi * np.arange(1, rings) / rings  # ring latitudes without the poles
    azimuth = 2 * np.pi * np.arange(segments) / segments
    ring_vertices = np.stack([np.outer(np.sin(polar), np.cos(azimuth)),
                              np.outer(np.sin(polar), np.sin(azimuth)),
                              np.repeat(np.cos(polar)[:, None], segments, axis=1)], axis=-1).reshape(-1, 3)
    vertices = np.vstack([[(0, 0, 1)], ring_vertices, [(0, 0, -1)]]) * NEURON_RADIUS
    bottom_pole = len(vertices) - 1

    def ring(r: int, s: int) -> int:
        return 1 + r * segments + s % segments

    faces = [(0, ring(0, s), ring(0, s + 1)) for s in range(segments)]
    faces += [(ring(r, s), ring(r + 1, s), ring(r + 1, s + 1), ring(r, s + 1))
              for r in range(rings - 2) for s in range(segments)]
    faces += [(ring(rings - 2, s + 1), ring(rings - 2, s), bottom_pole) for s in range(segments)]
    return shared_mesh("nnviz · sphere", vertices, faces)


def square_mesh() -> bpy.types.Mesh:
    """A 1 × 1 square in the picture plane facing the camera (tiles, swatches, pixels, lines)."""
    vertices = [(-0.5, 0.0, -0.5), (0.5, 0.0, -0.5), (0.5, 0.0, 0.5), (-0.5, 0.0, 0.5)]
    return shared_mesh("nnviz · square", np.array(vertices), [(0, 1, 2, 3)])


def key(target: bpy.types.ID, action: bpy.types.Action, frames: np.ndarray,
        channels: Mapping[tuple[str, int], np.ndarray]) -> None:
    """Key ``target`` at ``frames`` with one curve per ``(data_path, index) → values`` (same length)."""
    keyframes.write_curves(target, action, list(channels), frames, np.stack(list(channels.values())))


def new_objects(names: Sequence[str], data: bpy.types.ID, collection: bpy.types.Collection,
                positions: np.ndarray, rgba: np.ndarray, keyed: bool = False
                ) -> tuple[list[bpy.types.Object], list[bpy.types.Action]]:
    """Tagged objects of ``data`` at ``positions`` (N, 3) coloured ``rgba`` (N, 4), linked to
    ``collection``; with ``keyed``, also one fresh action each for :func:`keyframes.write_curves`
    (made first, as creating an action's slot gets slower with every object in the file)."""
    actions = keyframes.new_actions([f"nnviz · {name}" for name in names]) if keyed else []
    made = []
    link = collection.objects.link
    for name, position, color in zip(names, np.asarray(positions).tolist(), np.asarray(rgba).tolist(),
                                     strict=True):
        obj = bpy.data.objects.new(name, data)
        obj.location = position
        obj.color = color
        obj[objects.TAG] = True
        link(obj)
        made.append(obj)
    return made, actions
