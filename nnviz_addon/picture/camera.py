"""The camera's plan: where the orthographic camera stands and how much it shows, from the picture's
bounds and the frame's aspect ratio (pure numpy, no bpy). ``scene.stage`` only writes it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .layout import camera_framing
from .shapes import Bounds

CAMERA_DISTANCE = 100.0  # in front of the picture plane (y = 0), looking along +y
ROTATION = (math.pi / 2, 0.0, 0.0)  # look along +y at the XZ plane


@dataclass(frozen=True)
class Framing:
    """``location`` of the camera, its ``ortho_scale`` (the frame's wider side in scene units)."""

    location: tuple[float, float, float]
    ortho_scale: float


def aspect(resolution: tuple[int, int], pixel_aspect: tuple[float, float] = (1.0, 1.0)) -> float:
    """The rendered picture's width / height, pixel aspect included."""
    return resolution[0] * pixel_aspect[0] / (resolution[1] * pixel_aspect[1])


def framing(bounds: Bounds, frame_aspect: float) -> Framing:
    """The camera that shows ``bounds`` whole, centred, in a frame ``frame_aspect`` wide per unit high."""
    centre, scale = camera_framing(bounds, frame_aspect)
    return Framing(location=(centre[0], -CAMERA_DISTANCE, centre[2]), ortho_scale=scale)
