"""The film's perspective camera, keyed at every frame along the shots of :mod:`..film_plan` (plain
F-Curves, no handler)."""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from ...picture import film as film_plan
from .. import keyframes


def key_camera(scene: bpy.types.Scene, lens: film_plan.Lens, shots: Sequence[film_plan.Shot]) -> None:
    """The perspective camera, keyed at every frame of the scene along ``shots``."""
    camera = scene.camera
    data = camera.data
    data.type = "PERSP"
    data.lens = film_plan.LENS_MM
    data.sensor_width = film_plan.SENSOR_MM
    data.sensor_fit = "AUTO"
    data.shift_y = lens.shift_y
    data.clip_start = 0.1
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    locations, rotations = film_plan.camera_keys(shots, len(frames), lens)
    data.clip_end = 4 * float(np.max(np.linalg.norm(locations, axis=1))) + 100.0
    camera.location = locations[0].tolist()
    camera.rotation_euler = rotations[0].tolist()
    if len(frames) > 1:
        action = keyframes.new_actions(["nnviz · camera path"])[0]
        channels = [("location", i) for i in range(3)] + [("rotation_euler", i) for i in range(3)]
        keyframes.write_curves(camera, action, channels, frames, np.concatenate([locations, rotations], axis=1).T,
                               group="camera")
