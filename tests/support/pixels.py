"""Reading a rendered PNG the way a viewer sees it, for the tests that check pixels (needs bpy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def png_pixels(path: Path) -> np.ndarray:
    """The PNG at ``path`` as Blender loads it: (height, width, channels) floats, bottom row first."""
    import bpy

    image = bpy.data.images.load(str(path))
    try:
        width, height = image.size
        return np.array(image.pixels[:], dtype=np.float32).reshape(height, width, -1)
    finally:
        bpy.data.images.remove(image)
