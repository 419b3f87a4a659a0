"""How a History becomes a scene: timing, colour and size scaling, style, writer (plain data, no bpy;
the frame plan, :mod:`.frame`, reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import CAMERA_PATHS, COLOR_SCALES, COLOR_VALUES, FORWARD_PASSES, MOTIONS, STYLES
from ..preset.limits import DEFAULT_PASS_SHARE, WRITERS
from .magnitude import MODES


@dataclass(frozen=True)
class SceneOptions:
    """``frames_per_record``: frames between two recorded steps (record r is at
    ``frame_start + r * frames_per_record``). ``color_scale``: ``"global"`` scales every parameter by
    the largest |value| of the whole run, ``"layer"`` each layer by its own robust scale (the 99th
    percentile of its |values|), ``"auto"`` picks one of them (:func:`..picture.cubes.resolved_scale`;
    the size scale follows the same choice). ``color_values``: what the colours show, ``"value"`` (w)
    or ``"change"`` (w − w₀, since the first record). ``magnitude``: what a cube's size shows,
    ``"none"`` (all full size), ``"gradient"`` (|∂L/∂w|) or ``"update"`` (|Δw| since the previous record); see
    :mod:`.magnitude`. ``style``: ``"diagram"`` (flat, face-on) or ``"film"`` (lit 3D
    blocks whose depth shows |value|, a moving camera, a heads-up overlay: :mod:`..scene.film`), with the
    film's ``camera_path`` and ``camera_timing`` (shares of the film on its opening and closing
    shots) and ``forward_pass`` (``"intro"``: before the run and after it, the probe input's
    neurons light up layer by layer; ``"every"``: also a pass every ``forward_pass_every`` records,
    pausing the run; see :func:`.film_passes.timeline`), the passes taking at most
    ``forward_pass_share`` of the frames (fewer passes in the run, then shorter turns; 1: no bound).
    ``motion``: ``"linear"`` or ``"smooth"``
    (eased) change between two records. ``cubes``: which writer draws the cubes, ``"objects"``
    (one keyed object per cube), ``"instanced"`` (one Geometry Nodes object per tensor) or ``"auto"``
    (:func:`..preset.limits.writer_for`)."""

    frames_per_record: int = 1
    color_scale: str = "auto"
    color_values: str = "value"
    frame_start: int = 1
    magnitude: str = "none"
    style: str = "diagram"
    camera_path: str = "fly-through"
    camera_timing: tuple[float, float] = (0.1, 0.2)
    motion: str = "linear"
    forward_pass: str = "none"
    forward_pass_every: int = 10
    forward_pass_share: float = DEFAULT_PASS_SHARE
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
        for name, allowed in (("color_values", tuple(COLOR_VALUES)), ("style", STYLES), ("camera_path", CAMERA_PATHS),
                              ("motion", MOTIONS), ("forward_pass", FORWARD_PASSES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"SceneOptions.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not isinstance(self.forward_pass_every, int) or self.forward_pass_every < 1:
            raise ValueError(
                f"SceneOptions.forward_pass_every must be an integer >= 1, got {self.forward_pass_every!r}")
        share = self.forward_pass_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise ValueError(f"SceneOptions.forward_pass_share must be a share in (0, 1], got {share!r}")
        timing = tuple(self.camera_timing)
        if len(timing) != 2 or not all(0.0 <= t <= 0.45 for t in timing):
            raise ValueError(f"SceneOptions.camera_timing must be two shares in [0, 0.45], got {self.camera_timing!r}")

    @classmethod
    def from_render_config(cls, render: Any, frame_start: int = 1) -> SceneOptions:
        """From a ``config.RenderConfig`` (or anything with its ``frames_per_record``,
        ``color_scale`` and ``magnitude`` attributes; ``color_values``, the film's ``style``, ``camera_path``,
        ``camera_timing``, ``motion`` and ``forward_pass`` (its ``_every`` and ``_share``), and ``cubes``
        (else ``"auto"``), are read where it has them)."""
        optional = {name: getattr(render, name) for name in ("color_values", "style", "camera_path", "motion",
                                                            "forward_pass", "forward_pass_every", "forward_pass_share")
                    if hasattr(render, name)}
        if hasattr(render, "camera_timing"):
            optional["camera_timing"] = tuple(float(t) for t in render.camera_timing)
        return cls(frames_per_record=int(render.frames_per_record), color_scale=str(render.color_scale),
                   frame_start=frame_start, magnitude=str(render.magnitude),
                   cubes=str(getattr(render, "cubes", "auto")), **optional)
