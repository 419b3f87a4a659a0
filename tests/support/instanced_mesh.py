"""Reading the instanced writer's evaluated geometry as a viewer's renderer gets it (needs bpy)."""

from __future__ import annotations

import bpy
import numpy as np

from nnviz_addon.scene import instanced

RAMP_TOLERANCE = 2.5e-3  # the tree's Color Ramp against colormap.colors (linear RGB)

VERTICES_PER_CUBE = 4  # a square facing the camera


def evaluated_cubes(obj) -> tuple[np.ndarray, np.ndarray]:
    """(colours (cubes, 4), vertex positions (cubes, 4, 3)) of ``obj``'s evaluated geometry."""
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    assert mesh.color_attributes.active_color_name == instanced.COLOR_ATTRIBUTE  # what Workbench shows
    assert len(mesh.polygons) == len(obj.data.polygons)  # one flat square per cube, nothing extruded
    colors = np.zeros(len(mesh.loops) * 4, dtype=np.float32)
    mesh.attributes[instanced.COLOR_ATTRIBUTE].data.foreach_get("color", colors)
    colors = colors.reshape(-1, VERTICES_PER_CUBE, 4)
    assert np.all(colors == colors[:, :1])  # one colour per cube
    corners = np.zeros(len(mesh.loops), dtype=np.int32)
    mesh.loops.foreach_get("vertex_index", corners)
    positions = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", positions)
    return colors[:, 0], positions.reshape(-1, 3)[corners].reshape(-1, VERTICES_PER_CUBE, 3)


def between(per_record: np.ndarray, frame: float, frame_start: int, frames_per_record: int) -> np.ndarray:
    """What a LINEAR F-Curve keyed with ``per_record`` at the record frames gives at ``frame``."""
    frames = frame_start + np.arange(len(per_record)) * frames_per_record
    flat = per_record.reshape(len(per_record), -1)
    return np.stack([np.interp(frame, frames, column) for column in flat.T], axis=-1).reshape(per_record.shape[1:])


def evaluated_blocks(obj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cube of ``obj`` (its base mesh's squares, in order): the evaluated blocks' (lowest y,
    highest y, colours of all its corners), each vertex given to the square nearest it in x-z."""
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    centres = np.array([tuple(p.center) for p in obj.data.polygons])
    positions = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", positions)
    positions = positions.reshape(-1, 3)
    owner = np.argmin(np.linalg.norm(positions[:, None, ::2] - centres[None, :, ::2], axis=-1), axis=1)
    low = np.array([positions[owner == c, 1].min() for c in range(len(centres))])
    high = np.array([positions[owner == c, 1].max() for c in range(len(centres))])
    corners = np.zeros(len(mesh.loops), dtype=np.int32)
    mesh.loops.foreach_get("vertex_index", corners)
    colors = np.zeros(len(mesh.loops) * 4, dtype=np.float32)
    mesh.attributes[instanced.COLOR_ATTRIBUTE].data.foreach_get("color", colors)
    colors = colors.reshape(-1, 4)
    assert len(mesh.polygons) == 5 * len(centres)  # a block per cube, open at the back
    return low, high, [colors[owner[corners] == c] for c in range(len(centres))]
