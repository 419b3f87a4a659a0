"""How a History becomes a scene: timing, colour and size scaling (plain data, no bpy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import COLOR_SCALES
from ..magnitude import MODES
from ..picture.cubes import WRITERS


@dataclass(frozen=True)
class SceneOptions:
    """``frames_per_record``: frames between two recorded steps (record r is at
    ``frame_start + r * frames_per_record``). ``color_scale``: ``"global"`` scales every parameter by
    the largest |value| of the whole run, ``"layer"`` each tensor by its own (the size scale follows
    the same choice). ``magnitude``: what a cube's size shows, ``"none"`` (all full size),
    ``"gradient"`` (|∂L/∂w|) or ``"update"`` (|Δw| since the previous record); see
    :mod:`nnviz_addon.magnitude`. ``cubes``: which writer draws the cubes, ``"objects"`` (one
    keyed object per cube), ``"instanced"`` (one Geometry Nodes object per tensor) or ``"auto"``
    (:func:`nnviz_addon.picture.cubes.writer_for`)."""

    frames_per_record: int = 1
    color_scale: str = "global"
    frame_start: int = 1
    magnitude: str = "none"
    cubes: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.frames_per_record, int) or self.frames_per_record < 1:
            raise ValueError(
                f"SceneOptions.frames_per_record must be an integer >= 1, got {self.frames_per_record!r}")
        if self.color_scale not in COLOR_SCALES:
            raise ValueError(
                f"SceneOptions.color_scale must be one of {COLOR_SCALES}, got {self.color_scale!r}")
        if not isinstance(self.frame_start, int):
            raise ValueError(f"SceneOptions.frame_start must be an integer, got {self.frame_start!r}")
        if self.cubes not in WRITERS:
            raise ValueError(f"SceneOptions.cubes must be one of {WRITERS}, got {self.cubes!r}")
        if self.magnitude not in MODES:
            raise ValueError(f"SceneOptions.magnitude must be one of {MODES}, got {self.magnitude!r}")

    @classmethod
    def from_render_config(cls, render: Any, frame_start: int = 1) -> SceneOptions:
        """From a ``config.RenderConfig`` (or anything with its ``frames_per_record``,
        ``color_scale`` and ``magnitude`` attributes; ``cubes`` is read
        when it has one, else ``"auto"``)."""
        return cls(frames_per_record=int(render.frames_per_record), color_scale=str(render.color_scale),
                   frame_start=frame_start, magnitude=str(render.magnitude),
                   cubes=str(getattr(render, "cubes", "auto")))
