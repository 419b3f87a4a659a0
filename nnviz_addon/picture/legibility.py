"""How tall a label is drawn, in pixels, and the least height that still reads (pure maths, no bpy).

A label's ``size`` is its text height in scene units (Blender's ``TextCurve.size``, the font's em).
The orthographic camera's ``ortho_scale`` spans the frame's wider side (:mod:`.camera`), so one scene
unit is ``max(width, height) / ortho_scale`` pixels, and a label is ``size`` times that tall.

The least legible height is :data:`MIN_LABEL_PIXELS` at 720 lines: a 1280×720 render of Blender's
default font at 7 to 16 px per em showed 10 px as the smallest that reads cleanly (layer names with
dots and arrows included); 9 px and under blur into smudges. The minimum is a share of the frame's
shorter side, so a 1920×1080 frame asks 15 px: labels keep their place in the picture at any size.
It applies to every label, the smallest included: captions, legend labels and parts' names are
:data:`SMALLEST_TEXT_SCALE` of a layout's ``text_size``, so the layout's text is sized for those.
"""

from __future__ import annotations

REFERENCE_LINES = 720
MIN_LABEL_PIXELS = 10.0  # at REFERENCE_LINES on the frame's shorter side
# The smallest text a layout draws, of its text_size: captions, legend and part labels.
SMALLEST_TEXT_SCALE = 0.8


def pixels_per_unit(ortho_scale: float, resolution: tuple[int, int]) -> float:
    """Pixels one scene unit takes in a ``resolution`` (width, height) frame of an orthographic camera
    whose ``ortho_scale`` spans the frame's wider side."""
    if not ortho_scale > 0:
        raise ValueError(f"pixels_per_unit: ortho_scale must be > 0, got {ortho_scale}")
    return max(resolution) / ortho_scale


def label_pixels(size: float, ortho_scale: float, resolution: tuple[int, int]) -> float:
    """How many pixels tall a label of text height ``size`` is drawn."""
    return size * pixels_per_unit(ortho_scale, resolution)


def least_label_pixels(resolution: tuple[int, int]) -> float:
    """The least legible label height in a ``resolution`` frame: 10 px at 720 lines, in proportion."""
    return MIN_LABEL_PIXELS * min(resolution) / REFERENCE_LINES


def is_legible(size: float, ortho_scale: float, resolution: tuple[int, int]) -> bool:
    """Whether a label ``size`` high reads in the frame (a hair's tolerance for rounding)."""
    return label_pixels(size, ortho_scale, resolution) >= 0.999 * least_label_pixels(resolution)


def least_text_size(ortho_scale: float, aspect: float) -> float:
    """The layout text size (scene units) whose smallest text (``SMALLEST_TEXT_SCALE`` of it) is just
    legible in a frame of width/height ``aspect`` an ``ortho_scale`` wide: the same at any resolution."""
    short_side = ortho_scale / max(aspect, 1 / aspect)
    return MIN_LABEL_PIXELS / REFERENCE_LINES * short_side / SMALLEST_TEXT_SCALE
