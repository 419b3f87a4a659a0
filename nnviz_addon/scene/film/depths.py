"""The film's relief: each weight block's depth (its y scale, out of the grid plane) keyed per record
from what its cube shows (:func:`.film_plan.block_depths`), so each weight matrix moves as it learns."""

from __future__ import annotations

from collections.abc import Mapping

import bpy
import numpy as np

from ...picture import film as film_plan
from ...picture.layout import Layout
from .. import instanced, keyframes

DEPTH_CHANNEL = ("scale", 1)


def cubes_by_key(root: bpy.types.Collection) -> dict[str, list[bpy.types.Object]]:
    """History key → the objects writer's cubes under ``root`` drawing it."""
    by_key: dict[str, list[bpy.types.Object]] = {}
    for obj in root.all_objects:
        if "nnviz_param" in obj:
            by_key.setdefault(obj["nnviz_param"], []).append(obj)
    return by_key


def key_depths(root: bpy.types.Collection, layout: Layout, shown: Mapping[str, np.ndarray],
               full: Mapping[str, float], sized: bool, record_frames: np.ndarray) -> None:
    """Key each cube's depth at every record from ``shown`` on its ``full`` scale
    (:func:`.film_plan.depth_source`); an instanced tensor's tree reads the same records and scale
    itself (:func:`.instanced.make_blocks`), ``sized``: from the magnitudes it holds."""
    drawn = instanced.tensor_objects(root)
    by_key = cubes_by_key(root)
    keyed = len(record_frames) > 1
    for block in layout.blocks:
        if block.key in drawn:  # the tree keys nothing
            instanced.make_blocks(drawn[block.key], full[block.key], sized)
        cubes = by_key.get(block.key, [])
        if not cubes:
            continue
        depths = film_plan.block_depths(block, shown, full)  # (records, cubes), in the block's order
        column = {tuple(index): i for i, index in enumerate(block.indices.tolist())}
        for cube in cubes:
            cube_depths = depths[:, column[tuple(cube["nnviz_index"])]]
            if keyed:
                keyframes.add_curves(cube, [DEPTH_CHANNEL], record_frames, cube_depths[None])
            else:
                cube.scale[1] = float(cube_depths[0])
